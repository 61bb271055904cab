"""What the ESP32's MicroPython offers, read from the `micropython-esp32-stubs` package:
module, class and function names with signatures and docstrings, available offline and
while the board is busy."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

STUB_DISTRIBUTIONS = ("micropython-esp32-stubs", "micropython-stdlib-stubs")
# Typing helpers of the stub packages, not modules an ESP32 has.
_NOT_ON_BOARD = {"abc", "enum", "sre_compile", "sre_constants", "sre_parse", "types", "typing", "typing_extensions"}


@dataclass
class Member:
    name: str
    kind: str  # "module", "class", "function", "constant"
    signature: str = ""
    doc: str = ""
    members: dict[str, Member] = field(default_factory=dict)  # of a module or class
    value: int | str | None = None  # of a constant the stubs give one (read off a board)


def _stub_files(distributions: tuple[str, ...]) -> dict[str, Path]:
    """module name → .pyi file, the first distribution's taking precedence."""
    found: dict[str, Path] = {}
    for dist in distributions:
        try:
            files = metadata.files(dist) or []
        except metadata.PackageNotFoundError:
            continue
        for file in files:
            parts = file.parts
            if not str(file).endswith(".pyi") or parts[0].endswith((".dist-info", "_mpy_shed")):
                continue
            name = ".".join(parts)[: -len(".pyi")].removesuffix(".__init__").removeprefix("stdlib.")
            if name.startswith("_") and name != "__builtins__":
                continue
            found.setdefault(name, Path(file.locate()))
    return found


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    args = ast.unparse(node.args)
    if args.startswith(("self", "cls")):
        args = args.partition(",")[2].strip().removeprefix("/").lstrip(", ")
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{node.name}({args}){returns}"


def _literal(node: ast.expr | None) -> int | str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)) and not isinstance(node.value, bool):
        return node.value
    return None


def _typing_helper(node: ast.expr) -> bool:
    """`Const_T = TypeVar(...)`: the stubs' own typing, not a name on the board."""
    return isinstance(node, ast.Call) and ast.unparse(node.func) in ("TypeVar", "ParamSpec", "NewType")


def _members(body: list[ast.stmt]) -> dict[str, Member]:
    members: dict[str, Member] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            members.setdefault(node.name, Member(node.name, "function", _signature(node), ast.get_docstring(node) or ""))
        elif isinstance(node, ast.ClassDef):
            cls = Member(node.name, "class", doc=ast.get_docstring(node) or "", members=_members(node.body))
            init = cls.members.get("__init__")
            cls.signature = f"{node.name}({init.signature.partition('(')[2].rpartition(')')[0]})" if init else f"{node.name}()"
            members[node.name] = cls
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, value = node.target.id, _literal(node.value)
            members.setdefault(name, Member(name, "constant", ast.unparse(node.annotation), value=value))
        elif isinstance(node, ast.Assign) and not _typing_helper(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    members.setdefault(target.id, Member(target.id, "constant", value=_literal(node.value)))
    return {name: m for name, m in members.items() if not name.startswith("__") or name == "__init__"}


class StubIndex:
    """Modules parsed on first use; lookups by dotted name ("machine.Pin.irq")."""

    def __init__(self, distributions: tuple[str, ...] = STUB_DISTRIBUTIONS) -> None:
        self._files = _stub_files(distributions)

    @property
    def module_names(self) -> list[str]:
        return sorted(name for name in self._files if name != "__builtins__" and name not in _NOT_ON_BOARD)

    @functools.lru_cache(maxsize=None)
    def module(self, name: str) -> Member | None:
        path = self._files.get(name)
        if path is None:
            return None
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            return None
        doc = (ast.get_docstring(tree) or "").split("\n---", 1)[0].strip()
        return Member(name, "module", doc=doc, members=_members(tree.body))

    def lookup(self, dotted: str) -> Member | None:
        """The stub for `dotted`: a module, or a member of one (any depth)."""
        parts = dotted.split(".")
        for split in range(len(parts), 0, -1):
            found = self.module(".".join(parts[:split]))
            if found is None:
                continue
            for part in parts[split:]:
                found = found.members.get(part)
                if found is None:
                    return None
            return found
        return None


@functools.cache
def stub_index() -> StubIndex:
    return StubIndex()
