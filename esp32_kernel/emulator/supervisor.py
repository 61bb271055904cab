"""The emulated board's supervisor: serves one MicroPython board as an ESP32 on a UART.

It sits between the client link (TCP, and optionally a pty) and a MicroPython unix port
process (board_process.py), and hides where the unix port differs from an ESP32:

- Ctrl-C while code runs becomes a SIGINT (the unix port ignores the byte then); at an idle
  REPL it is passed on as the byte (a SIGINT would kill the process);
- a run that ends (soft reset) is restarted with "MPY: soft reboot" and back in the REPL mode
  it was in; a reset request or a crash restarts it after the ROM's boot log, in the friendly
  REPL, as after a hard reset;
- output is shaped as a board sends it (console_shaper.py), paced as a UART (uart.py);
- one client at a time, like a serial port; output with no client connected is dropped.

Client input that arrives while the board restarts is held until its REPL is up (unless boot
code is running and may read it), so nothing is ever injected into a half-typed command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pty
import tty
from dataclasses import dataclass
from pathlib import Path

from . import board_folder, esp32_texts
from .board_process import BoardProcess, find_micropython, micropython_banner
from .console_shaper import ConsoleShaper, ReplMode
from .uart import DirectLine, UartLine

log = logging.getLogger(__name__)

# machine.reset_cause() values (MicroPython v1.24, ports/esp32/modmachine.c)
PWRON_RESET, HARD_RESET, SOFT_RESET = 1, 2, 5

# Two Ctrl-C bytes this close together are one interrupt: a second SIGINT before the first
# is handled makes the unix port exit, where a board just interrupts once.
_SIGINT_COALESCE_S = 0.1
# A run that dies this soon after its start counts towards a crash loop; restarts then back off.
_QUICK_CRASH_S = 1.0
_MAX_RESTART_DELAY_S = 5.0


def busy_message(peer: str) -> bytes:
    return (
        f"esp32-kernel emulator: this board is in use by another client ({peer}); "
        "disconnect it first\r\n"
    ).encode()


@dataclass
class Endpoints:
    url: str
    control: str
    pty_path: str | None


class Supervisor:
    def __init__(self, board_dir: Path, baud: int | None = None, host: str = "127.0.0.1", port: int = 0, with_pty: bool = False):
        self.board_dir = board_folder.prepare_board_dir(board_dir)
        self.baud = baud
        self._host = host
        self._port = port
        self._with_pty = with_pty
        self._micropython = find_micropython()
        self._shaper = ConsoleShaper(micropython_banner(self._micropython))
        self._unique_id = board_folder.unique_id(self.board_dir)
        self._board: BoardProcess | None = None
        self._booting = True
        self._held_input = bytearray()
        self._reset_requested: str | None = None  # "hard", "soft" or "power" for the run's end
        self._last_reset_cause = PWRON_RESET
        self._run_started_at = 0.0
        self._quick_crashes = 0
        self._last_sigint_at = float("-inf")
        self._client: _ClientProtocol | None = None
        self._pty_master: int | None = None
        self._pty_slave: int | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._stopped = asyncio.Event()

    # -- life cycle

    async def start(self) -> Endpoints:
        self._loop = asyncio.get_running_loop()
        if self.baud:
            self._to_board_line = UartLine(self._loop, self.baud, self._board_receives)
            self._to_client_line = UartLine(self._loop, self.baud, self._client_receives)
        else:
            self._to_board_line = DirectLine(self._board_receives)
            self._to_client_line = DirectLine(self._client_receives)
        board_server = await self._loop.create_server(lambda: _ClientProtocol(self), self._host, self._port)
        control_server = await asyncio.start_server(self._serve_control, "127.0.0.1", 0)
        self._servers = [board_server, control_server]
        pty_path = self._open_pty() if self._with_pty else None
        self._start_board(ReplMode.FRIENDLY, PWRON_RESET)
        host, port = board_server.sockets[0].getsockname()[:2]
        control_host, control_port = control_server.sockets[0].getsockname()[:2]
        return Endpoints(f"socket://{host}:{port}", f"tcp://{control_host}:{control_port}", pty_path)

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    def stop(self) -> None:
        self._stopped.set()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        if self._client is not None:
            self._client.transport.abort()
        board = self._board
        self._board = None
        if board is not None and board.returncode is None:
            board.kill()
            try:
                await asyncio.wait_for(board.wait_exited(), timeout=5)
            except asyncio.TimeoutError:
                log.warning("MicroPython (pid %d) did not end after SIGKILL", board.pid)
        if self._pty_master is not None:
            self._loop.remove_reader(self._pty_master)
            os.close(self._pty_master)
            os.close(self._pty_slave)

    # -- the board's runs

    def _start_board(self, mode: ReplMode, reset_cause: int) -> None:
        self._booting = True
        self._last_reset_cause = reset_cause
        self._shaper.restart(mode)
        self._run_started_at = self._loop.time()
        self._board = BoardProcess(
            self._loop, self._micropython, self.board_dir, mode.value, reset_cause, self._unique_id,
            on_output=self._board_output, on_reset_request=self._board_requests_reset, on_exit=self._board_exited,
        )  # fmt: skip

    def _board_requests_reset(self, board: BoardProcess, kind: str) -> None:
        if board is self._board:
            self._reset_requested = kind
            board.kill()

    def hard_reset(self) -> bool:
        """Reset the board as its EN pin (or a power cycle) does; False if it is already resetting."""
        if self._board is None or not self._board.alive:
            return False
        self._reset_requested = "power"
        self._board.kill()
        return True

    def _board_exited(self, board: BoardProcess, returncode: int) -> None:
        if board is not self._board:
            return
        reset, self._reset_requested = self._reset_requested, None
        if reset is None:
            reset = "soft" if returncode >= 0 else "crash"
        ran_for = self._loop.time() - self._run_started_at
        if reset == "crash":
            log.warning("MicroPython (pid %d) died from signal %d; restarting as after a hard reset", board.pid, -returncode)
            self._quick_crashes = self._quick_crashes + 1 if ran_for < _QUICK_CRASH_S else 0
        else:
            self._quick_crashes = 0
        self._booting = True
        if reset == "soft":
            self._board_sends(esp32_texts.SOFT_REBOOT)
            self._start_board(self._shaper.mode, SOFT_RESET)
            return
        reason = esp32_texts.POWERON_RESET if reset == "power" else esp32_texts.SW_CPU_RESET
        cause = PWRON_RESET if reset == "power" else HARD_RESET
        delay = min(0.1 * 2**self._quick_crashes, _MAX_RESTART_DELAY_S) if self._quick_crashes > 1 else 0.0
        self._loop.call_later(delay, self._hard_restart, reason, cause)

    def _hard_restart(self, reason: bytes, cause: int) -> None:
        if self._stopped.is_set():
            return
        self._board_sends(esp32_texts.rom_boot_log(reason))
        self._start_board(ReplMode.FRIENDLY, cause)

    # -- board → client

    def _board_output(self, board: BoardProcess, data: bytes) -> None:
        if board is not self._board:
            return
        shaped = self._shaper.feed(data)
        if shaped.to_board:
            board.write(shaped.to_board)
        self._board_sends(shaped.to_client)
        if shaped.ready:
            self._booting = False
            held, self._held_input = bytes(self._held_input), bytearray()
            self._to_board(held)

    def _board_sends(self, data: bytes) -> None:
        self._to_client_line.write(data)

    def _client_receives(self, data: bytes) -> None:
        if self._client is not None:
            self._client.transport.write(data)
        elif self._pty_master is not None:
            try:
                os.write(self._pty_master, data)
            except OSError:  # nobody reads the pty and its buffer is full: the bytes are lost
                pass

    # -- client → board

    def _client_sends(self, data: bytes) -> None:
        self._to_board_line.write(data)

    def _board_receives(self, data: bytes) -> None:
        while data:
            ctrl_c = data.find(b"\x03")
            if ctrl_c < 0:
                self._to_board(data)
                return
            self._to_board(data[:ctrl_c])
            self._ctrl_c()
            data = data[ctrl_c + 1 :]

    def _ctrl_c(self) -> None:
        if self._running_code():
            now = self._loop.time()
            if now - self._last_sigint_at >= _SIGINT_COALESCE_S:
                self._last_sigint_at = now
                self._board.interrupt()
        else:
            self._to_board(b"\x03")

    def _to_board(self, data: bytes) -> None:
        if not data or self._board is None:
            return
        if self._booting and not self._running_code():
            self._held_input += data
            return
        if self._held_input:  # boot code runs and may read: what came first goes first
            data, self._held_input = bytes(self._held_input) + data, bytearray()
        if b"\x02" in data and self._shaper.mode is ReplMode.FRIENDLY and not self._booting:
            self._shaper.expect_friendly_banner()
        self._board.write(data)

    def _running_code(self) -> bool:
        board = self._board
        if board is None or not board.alive:
            return False
        running = board.running_code()
        return self._shaper.executing if running is None else running

    # -- the client link: TCP, and a pty when asked

    def _client_connected(self, client: "_ClientProtocol") -> bool:
        if self._client is not None:
            client.transport.write(busy_message(self._client.peer))
            client.transport.close()
            return False
        self._client = client
        return True

    def _client_disconnected(self, client: "_ClientProtocol") -> None:
        if client is self._client:
            self._client = None
            self._to_client_line.clear()

    def drop_client(self) -> bool:
        """Close the client's connection, as unplugging the cable does; False if there was none."""
        if self._client is None:
            return False
        self._client.transport.abort()
        self._client_disconnected(self._client)
        return True

    def _open_pty(self) -> str:
        self._pty_master, self._pty_slave = pty.openpty()
        tty.setraw(self._pty_slave)  # held open so the master never reads EIO between clients
        os.set_blocking(self._pty_master, False)
        self._loop.add_reader(self._pty_master, self._read_pty)
        return os.ttyname(self._pty_slave)

    def _read_pty(self) -> None:
        try:
            data = os.read(self._pty_master, 65536)
        except OSError:
            return
        if self._client is None:  # the TCP client, when there is one, owns the board
            self._client_sends(data)

    # -- control channel

    def status(self) -> dict:
        board = self._board
        alive = board is not None and board.alive
        return {
            "micropython_pid": board.pid if board is not None else None,
            "micropython_running": alive,
            "running_code": self._running_code(),
            "booting": self._booting,
            "repl_mode": self._shaper.mode.value,
            "reset_cause": self._last_reset_cause,
            "client": self._client.peer if self._client is not None else None,
            "board_dir": str(self.board_dir),
            "baud": self.baud,
        }

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        commands = {
            "status": lambda: {"ok": True, **self.status()},
            "hard_reset": lambda: {"ok": True, "reset": self.hard_reset()},
            "drop_client": lambda: {"ok": True, "dropped": self.drop_client()},
        }
        try:
            while line := await reader.readline():
                command = line.decode(errors="replace").strip()
                if command in commands:
                    reply = commands[command]()
                else:
                    reply = {"ok": False, "error": f"unknown command {command!r}; commands: {', '.join(commands)}"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


class _ClientProtocol(asyncio.Protocol):
    def __init__(self, supervisor: Supervisor):
        self._supervisor = supervisor
        self._accepted = False

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = f"{host}:{port}"
        self._accepted = self._supervisor._client_connected(self)

    def data_received(self, data: bytes) -> None:
        if self._accepted:
            self._supervisor._client_sends(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._accepted:
            self._supervisor._client_disconnected(self)
