"""What a notebook cell means: device code, host Python, magics — and the last-value display.

A cell runs on the board unless its first line is ``%%host`` (the rest is IPython's),
``%%on`` (the rest runs on several boards at once) or another cell magic. In a device cell, lines starting with ``%`` are line magics, run on the
host in order with the device code around them. This module only rewrites text; the
kernel installs `route_cell` as an IPython input transformer.
"""

from __future__ import annotations

import ast
import re

HOST_MAGIC = "%%host"
RUN_DEVICE = "await get_ipython().kernel.run_device_code"
ON_BOARDS = "%%on"  # awaited as the kernel's, not run as IPython's (blocking) cell magic
RUN_ON_BOARDS = "await get_ipython().kernel.run_on_boards"
_MAGIC_LINE = re.compile(r"^%(?!%)(\w[\w.-]*)\s?(.*)$")

# The board shows a cell's last value through `__r__`, which the kernel's helpers define
# there (esp32_kernel/device/kernel_helpers.py): a few bytes on the wire per cell.
SHOW_RESULT = "__r__"


def route_cell(lines: list[str]) -> list[str]:
    """IPython cleanup transform: turn a device cell into host Python that runs it."""
    if not lines:
        return lines
    first = lines[0].strip()
    if first == HOST_MAGIC or first.startswith(HOST_MAGIC + " "):
        return lines[1:]
    if first == ON_BOARDS or first.startswith(ON_BOARDS + " "):
        return [f"{RUN_ON_BOARDS}({first[len(ON_BOARDS):].strip()!r}, {''.join(lines[1:])!r})\n"]
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


def is_device_cell(cell: str) -> bool:
    """True unless the cell is a host cell or another cell magic's."""
    return not cell.lstrip().startswith("%%")


def is_device_only(cell: str) -> bool:
    """True for a cell that is all device code: no magics, not a host cell."""
    if cell.lstrip().startswith("%%"):
        return False
    return not any(_MAGIC_LINE.match(line) for line in cell.splitlines())


# IPython's is_complete check skips transforms marked so: it then judges the cell as the
# Python it is, not as the one-line await it becomes.
route_cell.has_side_effects = True  # type: ignore[attr-defined]


def parse_cell(source: str) -> ast.Module | None:
    """The cell as CPython reads it, parsed once per cell for `with_result` and the
    completer; None for source that only MicroPython accepts."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def with_result(source: str, tree: ast.Module | None) -> str:
    """`source` (parsed as `tree`) changed so that its last expression's repr comes back as a
    result frame.

    Source that CPython cannot parse (MicroPython-only syntax) is sent unchanged: the
    board reports its own syntax errors.
    """
    if tree is None:
        return source
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return source
    last = tree.body[-1]
    lines = source.splitlines(keepends=True)
    head = "".join(lines[: last.lineno - 1]) + lines[last.lineno - 1][: _char_offset(lines[last.lineno - 1], last.col_offset)]
    tail = source[len(head) :]
    if tail.rstrip().endswith(";"):  # IPython's way to say "don't show it"
        return source
    if _is_print_call(last.value):
        return source  # None, always: spare the bytes
    # No newline before the call: the expression keeps its line number for tracebacks,
    # and a head ending in "; " (the `a = 1; a` form) is still valid Python.
    return f"{head}{SHOW_RESULT}(({tail.strip()}\n))\n"  # (( )): `a, b` is one tuple


def _is_print_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"


def _char_offset(line: str, utf8_offset: int) -> int:
    """ast's col_offset counts UTF-8 bytes; slicing wants characters."""
    return len(line.encode()[:utf8_offset].decode(errors="ignore"))
