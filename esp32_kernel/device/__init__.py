"""MicroPython code the kernel places on the board (in RAM, never on its flash).

`source()` returns it as sent: without full-line comments and blank lines, indented one
space per level, so the setup costs few bytes on a 115200-baud line after every reboot.
(Device code keeps its comments on lines of their own and has no multi-line strings.)
"""

from importlib.resources import files


def source(name: str) -> str:
    return compact((files(__package__) / name).read_text())


def compact(text: str) -> str:
    """Python source without comment lines and blank lines, with one-space indentation."""
    out = []
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        out.append(" " * (indent // 4) + stripped)
    return "\n".join(out) + "\n"
