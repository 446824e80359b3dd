"""The layout docs/architecture.md promises: layers that import only downwards, no private names
imported across modules, no module past ~400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hpsearch"

#: docs/architecture.md, "The direction of imports": each layer imports only layers below it.
LAYERS = [
    {"__main__"},          # python -m hpsearch
    {"cli"},
    {"render", "serve"},
    {"report"},
    {"refine", "validate"},
    {"run"},
    {"objectives", "samplers", "launch"},
    {"space", "storage"},
    {"trainer", "pruners", "ranking", "timeparse"},
    {"pareto"},            # pure functions of value vectors (pruners rank by fronts too)
    {"procs", "names", "lazy", "values"},
    {"errors"},
]
LEVEL = {part: i for i, layer in enumerate(LAYERS) for part in layer}


def part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imports(path: Path):
    """(module, names) of every hpsearch import in the file, inside functions too."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hpsearch"):
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("hpsearch"):
                    yield a.name, []


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_part_has_a_layer():
    parts = {part_of(p) for p in modules()}
    assert parts <= set(LEVEL), sorted(parts - set(LEVEL))


def test_layers_import_only_downwards():
    upward = []
    for path in modules():
        src = part_of(path)
        for module, names in imports(path):
            bits = module.split(".")
            targets = [bits[1]] if len(bits) > 1 else names  # `from hpsearch import x`
            for dst in targets:
                if dst in LEVEL and dst != src and LEVEL[dst] <= LEVEL[src]:
                    upward.append(f"{path.relative_to(PACKAGE)} imports {module} ({dst})")
    assert upward == []


def test_no_private_name_is_imported_across_modules():
    private = [f"{path.relative_to(PACKAGE)}: {module}.{name}"
               for path in modules() for module, names in imports(path)
               for name in names if name.startswith("_") and not name.startswith("__")]
    assert private == []


def test_no_module_is_past_450_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 450}
    assert long == {}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def test_no_import_loop_inside_a_part():
    """Modules of one part import each other in one direction only (the part's own
    ``__init__`` re-exporting its modules is not a loop: nothing of the part imports it back
    but through a sibling)."""
    graph: dict[str, set[str]] = {}
    names = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in names.items():
        deps = set()
        for module, imported in imports(path):
            if module in names and module != name:
                deps.add(module)
            for n in imported:  # `from hpsearch.pruners import base`
                if f"{module}.{n}" in names:
                    deps.add(f"{module}.{n}")
        graph[name] = {d for d in deps if d.split(".")[:2] == name.split(".")[:2]
                       and not (d == ".".join(name.split(".")[:2]))}
    loops = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    loops.append(" -> ".join(path + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    assert loops == []


def test_run_knows_no_trainer_and_no_objective_kind():
    """What an objective can do is asked through its hooks (hpsearch/objectives/base.py), not
    read from the trainer or tested by the kind's name."""
    bad = []
    for path in (PACKAGE / "run").rglob("*.py"):
        for module, _names in imports(path):
            if module.startswith("hpsearch.trainer"):
                bad.append(f"{path.name} imports {module}")
        if '"builtin"' in path.read_text():
            bad.append(f"{path.name} tests the kind \"builtin\"")
    assert bad == []


#: The longest function body allowed in hpsearch/run/ (lines from ``def`` to its last line).
RUN_FUNCTION_LINES = 60


def test_no_long_function_in_run():
    long = {}
    for path in sorted((PACKAGE / "run").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    owner = f"{node.name}." if isinstance(node, ast.ClassDef) else ""
                    n = child.end_lineno - child.lineno + 1
                    key = f"{path.name}:{owner}{child.name}"
                    if n > RUN_FUNCTION_LINES:
                        long[key] = n
    assert long == {}
