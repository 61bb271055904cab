"""A minimal RFC 2217 server on loopback for tests: one client, bridged to a board's port
(any pyserial URL) with pyserial's own `PortManager`, as pyserial's rfc2217_server example
and a lab server's ser2net do for real boards."""

from __future__ import annotations

import socket
import threading

import serial
import serial.rfc2217

from esp32_kernel.link.serial_link import open_serial


class Rfc2217Bridge:
    def __init__(self, port: str) -> None:
        self.serial = open_serial(port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"rfc2217://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        connection.settimeout(0.2)
        manager = serial.rfc2217.PortManager(self.serial, _Writer(connection))
        reader = threading.Thread(target=self._port_to_network, args=(connection, manager), daemon=True)
        reader.start()
        while not self._stop.is_set():
            try:
                data = connection.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            self.serial.write(b"".join(manager.filter(data)))
        connection.close()

    def _port_to_network(self, connection: socket.socket, manager) -> None:
        while not self._stop.is_set():
            try:
                data = self.serial.read(self.serial.in_waiting or 1)
                if data:
                    connection.sendall(b"".join(manager.escape(data)))
            except (OSError, TypeError, serial.SerialException):  # TypeError: closed under us
                return

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self.serial.close()


class _Writer:
    """PortManager writes its telnet answers through `.write`."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection

    def write(self, data: bytes) -> None:
        self._connection.sendall(data)
