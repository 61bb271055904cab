"""A class on a real JupyterHub (deploy/jupyterhub/jupyterhub_config.py): the hub, its proxy
from npm, students created through its REST API, each one's server started by the hub, a
kernel opened through the hub for each, and cells run on each student's own emulated board,
whose flash is in the student's home. The students here are not users of this computer
(DummyAuthenticator, SimpleLocalProcessSpawner: one user, a home each); the emulator's
refusal of another user's programs is tested in test_emulator.py."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("websocket")
pytest.importorskip("jupyterhub", reason="jupyterhub is a test dependency (make test installs it)")

from hub_harness import PROXY, Hub, KernelThroughHub  # noqa: E402

STUDENTS = ("ada", "grace")

pytestmark = [
    pytest.mark.skipif(not os.access(PROXY, os.X_OK), reason="no configurable-http-proxy (make test installs it from npm)"),
    pytest.mark.timeout(600),
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("hub"))
    try:
        yield hub
    finally:
        hub.stop()


def test_each_student_runs_cells_on_a_board_of_their_own(hub):
    for name in STUDENTS:  # at once, as a class starts
        hub.start_server(name)
    for name in STUDENTS:
        hub.wait(lambda: hub.server_ready(name), f"{name}'s server")
    boards = {}
    for name in STUDENTS:
        kernel = KernelThroughHub(hub, name)
        status, printed = kernel.run(f"import machine, binascii\nwith open('owner.txt', 'w') as f:\n    f.write({name!r})\n"
                                     "print(binascii.hexlify(machine.unique_id()).decode())")  # fmt: skip
        assert status == "ok", printed
        boards[name] = printed.strip().splitlines()[-1]
        status, printed = kernel.run("print(open('owner.txt').read(), 6 * 7)")
        assert (status, printed.strip().splitlines()[-1]) == ("ok", f"{name} 42")
        kernel.ws.close()
        home = hub.homes / name
        assert (home / ".local" / "share" / "jupyter" / "esp32-kernel" / "boards" / "default" / ".esp32").is_dir()
        assert (home / "esp32-course" / "01-first-steps.ipynb").is_file()  # the course, copied at the first start
    assert len(set(boards.values())) == len(STUDENTS), boards  # two boards, each its own chip ID
