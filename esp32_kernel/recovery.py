"""Getting a prompt from a board whose main.py runs forever or crashes at boot.

`safe_boot` holds the port on its own (no Board): it resets the board and floods it with
Ctrl-C while it boots, so main.py is interrupted within milliseconds of its start — before
a loop that ignores Ctrl-C or a machine.reset() is reached — then enters the raw REPL and,
if asked, renames main.py so the next boot skips it. The caller then connects as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .link.serial_link import LinkError, _is_url, open_serial
from .link.webrepl_link import is_webrepl_url

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
FRIENDLY_PROMPT = b"\r\n>>> "
FLOOD_INTERVAL = 0.01  # a Ctrl-C every 10 ms (about one byte time in ten at 115200)
DISABLED_NAME = "main.py.disabled"
RENAME_CODE = (
    "import os\ntry:\n os.rename('main.py', %r)\n print('renamed')\nexcept OSError:\n print('absent')\n" % DISABLED_NAME
).encode()


class RecoveryError(Exception):
    pass


@dataclass
class SafeBoot:
    said: str  # what the board printed while it booted (the tail)
    renamed: bool | None  # main.py renamed (None: not asked)


def safe_boot(port: str, baud: int, hard_reset: Callable[[], object] | None, *, rename: bool = False,
              patience: float = 10.0, ask_for_button: Callable[[str], None] | None = None) -> SafeBoot:  # fmt: skip
    if is_webrepl_url(port):  # a reset ends the WebREPL session, and main.py runs before it is back
        raise RecoveryError(
            f"{port} is a WebREPL link, which cannot catch the board as it boots — connect the board"
            " by USB and run this on its serial port"
        )
    try:
        ser = open_serial(port, baud)
    except LinkError as e:
        raise RecoveryError(str(e)) from e
    try:
        ser.timeout = 0
        if hard_reset is not None:
            hard_reset()
        elif not _is_url(port) or port.startswith("rfc2217://"):
            ser.dtr = False
            ser.rts = True  # EN low: the chip resets
            time.sleep(0.1)
            ser.rts = False
        elif ask_for_button:
            ask_for_button(f"{port} has no reset line: press the board's reset button now")
        heard = _flood_until_prompt(ser, patience)
        ser.write(b"\r\x03\x03\x01")
        _read_until(ser, RAW_BANNER, 3.0)
        renamed = None
        if rename:
            ser.write(RENAME_CODE + b"\x04")
            answer = _read_until(ser, b"\x04>", 5.0)
            renamed = b"renamed" in answer
        return SafeBoot(heard.decode(errors="replace"), renamed)
    finally:
        ser.close()


def _flood_until_prompt(ser, patience: float) -> bytes:
    heard = b""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        ser.write(b"\x03")
        time.sleep(FLOOD_INTERVAL)
        heard = (heard + _read_some(ser))[-4096:]
        if heard.endswith(FRIENDLY_PROMPT) or RAW_BANNER in heard:
            return heard
    raise RecoveryError(
        f"no prompt from {port_name(ser)} within {patience:.0f} s of the reset — its main.py ignores Ctrl-C even at"
        " its start: hold the board's BOOT button while resetting it and reflash it with esptool, or erase its file system"
    )


def port_name(ser) -> str:
    return getattr(ser, "port", None) or getattr(ser, "portstr", "the board")


def _read_some(ser) -> bytes:
    sock = getattr(ser, "_socket", None)
    if sock is not None:  # pyserial's socket:// reads a byte per select: take what is there
        import select

        data = b""
        while select.select([sock], [], [], 0)[0]:
            chunk = sock.recv(65536)
            if not chunk:
                raise RecoveryError("the link closed while the board was booting")
            data += chunk
        return data
    return ser.read(ser.in_waiting or 0) if ser.in_waiting else b""


def _read_until(ser, marker: bytes, timeout: float) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data:
        if time.monotonic() > deadline:
            raise RecoveryError(f"the board did not answer as expected (last words: {data[-80:]!r})")
        data += _read_some(ser)
        time.sleep(0.005)
    return data
