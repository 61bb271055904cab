"""The one client of the emulator's control channel (tcp://HOST:PORT): one command per line,
answered by one JSON object per line, in order; `events` then streams the bench's changes.
Used by EmulatorProcess (the kernel, tests, the bench scripts), the lab panel's pin view and
the `emulator bench` command line. Plain sockets: it runs wherever the kernel does."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator


class ControlChannel:
    def __init__(self, address: str) -> None:
        self.address = address  # tcp://HOST:PORT, as the emulator prints it
        host, port = address.removeprefix("tcp://").rsplit(":", 1)
        self._endpoint = (host, int(port))

    def exchange(self, commands: list[str], timeout: float = 5.0) -> list[dict]:
        """Send `commands` on one connection; their answers, in order. Raises OSError
        (ConnectionError if the channel closes before answering them all)."""
        with socket.create_connection(self._endpoint, timeout=timeout) as connection:
            connection.sendall("".join(f"{c}\n" for c in commands).encode())
            stream = connection.makefile("rb")
            answers = []
            for command in commands:
                line = stream.readline()
                if not line:
                    raise ConnectionError(f"the emulator's control channel closed before answering {command!r}")
                answers.append(json.loads(line))
        return answers

    def stream(self, command: str, timeout: float | None = None) -> Iterator[dict]:
        """Send `command` (e.g. `events`); its answer, then every line that follows, as dicts,
        until the emulator closes the channel or `timeout` passes quietly."""
        with socket.create_connection(self._endpoint, timeout=5) as connection:
            connection.sendall(command.encode() + b"\n")
            connection.settimeout(timeout)
            lines = connection.makefile("rb")
            while True:
                try:
                    line = lines.readline()
                except (TimeoutError, socket.timeout):
                    return
                if not line:
                    return
                yield json.loads(line)
