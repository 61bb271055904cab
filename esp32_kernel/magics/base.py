"""What every family of magics shares: the kernel it belongs to, argument parsing whose errors
are one clear line instead of an exit, and failures that end the cell with an error reply."""

from __future__ import annotations

import argparse
import functools
import shlex

from IPython.core.magic import Magics

from ..board import BoardError, DeviceError
from ..errors import CellError, magic_failed


class KernelMagics(Magics):
    """Magics built as Class(shell, kernel), with the kernel at hand.

    Every magic's failure ends its cell with an error reply (so Run All and graders stop):
    raise `MagicUsageError` for bad arguments, or let the product's own errors (BoardError,
    FileError, MountError …, which speak to users) and OSError out; `failures_as_cell_errors`
    turns each into an error named after what went wrong. Anything else is a bug in the
    kernel and keeps its Python traceback."""

    def __init__(self, shell, kernel) -> None:
        super().__init__(shell)
        self.kernel = kernel
        for table in self.magics.values():
            for name, function in table.items():
                table[name] = failures_as_cell_errors(name, function)


class MagicUsageError(Exception):
    """The magic was called wrongly; the message says how to call it."""


class MagicParser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of exiting the kernel
        raise MagicUsageError(f"{message}\nusage: {self.format_usage().partition(': ')[2].strip()}")


def parse_line(parser: argparse.ArgumentParser, line: str) -> argparse.Namespace:
    """The magic's arguments; MagicUsageError says what is wrong with them."""
    try:
        return parser.parse_args(shlex.split(line))
    except ValueError as e:  # shlex: an unclosed quote
        raise MagicUsageError(str(e)) from None


def failures_as_cell_errors(magic: str, function):
    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except CellError:
            raise
        except Exception as e:
            failure = _as_cell_error(magic, e)
            if failure is None:
                raise
            raise failure from None

    return run


def _as_cell_error(magic: str, error: Exception) -> CellError | None:
    """The cell error that says how `%magic` failed; None for a bug (kept as it is)."""
    if isinstance(error, MagicUsageError):
        return magic_failed(magic, "UsageError", str(error))
    if isinstance(error, DeviceError):
        return magic_failed(magic, error.ename, error.evalue or error.ename)
    if isinstance(error, BoardError):
        return magic_failed(magic, error.name, str(error))
    if isinstance(error, OSError):  # this computer's side: a missing or unreadable file
        where = f": {error.filename}" if error.filename else ""
        return magic_failed(magic, type(error).__name__, f"{error.strerror or error}{where}")
    if type(error).__module__.startswith("esp32_kernel."):  # the product's own errors speak to users
        return magic_failed(magic, type(error).__name__, str(error))
    return None
