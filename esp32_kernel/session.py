"""The kernel's hold on a board: choosing it, connecting, falling back to the emulator,
and reconnecting when the link comes back after it was lost."""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
from collections.abc import Callable

from .board import AccessDenied, Board, BoardError
from .config import EMULATOR, Target
from .device import source
from .link import ports
from .link.protocol_webserial import SCHEME as WEBSERIAL, is_webserial_url
from .link.serial_link import DEFAULT_BAUD
from .link.webrepl_link import Secret, is_webrepl_url
from .portlock import PortBusy, PortLock

log = logging.getLogger(__name__)
RECONNECT_INTERVAL = 0.5
# A lost browser port comes back by a click in the page, not by retrying here.
_BY_BROWSER = "reconnect with the board panel's Reconnect button (This computer), or %connect webserial:"
KERNEL_HELPERS = source("kernel_helpers.py")
DEFAULT_NAME = "default"  # how %%on names the board unnamed cells run on
FRESH_BOARD_ENV = "ESP32_KERNEL_FRESH_BOARD"  # "1": the emulated board starts blank in each kernel
PASSWORD_ENV = "ESP32_KERNEL_WEBREPL_PASSWORD"  # a WebREPL password the kernel need not ask for


class BoardSession:
    """Owns the current Board (and the emulator process, if it started one).

    `notices` collects one-line messages for the user (connected, lost, reconnected); the
    kernel shows them with the next cell's output. `unsolicited` collects what the board
    printed between cells.

    Besides the board cells run on (`board`), it holds named boards (`named`, from
    `%connect --name a PORT`) that `%%on` runs cells on. Every port it holds is locked
    against other kernels (portlock.py).
    """

    def __init__(self, on_unsolicited: Callable[[str | None, bytes], None] | None = None) -> None:
        self.board: Board | None = None
        # the emulated boards this kernel started (emulator.EmulatorProcess), by slot (None: the default)
        self.emulators: dict[str | None, object] = {}
        self.air: str | None = None  # the air they are started in (%connect emulator --air NAME); None: the default
        self._fresh_boards: dict[str | None, tempfile.TemporaryDirectory] = {}  # FRESH_BOARD_ENV's folders
        self.description = "no board"
        self.notices: list[str] = []
        self.on_unsolicited = on_unsolicited
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        # Per slot (None: the board cells run on, else a name), bumped on every (dis)connect,
        # so a stale reconnect loop stops.
        self._generations: dict[str | None, int] = {None: 0}
        self.error: str | None = None  # why there is no board, if there is none
        self.named: dict[str, Board] = {}
        self._locks: dict[str | None, PortLock] = {}  # slot (None: the default board) → its port's lock
        # WebREPL passwords by URL, in this process's memory only (reconnections reuse them)
        self._passwords: dict[str, Secret] = {}

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

    def webrepl_password(self, url: str) -> tuple[Secret | None, str]:
        """The password this kernel would give the WebREPL at `url`, and where it came from."""
        if url in self._passwords:
            return self._passwords[url], "typed"
        if os.environ.get(PASSWORD_ENV):
            return Secret(os.environ[PASSWORD_ENV]), PASSWORD_ENV
        return None, ""

    def connect(self, port: str, baud: int = DEFAULT_BAUD, *, hard_reset=None, name: str | None = None,
                announce: bool = False, password: Secret | None = None) -> str:  # fmt: skip
        """Connect to `port`: as the board cells run on, or as the named board `name`.
        `announce` (reconnections) queues the message as a notice before any cell can see
        the new board, so the next cell always shows it. `password`: a WebREPL's (ws://),
        kept in memory for reconnections once it worked."""
        if is_webserial_url(port):
            port = WEBSERIAL  # `webserial:`, as typed: the browser's one port for this notebook
            held = self._board_in(name)
            if held is not None and held.port == WEBSERIAL:
                held.close()  # the page opens its one port again only once this use has let it go
        if password is None and is_webrepl_url(port):
            password = self.webrepl_password(port)[0]
        lock = self._lock_port(port, name)
        on_unsolicited = functools.partial(self._unsolicited, name)  # what the board prints unasked, and whose
        board = Board(port, baud, hard_reset=hard_reset, on_unsolicited=on_unsolicited, setup=KERNEL_HELPERS, password=password)
        try:
            board.connect()
        except BoardError as e:
            if self._locks.get(name) is not lock:
                lock.release()
            if isinstance(e, AccessDenied):  # a refused password is not tried again
                self._passwords.pop(port, None)
            raise
        if password is not None:
            self._passwords[port] = password
        if name is not None:
            with self._lock:
                self._replace_named(name, board)
                self._set_lock(name, lock)
                if hard_reset is None:
                    self._stop_emulator(name)
                board.on_lost = self._lost_handler(name)
                message = f"Connected to {port} as board {name!r}{_speed(port, baud)}; %%on {name} runs a cell there."
                if announce:
                    self.notices.append(f"Reconnected: {message}")
            return message
        with self._lock:
            self._replace(board)
            self._set_lock(None, lock)
            if hard_reset is None:  # a board of its own now: the emulator we ran goes
                self._stop_emulator(None)
            if is_webrepl_url(port):
                self.description = f"ESP32 over WebREPL at {port}"
            elif port == WEBSERIAL:
                self.description = "ESP32 on this browser's computer (Web Serial)"
            else:
                self.description = f"ESP32 on {port}" if hard_reset is None else f"emulated ESP32 at {port}"
            board.on_lost = self._lost_handler(None)
            message = f"Connected to the {self.description}{_speed(port, baud)}."
            if announce:
                self.notices.append(f"Reconnected: {message}")
        return message

    def _lock_port(self, port: str, name: str | None) -> PortLock:
        """The lock for `port` in slot `name`: kept if the slot holds it already, refused if
        another slot of this kernel or another kernel holds it."""
        with self._lock:
            held = self._locks.get(name)
            if held is not None and held.port == port:
                return held
            for slot, lock in self._locks.items():
                if lock.port == port:
                    label = "the board cells run on" if slot is None else f"board {slot!r}"
                    raise BoardError(f"{port} is already connected in this kernel as {label}", "PortInUse")
        try:
            return PortLock(port).acquire()
        except PortBusy as e:
            raise BoardError(str(e), "PortInUse") from None

    def _set_lock(self, name: str | None, lock: PortLock | None) -> None:
        old = self._locks.pop(name, None)
        if lock is not None:
            self._locks[name] = lock
        if old is not None and old is not lock:
            old.release()

    @property
    def emulator(self):
        """The emulated board the default slot runs on, if this kernel started it."""
        return self.emulators.get(None)

    def connect_emulator(self, baud: int | None, *, why: str = "", announce: bool = False, name: str | None = None,
                         air: str | None = None) -> str:  # fmt: skip
        """Start an emulated board for the default slot (or the named one) and connect to it.
        `air`: the air its radio is in, kept for the kernel's later emulated boards."""
        from .emulator.process import EmulatorError, launch  # the emulator is only imported when used

        with self._lock:
            if air is not None:
                self.air = air
            if name is None:
                self._replace(None)
            self._stop_emulator(name)
            try:
                emulator = launch(baud=baud, board_dir=self._emulated_board_dir(name), air=self.air)
            except EmulatorError as e:
                raise BoardError(f"the emulated ESP32 did not start: {e}", "NoEmulator") from None
            self.emulators[name] = emulator
        try:
            message = self.connect(emulator.url, baud or DEFAULT_BAUD, hard_reset=emulator.hard_reset, name=name, announce=announce)
        except BoardError:
            with self._lock:
                self._stop_emulator(name)
            raise
        if why:
            core = " on its portable core (see the README's Emulator cores)" if emulator.core == "portable" else ""
            return f"{why[0].upper()}{why[1:]} — using the emulated ESP32 at {emulator.url}{core} (%connect PORT for a real board)."
        return message

    def _emulated_board_dir(self, name: str | None) -> str | None:
        """A slot's emulated board's folder: None for the default board, whose flash lasts from
        kernel to kernel; a sibling folder for a named one. With FRESH_BOARD_ENV (a grader runs
        each submission against a blank board) a folder of this kernel's own."""
        if os.environ.get(FRESH_BOARD_ENV) == "1":
            if name not in self._fresh_boards:  # kept while the kernel lives: a restarted emulator keeps its flash
                self._fresh_boards[name] = tempfile.TemporaryDirectory(prefix="esp32-board-")
            return self._fresh_boards[name].name
        if name is None:
            return None
        from .emulator.board_folder import default_board_dir

        return str(default_board_dir().parent / name)

    def disconnect(self, name: str | None = None) -> str:
        if name is not None:
            with self._lock:
                board = self.named.get(name)
                if board is None:
                    known = f" (boards: {', '.join(self.named)})" if self.named else ""
                    raise BoardError(f"no board is named {name!r}{known}; %boards lists the connected boards", "NoBoard")
                self._replace_named(name, None)
                self._set_lock(name, None)
                self._stop_emulator(name)
                self._passwords.pop(board.port, None)
            return f"Disconnected board {name!r} ({board.port})."
        with self._lock:
            had = self.description
            if self.board is not None:  # a WebREPL password is kept only while its board is
                self._passwords.pop(self.board.port, None)
            self._replace(None)
            self._set_lock(None, None)
            self._stop_emulator(None)
            self.description = "no board"
        return f"Disconnected from the {had}." if had != "no board" else "No board was connected."

    def release(self) -> Board | None:
        """Close the current board's link but keep the emulator running, so another holder
        (recovery.safe_boot) can open its port; connect() afterwards. Returns the old board."""
        with self._lock:
            board = self.board
            self._replace(None)
            self._set_lock(None, None)
            self.description = "no board"
        return board

    def _replace(self, board: Board | None) -> None:
        old, self.board = self.board, board
        self._generations[None] += 1
        self.error = None
        if old and old is not board:
            old.on_lost = None
            old.close()
        self._changed.notify_all()

    def _stop_emulator(self, slot: str | None) -> None:
        emulator = self.emulators.pop(slot, None)
        if emulator is not None:
            emulator.stop()

    def _replace_named(self, name: str, board: Board | None) -> None:
        old = self.named.pop(name, None)
        self._generations[name] = self._generations.get(name, 0) + 1
        if board is not None:
            self.named[name] = board
        if old and old is not board:
            old.on_lost = None
            old.close()
        self._changed.notify_all()

    def close(self) -> None:
        for name in list(self.named):
            self.disconnect(name)
        self.disconnect()

    # Using it ---------------------------------------------------------------------------

    def current(self, timeout: float = 2.0) -> Board:
        """The connected board, waiting briefly for a reconnection in progress."""
        with self._lock:
            self._changed.wait_for(lambda: self.board is not None and self.board.connected, timeout)
            if self.board is None or not self.board.connected:
                if self.board and self.board.lost:
                    then = _BY_BROWSER if self.board.port == WEBSERIAL else "waiting for it to come back (or %connect another port)"
                    raise BoardError(f"{self.board.lost} — {then}", "LinkLost")
                raise BoardError(self.error or "no board connected — run %connect PORT (%ports lists them) or %connect emulator", "NoBoard")
            return self.board

    def board_named(self, name: str, timeout: float = 2.0) -> Board:
        """A named board ('default': the board cells run on), waiting briefly for a reconnection."""
        if name == DEFAULT_NAME and name not in self.named:
            return self.current(timeout)
        with self._lock:
            if name not in self.named:
                known = ", ".join([DEFAULT_NAME, *self.named])
                raise BoardError(f"no board is named {name!r} (boards: {known}); %connect --name {name} PORT connects one", "NoBoard")
            self._changed.wait_for(lambda: name in self.named and self.named[name].connected, timeout)
            board = self.named.get(name)
            if board is None or not board.connected:
                raise BoardError(f"board {name!r}: {board.lost if board else 'disconnected'} — waiting for it to come back", "LinkLost")
            return board

    def _unsolicited(self, name: str | None, data: bytes) -> None:
        if self.on_unsolicited:
            self.on_unsolicited(name, data)

    # Losing and finding the link again --------------------------------------------------

    def _lost_handler(self, slot: str | None) -> Callable[[str], None]:
        """What a board does when its link is lost: say so (unless a running cell does) and
        reconnect in the background, until the slot (None: the board cells run on, else a
        name) is given another board."""
        generation = self._generations[slot]

        def lost(message: str) -> None:
            with self._lock:
                if self._generations.get(slot) != generation:
                    return
                board = self._board_in(slot)
                # each try at a browser's port would need the browser: it offers the click instead
                by_browser = board is not None and board.port == WEBSERIAL
                if board and not board.loss_reported:
                    then = _BY_BROWSER if by_browser else "reconnecting when it comes back"
                    self.notices.append(f"{_who(slot)}{message}; {then}.")
            if by_browser:
                return
            threading.Thread(target=self._reconnect_loop, args=(slot, generation), daemon=True, name=f"reconnect {slot}").start()

        return lost

    def _reconnect_loop(self, slot: str | None, generation: int) -> None:
        stop = threading.Event()
        while not stop.wait(RECONNECT_INTERVAL):
            with self._lock:
                board = self._board_in(slot)
                if self._generations.get(slot) != generation or board is None:
                    return
                emulator = self.emulators.get(slot)  # an emulated board this kernel started serves the slot
            try:
                if emulator and emulator.poll() is not None:  # our emulator died: start another
                    self.connect_emulator(None, announce=True, name=slot)
                else:
                    self.connect(board.port, board.baud, hard_reset=emulator.hard_reset if emulator else None, name=slot, announce=True)
            except AccessDenied as e:  # trying again would only be refused again
                with self._lock:
                    self.notices.append(f"{_who(slot)}Not reconnected: {e}.")
                return
            except Exception as e:  # the port is not back yet (or cannot come back): keep trying
                log.debug("reconnect to %s failed: %s", board.port, e)
                continue
            return

    def _board_in(self, slot: str | None) -> Board | None:
        return self.board if slot is None else self.named.get(slot)


def _who(slot: str | None) -> str:
    return "" if slot is None else f"Board {slot!r}: "


def _speed(port: str, baud: int) -> str:
    return "" if is_webrepl_url(port) else f" ({baud} baud)"
