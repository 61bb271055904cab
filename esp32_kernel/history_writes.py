"""IPython's input history, written to its database while the kernel is idle instead of
during each cell.

IPython hands each cell's input to its saving thread as the cell starts; the thread commits
to SQLite (journal, fsyncs) holding the lock the next cell's `store_inputs` needs. That cost
2–3 ms of every short cell here (bench/bench_kernel.py), more than the board took. The inputs
stay in memory at once (`In`, `_i`, `%history` see them); the database gets them when no
cell has run for a moment, and at exit (IPython's own end_session). A kernel that is killed
loses the database copy of the cells since its last idle moment, not the session's.
"""

from __future__ import annotations

import asyncio
import sys

from .cell_life import CellLife

IDLE_BEFORE_WRITING = 1.0  # seconds without a cell before the inputs go to the database


def write_history_when_idle(history, cells: CellLife) -> None:
    """Have IPython's HistoryManager `history` write when `cells` have been idle a moment."""
    if not history.enabled or not history.using_thread or history.db_cache_size > 1:
        return  # no database, no saving thread, or the user's own batching: left as configured
    history.db_cache_size = sys.maxsize  # IPython never writes on its own then
    pending: asyncio.TimerHandle | None = None

    def write() -> None:
        flag = history.save_flag  # the thread's (IPython restarts a stopped thread with a new one)
        if flag is not None:
            flag.set()

    def cell_started() -> None:
        nonlocal pending
        if pending is not None:
            pending.cancel()
            pending = None

    def cell_ended() -> None:
        nonlocal pending
        cell_started()
        pending = asyncio.get_running_loop().call_later(IDLE_BEFORE_WRITING, write)

    cells.subscribe(cell_started, cell_ended)
