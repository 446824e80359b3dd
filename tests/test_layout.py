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
    {"render"},
    {"report"},
    {"refine", "validate"},
    {"run"},
    {"objectives", "samplers"},
    {"space", "storage"},
    {"trainer", "pruners", "launch", "ranking", "timeparse"},
    {"pareto"},            # pure functions of value vectors (pruners rank by fronts too)
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
