"""What a notebook cell means: device code, host Python, magics — and the last-value display.

A cell runs on the board unless its first line is ``%%host`` (the rest is IPython's) or
another cell magic. In a device cell, lines starting with ``%`` are line magics, run on the
host in order with the device code around them. This module only rewrites text; the
kernel installs `route_cell` as an IPython input transformer.
"""

from __future__ import annotations

import ast
import re

from .live.frames import END, START

HOST_MAGIC = "%%host"
RUN_DEVICE = "await get_ipython().kernel.run_device_code"
_MAGIC_LINE = re.compile(r"^%(?!%)(\w[\w.-]*)\s?(.*)$")

# The repr of a cell's last expression comes back as a frame, so it cannot be confused
# with what the cell printed. `_` holds it on the board, as at MicroPython's own REPL.
_SHOW_RESULT = (
    "if _ is not None:__import__('sys').stdout.write("
    f"{START.decode()!r}+'R'+repr(_)+{END.decode()!r})"
)


def route_cell(lines: list[str]) -> list[str]:
    """IPython cleanup transform: turn a device cell into host Python that runs it."""
    if not lines:
        return lines
    first = lines[0].strip()
    if first == HOST_MAGIC or first.startswith(HOST_MAGIC + " "):
        return lines[1:]
    if first.startswith("%%"):
        return lines  # another cell magic: IPython runs it
    out: list[str] = []
    code: list[str] = []
    start = 1  # the cell line where the pending device code begins

    def flush_code() -> None:
        source = "".join(code)
        if source.strip():
            out.append(f"{RUN_DEVICE}({source!r}, first_line={start})\n")

    for number, line in enumerate(lines, 1):
        magic = _MAGIC_LINE.match(line.rstrip("\n"))
        if magic:
            flush_code()
            code, start = [], number + 1
            name, args = magic.groups()
            out.append(f"get_ipython().run_line_magic({name!r}, {args.strip()!r})\n")
        else:
            code.append(line)
    flush_code()
    return out or ["pass\n"]


def with_result(source: str) -> str:
    """`source` changed so that its last expression's repr comes back as a result frame.

    Source that CPython cannot parse (MicroPython-only syntax) is sent unchanged: the
    board reports its own syntax errors.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return source
    last = tree.body[-1]
    lines = source.splitlines(keepends=True)
    head = "".join(lines[: last.lineno - 1]) + lines[last.lineno - 1][: _char_offset(lines[last.lineno - 1], last.col_offset)]
    tail = source[len(head) :]
    if tail.rstrip().endswith(";"):  # IPython's way to say "don't show it"
        return source
    expression = tail.strip()
    # No newline before `_=`: the expression keeps its line number for tracebacks, and a
    # head ending in "; " (the `a = 1; a` form) is still valid Python.
    return f"{head}_=({expression}\n)\n{_SHOW_RESULT}\n"


def _char_offset(line: str, utf8_offset: int) -> int:
    """ast's col_offset counts UTF-8 bytes; slicing wants characters."""
    return len(line.encode()[:utf8_offset].decode(errors="ignore"))
