"""MicroPython's raw REPL and raw-paste protocol as a state machine with no I/O.

Hand it the bytes the board sent (`receive`), get back events; tell it what to do
(`enter`, `execute`, `interrupt`, `soft_reset`) and collect the bytes to write with
`data_to_send`. The wire format follows shared/runtime/pyexec.c:

    host  ``\\x01``                      board ``raw REPL; CTRL-B to exit\\r\\n>``
    host  code ``\\x04``                 board ``OK`` stdout ``\\x04`` stderr ``\\x04>``
    host  ``\\x05A\\x01``                 board ``R\\x01`` window(u16 LE) ``\\x01``  (raw-paste)
    host  ≤ credit bytes … ``\\x04``     board ``\\x01`` per window consumed, ``\\x04`` ack,
                                       then stdout ``\\x04`` stderr ``\\x04>``

A board that answers ``R\\x00`` (or, on old firmware, ``raw REPL…``) has no raw-paste: the
machine falls back to plain raw mode for that and every later execution.
"""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"
# Code up to this size goes in plain raw mode: one write, no handshake round trip. It fits
# the ESP32's 256-byte UART input buffer, which plain raw mode has no flow control for.
PLAIN_RAW_LIMIT = 256
# Marks of a board that restarted: the ROM's reset line (reasons such as POWERON_RESET,
# SW_CPU_RESET, TG1WDT_SYS_RESET) and MicroPython's soft reboot line.
REBOOT_MARKS = re.compile(rb"rst:0x[0-9a-f]{1,8} \(([A-Z0-9_]{1,32})\)|MPY: soft reboot\r?\n")
_LONGEST_MARK = len(b"rst:0x12345678 ()") + 32
# MicroPython's own banner, the mark of a reset whose ROM lines were unreadable (a ROM that
# prints at 74880 baud, as ESP32s with a 26 MHz crystal do) or lost. Only a board we believe
# is in raw mode can print it unasked, so it marks a reboot in every state but UNKNOWN.
BANNER_MARK = re.compile(rb'MicroPython v\d[^\r\n]{0,120}\r\nType "help\(\)" for more information\.\r\n')
_BANNER_START, _BANNER_NEXT_LINE = b"MicroPython v", b'Type "help()" for more information.\r\n'
_BANNER_LINE_MAX = len(_BANNER_START) + 1 + 120
UNREADABLE_RESET = "a reset whose boot messages were unreadable"


class ProtocolError(Exception):
    """The caller asked for something the protocol cannot do in its current state."""


# Events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """The board sits at an empty raw REPL prompt."""


@dataclass(frozen=True)
class Stdout:
    data: bytes


@dataclass(frozen=True)
class Stderr:
    data: bytes


@dataclass(frozen=True)
class Done:
    """The execution ended and the board is back at the raw prompt."""


@dataclass(frozen=True)
class Unsolicited:
    """Output outside any execution: boot messages, timer callbacks, a main.py loop."""

    data: bytes


@dataclass(frozen=True)
class Rebooted:
    """The board restarted; `reason` is the ROM's reset reason or "soft reboot"."""

    reason: str


Event = Ready | Stdout | Stderr | Done | Unsolicited | Rebooted


class State(enum.Enum):
    UNKNOWN = "unknown"  # not (yet) in the raw REPL: after a reboot or before enter()
    ENTERING = "entering"  # waiting for the raw REPL banner
    IDLE = "idle"  # at the raw prompt
    WAIT_OK = "wait-ok"  # plain raw: code sent, waiting for "OK"
    PASTE_NEGOTIATE = "paste-negotiate"  # waiting for R\x01 / R\x00
    PASTE_SEND = "paste-send"  # streaming code under window credit
    STDOUT = "stdout"
    STDERR = "stderr"
    PROMPT = "prompt"  # after stderr's \x04, waiting for ">"
    RESETTING = "resetting"  # soft reset asked at the prompt


