"""The layers of the code (docs/architecture.md), checked on the import graph.

Every module of ``ltoefg`` and ``baselines`` is read with :mod:`ast` (nothing is
imported); each ``import`` and ``from ... import`` statement, at module level,
inside a function or under ``TYPE_CHECKING``, is an arrow to the module it
names. The contract:

* no circles: no module reaches itself through arrows;
* no upward arrows: a room imports only rooms of its own layer's room or of
  layers below it (:data:`LAYERS`, top first);
* rooms of one layer are independent: none imports another;
* every module is in a room, so a new module has to be placed.

An arrow inside one room (between modules of one package) is the room's own
affair, but it still may not close a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("baselines", "ltoefg")

#: The layers, top first. A room is a module or a package (with all it holds);
#: the two top-level packages stand for their ``__init__`` alone (the face).
LAYERS: list[list[str]] = [
    ["baselines.__main__"],
    ["baselines.runs"],
    ["baselines.models"],
    ["baselines.engine", "baselines.cli", "baselines"],
    ["ltoefg.cli"],
    ["ltoefg"],
    ["ltoefg.application", "ltoefg.leaderboard", "ltoefg.task", "ltoefg.cite"],
    ["ltoefg.evaluation", "ltoefg.dft"],
    ["ltoefg.data"],
    ["ltoefg.io", "ltoefg.dask_cluster"],
    ["ltoefg.metrics"],
    ["ltoefg.nmr"],
    ["ltoefg.tensors", "ltoefg.constants", "ltoefg.names", "ltoefg.errors", "ltoefg.version"],
]

Graph = Mapping[str, set[str]]


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``packages`` under ``root``."""
    out: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _named(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """What one import statement names: modules, or a module plus its attributes."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    return [f"{base}.{alias.name}" for alias in node.names]


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    """module -> the modules of ``packages`` that it imports (itself excluded)."""
    found = modules(root, packages)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        arrows: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _named(name, path.name == "__init__.py", node):
                while target and target not in found:  # an attribute: its module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    arrows.add(target)
        graph[name] = arrows
    return graph


def room_of(module: str, layers: Sequence[Sequence[str]]) -> str | None:
    """The room that holds ``module``: the longest room name that is it or a package above it."""
    rooms = [r for layer in layers for r in layer]
    tops = {r for r in rooms if "." not in r}
    holding = [r for r in rooms if module == r or (r not in tops and module.startswith(r + "."))]
    return max(holding, key=len) if holding else None


def circles(graph: Graph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def violations(graph: Graph, layers: Sequence[Sequence[str]]) -> list[str]:
    """Every breach of the contract, one sentence each (empty when the graph keeps it)."""
    level = {room: i for i, layer in enumerate(layers) for room in layer}
    out = [f"circle: {' <-> '.join(group)}" for group in circles(graph)]
    for module in sorted(graph):
        here = room_of(module, layers)
        if here is None:
            out.append(f"{module} is in no room of the layers: place it")
            continue
        for target in sorted(graph[module]):
            there = room_of(target, layers)
            if there is None or there == here:
                continue  # an unplaced target is reported as a module of its own
            if level[there] < level[here]:
                out.append(f"upward import: {module} ({here}) imports {target} ({there})")
            elif level[there] == level[here]:
                out.append(f"sibling import: {module} ({here}) imports {target} ({there})")
    return out


def test_the_code_keeps_the_layers() -> None:
    graph = import_graph(ROOT, PACKAGES)
    assert len(graph) > 90  # every module was read
    assert violations(graph, LAYERS) == []


def test_every_room_exists() -> None:
    found = modules(ROOT, PACKAGES)
    for room in (r for layer in LAYERS for r in layer):
        assert any(m == room or m.startswith(room + ".") for m in found), room


def test_docs_architecture_names_every_room() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for room in (r for layer in LAYERS for r in layer if "." in r):
        path = room.replace(".", "/")
        assert f"{path}/" in text or f"{path}.py" in text, room


def test_the_contract_catches_a_circle_an_upward_and_a_sibling_import() -> None:
    layers = [["app"], ["lib.a", "lib.b"], ["core"]]
    good = {"app": {"lib.a", "core"}, "lib.a": {"core"}, "lib.b": set(), "core": set()}
    assert violations(good, layers) == []
    assert violations({**good, "core": {"app"}}, layers) == [
        "circle: app <-> core <-> lib.a",
        "upward import: core (core) imports app (app)",
    ]
    assert violations({**good, "lib.b": {"lib.a"}}, layers) == [
        "sibling import: lib.b (lib.b) imports lib.a (lib.a)"
    ]
    assert violations({**good, "stray": set()}, layers) == [
        "stray is in no room of the layers: place it"
    ]


def test_the_reader_sees_lazy_relative_and_type_checking_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core.py").write_text("def f():\n    from pkg.sub import high\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "high.py").write_text(
        "from typing import TYPE_CHECKING\nfrom .. import core\n"
        "if TYPE_CHECKING:\n    from pkg.sub.mid import X\n"
    )
    (pkg / "sub" / "mid.py").write_text("from . import high\n")
    graph = import_graph(tmp_path, ["pkg"])
    assert graph == {
        "pkg": set(),
        "pkg.core": {"pkg.sub.high"},
        "pkg.sub": set(),
        "pkg.sub.high": {"pkg.core", "pkg.sub.mid"},
        "pkg.sub.mid": {"pkg.sub.high"},
    }
    assert circles(graph) == [["pkg.core", "pkg.sub.high", "pkg.sub.mid"]]
    layers = [["pkg.sub"], ["pkg.core", "pkg"]]
    assert "upward import: pkg.core (pkg.core) imports pkg.sub.high (pkg.sub)" in violations(
        graph, layers
    )
