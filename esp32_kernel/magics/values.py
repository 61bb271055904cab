"""%push and %pull: move values between this computer's namespace and the board's."""

from __future__ import annotations

import ast

from IPython.core.magic import line_magic, magics_class

from ..errors import magic_failed
from .base import KernelMagics, MagicUsageError


def _literal_repr(name: str, value: object) -> str:
    """repr(value) if MicroPython can read it back as the same value, else ValueError."""
    text = repr(value)
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError):
        same = False
    if not same:
        raise ValueError(
            f"{name} is a {type(value).__name__}; only literals (numbers, strings, bytes, lists,"
            " tuples, dicts, sets, True/False/None) can be pushed"
        )
    return text


@magics_class
class ValueMagics(KernelMagics):
    @line_magic
    def push(self, line: str) -> None:
        """%push NAME… — copy host variables (literals) to the board under the same names."""
        names = _names(line, "name the host variables to copy, e.g. %push threshold samples")
        missing = [n for n in names if n not in self.shell.user_ns]
        if missing:
            raise magic_failed("push", "NameError", f"there is no host variable {missing[0]} (define it in a %%host cell first)")
        try:
            code = "\n".join(f"{n}={_literal_repr(n, self.shell.user_ns[n])}" for n in names)
        except ValueError as e:
            raise magic_failed("push", "TypeError", str(e)) from None
        self.kernel.boards.current().exec(code)
        print(f"Pushed {', '.join(names)} to the board.")

    @line_magic
    def pull(self, line: str) -> None:
        """%pull NAME… — copy board variables (literals) into this computer's namespace."""
        names = _names(line, "name the board variables to copy, e.g. %pull readings")
        board = self.kernel.boards.current()
        for name in names:
            text = board.exec(f"print(repr({name}))").strip()
            try:
                self.shell.user_ns[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise magic_failed(
                    "pull", "TypeError", f"{name} on the board is not a literal ({text[:60]}); use board.eval() for its repr"
                ) from None
        print(f"Pulled {', '.join(names)} from the board.")


def _names(line: str, none_given: str) -> list[str]:
    """The variable names on the magic's line; MagicUsageError if there are none or one is not a name."""
    names = line.split()
    if not names:
        raise MagicUsageError(none_given)
    for name in names:
        if not name.isidentifier():
            raise MagicUsageError(f"{name!r} is not a variable name")
    return names
