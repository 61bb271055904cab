"""% commands, one module per family. `register` adds them all to the kernel's shell."""

from __future__ import annotations


def register(shell, kernel) -> None:
    from .connection import ConnectionMagics

    shell.register_magics(ConnectionMagics(shell, kernel))
