"""A connected board: one raw REPL session over one link.

Code runs with `start` (streaming: output reaches a callback as the board prints it, from
the link's reader thread) or `exec`/`eval` (blocking, for magics). Interrupting escalates
from Ctrl-C to a hard reset. Everything that reaches the board goes through here, so two
callers cannot interleave on the wire: a second `start` while code runs is refused.
"""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import parse_exception
from .link import protocol
from .link.links import open_link
from .link.serial_link import DEFAULT_BAUD, LinkError, SerialLink
from .link.webrepl_link import PasswordNeeded, PasswordRefused, Secret, WebReplLink

OutputCallback = Callable[[str, bytes], None]  # ("stdout" | "stderr", data)

ENTER_TIMEOUT = 3.0  # a board stuck in boot noise gets this long to show a prompt
STOP_PATIENCE = 1.0  # each interrupt step waits this long for the prompt
REBOOT_SETTLE = 1.0  # a rebooted board that shows no prompt by then is interrupted
FRIENDLY_PROMPT = b"\r\n>>> "
HEARD_LIMIT = 512
FLOOD_INTERVAL = 0.01  # connect_while_booting: a Ctrl-C every 10 ms (a byte time in ten at 115200)


class BoardError(Exception):
    """Something went wrong talking to the board; the message says what to do and `name`
    what kind of failure it is (the failed cell's ename: PortInUse, BoardNotFound …)."""

    def __init__(self, message: str = "", name: str | None = None) -> None:
        super().__init__(message)
        self.name = name or type(self).__name__


class BoardBusy(BoardError):
    """The board is running other code; nothing was sent."""


class AccessDenied(BoardError):
    """The board's WebREPL refused the password (or none was given); the message says what to do."""


class CodeRejected(BoardError):
    """The code cannot be sent as it is; nothing was sent."""


class DeviceError(BoardError):
    """Code raised an exception on the board; `traceback` is MicroPython's text."""

    def __init__(self, traceback: str) -> None:
        self.traceback = traceback
        self.ename, self.evalue = parse_exception(traceback)
        super().__init__(traceback.strip().splitlines()[-1] if traceback.strip() else "error")


@dataclass
class Execution:
    """One piece of code on the board. `done` is set once, with exactly one outcome:
    `error` (the traceback), `rebooted` (the reset reason), `lost` (why), or none (ok)."""

    on_output: OutputCallback | None = None
    on_done: Callable[[Execution], None] | None = None
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    rebooted: str | None = None
    lost: str | None = None
    stopped_by: str | None = None  # the interrupt step that brought the prompt back
    done: threading.Event = field(default_factory=threading.Event)
    collect: bool = False  # keep stdout in memory (blocking exec), else only stream it

    @property
    def error(self) -> str | None:
        return self.stderr.decode(errors="replace") if self.stderr else None

    def _output(self, stream: str, data: bytes) -> None:
        if stream == "stderr":
            self.stderr += data
        elif self.collect:
            self.stdout += data
        if self.on_output:
            self.on_output(stream, data)

    def _finish(self, *, rebooted: str | None = None, lost: str | None = None) -> None:
        if self.done.is_set():
            return
        self.rebooted, self.lost = rebooted, lost
        self.done.set()
        if self.on_done:
            self.on_done(self)


