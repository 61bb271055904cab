"""Whether a cell is running, said by its one owner: the kernel.

The kernel calls `started()` and `ended()` once per execute request (device, magic or
`%%host` cell alike); the lab comm, live data and widgets subscribe instead of keeping their
own idea of it. (IPython's pre/post_execute events will not do: the comm package fires them
around every comm message too.) `ended` listeners run on the event loop once the cell's reply
has been sent, so what follows a cell (the lab panel's state, live data's flush, queued
widget actions) never delays the reply. Before a cell starts, the kernel awaits `clear()`:
whatever holds the board outside a cell (the lab panel's file transfer) says there when it
is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class CellLife:
    def __init__(self) -> None:
        self.running = False
        self._on_start: list[Callable[[], None]] = []
        self._on_end: list[Callable[[], None]] = []
        self._holds: list[Callable[[], asyncio.Future | None]] = []

    def subscribe(self, started: Callable[[], None] | None = None, ended: Callable[[], None] | None = None) -> None:
        """Call `started` as each cell starts and `ended` after its reply (on the kernel's event loop)."""
        if started is not None:
            self._on_start.append(started)
        if ended is not None:
            self._on_end.append(ended)

    def hold_cells_while(self, busy: Callable[[], asyncio.Future | None]) -> None:
        """`busy()` returns a future that is done when the board is free for a cell, or None
        when it is free now."""
        self._holds.append(busy)

    async def clear(self, patience: float) -> None:
        """Wait (up to `patience` seconds) for every hold to let go; past that the cell starts
        anyway and meets the busy board, which says so."""
        waits = [f for f in (busy() for busy in self._holds) if f is not None]
        if waits:
            await asyncio.wait(waits, timeout=patience)

    def started(self) -> None:
        self.running = True
        _tell(self._on_start)  # at once: a host cell may hold the event loop until it ends

    def ended(self) -> None:
        self.running = False
        asyncio.get_running_loop().call_soon(_tell, self._on_end)


def _tell(listeners: list[Callable[[], None]]) -> None:
    for listener in listeners:
        try:
            listener()
        except Exception:  # a listener's bug must not fail the cell
            log.exception("cell listener %r failed", listener)
