"""The lab extension's line to the kernel: a comm target that shows the board and takes commands.

The front end opens a comm on target `esp32_kernel.board`. The kernel answers with a
`state` message at once and again whenever the state changes (connected, lost, busy/idle,
free heap after a cell). The front end sends commands; each gets a `reply` with the same id:

    front end → kernel   {"command": "ports" | "connect" | "disconnect" | "soft_reset"
                                      | "hard_reset" | "interrupt" | "refresh",
                          "id": "…", "port": "…", "baud": 115200}
                         {"command": "files_list" | "files_read" | "files_write"
                                      | "files_delete" | "files_mkdir",
                          "id": "…", "path": "/main.py", "content": "<base64>"}
                         {"command": "bench", "id": "…", "words": ["press", 0, 100]}
                         {"command": "pins", "id": "…"}            (a fresh pin snapshot now)
    kernel → front end   {"type": "state", "state": {...}}            (see `LabComm.state`)
                         {"type": "reply", "id": "…", "ok": true|false, "message": "…",
                          "ports": [...]}                               (ports: only for "ports")
                         {"type": "pins", "pins": {...}, ...}          (see `PinWatch.snapshot`)
                         {"type": "webserial", "bridge": PORT, "token": "…", "baud": 115200,
                          "signals": {...}}  (open the browser's serial port and bring it to
                                              the kernel: see link/protocol_webserial.py)

Files go through esp32_kernel.files (the file magics' path: hash-verified, written under a
temporary name then renamed), one operation at a time and never while a cell runs; a cell
that starts meanwhile waits for the transfer to end. Pins: for the emulator, from its bench
(its event stream, and a snapshot through the control channel — this never touches the
board's REPL, so it runs while cells run too); for a real board, the GPIO registers read
between cells only. Bench commands (emulator only) are allowed while a cell runs: pressing a
button under running code is the point.

The board is never talked to while a cell runs: commands that need it are refused with a
message (interrupt excepted: it is for running code), and the firmware/heap query runs on
the kernel's event loop between cells, where no cell can start under it.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import logging
import posixpath
import threading
from collections.abc import Callable
from typing import Any

import serial

from ..board import Board, BoardError, Execution
from ..config import EMULATOR
from ..files import BoardFiles, FileError
from ..link import ports, protocol_webserial
from ..link.serial_link import DEFAULT_BAUD
from .pins import PIN_QUERY, PinWatch, pins_from_registers, profile_dict

log = logging.getLogger(__name__)

TARGET = "esp32_kernel.board"
WATCH_INTERVAL = 1.0  # seconds between cheap checks for changes made elsewhere (reconnects)
QUERY_TIMEOUT = 2.0  # the firmware/heap query; a board that takes longer is left alone
REFRESH_DELAY = 0.05  # after a cell, wait this long for the next queued cell before querying

# One expression, so the user's namespace gains no names.
_QUERY = "print(repr((tuple(__import__('os').uname()), __import__('gc').mem_free())))"
_BUSY_MESSAGE = "the board is running a cell — interrupt it first"
MAX_FILE = 4 * 1024 * 1024  # bytes: an ESP32's whole flash; larger uploads are refused

# What the panel may ask of the emulator's bench (no hard_reset, drop_client...: the kernel owns those).
BENCH_COMMANDS = {"press", "release", "add_button", "add_pot", "set_pot", "add_thermistor", "set_temperature",
                  "set_source", "set_volts", "set_pin", "add_led", "remove", "set_touch", "describe",
                  "ble_sensor", "ble_heart_rate"}  # fmt: skip


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
        self.pending: str | None = None  # a command running in a worker thread
        self._idle_waiters: list[asyncio.Future] = []  # cells waiting for `pending` to end
        self.firmware: dict[str, Any] | None = None  # per board object: see _board_info
        self.free_heap: int | None = None
        self._info_board: Board | None = None  # the board `firmware`/`free_heap` came from
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_sent: dict | None = None
        self._watching = False
        self._refresh_handle: asyncio.TimerHandle | None = None
        self.pin_watch: PinWatch | None = None
        self._file_queue: list[Callable[[], None]] = []  # file operations waiting for the one under way
        self.pins: dict | None = None  # the last pin message sent
        self._pin_query_failed: Board | None = None  # a board without machine.mem32
        self._last_heard: str | None = None  # the comm (notebook) that last opened or asked: Web Serial asks it

    @classmethod
    def attach(cls, kernel) -> LabComm:
        """Register the comm target and follow the kernel's cells."""
        lab = cls(kernel)
        kernel.comm_manager.register_target(TARGET, lab._on_open)
        kernel.cells.subscribe(lab._cell_started, lab._cell_ended)
        kernel.cells.hold_cells_while(lab._busy_until)
        protocol_webserial.front_end = lab.open_webserial
        return lab

    @property
    def cell_running(self) -> bool:
        return self.kernel.cells.running

    def _busy_until(self) -> asyncio.Future | None:
        """A cell waits for the panel's file transfer under way (past the kernel's patience,
        it starts and meets the busy board, which says so): done when it ends."""
        if not self.pending:
            return None
        idle = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(idle)
        return idle

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
        if self._moved_to_loop(self.publish, force):
            return
        self._sync_pin_watch()
        state = self.state()
        if not force and state == self._last_sent:
            return
        self._last_sent = state
        for comm in list(self.comms.values()):
            self._send(comm, {"type": "state", "state": state})

    def open_webserial(self, request: dict) -> None:
        """Ask the browser to open its serial port for a webserial:// link (any thread; the
        caller then waits for the browser on its bridge)."""
        comm = self.comms.get(self._last_heard) if self._last_heard else None
        comm = comm or next(reversed(self.comms.values()), None)
        if comm is None:
            raise serial.SerialException(protocol_webserial.NO_FRONT_END)
        message = {"type": "webserial", **request}
        if not self._moved_to_loop(self._send, comm, message):
            self._send(comm, message)  # on the kernel's own thread (a %connect cell), whose loop waits for this

    def _moved_to_loop(self, call: Callable, *args) -> bool:
        """From another thread, hand `call(*args)` to the kernel's event loop (comms are sent
        from there) and say so; False on the loop's own thread, which calls it itself."""
        if self._loop is None or threading.current_thread() is threading.main_thread():
            return False
        self._loop.call_soon_threadsafe(call, *args)
        return True

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
        if not self._finished(board, execution, "board query") or execution.error:
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

    @staticmethod
    def _finished(board: Board, execution: Execution, what: str) -> bool:
        """Whether a query ran to its end; one that did not is stopped, so the next cell does
        not meet a board still busy with it."""
        if not execution.done.wait(QUERY_TIMEOUT):
            log.warning("the %s took over %.0f s and was stopped: %s", what, QUERY_TIMEOUT, board.stop(execution))
            return False
        return not (execution.lost or execution.rebooted)

    def refresh(self) -> None:
        """Query the board (when idle) and publish."""
        self._refresh_handle = None
        self.query_board()
        self.query_pins()
        self.publish()

    # Pins -------------------------------------------------------------------------------

    def _is_emulator(self, board: Board | None) -> bool:
        emulator = self.kernel.boards.emulator
        return emulator is not None and board is not None and board.port == emulator.url

    def _sync_pin_watch(self) -> None:
        """Follow the emulator's bench while a comm is open and the board is the emulator."""
        boards = self.kernel.boards
        wanted = boards.emulator if self.comms and self._is_emulator(boards.board) and boards.board.connected else None
        watch = self.pin_watch
        if watch is not None and (watch.emulator is not wanted or not watch._alive()):
            watch.stop()
            self.pin_watch = watch = None
        if watch is None and wanted is not None:
            self.pin_watch = PinWatch(wanted, self.publish_pins, lambda: self.cell_running)

    def publish_pins(self, message: dict) -> None:
        """Send a pin view to every open comm. Any thread."""
        if self._moved_to_loop(self.publish_pins, message):
            return
        self.pins = message
        for comm in list(self.comms.values()):
            self._send(comm, {"type": "pins", **message})

    def query_pins(self) -> bool:
        """A real board's outputs and levels from its GPIO registers, between cells only."""
        board = self.kernel.boards.board
        if self._is_emulator(board):
            if self.pin_watch is not None:
                self.pin_watch.kick.set()
            return False
        if board is None or not board.connected or board.busy or self.cell_running or self.pending:
            return False
        if self._pin_query_failed is board:
            return False
        try:
            execution: Execution = board.start(PIN_QUERY, collect=True)
        except BoardError as e:
            log.debug("pin query refused: %s", e)
            return False
        if not self._finished(board, execution, "pin query"):
            return False
        if execution.error:
            self._pin_query_failed = board  # not an ESP32's registers: do not ask again
            return False
        try:
            registers = ast.literal_eval(execution.stdout.decode(errors="replace").strip())
            pins = pins_from_registers(*registers)
        except (ValueError, SyntaxError, TypeError):
            return False
        self.publish_pins({"source": "board", "pins": pins, "bench": None, "profile": profile_dict(None, assumed=True)})
        return True

    def _schedule_refresh(self, delay: float = REFRESH_DELAY) -> None:
        if self._loop is None or not self.comms:
            return
        if self._refresh_handle is not None:
            self._refresh_handle.cancel()
        self._refresh_handle = self._loop.call_later(delay, self.refresh)

    # Following the kernel ---------------------------------------------------------------

    def _cell_started(self) -> None:
        if self.pin_watch is not None:
            self.pin_watch.kick.set()
        if self._refresh_handle is not None:
            self._refresh_handle.cancel()
            self._refresh_handle = None
        if self.comms:
            self.publish()

    def _cell_ended(self) -> None:
        if self.pin_watch is not None:
            self.pin_watch.kick.set()
        if self._file_queue and not self.pending:
            self._file_queue.pop(0)()  # a file operation that let a waiting cell go first
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
        self._last_heard = comm.comm_id
        comm.on_msg(self._on_msg)
        comm.on_close(lambda _msg, comm_id=comm.comm_id: self._on_close(comm_id))
        self._send(comm, {"type": "state", "state": self.state()})
        self._sync_pin_watch()
        if self.pins is not None:
            self._send(comm, {"type": "pins", **self.pins})
        if self._loop is not None:
            if not self._watching:
                self._watching = True
                self._loop.call_later(WATCH_INTERVAL, self._watch)
            if self.firmware is None:
                self._schedule_refresh(0)

    def _on_close(self, comm_id: str) -> None:
        self.comms.pop(comm_id, None)
        self._sync_pin_watch()

    def _on_msg(self, msg) -> None:
        data = msg["content"]["data"] or {}
        comm = self.comms.get(msg["content"]["comm_id"])
        command, request_id = data.get("command"), data.get("id")
        if comm is not None:
            self._last_heard = comm.comm_id

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

    def _in_background(self, name: str, work: Callable[[], Any], reply, *, refresh: bool = True) -> None:
        """Run a slow board operation off the event loop; one at a time, never during a cell.
        `work` returns the reply's message, or (message, extra fields for the reply)."""
        if self.pending:
            reply(False, f"still busy with {self.pending}")
            return
        board = self.kernel.boards.board
        if self.cell_running or (board is not None and board.busy):
            reply(False, _BUSY_MESSAGE)
            return
        self.pending = name
        self.publish()

        def run() -> None:
            extra: dict = {}
            try:
                message, ok = work(), True
                if isinstance(message, tuple):
                    message, extra = message
            except (BoardError, OSError) as e:
                message, ok = str(e), False
            except Exception as e:
                log.exception("lab command %s failed", name)
                message, ok = f"{type(e).__name__}: {e}", False
            if self._loop is not None:
                self._loop.call_soon_threadsafe(finish, ok, message, extra)
            else:
                finish(ok, message, extra)

        def finish(ok: bool, message: str, extra: dict) -> None:
            self.pending = None
            waiters, self._idle_waiters = self._idle_waiters, []
            for idle in waiters:
                if not idle.done():
                    idle.set_result(None)
            reply(ok, message, **extra)
            if self._file_queue and not waiters:  # a cell that waited goes first: the rest after it
                self._file_queue.pop(0)()  # the next file operation that waited
            self.publish()
            if refresh:
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
            self.kernel.wait_for_start_up()  # let the start-up connection land first
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

    # Files ------------------------------------------------------------------------------

    def _files(self, data: dict, reply, name: str, work: Callable[[BoardFiles, str], Any]) -> None:
        """A file operation on the board, through esp32_kernel.files, in the background."""
        board = self._board_or_none()
        if board is None:
            reply(False, "no board connected")
            return
        raw = data.get("path")
        if not isinstance(raw, str) or not raw.strip():
            reply(False, "which file? (a board path such as /main.py)")
            return
        try:
            path = _board_path(raw)
        except FileError as e:
            reply(False, str(e))
            return
        if self.pending and self.pending.startswith("files_") and len(self._file_queue) < 32:
            # another file operation is under way (the panel and an editor may overlap): wait for it
            self._file_queue.append(lambda: self._files(data, reply, name, work))
            return
        self._in_background(name, lambda: work(BoardFiles(board), path), reply, refresh=False)

    def _cmd_files_list(self, data: dict, reply) -> None:
        def work(files: BoardFiles, path: str):
            entries = files.ls(path)
            try:
                size, free = files.df(path)
            except BoardError:
                size = free = None
            listed = [{"name": e.name, "dir": e.is_dir, "size": e.size} for e in entries]
            return "", {"path": path, "entries": listed, "fs_size": size, "fs_free": free}

        self._files(data, reply, "files_list", work)

    def _cmd_files_read(self, data: dict, reply) -> None:
        def work(files: BoardFiles, path: str):
            content = files.get_bytes(path)
            return "", {"path": path, "size": len(content), "content": base64.b64encode(content).decode("ascii")}

        self._files(data, reply, "files_read", work)

    def _cmd_files_write(self, data: dict, reply) -> None:
        try:
            content = base64.b64decode(str(data.get("content") or ""), validate=True)
        except (ValueError, TypeError):
            reply(False, "the file's content did not arrive intact (not base64)")
            return
        if len(content) > MAX_FILE:
            reply(False, f"{len(content) // 1024} KB is more than the board's flash holds")
            return

        def work(files: BoardFiles, path: str):
            transfer = files.put_bytes(content, path)
            what = "unchanged (the board already had it)" if transfer.skipped else f"written ({transfer.size} bytes)"
            return f"{path}: {what}", {"path": path, "size": transfer.size, "skipped": transfer.skipped}

        self._files(data, reply, "files_write", work)

    def _cmd_files_delete(self, data: dict, reply) -> None:
        recursive = bool(data.get("recursive"))

        def work(files: BoardFiles, path: str):
            if path == "/":
                raise FileError("refusing to remove the board's whole file system")
            files.rm(path, recursive=recursive)
            return f"{path}: removed", {"path": path}

        self._files(data, reply, "files_delete", work)

    def _cmd_files_mkdir(self, data: dict, reply) -> None:
        def work(files: BoardFiles, path: str):
            files.mkdir(path)
            return f"{path}: folder made", {"path": path}

        self._files(data, reply, "files_mkdir", work)

    # Pins and the bench -----------------------------------------------------------------

    def _cmd_pins(self, data: dict, reply) -> None:
        """A fresh pin view now (the emulator's at any time; a board's between cells)."""
        if self._is_emulator(self.kernel.boards.board):
            self._sync_pin_watch()
            if self.pin_watch is not None:
                self.pin_watch.kick.set()
            reply(True)
        elif self.cell_running:
            reply(False, "a real board's pins are read between cells")
        else:
            reply(self.query_pins())

    def _cmd_bench(self, data: dict, reply) -> None:
        """One command for the emulator's bench, e.g. {"words": ["press", 0, 100]}."""
        emulator = self.kernel.boards.emulator
        if emulator is None or not self._is_emulator(self.kernel.boards.board):
            reply(False, "the bench belongs to the emulated ESP32; this notebook is not on it")
            return
        words = data.get("words")
        if not isinstance(words, list) or not words or not all(isinstance(w, (str, int, float)) and not isinstance(w, bool) for w in words):
            reply(False, "bench: words such as ['press', 0, 100]")
            return
        words = [str(w) for w in words]
        if words[0] not in BENCH_COMMANDS:
            reply(False, f"bench: {words[0]!r} is not offered here")
            return
        if any(not w or any(c.isspace() for c in w) for w in words):
            reply(False, "bench: a word may not be empty or hold spaces")
            return
        watch = self.pin_watch
        loop = self._loop

        def run() -> None:
            try:
                answer = emulator.bench(*words)
                answer.pop("ok", None)
                ok, message, extra = True, "", {"result": answer}
            except Exception as e:  # EmulatorError, or the emulator gone
                ok, message, extra = False, f"bench {words[0]}: {e}", {}
            if watch is not None:
                watch.kick.set()
            if loop is not None:
                loop.call_soon_threadsafe(lambda: reply(ok, message, **extra))
            else:
                reply(ok, message, **extra)

        threading.Thread(target=run, name="lab-bench", daemon=True).start()

    commands: dict[str, Callable] = {
        "refresh": _cmd_refresh,
        "ports": _cmd_ports,
        "interrupt": _cmd_interrupt,
        "connect": _cmd_connect,
        "disconnect": _cmd_disconnect,
        "soft_reset": _cmd_soft_reset,
        "hard_reset": _cmd_hard_reset,
        "files_list": _cmd_files_list,
        "files_read": _cmd_files_read,
        "files_write": _cmd_files_write,
        "files_delete": _cmd_files_delete,
        "files_mkdir": _cmd_files_mkdir,
        "pins": _cmd_pins,
        "bench": _cmd_bench,
    }


def _board_path(path: str) -> str:
    from ..files import board_path

    clean = board_path(path.strip())
    return clean if clean.startswith("/") else posixpath.join("/", clean)

