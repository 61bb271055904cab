"""Passwords stay secret (issue #8): the %wifi form's WiFi password and a WebREPL password
never reach the saved notebook, IPython's history, the kernel's debug log, or an error text.

One real kernel (debug logging on, its stderr kept, its own IPython directory) is driven
as JupyterLab drives it: cells through jupyter_client, the %wifi form through the widgets'
comm messages, the WebREPL password through the front end's password box (input_reply).
Afterwards the notebook is saved with nbformat as a front end saves it (outputs and the
widget state it holds), and every store is searched for every password.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import time

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from esp32_kernel.board import Board
from esp32_kernel.emulator.control import ControlChannel
from esp32_kernel.emulator.process import launch
from kernel_harness import HANG_GUARD, CellRun, collect, isolated_env, run_cell_answering

WIFI_PASSWORD = "wifi-pw-7731"
WRONG_WIFI_PASSWORD = "wrong-wifi-4417"
RAISED_WIFI_PASSWORD = "raised-pw-5590"  # a firmware error that quotes the key it was given
WEBREPL_PASSWORD = "wr9Q2x"
WRONG_WEBREPL_PASSWORD = "nope8821"
SECRETS = [WIFI_PASSWORD, WRONG_WIFI_PASSWORD, RAISED_WIFI_PASSWORD, WEBREPL_PASSWORD, WRONG_WEBREPL_PASSWORD]


class FrontEnd:
    """What a notebook front end keeps of a session: the cells with their outputs, and the
    widget models' state (comm_open, then every update either side sent)."""

    def __init__(self, kc) -> None:
        self.kc = kc
        self.cells: list[nbformat.NotebookNode] = []
        self.models: dict[str, dict] = {}
        self.iopub: list[dict] = []  # everything the kernel published, in order

    def run(self, code: str, answer: str | None = None) -> CellRun:
        if answer is None:
            run = collect(self.kc, self.kc.execute(code, allow_stdin=False))
        else:
            run, _ = run_cell_answering(self.kc, code, answer)
        cell = nbformat.v4.new_code_cell(code)
        shown = run.of_type("stream", "display_data", "execute_result", "error")
        cell.outputs = [nbformat.v4.output_from_msg(m) for m in shown]
        self.cells.append(cell)
        self.take(run.messages)
        return run

    def take(self, messages: list[dict]) -> None:
        for msg in messages:
            self.iopub.append(msg)
            content = msg["content"]
            if msg["msg_type"] == "comm_open":
                self.models[content["comm_id"]] = copy.deepcopy(content["data"]["state"])
            elif msg["msg_type"] == "comm_msg" and content["data"].get("method") in ("update", "echo_update"):
                self.models.setdefault(content["comm_id"], {}).update(content["data"]["state"])

    def drain(self, until, what: str) -> None:
        """Read iopub (widget updates from the kernel) until `until()` holds."""
        deadline = time.monotonic() + HANG_GUARD
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within the hang guard")
            try:
                self.take([self.kc.get_iopub_msg(timeout=0.5)])
            except Exception:  # queue.Empty: nothing yet
                pass

    def model(self, **wanted) -> str:
        for comm_id, state in self.models.items():
            if all(state.get(k) == v for k, v in wanted.items()):
                return comm_id
        raise AssertionError(f"no widget model with {wanted}")

    def send(self, comm_id: str, data: dict) -> None:
        """A comm message from the browser: typing into a widget, or clicking it."""
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.kc.shell_channel.send(msg)
        if data.get("method") == "update":
            self.models[comm_id].update(data["state"])

    def notebook(self) -> nbformat.NotebookNode:
        nb = nbformat.v4.new_notebook(cells=self.cells)
        nb.metadata["widgets"] = {
            "application/vnd.jupyter.widget-state+json": {
                "version_major": 2, "version_minor": 0,
                "state": {cid: {"model_name": s.get("_model_name"), "model_module": s.get("_model_module"),
                                "model_module_version": s.get("_model_module_version"), "state": s}
                          for cid, s in self.models.items()},
            }
        }  # fmt: skip
        return nb


def control(address: str, command: str) -> dict:
    return ControlChannel(address).exchange([command], timeout=HANG_GUARD)[0]


@pytest.fixture(scope="module")
def webrepl_board(tmp_path_factory):
    with launch(board_dir=tmp_path_factory.mktemp("webrepl-board"), webrepl_port=0) as emu:
        board = Board(emu.url)
        board.connect()
        board.exec(
            "import network\nnetwork.WLAN(network.AP_IF).active(True)\n"
            f"import webrepl\nwebrepl.start(password={WEBREPL_PASSWORD!r})"
        )
        board.close()
        yield emu


