"""`board` and `bench` in %%host cells: the connected board and the emulated board's bench, driven
from Python on this computer."""

from __future__ import annotations

from .board import Board, BoardError


class HostBoard:
    """A handle on whichever board the kernel is connected to now.

    >>> board.eval("1 + 1")          # the value, as a Python object when it is a literal
    2
    >>> board.exec("print('hi')")    # the output
    'hi\\n'
    """

    def __init__(self, kernel) -> None:
        self._kernel = kernel

    @property
    def current(self) -> Board:
        return self._kernel.boards.current()

    def eval(self, expression: str, timeout: float | None = 30):
        try:
            return self.current.eval(expression, timeout)
        except BoardError as e:  # the cell's line, then the board's error: not the kernel's frames
            raise e.with_traceback(None) from None

    def exec(self, code: str, timeout: float | None = 30) -> str:
        try:
            return self.current.exec(code, timeout)
        except BoardError as e:
            raise e.with_traceback(None) from None

    def __repr__(self) -> str:
        return f"<board: {self._kernel.boards.description}>"


class NoBench(RuntimeError):
    pass


class HostBench:
    """The emulated board's bench, from %%host cells: what the emulator's handle does
    (emulator/process.py): bench.press(0), bench.set_pot(34, 0.5), bench.record()…

    >>> rec = bench.record()          # then, after the code ran:
    >>> rec.stop().pin(2).frequency()
    2.0
    """

    def __init__(self, kernel) -> None:
        self._kernel = kernel

    @property
    def emulator(self):
        emulator = self._kernel.boards.emulator
        if emulator is None:
            raise NoBench("the bench is the emulated board's, and this kernel is on a real board"
                          " (%connect emulator switches to it)")  # fmt: skip
        return emulator

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.emulator, name)

    def __dir__(self):
        emulator = self._kernel.boards.emulator
        return sorted(n for n in dir(emulator) if not n.startswith("_")) if emulator is not None else []

    def __repr__(self) -> str:
        emulator = self._kernel.boards.emulator
        return "<bench: none (a real board)>" if emulator is None else f"<bench of the emulated board at {emulator.url}>"
