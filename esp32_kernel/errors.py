"""The errors that end a cell, and the name each one gives Jupyter's error reply.

A cell fails with a `CellError`: the board's own traceback (a MicroPython exception), or one
line saying what went wrong and what to do (a board problem, a failed magic). Jupyter's
error reply takes its `ename` from the exception's class, so each is an instance of a
subclass made for its name (`FileNotFoundError`, `PortInUse`, `BoardReset` …); the kernel
shows `traceback_text` instead of a traceback of its own code.
"""

from __future__ import annotations

import functools


class CellError(Exception):
    """Ends the cell with an error reply; `traceback_text` is what the cell shows."""

    traceback_text = ""


class DeviceException(CellError):
    """A MicroPython exception, shown with the board's traceback."""


class BoardProblem(CellError):
    """The cell could not finish on the board: it rebooted, or the link was lost."""


class MagicFailed(CellError):
    """A magic could not do what it was asked; the message says what to do."""


@functools.cache
def _named(base: type[CellError], name: str) -> type[CellError]:
    """A subclass of `base` called `name`: Jupyter's error reply takes ename from it."""
    return type(name, (base,), {"__module__": base.__module__})


def _make(base: type[CellError], name: str, message: str, traceback_text: str) -> CellError:
    error = _named(base, name if name.isidentifier() else base.__name__)(message)
    error.traceback_text = traceback_text
    return error


def parse_exception(traceback: str) -> tuple[str, str]:
    """('ZeroDivisionError', 'divide by zero') from MicroPython's traceback text."""
    lines = [line for line in traceback.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "Exception"
    name, _, value = last.partition(":")
    return name.strip() or "Exception", value.strip()


def device_exception(traceback_text: str) -> CellError:
    """The exception MicroPython reported in `traceback_text`."""
    ename, evalue = parse_exception(traceback_text)
    return _make(DeviceException, ename, evalue, traceback_text)


def board_problem(name: str, message: str) -> CellError:
    """Why a cell could not finish on the board (it rebooted, the link was lost, ...)."""
    return _make(BoardProblem, name, message, f"{name}: {message}")


def magic_failed(magic: str, name: str, message: str) -> CellError:
    """`%magic` failed: `name` says how (the ename), `message` what to do."""
    return _make(MagicFailed, name, message, f"{name}: %{magic}: {message}")
