"""The Jupyter kernel: cells run on the board, `%%host` cells and magics run here.

An IPython kernel underneath, so widgets, Bokeh, display(), history and comms work as
usual. A device cell is rewritten (cells.route_cell) into an `await` of
`run_device_code`, which streams the board's output into the cell while it runs and keeps
the event loop free, so widgets stay live during a device cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar, copy_context
from dataclasses import dataclass

from IPython.core.error import StdinNotImplementedError
from ipykernel.ipkernel import IPythonKernel

from . import __version__, ipykernel_surface, redaction
from .board import AccessDenied, Board, BoardError, Execution
from .cell_life import CellLife
from .cells import is_device_cell, is_device_only, parse_cell, route_cell, with_result
from .completion import DeviceCompleter
from .config import ConfigError, resolve_target
from .errors import CellError, board_problem, device_exception
from .history_writes import write_history_when_idle
from .host import HostBench, HostBoard
from .lab import LabComm
from .live.frames import Frame, OutputDemux, result_text
from .link.webrepl_link import Secret
from .session import PASSWORD_ENV, BoardSession

CONNECT_TIMEOUT = 30.0  # the first cell waits this long for the start-up connection
HOLD_PATIENCE = 120.0  # a cell waits this long for the lab panel's file transfer to end
UNSOLICITED_LIMIT = 64 * 1024  # what the board prints between cells, kept for the next cell
# Requests answered at once while a device cell runs, instead of queued behind it: they need
# nothing from the board (completion answers from the stubs and the last namespace seen).
ANSWERED_WHILE_A_CELL_RUNS = frozenset(
    {"complete_request", "inspect_request", "is_complete_request", "kernel_info_request", "comm_info_request"}
)
_answering_beside_a_cell: ContextVar[bool] = ContextVar("answering_beside_a_cell", default=False)


@dataclass
class _Interruptible:
    """Device work in a cell (its device code, `%%on`): Jupyter's interrupt cancels its task, once."""

    loop: asyncio.AbstractEventLoop
    task: asyncio.Task
    parent: dict  # the execute request it belongs to
    pressed: bool = False
    active: bool = True  # cleared (on the loop) as the work ends: a press still on its way is dropped

    def interrupt(self) -> None:
        if not self.pressed:
            self.pressed = True
            self.loop.call_soon_threadsafe(self._cancel)

    def _cancel(self) -> None:
        if self.active:
            self.task.cancel()


@dataclass
class _RunningCell:
    loop: asyncio.AbstractEventLoop
    feed: asyncio.Queue  # the cell's text and result frame, then None at its end
    done: bool = False  # the board finished it: what it prints now is not this cell's

    def send(self, piece: str | Frame | None) -> None:
        self.loop.call_soon_threadsafe(self.feed.put_nowait, piece)


class _LabelledStream:
    """A named board's output: its own demux, and its text's lines labelled [NAME]."""

    def __init__(self, name: str) -> None:
        self.demux = OutputDemux()
        self.prefix = f"[{name}] "
        self.at_line_start = True

    def label(self, text: str) -> str:
        out = []
        for line in text.splitlines(keepends=True):
            if self.at_line_start:
                out.append(self.prefix)
            out.append(line)
            self.at_line_start = line.endswith("\n")
        return "".join(out)


