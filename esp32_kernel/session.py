"""The kernel's hold on a board: choosing it, connecting, falling back to the emulator,
and reconnecting when the link comes back after it was lost."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .board import Board, BoardError
from .config import EMULATOR, Target
from .device import source
from .link import ports
from .link.serial_link import DEFAULT_BAUD

log = logging.getLogger(__name__)
RECONNECT_INTERVAL = 0.5
KERNEL_HELPERS = source("kernel_helpers.py")


class BoardSession:
    """Owns the current Board (and the emulator process, if it started one).

    `notices` collects one-line messages for the user (connected, lost, reconnected); the
    kernel shows them with the next cell's output. `unsolicited` collects what the board
    printed between cells.
    """

    def __init__(self, on_unsolicited: Callable[[bytes], None] | None = None) -> None:
        self.board: Board | None = None
        self.emulator = None  # an emulator.EmulatorProcess when we run one
        self.description = "no board"
        self.notices: list[str] = []
        self.on_unsolicited = on_unsolicited
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._generation = 0  # bumps on every (dis)connect, so stale reconnect loops stop
        self.error: str | None = None  # why there is no board, if there is none

    # Choosing and connecting ------------------------------------------------------------

    def connect_target(self, target: Target) -> str:
        """Connect as configured; no port means the one ESP32 found, else the emulator."""
        if target.port == EMULATOR:
            return self.connect_emulator(target.baud if target.source != "auto" else None)
        if target.port:
            return self.connect(target.port, target.baud)
        found = ports.find_boards()
        if len(found) == 1:
            try:
                return self.connect(found[0].device, target.baud)
            except BoardError as e:
                why = str(e)
        elif found:
            why = f"{len(found)} possible boards ({', '.join(p.device for p in found)}): %connect one"
        else:
            why = "no ESP32 board found on this machine's serial ports"
        return self.connect_emulator(None, why=why)

    def connect(self, port: str, baud: int = DEFAULT_BAUD, *, hard_reset=None) -> str:
        board = Board(port, baud, hard_reset=hard_reset, on_unsolicited=self._unsolicited, setup=KERNEL_HELPERS)
        board.connect()
        with self._lock:
            self._replace(board)
            if self.emulator and hard_reset is None:
                self._stop_emulator()
            self.description = f"ESP32 on {port}" if hard_reset is None else f"emulated ESP32 at {port}"
            board.on_lost = self._lost_handler(self._generation)
        return f"Connected to the {self.description} ({baud} baud)."

    def connect_emulator(self, baud: int | None, *, why: str = "") -> str:
        from .emulator.process import launch  # the emulator is only imported when used

        with self._lock:
            self._replace(None)
            self._stop_emulator()
            self.emulator = launch(baud=baud)
        message = self.connect(self.emulator.url, baud or DEFAULT_BAUD, hard_reset=self.emulator.hard_reset)
        if why:
            return f"{why[0].upper()}{why[1:]} — using the emulated ESP32 at {self.emulator.url} (%connect PORT for a real board)."
        return message

    def disconnect(self) -> str:
        with self._lock:
            had = self.description
            self._replace(None)
            self._stop_emulator()
            self.description = "no board"
        return f"Disconnected from the {had}." if had != "no board" else "No board was connected."

    def release(self) -> Board | None:
        """Close the current board's link but keep the emulator running, so another holder
        (recovery.safe_boot) can open its port; connect() afterwards. Returns the old board."""
        with self._lock:
            board = self.board
            self._replace(None)
            self.description = "no board"
        return board

    def _replace(self, board: Board | None) -> None:
        old, self.board = self.board, board
        self._generation += 1
        self.error = None
        if old and old is not board:
            old.on_lost = None
            old.close()
        self._changed.notify_all()

    def _stop_emulator(self) -> None:
        if self.emulator:
            self.emulator.stop()
            self.emulator = None

    def close(self) -> None:
        self.disconnect()

    # Using it ---------------------------------------------------------------------------

    def current(self, timeout: float = 2.0) -> Board:
        """The connected board, waiting briefly for a reconnection in progress."""
        with self._lock:
            self._changed.wait_for(lambda: self.board is not None and self.board.connected, timeout)
            if self.board is None or not self.board.connected:
                if self.board and self.board.lost:
                    raise BoardError(f"{self.board.lost} — waiting for it to come back (or %connect another port)")
                raise BoardError(self.error or "no board connected — run %connect PORT (%ports lists them) or %connect emulator")
            return self.board

    def _unsolicited(self, data: bytes) -> None:
        if self.on_unsolicited:
            self.on_unsolicited(data)

    # Losing and finding the link again --------------------------------------------------

    def _lost_handler(self, generation: int) -> Callable[[str], None]:
        def lost(message: str) -> None:
            with self._lock:
                if generation != self._generation:
                    return
                if self.board and not self.board.loss_reported:
                    self.notices.append(f"{message}; reconnecting when it comes back.")
            threading.Thread(target=self._reconnect_loop, args=(generation,), daemon=True, name="reconnect").start()

        return lost

    def _reconnect_loop(self, generation: int) -> None:
        stop = threading.Event()
        while not stop.wait(RECONNECT_INTERVAL):
            with self._lock:
                if generation != self._generation or self.board is None:
                    return
                board = self.board
            try:
                if self.emulator and self.emulator.poll() is not None:  # our emulator died
                    with self._lock:
                        self.emulator = None
                    message = self.connect_emulator(None)
                else:
                    message = self.connect(board.port, board.baud, hard_reset=self.emulator.hard_reset if self.emulator else None)
            except Exception as e:  # the port is not back yet (or cannot come back): keep trying
                log.debug("reconnect to %s failed: %s", board.port, e)
                continue
            with self._lock:
                self.notices.append(f"Reconnected: {message}")
            return
