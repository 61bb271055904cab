"""A class on a real JupyterHub (deploy/jupyterhub/jupyterhub_config.py): the hub, its proxy
from npm, students created through its REST API, each one's server started by the hub, a
kernel opened through the hub for each, and cells run on each student's own emulated board,
whose flash is in the student's home; a student given a real board from the hub's pool
(served by serve-boards); the teacher's Classroom, from a notebook on the teacher's server.
The students here are not users of this computer (DummyAuthenticator,
SimpleLocalProcessSpawner: one user, a home each); the emulator's refusal of another user's
programs is tested in test_emulator.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("websocket")
pytest.importorskip("jupyterhub", reason="jupyterhub is a test dependency (make test installs it)")

from board_helpers import connect_when_free  # noqa: E402
from hub_harness import PROXY, Hub, KernelThroughHub  # noqa: E402

from esp32_kernel.board import Board, BoardError  # noqa: E402
from esp32_kernel.emulator.process import launch  # noqa: E402

STUDENTS = ("ada", "grace")
WITH_A_BOARD = "lin"  # the pool file gives this student the lab machine's board

pytestmark = [
    pytest.mark.skipif(not os.access(PROXY, os.X_OK), reason="no configurable-http-proxy (make test installs it from npm)"),
    pytest.mark.timeout(600),
]


@pytest.fixture(scope="module")
def lab_board(tmp_path_factory):
    """A board on the lab machine, shared by serve-boards (here an emulated one over RFC 2217)."""
    with launch(board_dir=tmp_path_factory.mktemp("lab-board"), rfc2217=True) as emu:
        server = subprocess.Popen([sys.executable, "-m", "esp32_kernel", "serve-boards", "--port", emu.rfc2217_url],
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            yield server.stdout.readline().split()[0]
        finally:
            server.terminate()
            server.wait(30)


@pytest.fixture(scope="module")
def hub(tmp_path_factory, lab_board):
    folder = tmp_path_factory.mktemp("hub")
    pool = folder / "boards.json"
    pool.write_text(json.dumps({"users": {WITH_A_BOARD: lab_board}}))
    hub = Hub(folder, ESP32_HUB_BOARDS=str(pool), ESP32_HUB_TEACHERS="teacher")
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
        kernel.close()
        home = hub.homes / name
        assert (home / ".local" / "share" / "jupyter" / "esp32-kernel" / "boards" / "default" / ".esp32").is_dir()
        assert (home / "esp32-course" / "01-first-steps.ipynb").is_file()  # the course, copied at the first start
    assert len(set(boards.values())) == len(STUDENTS), boards  # two boards, each its own chip ID


def test_a_student_given_a_board_by_the_hub_runs_cells_on_it(hub, lab_board):
    hub.start_server(WITH_A_BOARD)
    hub.wait(lambda: hub.server_ready(WITH_A_BOARD), f"{WITH_A_BOARD}'s server")
    kernel = KernelThroughHub(hub, WITH_A_BOARD)
    status, printed = kernel.run("import sys\nprint(sys.platform, 6 * 7)")
    assert (status, printed.strip().splitlines()[-1]) == ("ok", "esp32 42")
    assert kernel.kernel_info()["esp32_board"] == {"board": f"ESP32 on {lab_board}", "emulated": False, "named": [], "error": None}
    with pytest.raises(BoardError, match="in use by"):  # held: nobody else reaches it
        Board(lab_board).connect()
    status, printed = kernel.run("%connect emulator")
    assert status == "ok" and "emulated ESP32" in printed, printed
    status, printed = kernel.run("%connect")  # no address: back to the board the hub gave
    assert status == "ok" and f"ESP32 on {lab_board}" in printed, printed
    kernel.close()

    assert hub.api("delete", f"users/{WITH_A_BOARD}/server").status_code in (202, 204)
    hub.wait(lambda: not hub.api("get", f"users/{WITH_A_BOARD}").json()["servers"], f"{WITH_A_BOARD}'s server to stop")
    held = json.loads((hub.folder / "boards.json.state").read_text())["held"]
    assert WITH_A_BOARD not in held  # given back to the pool
    board = Board(lab_board)
    connect_when_free(board)  # and free: its kernel let go with the server
    try:
        assert board.eval("6 * 7") == 42
    finally:
        board.close()


def test_the_teacher_sees_every_students_board_and_runs_a_cell_on_them(hub):
    for name in STUDENTS:
        if not hub.server_ready(name):  # alone: the first test started them
            hub.start_server(name)
            hub.wait(lambda: hub.server_ready(name), f"{name}'s server")
            KernelThroughHub(hub, name).run("open('owner.txt', 'w').write(%r)" % name)
    hub.start_server("teacher")
    hub.wait(lambda: hub.server_ready("teacher"), "the teacher's server")
    teacher = KernelThroughHub(hub, "teacher", kernel="python3")  # the teacher's notebook, on their own server
    status, printed = teacher.run("from esp32_kernel.classroom import Classroom\nroom = Classroom()\n"
                                  "print(room.boards().to_json(orient='records'))")  # fmt: skip
    assert status == "ok", printed
    rows = {row["student"]: row for row in json.loads(printed.strip().splitlines()[-1])}
    assert "teacher" not in rows
    for name in STUDENTS:
        assert rows[name]["server"] == "running" and rows[name]["emulated"] is True, rows
        assert rows[name]["board"].startswith("emulated ESP32 at socket://127.0.0.1:"), rows
    status, printed = teacher.run(f"ran = room.run(\"print(open('owner.txt').read(), 6 * 7)\", {list(STUDENTS)!r})")
    assert status == "ok", printed
    for name in STUDENTS:  # each student's own board answered
        assert f"[{name}] ok" in printed and f"[{name}] {name} 42" in printed, printed
    teacher.close()

    student = KernelThroughHub(hub, STUDENTS[0], kernel="python3")  # a student's server may not
    status, printed = student.run("from esp32_kernel.classroom import Classroom\nClassroom()")
    assert status == "error" and "only the hub's admins (the teachers)" in printed, printed
    student.close()
