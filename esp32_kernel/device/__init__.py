"""MicroPython code the kernel places on the board (in RAM, never on its flash)."""

from importlib.resources import files


def source(name: str) -> str:
    return (files(__package__) / name).read_text()
