"""python -m esp32_kernel [install [--user|--sys-prefix|--prefix P] | emulator ... | serve-boards ... | -f CONNECTION_FILE]"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["install"]:
        from .install import main as install

        install(args[1:])
    elif args[:1] == ["emulator"]:
        from .emulator import main as emulator

        raise SystemExit(emulator(args[1:]))
    elif args[:1] == ["serve-boards"]:
        from .serve_boards import main as serve_boards

        raise SystemExit(serve_boards(args[1:]))
    else:
        from .kernel import main as kernel

        kernel()


if __name__ == "__main__":
    main()
