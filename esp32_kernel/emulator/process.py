"""Start and drive an emulator from Python: what the kernel and the tests use."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .board_folder import default_board_dir
from .cli import ANNOUNCE_CONTROL, ANNOUNCE_PTY, ANNOUNCE_URL


class EmulatorError(RuntimeError):
    """The emulator could not be started or did not answer."""


class EmulatorProcess:
    """A running emulator: its board's URL, its pty, and its control channel.

    Made by launch(). stop() ends it cleanly; kill() ends it at once, as a link that goes away.
    """

    def __init__(self, popen: subprocess.Popen, stderr_file, url: str, control: str, pty_path: str | None, board_dir: Path):
        self._popen = popen
        self._stderr_file = stderr_file
        self.url = url
        self.control_address = control
        self.pty_path = pty_path
        self.board_dir = board_dir

    @property
    def pid(self) -> int:
        return self._popen.pid

    def poll(self) -> int | None:
        return self._popen.poll()

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the emulator and wait for it (SIGKILL if it does not end within timeout)."""
        if self._popen.poll() is None:
            self._popen.terminate()
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
        self._release()

    def kill(self) -> None:
        """SIGKILL the supervisor: the board's link goes away without a goodbye."""
        if self._popen.poll() is None:
            self._popen.send_signal(signal.SIGKILL)
            self._popen.wait()
        self._release()

    def stderr_text(self) -> str:
        """What the emulator has written to its stderr so far (warnings, errors)."""
        self._stderr_file.seek(0)
        return self._stderr_file.read().decode(errors="replace")

    # -- control channel

    def control(self, command: str, timeout: float = 5.0) -> dict:
        """Send one control command; returns its JSON reply. Raises EmulatorError on failure."""
        host, port = self.control_address.removeprefix("tcp://").rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=timeout) as connection:
                connection.sendall(command.encode() + b"\n")
                reply = connection.makefile("rb").readline()
        except OSError as error:
            raise EmulatorError(f"the emulator's control channel at {self.control_address} did not answer: {error}") from error
        if not reply:
            raise EmulatorError(f"the emulator closed its control channel without answering {command!r}")
        answer = json.loads(reply)
        if not answer.get("ok"):
            raise EmulatorError(answer.get("error", f"control command {command!r} failed"))
        return answer

    def status(self) -> dict:
        return self.control("status")

    def hard_reset(self) -> bool:
        return self.control("hard_reset")["reset"]

    def drop_client(self) -> bool:
        return self.control("drop_client")["dropped"]

    # -- context manager

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _release(self) -> None:
        for stream in (self._popen.stdin, self._popen.stdout):
            if stream is not None and not stream.closed:
                stream.close()


def launch(board_dir: str | os.PathLike | None = None, baud: int | None = None, pty: bool = False, timeout: float = 10.0) -> EmulatorProcess:
    """Start an emulator in its own session, tied to this process's life, and wait for its URL.

    Its own session keeps it out of this process group's signals (ipykernel interrupts with
    killpg(SIGINT)); it exits when this process dies, through the pipe on its stdin.
    """
    board_dir = Path(board_dir) if board_dir is not None else default_board_dir()
    command = [sys.executable, "-m", "esp32_kernel.emulator", "--port", "0", "--exit-with-parent", "--board-dir", str(board_dir)]
    if baud is not None:
        command += ["--baud", str(baud)]
    if pty:
        command.append("--pty")
    stderr_file = tempfile.TemporaryFile()
    popen = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr_file, start_new_session=True,
    )  # fmt: skip
    wanted = [ANNOUNCE_URL] + ([ANNOUNCE_PTY] if pty else []) + [ANNOUNCE_CONTROL]
    try:
        announced = _read_announcements(popen, wanted, timeout)
    except EmulatorError as error:
        popen.kill()
        popen.wait()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode(errors="replace").strip()
        raise EmulatorError(f"{error}; command: {' '.join(command)}" + (f"; its stderr:\n{stderr}" if stderr else "")) from None
    popen.stdout.close()  # nothing more is printed there
    return EmulatorProcess(
        popen, stderr_file, announced[ANNOUNCE_URL], announced[ANNOUNCE_CONTROL], announced.get(ANNOUNCE_PTY), board_dir,
    )  # fmt: skip


def _read_announcements(popen: subprocess.Popen, wanted: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    announced: dict[str, str] = {}
    pending = b""
    fd = popen.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while len(announced) < len(wanted):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorError(f"the emulator did not announce its address within {timeout} s")
            if not selector.select(remaining):
                continue
            data = os.read(fd, 4096)
            if not data:
                raise EmulatorError(f"the emulator exited (code {popen.wait()}) before announcing its address")
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode(errors="replace").strip()
                prefix = wanted[len(announced)]
                if not text.startswith(prefix):
                    raise EmulatorError(f"the emulator printed {text!r} where {prefix!r}… was expected")
                announced[prefix] = text.removeprefix(prefix)
    return announced
