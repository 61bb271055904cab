"""A byte link to a board over any pyserial URL, read by a background thread.

`/dev/ttyUSB0`, `COM3`, `socket://host:port`, `rfc2217://host:port`, `loop://` … all open
through `serial.serial_for_url`. Local ports are opened exclusively and without touching
DTR/RTS, because an ESP32 board's auto-reset circuit resets (or enters the bootloader) on
those lines.
"""

from __future__ import annotations

import errno
import select
import threading
import time
from collections.abc import Callable

import serial
from serial.urlhandler import protocol_socket

DEFAULT_BAUD = 115200
# The reader blocks on data; this only bounds how long close() waits for it.
_READ_TIMEOUT = 0.2


class LinkError(Exception):
    """The link could not be opened or was lost; the message says what to do and `name`
    what kind of failure it is (PortInUse, BoardNotFound, NothingListening …)."""

    def __init__(self, message: str, name: str = "LinkError") -> None:
        super().__init__(message)
        self.name = name


class _QuietModemSerial(serial.Serial):
    """A local serial port whose missing modem lines (ptys, some USB bridges) are not errors."""

    modem_lines = True

    def _update_dtr_state(self) -> None:
        self._modem_call(super()._update_dtr_state)

    def _update_rts_state(self) -> None:
        self._modem_call(super()._update_rts_state)

    def _modem_call(self, call: Callable[[], None]) -> None:
        try:
            call()
        except OSError as e:  # EIO on a pty, ENOTTY/EINVAL on odd drivers
            if e.errno not in (errno.EIO, errno.ENOTTY, errno.EINVAL):
                raise
            self.modem_lines = False


def _is_url(port: str) -> bool:
    return "://" in port


def open_serial(port: str, baud: int = DEFAULT_BAUD) -> serial.SerialBase:
    """Open `port` without resetting the board; raise LinkError with advice on failure."""
    try:
        if _is_url(port):
            ser = serial.serial_for_url(port, do_not_open=True)
        else:
            ser = _QuietModemSerial()
            ser.port = port
            ser.exclusive = True
        ser.baudrate = baud
        ser.timeout = _READ_TIMEOUT
        if not port.startswith("rfc2217://"):  # pyserial's RFC 2217 client has none
            ser.write_timeout = 5
        # Preset both lines released: opening then leaves EN and IO0 alone.
        ser.dtr = False
        ser.rts = False
        ser.open()
    except (serial.SerialException, ValueError, OSError, NotImplementedError) as e:
        raise _open_failure(port, e) from e
    return ser


def pulse_reset(ser: serial.SerialBase) -> None:
    """Hard-reset through the auto-reset circuit: RTS low pulls EN low, with GPIO0 (DTR)
    high, so the chip boots its firmware (esptool's hard reset)."""
    ser.dtr = False
    ser.rts = True
    time.sleep(0.1)  # EN must stay low long enough for the chip to reset
    ser.rts = False


def _open_failure(port: str, error: Exception) -> LinkError:
    """Why `port` could not be opened, and what to do about it."""
    text = str(error)
    if text.startswith("webserial:"):  # the browser's side says what happened
        return LinkError(text, "WebSerial")
    if "exclusively lock" in text or "Resource temporarily unavailable" in text or "busy" in text.lower():
        return LinkError(
            f"{port} is in use by another program (a serial monitor, Thonny, mpremote or another"
            " kernel) — close it and run %connect again",
            "PortInUse",
        )
    if "Permission denied" in text or "Errno 13" in text:
        return LinkError(
            f"no permission to open {port} — on Linux add yourself to the 'dialout' group"
            " (sudo usermod -aG dialout $USER, then log in again)",
            "PermissionError",
        )
    if "No such file" in text or "could not open port" in text or "Errno 2" in text:
        return LinkError(f"no board found on {port} — is it plugged in? %ports lists the candidates", "BoardNotFound")
    if "Connection refused" in text or "Errno 111" in text:
        return LinkError(f"nothing is listening at {port} — is the emulator or serial server running?", "NothingListening")
    return LinkError(f"could not open {port}: {text}")


def _read_available(ser: serial.SerialBase) -> bytes:
    """Block (up to the read timeout) for data, then return all that has arrived."""
    if isinstance(ser, protocol_socket.Serial):
        # pyserial's socket:// answers in_waiting with 0 or 1 and reads a byte per select:
        # take whatever the socket holds instead. (Not for rfc2217://, whose socket
        # carries telnet framing that its reader thread decodes.)
        sock = ser._socket
        if not select.select([sock], [], [], _READ_TIMEOUT)[0]:
            return b""
        data = sock.recv(65536)
        if not data:
            raise serial.SerialException("socket disconnected")
        return data
    return ser.read(max(1, ser.in_waiting))


class SerialLink:
    """An open link: `write` bytes; received bytes go to `on_data` from a reader thread,
    and `on_lost(message)` is called once if the link goes away."""

    def __init__(
        self,
        port: str,
        baud: int = DEFAULT_BAUD,
        *,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self.port = port
        self.baud = baud
        self._on_data = on_data
        self._on_lost = on_lost
        self._serial = open_serial(port, baud)
        self._write_lock = threading.Lock()
        self._closing = False
        self._reader = threading.Thread(target=self._read_loop, name=f"link {port}", daemon=True)
        self._reader.start()

    @property
    def has_modem_lines(self) -> bool:
        """True where RTS can pulse the board's EN pin (a local port, RFC 2217 or Web Serial)."""
        if _is_url(self.port):
            return self.port.startswith(("rfc2217://", "webserial://"))
        return getattr(self._serial, "modem_lines", True)

    def write(self, data: bytes) -> None:
        if not data:
            return
        try:
            with self._write_lock:
                self._serial.write(data)
        except (serial.SerialException, OSError) as e:
            raise LinkError(f"the link to {self.port} failed while writing: {e}") from e

    def pulse_reset(self) -> None:
        pulse_reset(self._serial)

    def close(self) -> None:
        self._closing = True
        try:
            self._serial.close()
        except (serial.SerialException, OSError):
            pass
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=2)

    def _read_loop(self) -> None:
        while not self._closing:
            try:
                data = _read_available(self._serial)
            except Exception as e:  # any failure of the port means the link is gone
                if not self._closing:
                    self._closing = True
                    self._on_lost(f"the link to {self.port} was lost ({e})")
                return
            if data:
                self._on_data(data)
