"""%flash FIRMWARE.bin: write MicroPython firmware to the board through the ESP32's ROM
bootloader (esptool, used as a library), then reconnect.

A board whose UART reaches the boot ROM cannot be bricked: whatever was flashed, the ROM's
download mode (GPIO0 low at reset) can always write a good image again. So %flash releases
the link, puts the board in download mode (esptool's DTR/RTS reset on a serial port or
rfc2217://; the emulator's BOOT button through its control channel), writes, resets the board
itself while listening to its boot, and reconnects only if MicroPython started.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from IPython.core.magic import line_magic, magics_class

from ..board import BoardError
from ..chip import esp_image
from ..link.protocol_webserial import is_webserial_url
from ..link.serial_link import DEFAULT_BAUD
from .base import KernelMagics, MagicParser, MagicUsageError, parse_line

FLASH_BAUD = 460800  # esptool's usual speed once connected (the ROM starts at 115200)
BOOT_WATCH_S = 10.0  # how long to listen for MicroPython's banner (or a boot failure) after the reset
_STARTED = re.compile(rb"MicroPython v|>>> |raw REPL")
_BOOT_FAILED = re.compile(rb"invalid header|not bootable|flash read err|load partition table error|No bootable app")
_NOISE = ("VID/PID", "not possible to reset the chip over a TCP socket", "Pre-connection option")  # esptool's notes that mean nothing here

_flash = MagicParser(prog="flash", add_help=False)
_flash.add_argument("firmware")
_flash.add_argument("--erase", action="store_true", help="erase the whole flash first (the board's files too)")
_flash.add_argument("--address", default="0x1000", help="where the image goes (0x1000: MicroPython's combined .bin for the ESP32)")
_flash.add_argument("--port", default=None, help="the board's port or URL (default: the connected board)")
_flash.add_argument("--baud", type=int, default=FLASH_BAUD)


class FlashError(Exception):
    """%flash could not do its job; the message says why and what to do."""


@magics_class
class FlashMagics(KernelMagics):
    def __init__(self, shell, kernel) -> None:
        super().__init__(shell, kernel)
        self._last: tuple[str, int] | None = None  # the board %flash wrote, while it is not connected

    @line_magic
    def flash(self, line: str) -> None:
        """%flash FIRMWARE.bin [--erase] [--address 0x1000] [--port PORT] [--baud 460800] — write
        MicroPython firmware through the ESP32's ROM bootloader (esptool), then reconnect.
        --erase wipes the whole flash first (the board's files too)."""
        args = parse_line(_flash, line)
        if args.baud <= 0:
            raise MagicUsageError(f"--baud must be a positive number such as {FLASH_BAUD}, not {args.baud}")
        firmware, address = _check_input(args.firmware, args.address)
        self.kernel.wait_for_start_up()
        sessions = self.kernel.boards
        board, emulator = sessions.board, sessions.emulator
        port, baud = self._target(args.port)
        if port is None:
            raise MagicUsageError("which board? %flash FIRMWARE.bin --port PORT (%ports lists them)")
        emulated = emulator is not None and emulator.url == port
        ours = board is None or board.port == port  # the board cells run on: reconnected afterwards
        if board is not None and board.port == port:
            sessions.release()  # esptool needs the port to itself
        self._last = (port, baud)
        try:
            by_browser = is_webserial_url(port)
            if emulated:
                _press_boot_and_reset(emulator)
            elif by_browser:
                _reset_into_download_mode(port)
            _run_esptool(port, args.baud, firmware, address, args.erase, in_download_mode=emulated or by_browser)
            boot_log, started = _reset_and_watch(port, emulator.hard_reset if emulated else None)
        except FlashError:
            if emulated:
                emulator.hard_reset()  # out of download mode: the board boots what its flash holds
            if ours:
                self._reconnect(port, baud, emulated, quiet_failure=True)
            raise
        if not started and _BOOT_FAILED.search(boot_log):
            sessions.error = f"the firmware on {port} does not start — %flash a good MicroPython image (FIRMWARE.bin)"
            raise FlashError(
                f"the firmware was written, but the board does not start it; at each reset it says:\n{_first_failure(boot_log)}\n"
                "The ROM bootloader is still there: flash a good MicroPython image with %flash FIRMWARE.bin."
            )
        print(f"Flashed {firmware.name} at 0x{address:x}; the board restarted.")
        if ours:
            self._reconnect(port, baud, emulated)
        self.kernel.show_notices()

    def _target(self, port: str | None) -> tuple[str | None, int]:
        """The port to flash (the one given, the connected board's, the emulator's, or the last
        one %flash wrote) and the baud rate to reconnect at."""
        sessions = self.kernel.boards
        board, emulator = sessions.board, sessions.emulator
        port = port or (board.port if board else None) or (emulator.url if emulator else None) or (self._last[0] if self._last else None)
        if board is not None and board.port == port:
            return port, board.baud
        if self._last is not None and self._last[0] == port:
            return port, self._last[1]
        return port, DEFAULT_BAUD

    def _reconnect(self, port: str, baud: int, emulated: bool, quiet_failure: bool = False) -> None:
        sessions = self.kernel.boards
        hard_reset = sessions.emulator.hard_reset if emulated and sessions.emulator else None
        try:
            print(sessions.connect(port, baud, hard_reset=hard_reset))
            self._last = None
        except BoardError as e:
            if not quiet_failure:
                print(f"%flash: could not reconnect: {e}")


def _first_failure(boot_log: bytes) -> str:
    """The bootloader's (or ROM's) complaint in the first round of a reset loop."""
    for round_text in boot_log.decode(errors="replace").replace("\r", "").split("ets Jun"):
        lines = [line for line in round_text.splitlines() if _BOOT_FAILED.search(line.encode()) or line.startswith("E (")]
        if lines:
            return "\n".join(dict.fromkeys(lines))
    return boot_log.decode(errors="replace").strip()[-300:]


def _check_input(name: str, address_text: str) -> tuple[Path, int]:
    try:
        address = int(address_text, 0)
    except ValueError:
        raise FlashError(f"--address {address_text!r} is not a number (write it as 0x1000)") from None
    if address < 0 or address % 0x1000:
        raise FlashError(f"--address 0x{address:x} must be a multiple of 0x1000 (a flash sector)")
    path = Path(name).expanduser()
    if not path.is_file():
        raise FileNotFoundError(2, "no such file (MicroPython's ESP32 firmware .bin files are at micropython.org/download/ESP32_GENERIC)", name)
    with open(path, "rb") as f:
        head = f.read(esp_image.HEADER_SIZE)
    problem = esp_image.describe_file_problem(head)
    if problem is not None:
        raise FlashError(f"{name}: {problem}; nothing was written")
    return path, address


def _press_boot_and_reset(emulator) -> None:
    """The emulator's BOOT button held while EN is pressed: its ROM's download mode."""
    from ..emulator.process import EmulatorError

    try:
        emulator.enter_download_mode()
    except EmulatorError as e:
        raise FlashError(f"the emulator did not enter download mode: {e}") from None


def _reset_into_download_mode(port: str) -> None:
    """esptool's reset into the ROM bootloader, DTR/RTS one at a time: a browser's port has no
    ioctl for esptool's own (both lines at once), and a sequence of setSignals does the same."""
    from esp_pylib.serial_reset import classic_bootloader_reset

    from ..link.serial_link import LinkError, open_serial

    try:
        link = open_serial(port)
    except LinkError as e:
        raise FlashError(f"cannot open {port}: {e}") from None
    try:
        classic_bootloader_reset(link)
    finally:
        link.close()


def _run_esptool(port: str, baud: int, firmware: Path, address: int, erase: bool, in_download_mode: bool) -> None:
    import esptool
    import serial
    from esp_pylib.logger import EspLog
    from esptool.logger import log

    argv = ["--chip", "esp32", "--port", port, "--baud", str(baud)]
    # A serial port or rfc2217:// resets the board into download mode itself (DTR/RTS on EN and
    # GPIO0); the emulator and a browser's port are already there. Its reset afterwards is ours,
    # so we hear the boot.
    argv += ["--before", "no-reset" if in_download_mode else "default-reset", "--after", "no-reset"]
    argv += ["write-flash", *(["--erase-all"] if erase else []), f"0x{address:x}", str(firmware)]
    progress = _Progress()
    previous = EspLog.instance
    log.set_logger(progress)
    try:
        esptool.main(argv)
    except esptool.FatalError as e:
        text = str(e)
        if "Failed to connect" in text or "Wrong boot mode" in text or "No serial data" in text:
            raise FlashError(
                f"the board did not answer as the ESP32's ROM bootloader ({text.splitlines()[0]}). Put it in download "
                "mode: hold BOOT (GPIO0), press and release EN (RST), release BOOT; then %flash again."
            ) from None
        raise FlashError(f"esptool: {text.splitlines()[0]}") from None
    except serial.SerialException as e:
        raise FlashError(f"cannot open {port}: {e}. Is another program (a serial monitor, Thonny, another kernel) using it?") from None
    except SystemExit as e:  # esptool's command line refused the arguments
        raise FlashError(f"esptool stopped (exit status {e.code})") from None
    finally:
        EspLog.instance = previous
        progress.close()


def _reset_and_watch(port: str, emulator_reset) -> tuple[bytes, bool]:
    """Reset the board (EN) while listening; its boot output, and whether MicroPython started."""
    from ..link.serial_link import open_serial, pulse_reset

    try:
        link = open_serial(port)
    except Exception as e:
        raise FlashError(f"the firmware was written, but {port} could not be opened again to restart the board: {e}") from None
    heard = bytearray()
    try:
        link.timeout = 0.2
        if emulator_reset is not None:
            emulator_reset()
        else:
            pulse_reset(link)
        deadline = time.monotonic() + BOOT_WATCH_S
        while time.monotonic() < deadline:
            heard += link.read(link.in_waiting or 1)
            if _STARTED.search(heard):
                return bytes(heard), True
            if _BOOT_FAILED.search(heard) and heard.count(b"rst:") >= 2:  # it went round again: a reset loop
                return bytes(heard), False
        return bytes(heard), False
    finally:
        link.close()


class _Progress:
    """esptool's logger for a notebook: its lines as text, its progress bars as a widget."""

    def __init__(self) -> None:
        self._bar = None
        self._label = None
        self._open_line = False
        from esptool.logger import TemplateLogger

        TemplateLogger.register(type(self))

    def print(self, *args, **kwargs) -> None:
        text = re.sub(r"\[/?[a-z ]+\]", "", " ".join(str(a) for a in args))  # rich markup off
        end = kwargs.get("end", "\n")
        if any(n in text for n in _NOISE) or (not text.strip() and not self._open_line):
            return  # esptool's blank lines and notes that mean nothing here
        print(text, end=end)
        self._open_line = not end.endswith("\n")  # "Connecting..." waits for its dots

    def note(self, message: str) -> None:
        self.print(f"Note: {message}")

    def warning(self, message: str) -> None:
        self.print(f"Warning: {message}")

    def error(self, message: str) -> None:
        self.print(f"Error: {message}")

    warn = warning
    err = error

    def debug(self, *args) -> None:
        pass

    def stage(self, finish: bool = False) -> None:
        pass

    def set_verbosity(self, verbosity) -> None:
        pass

    def progress_bar(self, cur_iter: int, total_iters: int, prefix: str = "", suffix: str = "", bar_length: int = 30) -> None:
        if self._bar is None:
            try:
                from IPython.display import display
                from ipywidgets import HBox, IntProgress, Label

                self._bar = IntProgress(min=0, max=max(total_iters, 1), description="Flashing")
                self._label = Label()
                display(HBox([self._bar, self._label]))
            except Exception:  # no widgets: plain text
                self._bar = False
        if self._bar is False:
            if cur_iter == total_iters:
                print(f"{prefix.strip()} 100%")
            return
        self._bar.max = max(total_iters, 1)
        self._bar.value = cur_iter
        self._label.value = f"{prefix.strip()} {100 * cur_iter // max(total_iters, 1)}%"

    def close(self) -> None:
        if self._bar:
            self._bar.bar_style = "success" if self._bar.value >= self._bar.max else ""
