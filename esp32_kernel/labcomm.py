"""The lab extension's line to the kernel: a comm target that shows the board and takes commands.

The front end opens a comm on target `esp32_kernel.board`. The kernel answers with a
`state` message at once and again whenever the state changes (connected, lost, busy/idle,
free heap after a cell). The front end sends commands; each gets a `reply` with the same id:

    front end → kernel   {"command": "ports" | "connect" | "disconnect" | "soft_reset"
                                      | "hard_reset" | "interrupt" | "refresh",
                          "id": "…", "port": "…", "baud": 115200}
    kernel → front end   {"type": "state", "state": {...}}            (see `LabComm.state`)
                         {"type": "reply", "id": "…", "ok": true|false, "message": "…",
                          "ports": [...]}                               (ports: only for "ports")

The board is never talked to while a cell runs: commands that need it are refused with a
message (interrupt excepted: it is for running code), and the firmware/heap query runs on
the kernel's event loop between cells, where no cell can start under it.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from .board import Board, BoardError, Execution
from .config import EMULATOR
from .link import ports
from .link.serial_link import DEFAULT_BAUD

log = logging.getLogger(__name__)

TARGET = "esp32_kernel.board"
WATCH_INTERVAL = 1.0  # seconds between cheap checks for changes made elsewhere (reconnects)
QUERY_TIMEOUT = 2.0  # the firmware/heap query; a board that takes longer is left alone
REFRESH_DELAY = 0.05  # after a cell, wait this long for the next queued cell before querying

# One expression, so the user's namespace gains no names.
_QUERY = "print(repr((tuple(__import__('os').uname()), __import__('gc').mem_free())))"
_BUSY_MESSAGE = "the board is running a cell — interrupt it first"


def _port_dict(port: ports.PortInfo) -> dict[str, Any]:
    return {
        "device": port.device,
        "description": port.description,
        "vid_pid": port.vid_pid,
        "bridge": port.bridge,
    }


def list_ports() -> list[dict[str, Any]]:
    """This machine's serial ports as JSON-ready dicts, likely ESP32 boards first."""
    return [_port_dict(p) for p in ports.list_serial_ports()]