class RawRepl:
    """The host side of one raw REPL session."""

    def __init__(self) -> None:
        self.state = State.UNKNOWN
        self.paste_supported: bool | None = None  # unknown until the board answers
        self._inbox = bytearray()
        self._outbox = bytearray()
        self._code = b""
        self._sent = 0
        self._credit = 0
        self._window = 0
        self._paste_ended = False  # our terminating \x04 has been sent
        self._interrupted = False  # Ctrl-C sent during this paste
        self._banners_owed = 0  # banners still to come for the Ctrl-A of each enter()

    # Commands ---------------------------------------------------------------------------

    def enter(self) -> None:
        """Get to an empty raw prompt from any state: stop running code, leave paste modes."""
        # \r ends a friendly-REPL line; two Ctrl-C stop a program (and a paste in progress);
        # Ctrl-A (re)enters raw mode and makes the board print the banner we wait for.
        self._outbox += b"\r" + CTRL_C + CTRL_C + CTRL_A
        self._inbox.clear()
        self._banners_owed += 1
        self.state = State.ENTERING

    def execute(self, code: bytes, *, paste: bool | None = None) -> None:
        """Run `code`; by default long code goes through raw-paste, short code plain raw."""
        self._require(State.IDLE, "execute")
        if CTRL_C in code or CTRL_D in code:
            raise ProtocolError(
                "the code contains a raw Ctrl-C or Ctrl-D byte, which the raw REPL cannot carry;"
                " write it as an escape such as '\\x04' inside a string"
            )
        if paste is None:  # \x01 and \x02 are commands in plain raw mode, data in raw-paste
            paste = len(code) > PLAIN_RAW_LIMIT or CTRL_A in code or CTRL_B in code
        paste = paste and self.paste_supported is not False
        if not paste and (CTRL_A in code or CTRL_B in code):
            raise ProtocolError(
                "the code contains a raw Ctrl-A or Ctrl-B byte, which only raw-paste can carry"
                + (" (this board has no raw-paste)" if self.paste_supported is False else "")
            )
        self._code, self._sent = code, 0
        self._interrupted = self._paste_ended = False
        if paste:
            self._outbox += CTRL_E + b"A" + CTRL_A
            self.state = State.PASTE_NEGOTIATE
        else:
            self._send_plain()

    def _send_plain(self) -> None:
        # Ctrl-D on an empty line soft-resets the board: empty code goes as a blank line.
        self._outbox += (self._code or b"\n") + CTRL_D
        self.state = State.WAIT_OK

    def interrupt(self) -> None:
        """Send Ctrl-C: raises KeyboardInterrupt in running code, aborts a paste."""
        self._outbox += CTRL_C
        if self.state in (State.PASTE_NEGOTIATE, State.PASTE_SEND):
            self._interrupted = True  # the board's \x04 that follows wants no answer

    def soft_reset(self) -> None:
        """Ctrl-D at the empty raw prompt: the board soft-reboots and comes back in raw mode."""
        self._require(State.IDLE, "soft-reset")
        self._outbox += CTRL_D
        self.state = State.RESETTING

    def data_to_send(self) -> bytes:
        out = bytes(self._outbox)
        self._outbox.clear()
        return out

    def _require(self, state: State, what: str) -> None:
        if self.state is not state:
            raise ProtocolError(f"cannot {what} while the raw REPL is {self.state.value}")

    # Input ------------------------------------------------------------------------------

    def receive(self, data: bytes) -> list[Event]:
        self._inbox += data
        events: list[Event] = []
        while self._inbox:
            before = (self.state, len(self._inbox))
            owed = self._banners_owed and self.state is not State.ENTERING
            if owed and self._inbox.startswith(RAW_BANNER):
                # A late answer to an enter() called again before the board replied, not a
                # reply to what we sent since (old firmware refuses raw-paste with a banner).
                del self._inbox[: len(RAW_BANNER)]
                self._banners_owed -= 1
            else:
                getattr(self, "_on_" + self.state.name.lower())(events)
            if (self.state, len(self._inbox)) == before:
                break  # waits for more bytes
        return events

    def _take(self, n: int) -> bytes:
        chunk = bytes(self._inbox[:n])
        del self._inbox[:n]
        return chunk

    def _emit(self, events: list[Event], kind: type, end: int, *, complete: bool) -> bool:
        """Emit inbox[:end] as `kind` events, stopping at a reboot mark (then True).

        Unless the chunk is `complete` (its terminator is in view), a tail that may be the
        start of a reboot mark split across reads is held back for the next call.
        """
        chunk = bytes(self._inbox[:end])
        banner_marks = self.state is not State.UNKNOWN
        marks = [m for m in (REBOOT_MARKS.search(chunk), banner_marks and BANNER_MARK.search(chunk)) if m]
        if marks:
            mark = min(marks, key=lambda m: m.start())
            if mark.start():
                events.append(kind(chunk[: mark.start()]))
            del self._inbox[: mark.end()]
            if mark.re is BANNER_MARK:
                reason = UNREADABLE_RESET
            else:
                reason = mark.group(1).decode() if mark.group(1) else "soft reboot"
            events.append(Rebooted(reason))
            self.state = State.UNKNOWN
            return True
        if not complete:
            held = _partial_tail(chunk, _MARK_PREFIXES)
            end -= max(held, _banner_tail(chunk) if banner_marks else 0)
        if end > 0:
            events.append(kind(chunk[:end]))
            del self._inbox[:end]
        return False

    def _before(self, events: list[Event], replies: tuple[bytes, ...]) -> None:
        """Pass on what comes before the first of `replies` as unsolicited output (a timer's
        print, boot noise; a reboot mark in it ends the wait). The inbox must not start with
        a reply; a tail that may be the start of one waits for more bytes."""
        found = [at for reply in replies if (at := self._inbox.find(reply)) >= 0]
        if found:
            self._emit(events, Unsolicited, min(found), complete=True)
        else:
            held = _partial_tail(self._inbox, replies)
            self._emit(events, Unsolicited, len(self._inbox) - held, complete=False)

    def _on_unknown(self, events: list[Event]) -> None:
        # A board that prints the raw banner unasked (it soft-rebooted in raw mode) is at
        # its raw prompt; anything else is its own output.
        if self._inbox.startswith(RAW_BANNER):
            del self._inbox[: len(RAW_BANNER)]
            self.state = State.IDLE
            events.append(Ready())
        else:
            self._before(events, (RAW_BANNER,))

    def _on_entering(self, events: list[Event]) -> None:
        at = self._inbox.find(RAW_BANNER)
        if at < 0:
            # What precedes the banner (a stopped program's traceback, boot noise) is
            # history; keep only what could be the start of the banner.
            del self._inbox[: len(self._inbox) - _partial_tail(self._inbox, (RAW_BANNER,))]
            return
        del self._inbox[: at + len(RAW_BANNER)]
        self._banners_owed -= 1
        self.state = State.IDLE
        events.append(Ready())

    def _on_idle(self, events: list[Event]) -> None:
        # A repeated banner is protocol, not output; anything else is the board speaking on
        # its own.
        if self._inbox.startswith(RAW_BANNER):
            del self._inbox[: len(RAW_BANNER)]
        else:
            self._before(events, (RAW_BANNER,))

    def _on_wait_ok(self, events: list[Event]) -> None:
        if self._inbox.startswith(b"OK"):
            del self._inbox[:2]
            self.state = State.STDOUT
        elif self._inbox.startswith(RAW_BANNER):  # a repeated banner is protocol, not output
            del self._inbox[: len(RAW_BANNER)]
        else:  # what comes before the answer (a timer's print) is not output of the code
            self._before(events, (b"OK", RAW_BANNER))

    def _on_paste_negotiate(self, events: list[Event]) -> None:
        if self._inbox.startswith(b"R\x01"):
            if len(self._inbox) >= 4:
                (self._window,) = struct.unpack_from("<H", self._inbox, 2)
                del self._inbox[:4]
                # The window size itself grants one window; the \x01 that follows, another.
                self._credit = self._window
                self.paste_supported = True
                self.state = State.PASTE_SEND
                self._send_code()
        elif self._inbox.startswith(b"R\x00"):
            if len(self._inbox) >= 3:
                # Understood but unsupported; the board prints its prompt again.
                del self._inbox[: 3 if self._inbox[2:3] == b">" else 2]
                self._fall_back_to_plain_raw(events)
        elif self._inbox.startswith(RAW_BANNER):
            # Firmware older than raw-paste took \x05A as text and \x01 as "re-enter raw".
            del self._inbox[: len(RAW_BANNER)]
            self._fall_back_to_plain_raw(events)
        else:  # a timer may print before the answer, even text that starts with "R"
            self._before(events, (b"R\x01", b"R\x00", RAW_BANNER))

    def _fall_back_to_plain_raw(self, events: list[Event]) -> None:
        self.paste_supported = False
        if self._interrupted:  # Ctrl-C before the code left: nothing ran
            self.state = State.IDLE
            events.append(Done())
            return
        self._send_plain()

    def _on_paste_send(self, events: list[Event]) -> None:
        if not self._inbox.startswith((CTRL_A, CTRL_D)):
            # Raw-paste itself sends only \x01 and \x04; the rest is the board speaking on
            # its own (timer callbacks run while it waits for data), or rebooting.
            self._before(events, (CTRL_A, CTRL_D))
            return
        byte = self._take(1)
        if byte == CTRL_A:
            self._credit += self._window
            self._send_code()
        else:
            # Either the ack of our end of data, or the board aborting (Ctrl-C, compile
            # error). An abort wants a \x04 back — unless ours is already on its way or
            # we sent Ctrl-C: a second \x04 would reach the prompt and soft-reset the board.
            if not self._paste_ended and not self._interrupted:
                self._outbox += CTRL_D
            self.state = State.STDOUT

    def _send_code(self) -> None:
        if self._interrupted or self._paste_ended:
            return
        n = min(self._credit, len(self._code) - self._sent)
        self._outbox += self._code[self._sent : self._sent + n]
        self._sent += n
        self._credit -= n
        if self._sent == len(self._code):
            self._outbox += CTRL_D
            self._paste_ended = True

    def _on_stdout(self, events: list[Event]) -> None:
        self._section(events, Stdout, State.STDERR)

    def _on_stderr(self, events: list[Event]) -> None:
        self._section(events, Stderr, State.PROMPT)

    def _section(self, events: list[Event], kind: type, next_state: State) -> None:
        end = self._inbox.find(CTRL_D)
        if self._emit(events, kind, len(self._inbox) if end < 0 else end, complete=end >= 0):
            return
        if self._inbox[:1] == CTRL_D:
            del self._inbox[:1]
            self.state = next_state

    def _on_prompt(self, events: list[Event]) -> None:
        if self._inbox[:1] == b">":
            del self._inbox[:1]
            self.state = State.IDLE
            events.append(Done())
        else:  # sys.exit() or machine.soft_reset() gives "\x04\x04MPY: soft reboot\r\n"
            self._before(events, (b">",))

    def _on_resetting(self, events: list[Event]) -> None:
        # "OK\r\nMPY: soft reboot\r\n", boot.py's output, then the raw banner again.
        at = self._inbox.find(RAW_BANNER)
        if at < 0:
            return
        said = self._take(at)
        del self._inbox[: len(RAW_BANNER)]
        events.append(Rebooted("soft reboot"))
        mark = REBOOT_MARKS.search(said)
        boot_output = said[mark.end() :] if mark else b""
        if boot_output:
            events.append(Unsolicited(boot_output))
        self.state = State.IDLE
        events.append(Ready())


