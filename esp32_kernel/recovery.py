"""Getting a prompt from a board whose main.py runs forever or crashes at boot.

`safe_boot` holds the port on its own, as a Board of its own: it resets the board and floods
it with Ctrl-C while it boots (Board.connect_while_booting), then, if asked, renames main.py
so the next boot skips it. The caller then connects as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .board import Board, BoardError
from .link.webrepl_link import is_webrepl_url

DISABLED_NAME = "main.py.disabled"
RENAME_CODE = f"import os\ntry:\n os.rename('main.py', {DISABLED_NAME!r})\n print('renamed')\nexcept OSError:\n print('absent')\n"


class RecoveryError(Exception):
    pass


@dataclass
class SafeBoot:
    said: str  # what the board printed while it booted (the tail)
    renamed: bool | None  # main.py renamed (None: not asked)


def safe_boot(port: str, baud: int, hard_reset: Callable[[], object] | None, *, rename: bool = False,
              patience: float = 10.0, ask_for_button: Callable[[str], None] | None = None) -> SafeBoot:  # fmt: skip
    if is_webrepl_url(port):  # a reset ends the WebREPL session, and main.py runs before it is back
        raise RecoveryError(
            f"{port} is a WebREPL link, which cannot catch the board as it boots — connect the board"
            " by USB and run this on its serial port"
        )
    board = Board(port, baud, hard_reset=hard_reset)
    try:
        said = board.connect_while_booting(patience, ask_for_button)
        renamed = board.exec(RENAME_CODE, timeout=5).strip() == "renamed" if rename else None
        return SafeBoot(said.decode(errors="replace"), renamed)
    except BoardError as e:
        raise RecoveryError(str(e)) from e
    finally:
        board.close()
