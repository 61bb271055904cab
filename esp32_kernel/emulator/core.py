"""The seam between the emulated board and the MicroPython that runs it: one run of a core,
from a reset to the next. The supervisor (supervisor.py) is written once above it; a core is
this interface, and the callbacks it is given (output, reset requests, bench requests, its
end). Two cores implement it:

- native: board_process.BoardProcess, the MicroPython unix port in a process on a pty;
- portable: portable_core.PortableBoard, MicroPython for WASI on wasmtime, in a thread.
"""

from __future__ import annotations

from typing import Protocol


class BoardRun(Protocol):
    pid: int | None  # the run's process, if it has one of its own
    returncode: int | None  # None while it runs; < 0 for a crash or a kill

    @property
    def alive(self) -> bool: ...

    def write(self, data: bytes) -> None:
        """Bytes for the board's UART (its console)."""

    def running_code(self) -> bool | None:
        """Whether a Ctrl-C now interrupts code (else it is a byte for the REPL); None if
        the core cannot tell."""

    def interrupt(self) -> None:
        """Ctrl-C for the running code, as a board's UART interrupt raises it."""

    def send_event(self, line: str) -> bool:
        """A bench event (pin interrupt, timer…) for the board's handlers."""

    def kill(self) -> None:
        """End the run at once (a reset); its end is reported through on_exit."""

    async def wait_exited(self) -> None: ...
