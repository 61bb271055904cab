"""`board` in %%host cells: the connected board, driven from Python on this computer."""

from __future__ import annotations

from .board import Board


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
        return self.current.eval(expression, timeout)

    def exec(self, code: str, timeout: float | None = 30) -> str:
        return self.current.exec(code, timeout)

    def __repr__(self) -> str:
        return f"<board: {self._kernel.boards.description}>"
