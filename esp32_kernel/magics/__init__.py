"""% commands, one module per family. `register` adds them all to the kernel's shell."""

from __future__ import annotations

from importlib import import_module

# module name → its Magics class; each class is built as Class(shell, kernel)
FAMILIES = {
    "connection": "ConnectionMagics",
    "values": "ValueMagics",
    "files": "FileMagics",
    "reset": "ResetMagics",
    "boards": "BoardsMagics",
    "packages": "PackageMagics",
    "live": "LiveMagics",
    "flash": "FlashMagics",
}


def register(shell, kernel) -> None:
    for module, name in FAMILIES.items():
        magics = getattr(import_module(f"{__name__}.{module}"), name)
        shell.register_magics(magics(shell, kernel))
