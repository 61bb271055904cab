"""What every family of magics shares: the kernel it belongs to, and argument parsing whose
errors are one clear line instead of an exit."""

from __future__ import annotations

import argparse
import shlex

from IPython.core.magic import Magics


class KernelMagics(Magics):
    """Magics built as Class(shell, kernel), with the kernel at hand."""

    def __init__(self, shell, kernel) -> None:
        super().__init__(shell)
        self.kernel = kernel


class MagicUsageError(Exception):
    pass


class MagicParser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of exiting the kernel
        raise MagicUsageError(f"%{self.prog}: {message}\nusage: {self.format_usage().partition(': ')[2].strip()}")


def parse_line(parser: argparse.ArgumentParser, line: str) -> argparse.Namespace | None:
    """The magic's arguments, or None after printing what is wrong with them."""
    try:
        return parser.parse_args(shlex.split(line))
    except (MagicUsageError, ValueError) as e:
        print(e)
        return None
