"""Tab completion and Shift-Tab inspection for device cells.

Names come from the live board (its globals and `dir()` of objects) merged with the
ESP32 stubs; when the board is busy or gone, the stubs and the last namespace seen answer
instead, so completing never waits on a running cell or writes to its link.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from .board import Board, BoardError
from .stubs import Member, stub_index

_TOKEN_BEFORE = re.compile(r"[A-Za-z_][\w.]*$|$")
_IMPORT_MODULE = re.compile(r"^\s*(?:import|from)\s+[\w.]*$")
_FROM_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+(?:[\w\s,]*,\s*)?\w*$")
_NAME_AT = re.compile(r"[A-Za-z_][\w.]*")
BOARD_QUERY_TIMEOUT = 2.0


@dataclass
class Completion:
    matches: list[str]
    start: int
    end: int


def _ranked(names: set[str], prefix: str) -> list[str]:
    """Prefix matches; public names first, then _private, then __dunder__."""
    hits = [n for n in names if n.startswith(prefix)]
    return sorted(hits, key=lambda n: (n.startswith("__"), n.startswith("_"), n.lower()))


class DeviceCompleter:
    def __init__(self) -> None:
        self.last_namespace: set[str] = set()  # the board's globals, as last seen
        self._last_dir: dict[str, set[str]] = {}  # expression → dir(), as last seen

    def _ask_board(self, board: Board | None, code: str):
        if board is None or board.busy or not board.connected:
            return None
        try:
            return board.eval(code, timeout=BOARD_QUERY_TIMEOUT)
        except BoardError:
            return None

    def complete(self, board: Board | None, code: str, cursor: int, magics: list[str]) -> Completion:
        line_start = code.rfind("\n", 0, cursor) + 1
        before = code[line_start:cursor]
        if before.startswith("%") and " " not in before:
            prefix = before[1:]
            return Completion([f"%{m}" for m in sorted(magics) if m.startswith(prefix)], line_start, cursor)
        token = _TOKEN_BEFORE.search(before).group()
        obj, dot, prefix = token.rpartition(".")
        start = cursor - len(prefix)
        if _IMPORT_MODULE.match(before):
            parent = f"{obj}{dot}"
            modules = {name[len(parent) :].split(".")[0] for name in stub_index().module_names if name.startswith(parent)}
            return Completion(_ranked(modules, prefix), start, cursor)
        if from_import := _FROM_IMPORT.match(before):
            return Completion(_ranked(self.attributes(board, from_import.group(1)), prefix), start, cursor)
        if dot:
            return Completion(_ranked(self.attributes(board, obj), prefix), start, cursor)
        return Completion(_ranked(self.names(board), prefix), start, cursor)

    def names(self, board: Board | None) -> set[str]:
        found = self._ask_board(board, "dir()+dir(__import__('builtins'))")
        if isinstance(found, list):
            self.last_namespace = set(found)
        stubs = stub_index().lookup("builtins")
        builtins = set(stubs.members) if stubs else set()
        return self.last_namespace | builtins | set(keyword.kwlist)

    def attributes(self, board: Board | None, obj: str) -> set[str]:
        found = self._ask_board(board, f"dir({obj})")
        if isinstance(found, list):
            self._last_dir[obj] = set(found)
        stub = stub_index().lookup(obj)
        return self._last_dir.get(obj, set()) | (set(stub.members) if stub else set())

    def inspect(self, board: Board | None, code: str, cursor: int) -> str | None:
        name = name_at(code, cursor)
        if not name:
            return None
        parts: list[str] = []
        stub = stub_index().lookup(name)
        if stub is not None:
            parts.append(_describe(stub))
        live = self._ask_board(board, f"(type({name}).__name__, repr({name})[:300])")
        if isinstance(live, tuple) and len(live) == 2:
            parts.append(f"On the board: {name} = {live[1]}  ({live[0]})")
        return "\n\n".join(parts) or None


def _describe(member: Member) -> str:
    head = member.signature or member.name
    kind = {"module": "module", "class": "class", "function": "function", "constant": "constant"}[member.kind]
    text = f"{head}\n({kind}, from the ESP32 MicroPython stubs)"
    if member.kind == "constant" and member.signature:
        text = f"{member.name}: {member.signature}\n(constant, from the ESP32 MicroPython stubs)"
    return f"{text}\n\n{member.doc}".rstrip()


def name_at(code: str, cursor: int) -> str:
    """The dotted name under (or just before) the cursor."""
    for match in _NAME_AT.finditer(code):
        if match.start() <= cursor <= match.end():
            return match.group().rstrip(".")
    return ""
