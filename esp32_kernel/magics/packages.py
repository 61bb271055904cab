"""%mip install: micropython-lib packages, fetched by this computer (default) or by the board."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class

from ..files import BoardFiles
from ..packages import DEFAULT_INDEX, install
from .base import KernelMagics, MagicParser, parse_line

_mip = MagicParser(prog="mip", add_help=False)
_mip.add_argument("command", choices=["install"])
_mip.add_argument("packages", nargs="+")
_mip.add_argument("--target", default=None)
_mip.add_argument("--index", default=DEFAULT_INDEX)
_mip.add_argument("--no-mpy", action="store_true", dest="no_mpy")
_mip.add_argument("--on-board", action="store_true", dest="on_board")


@magics_class
class PackageMagics(KernelMagics):
    @line_magic
    def mip(self, line: str) -> None:
        """%mip install PKG[@VERSION]… [--target DIR] [--index URL] [--no-mpy] [--on-board] — install
        micropython-lib packages. This computer fetches them and writes them to the board (no WiFi
        needed; every file checked by hash); --on-board runs mip on the board instead (it needs a network)."""
        args = parse_line(_mip, line)
        self.kernel.wait_for_start_up()
        board = self.kernel.boards.current()
        for spec in args.packages:
            if args.on_board:
                options = f"index={args.index!r}, mpy={not args.no_mpy}" + (f", target={args.target!r}" if args.target else "")
                print(board.exec(f"import mip\nmip.install({spec.partition('@')[0]!r}, {options}"
                                 + (f", version={spec.partition('@')[2]!r})" if "@" in spec else ")"), timeout=300), end="")  # fmt: skip
                continue
            done = install(BoardFiles(board), spec, index=args.index, target=args.target, mpy=not args.no_mpy)
            same = f", {len(done.same)} already there" if done.same else ""
            print(f"Installed {', '.join(done.packages)}: {len(done.files)} files written{same}.")