class DeviceValue:
    """The repr of a cell's last expression, as the board printed it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class ESP32Kernel(IPythonKernel):
    implementation = "esp32_kernel"
    implementation_version = __version__
    banner = "ESP32 (MicroPython): cells run on the board; %%host cells run Python on this computer."

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.language_info = {
            **self.language_info,
            "name": "python",
            "version": "3.4",  # the language level MicroPython implements
            "codemirror_mode": {"name": "ipython", "version": 3},
            "pygments_lexer": "ipython3",
        }
        self.boards = BoardSession(on_unsolicited=self._on_unsolicited)
        self.cells = CellLife()  # when each cell starts and ends, for whoever follows it
        write_history_when_idle(self.shell.history_manager, self.cells)
        ipykernel_surface.reply_without_sleeping(self)
        self._demux = OutputDemux()  # the board's output: text and frames
        self._named_streams: dict[str, _LabelledStream] = {}  # named boards' own output
        self._output_lock = threading.Lock()  # orders output with the end of each cell
        self._unsolicited_text: list[str] = []  # printed between cells, shown with the next
        self._running: _RunningCell | None = None  # the device code running now
        self._interruptible: _Interruptible | None = None  # what Jupyter's interrupt cancels now
        self._host_code_running = False  # IPython runs a cell (%%host, magics): SIGINT interrupts it
        self.frame_handlers: dict[str, Callable[[Frame, str | None], None]] = {}  # frame kind → consumer
        self.text_handlers: list[Callable[[str], None]] = []  # the board's plain text (line plots)
        self.completer = DeviceCompleter()
        redaction.install(self.log)  # the debug log prints messages: password widgets' values too
        redaction.install(logging.getLogger())
        shell = self.shell
        shell.input_transformer_manager.cleanup_transforms.insert(0, route_cell)
        shell.set_custom_exc((CellError,), _show_cell_error)
        shell.events.register("pre_run_cell", self._host_code_started)
        shell.events.register("post_run_cell", self._host_code_ended)
        from .magics import register

        register(shell, self)
        shell.user_ns["board"] = HostBoard(self)
        shell.user_ns["bench"] = HostBench(self)
        self.lab = LabComm.attach(self)  # the lab extension's comm target
        self._connected = threading.Event()
        self.password_wanted: str | None = None  # a configured WebREPL URL still waiting for its password
        threading.Thread(target=self._connect_at_start, name="connect", daemon=True).start()

    @property
    def kernel_info(self):
        info = super().kernel_info
        info["debugger"] = False  # device code cannot be stepped through from here
        # Which board this kernel runs cells on, for a teacher's overview (classroom.py); it is
        # answered beside a running cell, so the overview never waits for a student's loop.
        board = self.boards.description if self._connected.is_set() else "connecting"
        info["esp32_board"] = {"board": board, "emulated": self.boards.emulator is not None,
                               "named": sorted(self.boards.named), "error": self.boards.error}  # fmt: skip
        return info

    # Start-up ---------------------------------------------------------------------------

    def _connect_at_start(self) -> None:
        try:
            target = resolve_target()
            message = self.boards.connect_target(target)
        except AccessDenied as e:  # a configured WebREPL: the first device cell asks for its password
            message = f"Not connected: {e}"
            self.boards.error = str(e)
            self.password_wanted = target.port
        except (BoardError, ConfigError, OSError) as e:
            message = f"Not connected: {e}"
            self.boards.error = str(e)
        self.boards.notices.append(message)
        self._connected.set()

    def webrepl_password(self, url: str) -> tuple[Secret, str]:
        """A WebREPL's password and where it came from: remembered, the environment, or
        asked for in the front end's password box (never part of a cell, the history or
        the notebook). Raises BoardError if there is no way to get one."""
        password, source = self.boards.webrepl_password(url)
        if password is not None:
            return password, source
        try:
            typed = self.getpass(f"WebREPL password for {url}: ")
        except StdinNotImplementedError:
            raise BoardError(
                f"WebREPL at {url} needs its password and this front end cannot ask for one —"
                f" set {PASSWORD_ENV} in the kernel's environment"
            ) from None
        except (EOFError, KeyboardInterrupt):
            raise BoardError("no password given; the connection was left as it was") from None
        return Secret(typed), "typed"

    async def _connect_configured_webrepl(self, url: str) -> None:
        """The configured WebREPL needs a password: ask for it (this cell's password box)."""
        password, _ = await asyncio.to_thread(self.webrepl_password, url)
        message = await asyncio.to_thread(self.boards.connect, url, password=password)
        self.password_wanted = None
        self.boards.notices.append(message)

    def wait_for_start_up(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """Block until the start-up connection has landed (or failed): magics that look at
        the session first, so a notebook's first cell sees the board it will get."""
        self._connected.wait(timeout)

    async def board(self) -> Board:
        """The connected board; waits (off the event loop) only while a connection is pending."""
        board = self.boards.board
        if self._connected.is_set() and board is not None and board.connected:
            return board
        if not self._connected.is_set():
            await asyncio.to_thread(self._connected.wait, CONNECT_TIMEOUT)
        if self.password_wanted and self.boards.board is None:
            await self._connect_configured_webrepl(self.password_wanted)
        return await asyncio.to_thread(self.boards.current)

    def show_notices(self) -> None:
        notices, self.boards.notices[:] = list(self.boards.notices), []
        for notice in notices:
            print(notice)
        with self._output_lock:
            text, self._unsolicited_text = "".join(self._unsolicited_text), []
        if text:
            print(f"[the board, between cells]\n{text}", end="" if text.endswith("\n") else "\n")

    # Completion and inspection ----------------------------------------------------------

    def _device_board(self) -> Board | None:
        """The board to ask for live names; None beside a running cell (its link is the cell's)."""
        if _answering_beside_a_cell.get():
            return None
        board = self.boards.board
        return board if board is not None and board.connected else None

    async def do_complete(self, code, cursor_pos):
        if not is_device_cell(code):
            return await _maybe_await(super().do_complete(code, cursor_pos))
        magics = list(self.shell.magics_manager.lsmagic()["line"])
        found = await asyncio.to_thread(self.completer.complete, self._device_board(), code, cursor_pos, magics)
        return {"status": "ok", "matches": found.matches, "cursor_start": found.start, "cursor_end": found.end, "metadata": {}}

    async def do_inspect(self, code, cursor_pos, detail_level=0, omit_sections=()):
        if not is_device_cell(code):
            return await _maybe_await(super().do_inspect(code, cursor_pos, detail_level, omit_sections))
        text = await asyncio.to_thread(self.completer.inspect, self._device_board(), code, cursor_pos)
        return {"status": "ok", "found": text is not None, "data": {"text/plain": text} if text else {}, "metadata": {}}

    async def shell_main(self, subshell_id, msg):
        """ipykernel handles one shell request at a time: while a cell's device work runs (a
        device cell, `%%on`), the requests that need nothing from the board are answered
        beside it instead."""
        if subshell_id is None and self._interruptible is not None:
            header = self._header_of(msg)
            if header.get("msg_type") in ANSWERED_WHILE_A_CELL_RUNS:
                await self._answer_beside_the_cell(msg, {"header": header})
                return
        await super().shell_main(subshell_id, msg)

    def _header_of(self, msg) -> dict:
        try:
            _, frames = self.session.feed_identities(msg, copy=False)
            return self.session.deserialize(frames, content=False, copy=False)["header"]
        except Exception:  # left to ipykernel, which logs bad messages
            return {}

    async def _answer_beside_the_cell(self, msg, request: dict) -> None:
        """As ipykernel answers comm messages during an async cell (its own context, the
        cell's parent restored after), with busy/idle for this request, then busy again for
        the cell: front ends show the kernel's state from the latest status message."""
        cell_parent = ipykernel_surface.shell_parent(self)
        context = copy_context()
        context.run(_answering_beside_a_cell.set, True)
        ipykernel_surface.publish_status(self, "busy", request)
        try:
            await asyncio.create_task(ipykernel_surface.dispatch_beside(self, msg), context=context)
        finally:
            ipykernel_surface.restore_shell_parent(self, cell_parent)
            ipykernel_surface.publish_status(self, "idle", request)
            self._busy_again_for_the_cell()

    async def dispatch_control(self, msg):
        """Control requests (JupyterLab creates subshells for widget comms on every page
        load) end with an idle status too: the running cell's busy follows it."""
        await super().dispatch_control(msg)
        work = self._interruptible
        if work is not None:
            work.loop.call_soon_threadsafe(self._busy_again_for_the_cell)

    @property
    def device_code_running(self) -> bool:
        """Device code of a cell is on the board now (its link is the cell's)."""
        return self._running is not None

    def _busy_again_for_the_cell(self) -> None:
        """Status busy for the cell whose device work runs now, if any (on the event loop,
        where the cell's own idle is sent after that work has ended: never a busy after it)."""
        work = self._interruptible
        if work is not None and work.active:
            ipykernel_surface.publish_status(self, "busy", work.parent)

    # Device cells -----------------------------------------------------------------------

    async def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False, **kwargs):
        """One execute request: the cell's life, told to `self.cells`' subscribers."""
        await self.cells.clear(HOLD_PATIENCE)
        self.cells.started()
        try:
            return await self._execute(code, silent, store_history, user_expressions, allow_stdin, **kwargs)
        finally:
            self.cells.ended()

    async def _execute(self, code, silent, store_history, user_expressions, allow_stdin, **kwargs):
        """Cells that are all device code skip IPython's compile-and-run machinery: the
        board's own round trip is then most of the cell's latency."""
        if user_expressions or not is_device_only(code):
            return await super().do_execute(code, silent, store_history, user_expressions, allow_stdin, **kwargs)
        shell = self.shell
        count = shell.execution_count
        if store_history:
            shell.history_manager.store_inputs(count, code)
        ipykernel_surface.allow_stdin(self, allow_stdin)  # as IPythonKernel.do_execute: a password box needs it
        shell.events.trigger("pre_execute")
        error: CellError | None = None
        value = None
        try:
            value = await self.run_device_code(code)
        except CellError as e:
            error = e
        shell.events.trigger("post_execute")
        if store_history:
            shell.execution_count += 1
        reply = {"execution_count": count, "user_expressions": {}, "payload": []}
        if error is not None:
            stb = _show_cell_error(shell, type(error), error, None)
            return {**reply, "status": "error", "ename": type(error).__name__, "evalue": str(error), "traceback": stb}
        if value is not None and not silent:
            self._publish_result(count, value.text)
        return {**reply, "status": "ok"}

    def _publish_result(self, count: int, text: str) -> None:
        """An execute_result, after any output."""
        sys.stdout.flush()
        ipykernel_surface.publish_execute_result(self.shell, count, text)

    async def run_device_code(self, source: str, first_line: int = 1) -> DeviceValue | None:
        """Run `source` on the board, streaming its output; the value of its last expression."""
        with self.interruptible():
            return await self._run_device_code(source, first_line)

    async def _run_device_code(self, source: str, first_line: int) -> DeviceValue | None:
        try:
            board = await self.board()  # waits while the start-up connection is under way
        except BoardError as e:
            self.show_notices()
            raise board_problem("NoBoard", str(e)) from None
        except asyncio.CancelledError:  # Jupyter's interrupt, before the code reached the board
            raise board_problem("KeyboardInterrupt", "interrupted before the cell reached the board") from None
        self.show_notices()
        cell = _RunningCell(asyncio.get_running_loop(), asyncio.Queue())

        def on_output(stream: str, data: bytes) -> None:
            if stream == "stdout":  # stderr is the traceback, which the execution keeps
                self._board_output(data)

        def on_done(_: Execution) -> None:
            with self._output_lock:  # ordered with _board_output: later bytes are not this cell's
                cell.done = True
                cell.send(None)

        # Blank lines in front keep the board's line numbers those of the cell.
        tree = parse_cell(source)
        code = "\n" * (first_line - 1) + with_result(source, tree)
        self._running = cell
        try:
            execution = board.start(code, on_output, on_done)
            self.completer.note_cell(source, tree)  # while the code is on its way
            result = await self._stream(board, execution, cell.feed)
        except BoardError as e:
            raise board_problem(e.name, str(e)) from None
        finally:
            self._running = None
        return self._outcome(execution, result)

    async def run_on_boards(self, line: str, cell: str) -> None:
        """A `%%on LINE` cell (cells.route_cell): `cell` on each named board at once."""
        from .magics.boards import run_on_boards

        await run_on_boards(self, line, cell)

    # Interrupts -------------------------------------------------------------------------
    # An interrupt belongs to the code running when it arrives: a device cell is cancelled
    # directly, once; host code gets SIGINT, as IPython's kernel gives it; with nothing
    # running (extra presses of the stop button, one that arrives as a cell ends) it is
    # absorbed. A SIGINT that lands after its host code ended is dropped by the handler below
    # instead of being raised in ipykernel's reply or in the next cell.

    @contextlib.contextmanager
    def interruptible(self):
        """While inside (on the event loop, in a cell), Jupyter's interrupt cancels the
        current task once instead of sending SIGINT: the code inside stops its board(s)."""
        target = self._interruptible = _Interruptible(asyncio.get_running_loop(), asyncio.current_task(), self.get_parent("shell"))
        try:
            yield
        finally:
            target.active = False
            self._interruptible = None

    def _send_interrupt_children(self) -> None:
        """Jupyter's interrupt (control thread)."""
        target = self._interruptible
        if target is not None:
            target.interrupt()
        elif self._host_code_running:
            super()._send_interrupt_children()

    def pre_handler_hook(self) -> None:
        """While ipykernel handles a request, SIGINT interrupts host code only."""
        ipykernel_surface.handle_sigint_while_handling(self, self._on_sigint)

    def _on_sigint(self, signum, frame) -> None:
        if self._host_code_running:
            raise KeyboardInterrupt

    def _host_code_started(self, *_) -> None:
        self._host_code_running = True

    def _host_code_ended(self, *_) -> None:
        self._host_code_running = False

    async def _stream(self, board: Board, execution: Execution, feed: asyncio.Queue) -> str | None:
        """Write the cell's text as it comes; the repr of its last value, at the end."""
        result = None
        while True:
            try:
                piece = await feed.get()
            except asyncio.CancelledError:  # Jupyter's interrupt
                await asyncio.to_thread(board.stop, execution)
                continue
            if piece is None:
                return result
            if isinstance(piece, Frame):
                result = result_text(piece)
            else:
                sys.stdout.write(piece)

    def _outcome(self, execution: Execution, result: str | None) -> DeviceValue | None:
        if execution.stopped_by and execution.stopped_by != "Ctrl-C":
            print(f"(the board ignored Ctrl-C; {execution.stopped_by} stopped it)")
        if execution.lost:
            raise board_problem("LinkLost", f"{execution.lost}. The kernel is still running; it reconnects when the board is back.")
        if execution.rebooted:
            self.completer.forget_board_state()
            raise board_problem(
                "BoardReset",
                f"the board rebooted during this cell ({execution.rebooted}); it is back at its prompt"
                " and its variables are gone.",
            )
        if execution.error:
            raise device_exception(execution.error)
        return DeviceValue(result) if result is not None else None

    def _on_unsolicited(self, source: str | None, data: bytes) -> None:
        """What a board prints outside an exchange of ours: the default board between cells
        (source None), a named board whenever no `%%on` cell runs on it."""
        if source is None:
            self._board_output(data)
        else:
            self._named_board_output(source, data)

    def _board_output(self, data: bytes) -> None:
        """Everything the board prints, in the order the link delivers it (reader thread).

        One demux for the whole session, so a frame cut by the end of a cell is not lost;
        text and results go to the cell that is running, else text waits for the next one.
        """
        with self._output_lock:
            pieces = self._demux.feed(data)
            for piece in pieces:
                if isinstance(piece, str) or piece.kind == "R":
                    self._to_the_cell(piece)
        for piece in pieces:
            if isinstance(piece, Frame):
                if piece.kind != "R":
                    self.dispatch_frame(piece)
            else:
                self.dispatch_text(piece)

    def _named_board_output(self, name: str, data: bytes) -> None:
        """A named board's own output (a Timer that prints or emits): its text, each line
        labelled [NAME], goes where the default board's text goes; its data frames feed the
        live plots as that board's series. Each board has its own demux: two boards' frames
        never interleave."""
        with self._output_lock:
            stream = self._named_streams.get(name)
            if stream is None:
                stream = self._named_streams[name] = _LabelledStream(name)
            pieces = stream.demux.feed(data)
            for piece in pieces:
                if isinstance(piece, str):
                    self._to_the_cell(stream.label(piece))
        for piece in pieces:
            if isinstance(piece, Frame) and piece.kind != "R":
                self.dispatch_frame(piece, source=name)

    def _to_the_cell(self, piece: str | Frame) -> None:
        """Text or a result for the device cell running now; text waits for the next cell
        when none is (call with the output lock held)."""
        cell = self._running if self._running is not None and not self._running.done else None
        if cell is not None:
            cell.send(piece)
        elif isinstance(piece, str):
            self._keep_between_cells(piece)

    def _keep_between_cells(self, text: str) -> None:
        self._unsolicited_text.append(text)
        while sum(map(len, self._unsolicited_text)) > UNSOLICITED_LIMIT and len(self._unsolicited_text) > 1:
            self._unsolicited_text.pop(0)

    def dispatch_frame(self, frame: Frame, source: str | None = None) -> None:
        """Hand a data frame to whoever registered for its kind (live plots, widgets);
        `source` names the board it came from, None for the board cells run on.

        Called on the event loop during a cell, and from the link's reader thread between
        cells: handlers must be quick and thread-safe."""
        handler = self.frame_handlers.get(frame.kind)
        if handler is not None:
            handler(frame, source)

    def dispatch_text(self, text: str) -> None:
        """Hand the board's plain output text to its consumers (same threads as frames)."""
        for handler in self.text_handlers:
            handler(text)

    def do_shutdown(self, restart):
        self.boards.close()
        return super().do_shutdown(restart)


async def _maybe_await(value):
    return await value if inspect.isawaitable(value) else value


def _show_cell_error(shell, etype, value, tb, tb_offset=None) -> list[str]:
    """Show the board's traceback or the failure's own words (not the host frames that
    awaited it) as the cell's error."""
    red, bold, reset = "\x1b[0;31m", "\x1b[1;31m", "\x1b[0m"
    *frames, last = value.traceback_text.replace("\r\n", "\n").rstrip("\n").split("\n")
    name, colon, message = last.partition(":")
    stb = [*frames, f"{bold}{name}{reset}{red}{colon}{message}{reset}"]
    ipykernel_surface.show_traceback(shell, etype, value, stb)
    return stb


def main() -> None:
    from ipykernel.kernelapp import IPKernelApp

    # fd-level capture (C extensions writing to fd 1) costs every cell a thread round trip;
    # device output never goes through the kernel process's file descriptors.
    IPKernelApp.launch_instance(kernel_class=ESP32Kernel, capture_fd_output=False, outstream_class="esp32_kernel.streams.OutStream")
