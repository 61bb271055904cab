"""Thonny as an outside client of the emulator: Thonny's own MicroPython back-end process
(the one its IDE starts for "MicroPython (generic)"), driven through its message protocol
on stdin/stdout as Thonny's front end drives it, on the emulator's pseudo-terminal."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

import pytest
import thonny.common as thonny_common

from board_helpers import HANG_GUARD_S
from esp32_kernel.emulator import launch


class ThonnyBackend:
    def __init__(self, port: str, user_dir) -> None:
        args = {"port": port, "clean": False, "api_stubs_path": None, "interrupt_on_connect": True,
                "sync_time": True, "local_rtc": True, "validate_time": False, "submit_mode": None,
                "write_block_size": None, "cwd": ""}  # fmt: skip
        user_dir.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "thonny.plugins.micropython.bare_metal_backend", repr(args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, THONNY_USER_DIR=str(user_dir)),
        )  # fmt: skip
        self.user_dir = user_dir
        self.messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith(thonny_common.MESSAGE_MARKER):
                self.messages.put(thonny_common.parse_message(line.rstrip("\n")))

    def send(self, command) -> None:
        self.process.stdin.write(thonny_common.serialize_message(command) + "\n")
        self.process.stdin.flush()

    def until(self, kind: str) -> tuple[object, str]:
        """Read messages up to the first of `kind`: it, and the program output before it."""
        output = ""
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            try:
                msg = self.messages.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, (self.user_dir / "backend.log").read_text()[-3000:]
                continue
            if type(msg).__name__ == kind:
                return msg, output
            if getattr(msg, "event_type", None) == "ProgramOutput":
                output += msg.data
        raise AssertionError(f"no {kind} from Thonny's back-end; it said {output!r}")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def thonny(tmp_path_factory):
    with launch(tmp_path_factory.mktemp("board"), pty=True) as emulator:
        backend = ThonnyBackend(emulator.pty_path, tmp_path_factory.mktemp("thonny"))
        try:
            ready, _ = backend.until("ToplevelResponse")
            yield backend, ready
        finally:
            backend.close()


def test_thonny_connects_and_sees_an_esp32(thonny):
    _, ready = thonny
    assert ready.welcome_text.startswith("MicroPython v1.24.0 on 2024-10-25; Generic ESP32 module with ESP32")
    assert ready.sys_path == ["", ".frozen", "/lib"]


def test_thonny_runs_code_and_shows_errors(thonny):
    backend, _ = thonny
    backend.send(thonny_common.ToplevelCommand("execute_source", source="import sys\nprint(sys.platform, 6 * 7)\n"))
    _, output = backend.until("ToplevelResponse")
    assert output == "esp32 42\r\n"
    backend.send(thonny_common.ToplevelCommand("execute_source", source="1 / 0\n"))
    _, output = backend.until("ToplevelResponse")
    assert "ZeroDivisionError: divide by zero" in output


def test_thonny_stops_a_running_loop(thonny):
    backend, _ = thonny
    backend.send(thonny_common.ToplevelCommand("execute_source", source="import time\nprint('looping')\nwhile True:\n    time.sleep_ms(10)\n"))
    while "looping" not in backend.messages.get(timeout=HANG_GUARD_S).__dict__.get("data", ""):
        pass
    backend.send(thonny_common.ImmediateCommand("interrupt"))
    _, output = backend.until("ToplevelResponse")
    assert "KeyboardInterrupt" in output


def test_thonny_lists_the_boards_files_with_their_dates(thonny):
    backend, _ = thonny
    backend.send(thonny_common.InlineCommand("get_dirs_children_info", paths=["/"], include_hidden=False, node_id="root"))
    reply, _ = backend.until("InlineResponse")
    boot = reply.data["/"]["boot.py"]
    assert boot["kind"] == "file" and boot["size"] > 0
    assert time.gmtime(boot["modified"]).tm_year == time.gmtime().tm_year  # the 2000 epoch is read as such
