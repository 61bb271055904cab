"""%push and %pull: move values between this computer's namespace and the board's."""

from __future__ import annotations

import ast

from IPython.core.magic import line_magic, magics_class

from ..board import BoardError, DeviceError
from .base import KernelMagics


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
        names = line.split()
        if not names:
            print("%push: name the host variables to copy, e.g. %push threshold samples")
            return
        if not all(map(self._valid, names)):
            return
        try:
            code = "\n".join(f"{n}={_literal_repr(n, self.shell.user_ns[n])}" for n in names)
            self.kernel.boards.current().exec(code)
        except KeyError as e:
            print(f"%push: there is no host variable {e.args[0]} (define it in a %%host cell first)")
        except (ValueError, BoardError) as e:
            print(f"%push: {e}")
        else:
            print(f"Pushed {', '.join(names)} to the board.")

    @line_magic
    def pull(self, line: str) -> None:
        """%pull NAME… — copy board variables (literals) into this computer's namespace."""
        names = line.split()
        if not names:
            print("%pull: name the board variables to copy, e.g. %pull readings")
            return
        if not all(map(self._valid, names)):
            return
        try:
            board = self.kernel.boards.current()
            for name in names:
                text = board.exec(f"print(repr({name}))").strip()
                try:
                    self.shell.user_ns[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    print(f"%pull: {name} on the board is not a literal ({text[:60]}); use board.eval() for its repr")
                    return
        except DeviceError as e:
            print(f"%pull: {e.ename}: {e.evalue}")
            return
        except BoardError as e:
            print(f"%pull: {e}")
            return
        print(f"Pulled {', '.join(names)} from the board.")

    @staticmethod
    def _valid(name: str) -> bool:
        if not name.isidentifier():
            print(f"%push/%pull: {name!r} is not a variable name")
            return False
        return True