class LabComm:
    """Serves every comm the front end opens on `TARGET` in one kernel."""

    def __init__(self, kernel) -> None:
        self.kernel = kernel
        self.comms: dict[str, Any] = {}
        self.cell_running = False
        self.pending: str | None = None  # a command running in a worker thread
        self.firmware: dict[str, Any] | None = None  # per board object: see _board_info
        self.free_heap: int | None = None
        self._info_board: Board | None = None  # the board `firmware`/`free_heap` came from
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_sent: dict | None = None
        self._watching = False
        self._refresh_handle: asyncio.TimerHandle | None = None

    @classmethod
    def attach(cls, kernel) -> LabComm:
        """Register the comm target and follow the kernel's cells."""
        lab = cls(kernel)
        kernel.comm_manager.register_target(TARGET, lab._on_open)
        lab._follow_cells()
        return lab

    def _follow_cells(self) -> None:
        """Know when a cell starts and ends. IPython's pre/post_execute events will not do:
        the comm package fires them around every comm message too (ours included), so the
        kernel's own `do_execute` is wrapped instead: one call per execute_request."""
        run_cell = self.kernel.do_execute

        @functools.wraps(run_cell)
        async def do_execute(*args, **kwargs):
            self._cell_started()
            try:
                return await run_cell(*args, **kwargs)
            finally:
                self._cell_ended()

        self.kernel.do_execute = do_execute

    # The state --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the status bar and the panel show. No I/O: safe at any time."""
        boards = self.kernel.boards
        board = boards.board
        connected = bool(board is not None and board.connected)
        if board is not self._info_board:
            self.firmware, self.free_heap, self._info_board = None, None, board
        emulator = boards.emulator is not None and board is not None and board.port == boards.emulator.url
        return {
            "connected": connected,
            "kind": None if board is None else "emulator" if emulator else "board",
            "description": boards.description,
            "port": board.port if board is not None else None,
            "baud": board.baud if board is not None else None,
            "lost": board.lost if board is not None else None,
            "error": boards.error,
            "firmware": self.firmware,
            "free_heap": self.free_heap,
            "busy": self.cell_running or bool(board is not None and board.busy),
            "pending": self.pending,
            "starting": not self.kernel._connected.is_set(),
        }

    def publish(self, force: bool = False) -> None:
        """Send the state to every open comm if it changed (or `force`). Any thread."""
        loop = self._loop
        if loop is not None and threading.current_thread() is not threading.main_thread():
            loop.call_soon_threadsafe(self.publish, force)
            return
        state = self.state()
        if not force and state == self._last_sent:
            return
        self._last_sent = state
        for comm in list(self.comms.values()):
            self._send(comm, {"type": "state", "state": state})

    def _send(self, comm, data: dict) -> None:
        try:
            comm.send(data)
        except Exception:  # a comm whose front end went away
            log.debug("could not send to comm %s", getattr(comm, "comm_id", "?"), exc_info=True)

    # The board query (firmware, free heap) ----------------------------------------------

    def query_board(self) -> bool:
        """Ask the board for its firmware and free heap, if it is idle. Runs on the event
        loop's thread, so no cell can start while the (millisecond) query is on the wire."""
        board = self.kernel.boards.board
        if board is None or not board.connected or board.busy or self.cell_running or self.pending:
            return False
        try:
            execution: Execution = board.start(_QUERY, collect=True)
        except BoardError as e:
            log.debug("board query refused: %s", e)
            return False
        if not execution.done.wait(QUERY_TIMEOUT) or execution.error or execution.lost or execution.rebooted:
            return False
        text = execution.stdout.decode(errors="replace").strip()
        try:
            uname, heap = ast.literal_eval(text)
            sysname, _node, release, version, machine = uname
        except (ValueError, SyntaxError, TypeError):
            log.debug("unexpected board query answer: %r", text)
            return False
        self._info_board = board
        self.firmware = {"sysname": sysname, "release": release, "version": version, "machine": machine}
        self.free_heap = heap
        return True

    def refresh(self) -> None:
        """Query the board (when idle) and publish."""
        self._refresh_handle = None
        self.query_board()
        self.publish()

    def _schedule_refresh(self, delay: float = REFRESH_DELAY) -> None:
        if self._loop is None or not self.comms:
            return
        if self._refresh_handle is not None:
            self._refresh_handle.cancel()
        self._refresh_handle = self._loop.call_later(delay, self.refresh)

    # Following the kernel ---------------------------------------------------------------

    def _cell_started(self) -> None:
        self.cell_running = True
        if self._refresh_handle is not None:
            self._refresh_handle.cancel()
            self._refresh_handle = None
        if self.comms:
            self.publish()

    def _cell_ended(self) -> None:
        self.cell_running = False
        if self.comms:
            self.publish()
            self._schedule_refresh()

    def _watch(self) -> None:
        """Catch changes made outside our view (a lost link, a reconnect thread)."""
        if not self.comms:
            self._watching = False
            return
        before = self._last_sent
        self.publish()
        after = self._last_sent
        if before is not None and after is not None and after["connected"] and not before["connected"]:
            self._schedule_refresh()
        self._loop.call_later(WATCH_INTERVAL, self._watch)

    # Comms ------------------------------------------------------------------------------

    def _on_open(self, comm, msg) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self.comms[comm.comm_id] = comm
        comm.on_msg(self._on_msg)
        comm.on_close(lambda _msg, comm_id=comm.comm_id: self.comms.pop(comm_id, None))
        self._send(comm, {"type": "state", "state": self.state()})
        if self._loop is not None:
            if not self._watching:
                self._watching = True
                self._loop.call_later(WATCH_INTERVAL, self._watch)
            if self.firmware is None:
                self._schedule_refresh(0)

    def _on_msg(self, msg) -> None:
        data = msg["content"]["data"] or {}
        comm = self.comms.get(msg["content"]["comm_id"])
        command, request_id = data.get("command"), data.get("id")

        def reply(ok: bool, message: str = "", **extra) -> None:
            if comm is not None:
                self._send(comm, {"type": "reply", "id": request_id, "ok": ok, "message": message, **extra})

        handler = self.commands.get(command)
        if handler is None:
            reply(False, f"unknown command {command!r}")
            return
        try:
            handler(self, data, reply)
        except Exception as e:  # never let a front-end request break the kernel
            log.exception("lab command %s failed", command)
            reply(False, f"{type(e).__name__}: {e}")

    # Commands ---------------------------------------------------------------------------

    def _cmd_refresh(self, data: dict, reply) -> None:
        self.query_board()
        self.publish(force=True)
        reply(True)

    def _cmd_ports(self, data: dict, reply) -> None:
        reply(True, ports=list_ports())

    def _cmd_interrupt(self, data: dict, reply) -> None:
        board = self.kernel.boards.board
        if board is None or not board.connected:
            reply(False, "no board connected")
            return
        board.interrupt()
        reply(True, "Ctrl-C sent to the board")

    def _in_background(self, name: str, work: Callable[[], str], reply) -> None:
        """Run a slow board operation off the event loop; one at a time, never during a cell."""
        if self.pending:
            reply(False, f"still busy with {self.pending}")
            return
        if self.cell_running:
            reply(False, _BUSY_MESSAGE)
            return
        self.pending = name
        self.publish()

        def run() -> None:
            try:
                message, ok = work(), True
            except (BoardError, OSError) as e:
                message, ok = str(e), False
            except Exception as e:
                log.exception("lab command %s failed", name)
                message, ok = f"{type(e).__name__}: {e}", False
            if self._loop is not None:
                self._loop.call_soon_threadsafe(finish, ok, message)
            else:
                finish(ok, message)

        def finish(ok: bool, message: str) -> None:
            self.pending = None
            reply(ok, message)
            self.publish()
            self._schedule_refresh(0)

        threading.Thread(target=run, name=f"lab-{name}", daemon=True).start()

    def _cmd_connect(self, data: dict, reply) -> None:
        port = str(data.get("port") or "").strip()
        if not port:
            reply(False, "which port? (a serial port, a socket:// URL, or 'emulator')")
            return
        baud = data.get("baud")
        if baud is not None and (not isinstance(baud, int) or baud <= 0):
            reply(False, "baud must be a positive whole number such as 115200")
            return
        boards = self.kernel.boards

        def work() -> str:
            self.kernel._connected.wait(30)  # let the start-up connection land first
            if port == EMULATOR:
                return boards.connect_emulator(baud)
            return boards.connect(port, baud or DEFAULT_BAUD)

        self._in_background("connect", work, reply)

    def _cmd_disconnect(self, data: dict, reply) -> None:
        self._in_background("disconnect", self.kernel.boards.disconnect, reply)

    def _board_or_none(self) -> Board | None:
        board = self.kernel.boards.board
        return board if board is not None and board.connected else None

    def _cmd_soft_reset(self, data: dict, reply) -> None:
        board = self._board_or_none()
        if board is None:
            reply(False, "no board connected")
            return

        def work() -> str:
            board.soft_reset()
            return "Soft reset: the board rebooted (boot.py and main.py ran again; its variables are gone)."

        self._in_background("soft_reset", work, reply)

    def _cmd_hard_reset(self, data: dict, reply) -> None:
        board = self._board_or_none()
        if board is None:
            reply(False, "no board connected")
            return

        def work() -> str:
            board.hard_reset()
            if not board.wait_ready(10):
                return "Hard reset sent; the board has not come back to its prompt yet."
            return "Hard reset: the board restarted."

        self._in_background("hard_reset", work, reply)

    commands: dict[str, Callable] = {
        "refresh": _cmd_refresh,
        "ports": _cmd_ports,
        "interrupt": _cmd_interrupt,
        "connect": _cmd_connect,
        "disconnect": _cmd_disconnect,
        "soft_reset": _cmd_soft_reset,
        "hard_reset": _cmd_hard_reset,
    }