_MARK_PREFIXES = (b"rst:0x", b"MPY: soft reboot\r\n")


def _banner_tail(chunk: bytes) -> int:
    """Length of the tail of `chunk` that may still become MicroPython's banner."""
    at = chunk.rfind(_BANNER_START, -(_BANNER_LINE_MAX + len(_BANNER_NEXT_LINE)))
    if at < 0:
        return _partial_tail(chunk, (_BANNER_START,))
    first, newline, rest = chunk[at:].partition(b"\r\n")
    if not newline:
        return len(chunk) - at if len(first) <= _BANNER_LINE_MAX else 0
    return len(chunk) - at if _BANNER_NEXT_LINE.startswith(rest) else 0


def _partial_tail(chunk: bytes | bytearray, needles: tuple[bytes, ...]) -> int:
    """Length of the longest tail of `chunk` that may begin one of `needles` (or a reboot
    mark still missing its reason), so that a match split across reads is not lost."""
    best = 0
    for needle in needles:
        for n in range(min(len(needle) - 1, len(chunk)), best, -1):
            if chunk.endswith(needle[:n]):
                best = n
                break
    if needles is _MARK_PREFIXES:
        at = chunk.rfind(b"rst:0x", -_LONGEST_MARK)
        if at >= 0 and b"\n" not in chunk[at:] and not REBOOT_MARKS.match(chunk, at):
            best = max(best, len(chunk) - at)
    return best
