"""The board's UART output as an ESP32 would send it, rewritten from what the unix port prints.

An I/O-free rewriter: the supervisor feeds it the MicroPython process's output and tells it
about restarts and the client's Ctrl-B; it returns the bytes for the client, any bytes the
board must be sent, and whether the board has just reached its REPL. It

- follows the REPL: friendly or raw, and in raw mode the idle prompt, raw-paste, and an
  exec's stdout and stderr sections;
- ends lines in "\\r\\n" only where the output is known to be text: the boot, the friendly
  REPL, and a raw exec's stderr section (tracebacks printed by the C REPL). A raw exec's
  stdout may be binary and passes untouched: text there was already converted where it was
  printed, by the firmware's console (firmware/_esp32_console.py);
- hides the unix port's banner: after a restart it is swallowed and either the ESP32 banner
  is shown (friendly REPL) or the raw REPL is entered again, as a board that was in raw mode
  does after a soft reset; after Ctrl-B the ESP32 banner replaces it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from . import esp32_texts

_TYPE_HELP_PROMPT = b'Type "help()" for more information.\r\n>>> '
# The first line of the C REPL's report of an exception: a traceback's header, or an
# exception without one ("MemoryError: memory allocation failed…", "KeyboardInterrupt").
_EXCEPTION_LINE = re.compile(rb"Traceback \(most recent call last\):|[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Iteration)(: .*)?")
_PRINTABLE = re.compile(rb"[\x20-\x7e\x80-\xff\r\t]*")  # text, UTF-8 included
_STDERR_HEAD_LIMIT = 512


class ReplMode(enum.Enum):
    FRIENDLY = "friendly"
    RAW = "raw"


class _State(enum.Enum):
    BOOT = enum.auto()  # firmware and boot.py/main.py output, up to the unix banner
    BOOT_TO_RAW_PROMPT = enum.auto()  # swallowing the friendly prompt before re-entering raw
    BOOT_TO_RAW_ECHO = enum.auto()  # swallowing the "\r\n" the friendly REPL answers Ctrl-A with
    FRIENDLY = enum.auto()
    RAW_IDLE = enum.auto()
    RAW_PASTE_HEADER = enum.auto()  # window size and first credit, binary
    RAW_PASTE_READING = enum.auto()
    RAW_STDOUT = enum.auto()
    RAW_STDERR = enum.auto()


class _Match(enum.Enum):
    NO = enum.auto()
    PARTIAL = enum.auto()
    FULL = enum.auto()


@dataclass(frozen=True)
class Shaped:
    to_client: bytes
    to_board: bytes  # what the board must be sent (Ctrl-A to re-enter the raw REPL)
    ready: bool  # the board has just reached its REPL after a restart


class ConsoleShaper:
    def __init__(self, unix_banner: bytes, esp32_banner: bytes = esp32_texts.FRIENDLY_BANNER):
        """unix_banner: the unix port's banner line, as `micropython --version` prints it."""
        self._unix_banner = unix_banner.rstrip(b"\r\n") + b"\r\n"
        self._esp32_banner = esp32_banner + b"\r\n"
        self._buf = bytearray()
        self._state = _State.BOOT
        self._boot_mode = ReplMode.FRIENDLY
        self.mode = ReplMode.FRIENDLY
        self._banner_expected = False
        self._paste_header_left = 0
        self._prev_byte = 0  # last byte sent on, so an existing "\r\n" is not made "\r\r\n"
        self._tail = b""  # last bytes seen in friendly mode, to notice the raw REPL banner
        self.prompts = 0  # raw REPL prompts shown so far (an idle raw REPL waits after one)
        self._stderr_head = b""  # an exec's stderr section so far, until it shows itself as text
        self._stderr_is_text = False

    @property
    def booting(self) -> bool:
        return self._state in (_State.BOOT, _State.BOOT_TO_RAW_PROMPT)

    @property
    def executing(self) -> bool:
        """A raw exec has been accepted and has not finished (a guess at "code is running")."""
        return self._state in (_State.RAW_STDOUT, _State.BOOT)

    @property
    def raw_idle(self) -> bool:
        """The raw REPL is waiting for a command (its prompt may already be out)."""
        return self._state is _State.RAW_IDLE

    def restart(self, mode: ReplMode) -> None:
        """The MicroPython process has been (re)started and will end in REPL `mode`."""
        self._buf.clear()
        self._state = _State.BOOT
        self._boot_mode = mode
        self.mode = mode
        self._banner_expected = False
        self._tail = b""

    def expect_friendly_banner(self) -> None:
        """The client sent Ctrl-B at the friendly prompt: the banner comes again."""
        self._banner_expected = True

    def feed(self, data: bytes) -> Shaped:
        self._buf += data
        out = bytearray()
        to_board = bytearray()
        ready = False
        while self._buf:
            step = self._step(out, to_board)
            if step is None:  # a partial token: wait for more bytes
                break
            ready = ready or step
        return Shaped(bytes(out), bytes(to_board), ready)

    # -- one step: consume some bytes from the buffer; True if the board became ready

    def _step(self, out: bytearray, to_board: bytearray) -> bool | None:
        state = self._state
        if state is _State.BOOT:
            return self._step_text_until_banner(out, boot=True)
        if state is _State.BOOT_TO_RAW_PROMPT:
            match = self._match(_TYPE_HELP_PROMPT)
            if match is _Match.PARTIAL:
                return None
            if match is _Match.FULL:
                del self._buf[: len(_TYPE_HELP_PROMPT)]
                to_board += b"\x01"
                self._state = _State.BOOT_TO_RAW_ECHO
            else:  # not the REPL we know: show what it says
                self._enter_friendly()
            return True
        if state is _State.BOOT_TO_RAW_ECHO:
            match = self._match(b"\r\n")
            if match is _Match.PARTIAL:
                return None
            if match is _Match.FULL:
                del self._buf[:2]
            self._state = _State.RAW_IDLE
            self.mode = ReplMode.RAW
            return False
        if state is _State.FRIENDLY:
            return self._step_friendly(out)
        if state is _State.RAW_IDLE:
            return self._step_raw_idle(out)
        if state is _State.RAW_PASTE_HEADER:
            n = min(self._paste_header_left, len(self._buf))
            self._pass_raw(out, n)
            self._paste_header_left -= n
            if not self._paste_header_left:
                self._state = _State.RAW_PASTE_READING
            return False
        if state in (_State.RAW_PASTE_READING, _State.RAW_STDOUT):
            end = self._buf.find(b"\x04")
            if end < 0:
                self._pass_raw(out, len(self._buf))
            else:
                self._pass_raw(out, end + 1)
                if state is _State.RAW_PASTE_READING:
                    self._state = _State.RAW_STDOUT
                else:
                    self._state = _State.RAW_STDERR
                    self._stderr_head, self._stderr_is_text = b"", False
            return False
        # RAW_STDERR: the C REPL's traceback text, then \x04
        return self._step_raw_stderr(out)

    def _step_raw_stderr(self, out: bytearray) -> bool:
        """After the \x04 that ends an exec's stdout: the traceback, as text, then \x04.

        An exec's binary stdout may hold a \x04 of its own (mpremote's mount protocol sends
        \x18\x04 to open a file): what follows is then data, not a traceback. So bytes pass
        untouched until the section's first line has shown itself: an exception's
        ("Traceback (most recent call last):", "ValueError: …") makes it text; anything else
        was the exec's stdout going on. Nothing is held back: a client may be waiting for it."""
        end = self._buf.find(b"\x04")
        if self._stderr_is_text:
            if end < 0:
                self._pass_text(out, len(self._buf))
            else:
                self._pass_text(out, end)
                self._end_stderr(out)
            return False
        newline = self._buf.find(b"\n")
        stop = min(i for i in (end, newline, len(self._buf)) if i >= 0)
        head = bytes(self._buf[:stop])
        self._stderr_head += head
        self._pass_raw(out, stop)
        if not _PRINTABLE.fullmatch(self._stderr_head) or len(self._stderr_head) > _STDERR_HEAD_LIMIT:
            self._state = _State.RAW_STDOUT  # binary, or longer than a first line: the exec's stdout
        elif stop == end:
            self._end_stderr(out)
        elif stop == newline:
            if _EXCEPTION_LINE.fullmatch(self._stderr_head.rstrip(b"\r")):
                self._stderr_is_text = True
                self._pass_text(out, 1)
            else:
                self._pass_raw(out, 1)
                self._state = _State.RAW_STDOUT
        return False

    def _end_stderr(self, out: bytearray) -> None:
        self._pass_raw(out, 1)
        self._state = _State.RAW_IDLE

    def _step_text_until_banner(self, out: bytearray, boot: bool) -> bool | None:
        pass_text = self._pass_text if boot else self._pass_friendly
        start = self._buf.find(self._unix_banner[:1])
        if start != 0:
            pass_text(out, len(self._buf) if start < 0 else start)
            return False
        match = self._match(self._unix_banner)
        if match is _Match.PARTIAL:
            return None
        if match is _Match.NO:
            pass_text(out, 1)
            return False
        del self._buf[: len(self._unix_banner)]
        if boot and self._boot_mode is ReplMode.RAW:
            self._state = _State.BOOT_TO_RAW_PROMPT
            return False
        out += self._esp32_banner
        self._prev_byte = 0x0A
        self._banner_expected = False
        if boot:
            self._enter_friendly()
            return True
        return False

    def _step_friendly(self, out: bytearray) -> bool | None:
        if self._banner_expected:
            line_end = self._buf.find(b"\n")
            banner_at = self._buf.find(self._unix_banner[:1])
            if banner_at == 0:
                return self._step_text_until_banner(out, boot=False)
            if banner_at > 0 and (line_end < 0 or banner_at <= line_end):
                self._pass_friendly(out, banner_at)
                return False
        line_end = self._buf.find(b"\n")
        self._pass_friendly(out, len(self._buf) if line_end < 0 else line_end + 1)
        return False

    def _pass_friendly(self, out: bytearray, n: int) -> None:
        seen = bytes(self._buf[:n])
        self._pass_text(out, n)
        self._tail = (self._tail + seen)[-len(esp32_texts.RAW_REPL_BANNER) :]
        if self._tail == esp32_texts.RAW_REPL_BANNER:
            self._state = _State.RAW_IDLE
            self.mode = ReplMode.RAW
            self._tail = b""

    _RAW_IDLE_TOKENS = (b">", b"OK", b"R\x01", b"R\x00", esp32_texts.RAW_REPL_BANNER)

    def _step_raw_idle(self, out: bytearray) -> bool | None:
        friendly_banner = b"\r\n" + self._unix_banner  # Ctrl-B: the friendly REPL starts
        partial = False
        for token in (*self._RAW_IDLE_TOKENS, friendly_banner):
            match = self._match(token)
            if match is _Match.PARTIAL:
                partial = True
            elif match is _Match.FULL:
                if token is friendly_banner:
                    del self._buf[: len(token)]
                    out += b"\r\n" + self._esp32_banner
                    self._prev_byte = 0x0A
                    self._enter_friendly()
                    return False
                self._pass_raw(out, len(token))
                if token == b">":
                    self.prompts += 1
                if token == b"OK":
                    self._state = _State.RAW_STDOUT
                elif token == b"R\x01":
                    self._state = _State.RAW_PASTE_HEADER
                    self._paste_header_left = 3
                return False
        if partial:
            return None
        self._pass_raw(out, 1)
        return False

    def _enter_friendly(self) -> None:
        self._state = _State.FRIENDLY
        self.mode = ReplMode.FRIENDLY
        self._tail = b""

    # -- helpers

    def _match(self, token: bytes) -> _Match:
        n = min(len(self._buf), len(token))
        if self._buf[:n] != token[:n]:
            return _Match.NO
        return _Match.FULL if n == len(token) else _Match.PARTIAL

    def _pass_raw(self, out: bytearray, n: int) -> None:
        if n:
            out += self._buf[:n]
            self._prev_byte = self._buf[n - 1]
            del self._buf[:n]

    def _pass_text(self, out: bytearray, n: int) -> None:
        """Send n bytes on, each "\\n" not already after a "\\r" written as "\\r\\n"."""
        if not n:
            return
        data = bytes(self._buf[:n])
        del self._buf[:n]
        start = 0
        while True:
            newline = data.find(b"\n", start)
            if newline < 0:
                break
            before = data[newline - 1] if newline > 0 else self._prev_byte
            out += data[start:newline]
            out += b"\n" if before == 0x0D else b"\r\n"
            start = newline + 1
        out += data[start:]
        self._prev_byte = data[-1]