class Board:
    """A raw REPL session on the board at `port` (any pyserial URL)."""

    def __init__(
        self,
        port: str,
        baud: int = DEFAULT_BAUD,
        *,
        hard_reset: Callable[[], None] | None = None,
        on_unsolicited: Callable[[bytes], None] | None = None,
        on_lost: Callable[[str], None] | None = None,
        setup: str | None = None,
        password: Secret | None = None,
    ) -> None:
        self.port = port
        self.password = password  # for a WebREPL link (ws://); a Secret never shows its value
        self.baud = baud
        self.setup = setup  # code run after each connect and reboot, before anything else
        self._needs_setup = setup is not None
        self._external_hard_reset = hard_reset
        self.on_unsolicited = on_unsolicited
        self.on_lost = on_lost
        self._repl = protocol.RawRepl()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._link: SerialLink | WebReplLink | None = None
        self._running: Execution | None = None
        self.lost: str | None = None
        self.loss_reported = False
        self._boot_tail = b""  # the last bytes a rebooting board printed
        self._heard: bytes | None = None  # what the port said while we connected
        # takes what it serves out of running code's stdout (mount.py: %mount's requests)
        self.stdout_filter: Callable[[bytes], bytes] | None = None

    # Connection -------------------------------------------------------------------------

    def connect(self, timeout: float = ENTER_TIMEOUT) -> None:
        """Open the link and get to the raw prompt, whatever the board was doing."""
        self._open()
        try:
            self._enter(timeout)
            self._take_stray_interrupts()
        except BoardError:
            self.close()
            raise

    def connect_while_booting(self, patience: float, ask_for_button: Callable[[str], None] | None = None) -> bytes:
        """Reset the board and flood it with Ctrl-C while it boots, so its main.py is stopped
        within milliseconds of its start — before a loop that ignores Ctrl-C or a
        machine.reset() is reached — then get to the raw prompt. What it said meanwhile."""
        self._open()
        try:
            if self._can_hard_reset():
                self.hard_reset()
            elif ask_for_button:
                ask_for_button(f"{self.port} has no reset line: press the board's reset button now")
            deadline = time.monotonic() + patience
            with self._lock:
                while not (self._heard.endswith(FRIENDLY_PROMPT) or protocol.RAW_BANNER in self._heard):
                    if self.lost:
                        raise BoardError(f"{self.lost} while the board was booting", "LinkLost")
                    if time.monotonic() > deadline:
                        raise BoardError(
                            f"no prompt from {self.port} within {patience:.0f} s of the reset — its main.py ignores"
                            " Ctrl-C even at its start: hold the board's BOOT button while resetting it and reflash"
                            " it with esptool, or erase its file system", "NoPrompt")  # fmt: skip
                    self._repl.interrupt()
                    self._flush()
                    self._ready.wait(FLOOD_INTERVAL)  # the reader runs meanwhile; a prompt or a loss ends the wait
                said = self._heard
            self._enter(ENTER_TIMEOUT)
            self._take_stray_interrupts()
            return said
        except BoardError:
            self.close()
            raise

    def _take_stray_interrupts(self) -> None:
        """Our last Ctrl-Cs may still be on their way (the flood's, or the second one of
        _enter that reached a board whose code was just ending, as the emulated board's can
        be), and one that arrives while code runs is a KeyboardInterrupt: no-ops take them
        before any real work does. (The kernel's helpers wait for the first real run, whose
        cell shows it if they fail.)"""
        needs_setup, self._needs_setup = self._needs_setup, False
        try:
            for _ in range(3):
                try:
                    self.run("pass", timeout=ENTER_TIMEOUT)
                    return
                except DeviceError as e:
                    if e.ename != "KeyboardInterrupt":
                        raise
        finally:
            self._needs_setup = needs_setup

    def _open(self) -> None:
        self.lost = None
        self._heard = b""
        self._needs_setup = self.setup is not None
        self._repl = protocol.RawRepl()
        try:
            self._link = open_link(self.port, self.baud, self.password, on_data=self._on_data, on_lost=self._on_link_lost)
        except (PasswordRefused, PasswordNeeded) as e:
            raise AccessDenied(str(e)) from None
        except LinkError as e:
            raise BoardError(str(e), e.name) from e

    def _enter(self, timeout: float) -> None:
        # A main.py that catches KeyboardInterrupt may need a second try.
        tries = 3
        for _ in range(tries):
            with self._lock:
                self._repl.enter()
                self._flush()
                if self._ready.wait_for(self._at_prompt_or_lost, timeout / tries):
                    break
        else:
            if self.port.startswith(("ws://", "wss://")):
                hint = "is a program on the board holding the REPL? Press its reset button and %connect again"
            else:
                hint = (f"is MicroPython running at {self.baud} baud? Press the board's reset button or try"
                        " %connect PORT --baud N (%flash puts MicroPython on a board that lacks it)")  # fmt: skip
            raise BoardError(f"no MicroPython prompt from {self.port} within {timeout:.0f} s — {hint}")
        if self.lost:
            # A server that refuses us (the emulator, ser2net) often says why before closing.
            said = [line for line in self._heard.decode(errors="replace").splitlines() if line.strip()]
            raise BoardError(f"{self.lost}; it said: {said[-1].strip()}" if said else self.lost)
        self._heard = None

    def _at_prompt_or_lost(self) -> bool:
        return self._repl.state is protocol.State.IDLE or self.lost is not None

    @property
    def connected(self) -> bool:
        return self._link is not None and self.lost is None

    @property
    def busy(self) -> bool:
        return self._running is not None and not self._running.done.is_set()

    def close(self) -> None:
        link, self._link = self._link, None
        if link:
            link.close()
        if self._running:
            self._running._finish(lost=f"disconnected from {self.port}")

    # Running code -----------------------------------------------------------------------

    def start(
        self,
        code: str | bytes,
        on_output: OutputCallback | None = None,
        on_done: Callable[[Execution], None] | None = None,
        *,
        collect: bool = False,
    ) -> Execution:
        """Send `code` to run; returns at once. Output streams to `on_output`."""
        if self._needs_setup and not self.busy:
            self._needs_setup = False
            try:
                self.exec(self.setup, timeout=10)
            except DeviceError as e:  # worth knowing, but not worth refusing the cell
                if on_output:
                    on_output("stdout", f"(the kernel's helpers failed on the board: {e})\r\n".encode())
        data = code.encode() if isinstance(code, str) else code
        execution = Execution(on_output=on_output, on_done=on_done, collect=collect)
        with self._lock:
            self._require_link()
            if self.busy:
                raise BoardBusy("the board is still running a cell — wait for it or interrupt it")
            # After a reboot the session re-enters raw mode; give it the time it needs.
            if not self._ready.wait_for(self._at_prompt_or_lost, ENTER_TIMEOUT):
                raise BoardError(f"the board on {self.port} did not come back to its prompt")
            self._require_link()
            try:
                self._repl.execute(data)
            except protocol.ProtocolError as e:
                raise CodeRejected(str(e)) from e
            self._running = execution
            try:
                self._flush()
            except LinkError as e:
                self._running = None
                raise BoardError(str(e)) from e
        return execution

    def send_input(self, data: bytes) -> None:
        """Bytes for the stdin of the code running now (file transfers stream through this).

        The caller owns the framing: a raw Ctrl-C byte interrupts the code, and bytes the
        code does not read land at the raw prompt after it ends."""
        with self._lock:
            self._require_link()
            if not self.busy:
                raise BoardError("no code is running on the board to read this input")
            try:
                self._link.write(data)
            except LinkError as e:
                raise BoardError(str(e)) from e

    def _require_link(self) -> None:
        if self._link is None or self.lost:
            raise BoardError(self.lost or "no board connected — run %connect PORT (see %ports)")

    def run(
        self, code: str, on_output: OutputCallback | None = None, timeout: float | None = 30, *, collect: bool = False
    ) -> Execution:
        """Run `code` to the end; raise BoardError (DeviceError for an exception on the
        board) unless it ended well. Output streams to `on_output` meanwhile."""
        execution = self.start(code, on_output, collect=collect)
        if not execution.done.wait(timeout):
            self.stop(execution)
            raise BoardError(f"the board took longer than {timeout} s and was interrupted")
        if execution.lost:
            raise BoardError(execution.lost)
        if execution.rebooted:
            raise BoardError(f"the board rebooted ({execution.rebooted})")
        if execution.error:
            raise DeviceError(execution.error)
        return execution

    def exec(self, code: str, timeout: float | None = 30) -> str:
        """Run `code` to the end and return its output; raise DeviceError if it failed."""
        execution = self.run(code, timeout=timeout, collect=True)
        return execution.stdout.decode(errors="replace").replace("\r\n", "\n")

    def eval(self, expression: str, timeout: float | None = 30):
        """The value of a MicroPython expression, through its repr (literals only)."""
        text = self.exec(f"print(repr({expression}))", timeout).strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text

    # Stopping and resetting -------------------------------------------------------------

    def interrupt(self) -> None:
        """Ctrl-C now: KeyboardInterrupt in running code."""
        with self._lock:
            if self._link:
                self._repl.interrupt()
                self._flush()

    def stop(self, execution: Execution, patience: float = STOP_PATIENCE) -> str:
        """Interrupt `execution`, escalating until the board is back; say what worked.

        Ctrl-C, then two more, then a hard reset where there is a reset line. (A soft reset
        is no step of its own: it needs the REPL, which code that ignores Ctrl-C never
        gives back.) If nothing works the link is closed, so the port can be reopened.
        """
        steps: list[tuple[str, Callable[[], None]]] = [
            ("Ctrl-C", self.interrupt),
            ("a second Ctrl-C", lambda: (self.interrupt(), self.interrupt())),
        ]
        if self._can_hard_reset():
            steps.append(("a hard reset", self.hard_reset))
        for name, step in steps:
            try:
                step()
            except (BoardError, LinkError):
                break
            if execution.done.wait(patience):
                execution.stopped_by = name
                return name
        message = (
            f"the board on {self.port} ignored Ctrl-C and has no reset line here — press its"
            " reset button, then run %connect"
        )
        self.lost = message
        execution._finish(lost=message)
        self.close()
        return "nothing"

    def soft_reset(self, timeout: float = ENTER_TIMEOUT) -> None:
        """Soft reboot (boot.py runs again; RAM is cleared) and back to the raw prompt."""
        with self._lock:
            self._require_link()
            if self.busy:
                raise BoardBusy("the board is running a cell — interrupt it first")
            self._repl.soft_reset()
            self._flush()
            if not self._ready.wait_for(self._at_prompt_or_lost, timeout):
                raise BoardError("the board did not come back after a soft reset")

    def _can_hard_reset(self) -> bool:
        return self._external_hard_reset is not None or bool(self._link and self._link.has_modem_lines)

    def hard_reset(self) -> None:
        """Reset the chip (RTS on the EN pin, or the emulator's reset line)."""
        if self._external_hard_reset:
            self._external_hard_reset()
        elif self._link and self._link.has_modem_lines:
            self._link.pulse_reset()
        else:
            raise BoardError(f"{self.port} has no reset line — press the board's reset button")

    def wait_ready(self, timeout: float = ENTER_TIMEOUT) -> bool:
        with self._lock:
            return self._ready.wait_for(self._at_prompt_or_lost, timeout) and not self.lost

    # The reader thread ------------------------------------------------------------------

    def _flush(self) -> None:
        """Write what the protocol has queued (call with the lock held)."""
        if self._link:
            self._link.write(self._repl.data_to_send())

    def _on_data(self, data: bytes) -> None:
        with self._lock:
            if self._heard is not None:  # connecting: keep the tail for error messages
                self._heard = (self._heard + data)[-HEARD_LIMIT:]
            events = self._repl.receive(data)
            for event in events:
                if isinstance(event, protocol.Rebooted):
                    self._needs_setup = self.setup is not None
                    self._after_reboot()
                elif isinstance(event, protocol.Unsolicited):
                    self._boot_tail = (self._boot_tail + event.data)[-len(FRIENDLY_PROMPT) :]
            if self._repl.state is protocol.State.UNKNOWN and self._boot_tail.endswith(FRIENDLY_PROMPT):
                self._repl.enter()  # it booted to the friendly REPL: back to the raw prompt
            try:
                self._flush()
            except LinkError:
                pass  # the reader sees the loss next and reports it once
            if any(isinstance(e, protocol.Ready) for e in events):
                self._ready.notify_all()
            running = self._running
        for event in events:
            self._dispatch(event, running)

    def _after_reboot(self) -> None:
        """The board restarted (call with the lock held). A soft reboot in raw mode comes
        back to the raw prompt by itself, a reset to the friendly REPL: entering now would
        leave a second banner in the stream. Enter once it shows a friendly prompt, or
        when it stays silent (a main.py that runs on) for REBOOT_SETTLE seconds."""
        self._boot_tail = b""
        timer = threading.Timer(REBOOT_SETTLE, self._enter_if_still_booting)
        timer.daemon = True
        timer.start()

    def _enter_if_still_booting(self) -> None:
        with self._lock:
            if self._link and self._repl.state is protocol.State.UNKNOWN:
                self._repl.enter()
                try:
                    self._flush()
                except LinkError:
                    pass

    def _dispatch(self, event: protocol.Event, running: Execution | None) -> None:
        active = running is not None and not running.done.is_set()
        match event:
            case protocol.Stdout(data) if active:
                if self.stdout_filter is not None:
                    data = self.stdout_filter(data)
                if data:
                    running._output("stdout", data)
            case protocol.Stderr(data) if active:
                running._output("stderr", data)
            case protocol.Done() if active:
                running._finish()
            case protocol.Rebooted(reason) if active:
                running._finish(rebooted=reason)
            case protocol.Unsolicited(data) | protocol.Stdout(data) | protocol.Stderr(data):
                if self.on_unsolicited:
                    self.on_unsolicited(data)

    def _on_link_lost(self, message: str) -> None:
        with self._lock:
            self.lost = message
            self._ready.notify_all()
            running = self._running
        # A running cell reports the loss itself; otherwise the owner should tell the user.
        self.loss_reported = bool(running and not running.done.is_set())
        if running:
            running._finish(lost=message)
        if self.on_lost:
            self.on_lost(message)
