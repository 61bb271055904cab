"""Which shared board each student of a JupyterHub class gets: the hub's half of serve-boards.

A pool file (JSON) lists the boards a lab machine shares, and may give some students a board
of their own::

    {"boards": ["rfc2217://lab-pc:4000", "rfc2217://lab-pc:4001"],
     "users": {"ada": "rfc2217://lab-pc:4001"}}

A student named under "users" always gets that board, and nobody else does. The others take,
when their server starts, the first board nobody holds (the one they had last time first),
and give it back when their server stops; with none free, their kernels use an emulated
board. Who holds which board is kept in a state file beside the pool file (written whole,
then renamed), so a restarted hub still knows the boards of the servers that kept running.

The hub is the only one to hand boards out; serve-boards lets one client at a time reach a
board and resets it when that client leaves, so a board comes back to the pool reset.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


class PoolFileError(ValueError):
    pass


class BoardPool:
    def __init__(self, pool_file: str | os.PathLike) -> None:
        self.pool_file = Path(pool_file)
        self.state_file = self.pool_file.with_name(self.pool_file.name + ".state")
        self.boards, self.owners = self._read_pool()
        self._lock = threading.Lock()
        self._held, self._last = self._read_state()

    def _read_pool(self) -> tuple[list[str], dict[str, str]]:
        try:
            pool = json.loads(self.pool_file.read_text())
        except (OSError, ValueError) as e:
            raise PoolFileError(f"the board pool {self.pool_file} cannot be read ({e}) — see the README's 'Real boards for a hub'") from None
        pool = pool if isinstance(pool, dict) else {"boards": None}  # not an object: fails the check below
        boards, owners = pool.get("boards", []), pool.get("users", {})
        if not (isinstance(boards, list) and all(isinstance(b, str) and b for b in boards)
                and isinstance(owners, dict) and all(isinstance(b, str) and b for b in owners.values())):  # fmt: skip
            raise PoolFileError(f"{self.pool_file} must look like "
                                '{"boards": ["rfc2217://lab-pc:4000", …], "users": {"ada": "rfc2217://lab-pc:4001"}}')  # fmt: skip
        shared = [owner for owner, board in owners.items() if list(owners.values()).count(board) > 1]
        if shared:
            raise PoolFileError(f"{self.pool_file} gives one board to several students ({', '.join(sorted(shared))}); one board, one student")
        return list(dict.fromkeys([*boards, *owners.values()])), dict(owners)

    def _read_state(self) -> tuple[dict[str, str], dict[str, str]]:
        try:
            state = json.loads(self.state_file.read_text())
            held, last = dict(state["held"]), dict(state["last"])
        except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: nobody holds a board
            return {}, {}
        known = set(self.boards)  # boards taken out of the pool file since are forgotten
        return {u: b for u, b in held.items() if b in known}, {u: b for u, b in last.items() if b in known}

    def _save(self) -> None:
        partial = self.state_file.with_name(self.state_file.name + ".part")
        partial.write_text(json.dumps({"held": self._held, "last": self._last}, indent=1, sort_keys=True))
        os.replace(partial, self.state_file)

    def claim(self, user: str) -> str | None:
        """The board `user`'s server uses from now on, or None if every board is held."""
        with self._lock:
            board = self._held.get(user) or self.owners.get(user) or self._free_board(user)
            if board is not None:
                self._held[user] = self._last[user] = board
                self._save()
            return board

    def _free_board(self, user: str) -> str | None:
        taken = set(self._held.values()) | {b for owner, b in self.owners.items() if owner != user}
        free = [b for b in self.boards if b not in taken]
        return self._last.get(user) if self._last.get(user) in free else next(iter(free), None)

    def release(self, user: str) -> None:
        """`user`'s server stopped: their board goes back to the pool."""
        with self._lock:
            if self._held.pop(user, None) is not None:
                self._save()

    def holders(self) -> dict[str, str]:
        """Who holds which board now (user → board)."""
        with self._lock:
            return dict(self._held)
