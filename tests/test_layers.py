"""The package's layers: core -> data/zoo/metrics -> one package per paper -> book, CLI, fetch.

The import graph is read from the source (every ``import``, including those inside functions), so
a lazy import cannot hide a cycle or an upward dependency. See STYLE.md ("Layers").
"""
from __future__ import annotations

import ast
from pathlib import Path

import repro

PACKAGE = Path(repro.__file__).parent

#: Layer of each top-level module or sub-package of repro (lower imports nothing higher).
LAYERS = {
    "repro": 0, "config": 0, "paths": 0, "numerics": 0, "store": 0, "runtime": 0, "assets": 0, "safe_pickle": 0,
    "data": 1, "zoo": 1,
    "metrics": 2,  # LPIPS and FID are zoo networks
    "report": 2, "paper_tables": 2, "viz": 2, "claims": 2,
    "bank": 2, "runner": 2,  # runs as tasks and the run bank: the papers' chapters hand their runs to them
    "awa": 3, "pgn": 3, "mtadam": 3,  # each paper: its method files, then its experiments and tables
    "fetch": 4, "book": 4, "sphinx_offline": 4, "ledger": 4, "cli": 5,
}
#: Sub-packages of one layer that may not import each other (the data and the zoo; no paper another).
PEERS = [("data", "zoo"), ("awa", "pgn", "mtadam")]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}

    def resolve(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {resolve(a.name) for a in node.names if a.name.split(".")[0] == "repro"}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                if base.split(".")[0] == "repro":
                    targets |= {resolve(f"{base}.{a.name}") for a in node.names}
        graph[name] = targets - {name}
    return graph


def top(name: str) -> str:
    return name.split(".")[1] if "." in name else name


def test_every_module_has_a_layer():
    missing = sorted({top(m) for m in import_graph()} - set(LAYERS))
    assert not missing, f"give these modules a layer in tests/test_layers.py: {missing}"


def test_no_import_goes_up_the_layers_or_across_peers():
    bad = []
    for source, targets in import_graph().items():
        for target in targets:
            a, b = top(source), top(target)
            if source == "repro":  # the package root may re-export core names only
                if LAYERS[b] > 0:
                    bad.append(f"{source} -> {target}")
            elif LAYERS[b] > LAYERS[a] or (a != b and any(a in peers and b in peers for peers in PEERS)):
                bad.append(f"{source} -> {target}")
    assert not bad, "imports against the layer order:\n" + "\n".join(sorted(bad))


def test_no_import_cycle():
    graph = import_graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_lazy_imports():
    graph = import_graph()
    assert "repro.zoo.convert" in graph["repro.fetch"]  # imported inside a function
    assert "repro.assets" in graph["repro.zoo.vgg"]