@pytest.fixture
def kernel(tmp_path):
    """A kernel with debug logging into kernel.log and its own IPython folder (its history)."""
    (tmp_path / "notebooks").mkdir()
    with open(tmp_path / "kernel.log", "wb") as log:
        env = isolated_env(tmp_path, IPYTHONDIR=str(tmp_path / "ipython"))
        km, kc = start_new_kernel(
            kernel_name="esp32", env=env, cwd=str(tmp_path / "notebooks"),
            extra_arguments=["--debug"], stderr=log, stdout=log,
        )  # fmt: skip
        try:
            yield km, kc
        finally:
            kc.stop_channels()
            if km.is_alive():
                km.shutdown_kernel(now=True)


def connect_from_the_form(front: FrontEnd, ssid: str, password: str, expect: str) -> str:
    """Type into the %wifi form and click connect; the status text it ends on."""
    form_password = front.model(_model_name="PasswordModel")
    ssid_box = front.model(_model_name="TextModel", description="SSID")
    front.send(ssid_box, {"method": "update", "state": {"value": ssid}, "buffer_paths": []})
    front.send(form_password, {"method": "update", "state": {"value": password}, "buffer_paths": []})
    button = front.model(_model_name="ButtonModel", description="connect")
    front.send(button, {"method": "custom", "content": {"event": "click"}})

    def shown() -> str:
        texts = [s for s in front.models.values() if s.get("_model_name") in ("HTMLModel", "LabelModel")]
        return " ".join(str(s.get("value", "")) for s in texts)

    front.drain(lambda: expect in shown() and front.models[form_password]["value"] == "", f"{expect!r} in the panel")
    return shown()


def test_passwords_never_reach_the_notebook_history_log_or_errors(kernel, webrepl_board, tmp_path):
    km, kc = kernel
    front, tmp, webrepl_url = FrontEnd(kc), tmp_path, webrepl_board.webrepl_url()

    # WiFi: an access point the kernel's own emulator sees, set up from outside (no cell holds its password).
    assert front.run("1 + 1").result == "2"  # on the kernel's own emulator
    address = front.run("%%host\nprint(get_ipython().kernel.boards.emulator.control_address)").stdout.strip()
    assert control(address, f"add_ap HomeNet {WIFI_PASSWORD}")["ok"]
    assert front.run("%wifi").status == "ok"
    said = connect_from_the_form(front, "HomeNet", WRONG_WIFI_PASSWORD, "wrong password")
    said = connect_from_the_form(front, "HomeNet", WIFI_PASSWORD, "status: connected")
    assert front.run("import network\nnetwork.WLAN(network.STA_IF).isconnected()").result == "True"
    # A firmware whose connect() fails quoting the key: the panel shows the error, not the key.
    front.run(
        "import network\ndef _fails(self, ssid=None, key=None, **kw):\n    raise OSError('cannot use key ' + key)\n"
        "network.WLAN.connect = _fails"
    )
    said = connect_from_the_form(front, "HomeNet", RAISED_WIFI_PASSWORD, "connect failed")
    assert "OSError: cannot use key ***" in said

    # WebREPL: asked for in the password box; a wrong one refused with a clear error.
    run = front.run(f"%connect {webrepl_url}", answer=WRONG_WEBREPL_PASSWORD)
    assert run.error["ename"] == "AccessDenied" and "refused the password" in run.error["evalue"]
    run = front.run(f"%connect {webrepl_url}", answer=WEBREPL_PASSWORD)
    assert "Connected to the ESP32 over WebREPL" in run.stdout
    run = front.run("1 / 0")  # an error over the WebREPL link
    assert run.error["ename"] == "ZeroDivisionError"
    # What the kernel holds for reconnecting does not show itself.
    run = front.run("%%host\nk = get_ipython().kernel\nprint(k.boards._passwords, k.boards.board.password, vars(k.boards.board))")
    assert "Secret('***')" in run.stdout
    history_file = front.run("%%host\nprint(get_ipython().history_manager.hist_file)").stdout.strip()

    kc.stop_channels()
    km.shutdown_kernel(now=False)  # a clean shutdown writes the history out
    notebook_path = tmp / "session.ipynb"
    nbformat.write(front.notebook(), notebook_path)
    notebook = notebook_path.read_text()
    assert "%connect ws://" in notebook and "PasswordModel" in notebook  # it is the session's notebook

    with sqlite3.connect(history_file) as db:
        history = "\n".join(" ".join(map(str, row)) for row in db.execute("SELECT * FROM history"))
        history += "\n".join(" ".join(map(str, row)) for row in db.execute("SELECT * FROM output_history"))
    assert "%connect ws://" in history and "%wifi" in history

    log = (tmp / "kernel.log").read_text(errors="replace")
    assert "MESSAGE TYPE:comm_msg" in log  # debug logging was on, with the widgets' messages

    published = json.dumps([m["content"] for m in front.iopub])
    for secret in SECRETS:
        assert secret not in notebook, f"{secret} in the saved notebook"
        assert secret not in history, f"{secret} in IPython's history"
        assert secret not in log, f"{secret} in the kernel's log"
        assert secret not in published, f"{secret} in what the kernel published (outputs, errors, widget echoes)"
