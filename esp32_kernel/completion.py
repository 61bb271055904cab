"""Tab completion and Shift-Tab inspection for device cells.

Names come from the live board (its globals and `dir()` of objects) merged with the
ESP32 stubs; when the board is busy or gone, the stubs and the last namespace seen answer
instead, so completing never waits on a running cell or writes to its link. The last
namespace seen is the board's `dir()` at the last idle completion plus the names the cells
run since then bind (read from their source), with what imports and constructor calls
tell: after `from machine import Pin` and `led = Pin(2)`, `led.` completes as a Pin.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .board import Board, BoardError
from .stubs import Member, stub_index

_TOKEN_BEFORE = re.compile(r"[A-Za-z_][\w.]*$|$")
_IMPORT_MODULE = re.compile(r"^\s*(?:import|from)\s+[\w.]*$")
_FROM_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+(?:[\w\s,]*,\s*)?\w*$")
_NAME_AT = re.compile(r"[A-Za-z_][\w.]*")
# Bindings of a cell CPython cannot parse (MicroPython-only syntax), in their usual forms.
_ASSIGNED = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:[-+*/%&|^@]|//|>>|<<|\*\*)?=(?!=)", re.M)
_DEFINED = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.M)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)  # scopes of their own
_BODIES = ("body", "orelse", "finalbody", "handlers")  # the statements inside a statement
BOARD_QUERY_TIMEOUT = 2.0


@dataclass
class Completion:
    matches: list[str]
    start: int
    end: int


@dataclass(frozen=True)
class Binding:
    """What a global name a cell binds is, as far as its source tells."""

    stub: str = ""  # the stub's dotted name: "machine.Pin" after `from machine import Pin`
    instance: bool = False  # an instance of `stub` (`led = Pin(2)`), not the thing itself


def _ranked(names: set[str], prefix: str) -> list[str]:
    """Prefix matches; public names first, then _private, then __dunder__."""
    hits = [n for n in names if n.startswith(prefix)]
    return sorted(hits, key=lambda n: (n.startswith("__"), n.startswith("_"), n.lower()))


def _module_level(statements: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """The statements (and except clauses) of a cell that run in the board's global scope,
    in source order. Statements only, not every node: a 5 KB cell is read in a fraction of a
    millisecond."""
    for node in statements:
        yield node
        if not isinstance(node, _DEFINITIONS):
            for body in _BODIES:
                yield from _module_level(getattr(node, body, ()))


def _expressions(statement: ast.AST) -> Iterator[ast.AST]:
    """The nodes of `statement` itself, not of the statements inside it."""
    for field, value in ast.iter_fields(statement):
        if field in _BODIES:
            continue
        for node in value if isinstance(value, list) else [value]:
            if isinstance(node, ast.AST):
                yield from ast.walk(node)


def _stored(target: ast.expr | None) -> Iterator[str]:
    """The names an assignment target binds: `a`, `a, (b, *c)`; not `a.x` or `a[0]`."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _stored(element)
    elif isinstance(target, ast.Starred):
        yield from _stored(target.value)


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def cell_bindings(source: str, tree: ast.Module | None, known: dict[str, Binding] | None = None) -> dict[str, Binding]:
    """The global names `source` (parsed as `tree`, None if CPython cannot) binds (last
    binding wins). `known` resolves names bound by earlier cells, so `led = Pin(2)` is a Pin
    when an earlier cell imported Pin."""
    scope = dict(known or {})
    found: dict[str, Binding] = {}

    def bind(name: str, binding: Binding = Binding()) -> None:
        found[name] = scope[name] = binding

    def stub_of(dotted: str) -> str:
        head, dot, rest = dotted.partition(".")
        binding = scope.get(head)
        if binding is not None and binding.stub and not binding.instance:
            return f"{binding.stub}{dot}{rest}"
        return dotted

    if tree is None:
        for match in (*_ASSIGNED.finditer(source), *_DEFINED.finditer(source)):
            found[match.group(1)] = Binding()
        return found
    walrus = ":=" in source  # names bound inside expressions: read only when there are any
    for node in _module_level(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bind(alias.asname, Binding(alias.name))
                else:
                    head = alias.name.partition(".")[0]
                    bind(head, Binding(head))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    bind(alias.asname or alias.name, Binding(f"{node.module}.{alias.name}"))
        elif isinstance(node, _DEFINITIONS):
            bind(node.name)
            continue
        elif isinstance(node, ast.Assign):
            maker = stub_of(_dotted(node.value.func)) if isinstance(node.value, ast.Call) else ""
            made = stub_index().lookup(maker) if maker else None
            for target in node.targets:
                if isinstance(target, ast.Name) and maker:
                    bind(target.id, Binding(maker, True) if made and made.kind == "class" else Binding())
                else:
                    for name in _stored(target):
                        bind(name)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
            for name in _stored(node.target):
                bind(name)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                for name in _stored(item.optional_vars):
                    bind(name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bind(node.name)
        if walrus:
            for inner in _expressions(node):
                if isinstance(inner, ast.NamedExpr):
                    bind(inner.target.id)
    return found


class DeviceCompleter:
    def __init__(self) -> None:
        self.last_namespace: set[str] = set()  # the board's globals, as last seen
        self._last_dir: dict[str, set[str]] = {}  # expression → dir(), as last seen
        self._bindings: dict[str, Binding] = {}  # what cells bound, for when the board is busy

    def note_cell(self, source: str, tree: ast.Module | None) -> None:
        """A device cell (`source`, parsed as `tree`) runs on the board: remember the globals it binds."""
        bound = cell_bindings(source, tree, self._bindings)
        # New objects, not changed ones: a completion may be reading them on another thread.
        self._bindings = {**self._bindings, **bound}
        self.last_namespace = self.last_namespace | bound.keys()
        self._last_dir = {obj: names for obj, names in self._last_dir.items() if obj.partition(".")[0] not in bound}

    def forget_board_state(self) -> None:
        """The board rebooted: its globals are gone."""
        self.last_namespace, self._last_dir, self._bindings = set(), {}, {}

    def _ask_board(self, board: Board | None, code: str):
        if board is None or board.busy or not board.connected:
            return None
        try:
            return board.eval(code, timeout=BOARD_QUERY_TIMEOUT)
        except BoardError:
            return None

    def _stub(self, dotted: str) -> Member | None:
        """The stub for `dotted`, seen through what the cells bound (`led.on` → machine.Pin.on)."""
        head, dot, rest = dotted.partition(".")
        binding = self._bindings.get(head)
        if binding is not None and binding.stub:
            found = stub_index().lookup(f"{binding.stub}{dot}{rest}")
            if found is not None:
                return found
        return stub_index().lookup(dotted)

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
        stub = self._stub(obj)
        return self._last_dir.get(obj, set()) | (set(stub.members) if stub else set())

    def inspect(self, board: Board | None, code: str, cursor: int) -> str | None:
        name = name_at(code, cursor)
        if not name:
            return None
        parts: list[str] = []
        stub = self._stub(name)
        binding = self._bindings.get(name)
        if binding is not None and binding.instance and stub is not None:
            parts.append(f"{name}: a {binding.stub} (made by an earlier cell)")
        if stub is not None:
            parts.append(_describe(stub))
        live = self._ask_board(board, f"(type({name}).__name__, repr({name})[:300])")
        if isinstance(live, tuple) and len(live) == 2:
            parts.append(f"On the board: {name} = {live[1]}  ({live[0]})")
        elif name in self.last_namespace:
            parts.append(f"{name}: a global on the board (its value shows here when no cell is running)")
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
