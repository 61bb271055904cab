"""python -m esp32_kernel serve-boards: this machine's boards, shared over RFC 2217.

A lab machine with ESP32 boards on USB serves each on a TCP port of its own; a kernel
elsewhere (a JupyterHub, a laptop) reaches one with `%connect rfc2217://HOST:PORT`, reset
lines included, as if it were plugged in there. One client per board at a time: a second is
told who holds it. When a client leaves, the board is reset (EN pulsed, nothing left running)
and goes back to waiting for the next.

    python -m esp32_kernel serve-boards [--port DEVICE]... [--host ADDR] [--first-tcp-port N] [--no-reset]

Without --port it serves every port whose USB bridge is one ESP32 boards use (%ports).
RFC 2217 has no password: it listens on loopback unless --host says otherwise (0.0.0.0 for
every network of this machine: a lab's own network, not the internet).
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time

import serial
import serial.rfc2217

from .link.ports import find_boards
from .link.serial_link import DEFAULT_BAUD, LinkError, open_serial, pulse_reset


HANDOVER_S = 2.0  # a new client waits this long for the last one's leaving and the reset
REFUSAL_DELAY_S = 0.5  # a refused client that sends nothing is told why after this long
REFUSAL_LINGER_S = 2.0  # and is hung up on after this long


class BoardServer:
    """One board's port, served to one RFC 2217 client at a time."""

    def __init__(self, device: str, host: str = "127.0.0.1", tcp_port: int = 0, reset_between: bool = True):
        self.device = device
        self.serial = open_serial(device)  # held for the server's life: no one else takes the board meanwhile
        self._listener = socket.create_server((host, tcp_port))
        reachable_as = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
        self.url = f"rfc2217://{reachable_as}:{self._listener.getsockname()[1]}"
        self._reset_between = reset_between
        self._holder: str | None = None
        self._lock = threading.Lock()
        self._connection: socket.socket | None = None  # the client's, while it has the board
        self._idle = threading.Event()
        self._idle.set()

    def start(self) -> BoardServer:
        threading.Thread(target=self.serve_forever, name=f"serve {self.device}", daemon=True).start()
        return self

    def serve_forever(self) -> None:
        while True:
            try:
                connection, address = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._admit, args=(connection, f"{address[0]}:{address[1]}"), name=f"client of {self.device}",
                             daemon=True).start()  # fmt: skip

    def _admit(self, connection: socket.socket, peer: str) -> None:
        # A client that comes as the last one leaves (a kernel's %connect back to it) waits
        # for the hand-over (the last one's end noticed, the board reset) instead of being refused.
        for patience in (0, HANDOVER_S):
            self._idle.wait(patience)
            with self._lock:
                busy, self._holder = self._holder, self._holder or peer
            if not busy:
                return self._session(connection)
        _refuse(connection, f"serve-boards: {self.device} is in use by {busy}; try again when it is free")

    def _session(self, connection: socket.socket) -> None:
        self._idle.clear()
        self._connection = connection
        manager = serial.rfc2217.PortManager(self.serial, _Writer(connection))
        stop = threading.Event()
        to_client = threading.Thread(target=self._port_to_client, args=(connection, manager, stop), daemon=True)
        to_client.start()
        try:
            while data := connection.recv(4096):
                self.serial.write(b"".join(manager.filter(data)))
        except OSError:
            pass  # the client went away
        finally:
            stop.set()
            to_client.join()
            connection.close()
            self._ready_for_next()

    def _port_to_client(self, connection: socket.socket, manager, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                data = self.serial.read(self.serial.in_waiting or 1)  # returns within the port's read timeout
                if data:
                    connection.sendall(b"".join(manager.escape(data)))
            except (OSError, serial.SerialException):
                return

    def _ready_for_next(self) -> None:
        # The last client may have left lines held, another baud, code running: a reset
        # gives the next one the board as it boots.
        try:
            self.serial.baudrate = DEFAULT_BAUD
            self.serial.dtr = self.serial.rts = False
            if self._reset_between:
                pulse_reset(self.serial)
            self.serial.reset_input_buffer()
        except (OSError, serial.SerialException) as e:
            print(f"serve-boards: {self.device} could not be reset for the next client ({e})", file=sys.stderr)
        with self._lock:
            self._holder = None
        self._connection = None
        self._idle.set()

    def close(self) -> None:
        self._listener.close()
        connection = self._connection
        if connection is not None:  # hang up on the client, and let its session end before the port closes
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._idle.wait(5)
        self.serial.close()


def _refuse(connection: socket.socket, message: str) -> None:
    """Say why, once the client listens: on its first bytes after the RFC 2217 negotiation
    (which is answered meanwhile: pyserial's client does not open without it, and empties
    what arrived while it opened), or after a moment. Then hang up."""
    stand_in = serial.serial_for_url("loop://")  # takes the settings the client sends: not the board's port
    manager = serial.rfc2217.PortManager(stand_in, _Writer(connection))
    told, tell_at = False, time.monotonic() + REFUSAL_DELAY_S
    hang_up_at = time.monotonic() + REFUSAL_LINGER_S
    try:
        while time.monotonic() < hang_up_at:
            connection.settimeout(max(0.01, (hang_up_at if told else tell_at) - time.monotonic()))
            try:
                data = connection.recv(4096)
            except TimeoutError:
                data = None
            if data == b"":  # it hung up
                break
            if data and b"".join(manager.filter(data)):  # its first bytes past the negotiation: it listens
                tell_at = 0
            if not told and time.monotonic() >= tell_at:
                connection.sendall(message.encode() + b"\r\n")
                told = True
    except OSError:
        pass
    finally:
        connection.close()
        stand_in.close()


class _Writer:
    """PortManager writes its telnet answers through `.write`."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection

    def write(self, data: bytes) -> None:
        self._connection.sendall(data)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m esp32_kernel serve-boards", description=__doc__.split("\n\n")[1])
    parser.add_argument("--port", action="append", dest="ports", metavar="DEVICE",
                        help="a board's serial port (or pyserial URL); repeat for more (default: every ESP32 found)")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: loopback only)")
    parser.add_argument("--first-tcp-port", type=int, default=0, metavar="N",
                        help="serve the boards on N, N+1, … (default: free ports)")
    parser.add_argument("--no-reset", action="store_true", help="do not reset a board when its client leaves")
    args = parser.parse_args(argv)  # fmt: skip
    devices = args.ports or [p.device for p in find_boards()]
    if not devices:
        print("serve-boards: no ESP32 board found on this machine's serial ports (%ports lists them; --port names one)",
              file=sys.stderr)  # fmt: skip
        return 1
    servers = []
    for i, device in enumerate(devices):
        try:
            servers.append(BoardServer(device, args.host, args.first_tcp_port + i if args.first_tcp_port else 0,
                                       reset_between=not args.no_reset))  # fmt: skip
        except (LinkError, OSError) as e:
            print(f"serve-boards: {device} not served: {e}", file=sys.stderr)
    for server in servers:
        print(f"{server.url}  {server.device}", flush=True)
        server.start()
    if not servers:
        return 1
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.close()
    return 0
