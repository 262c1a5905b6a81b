"""The packaging: pyproject.toml's core and extras, environment.yml and the lock agree; the core is
what the package imports, and the package imports and runs ``repro --help`` without the extras."""
import ast
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

#: Pinned by the core though src/repro never imports it (none since repro.claims uses scipy.stats).
PINNED_NOT_IMPORTED: set[str] = set()


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip().lower())


def _norm(req: str) -> tuple[str, str]:
    name, _, version = req.partition("==")
    return _canon(name), version.strip()


def _pins(reqs: list[str]) -> dict[str, str]:
    return dict(_norm(r) for r in reqs)


CORE = _pins(PROJECT["dependencies"])
EXTRAS = {extra: _pins(reqs) for extra, reqs in PROJECT["optional-dependencies"].items()}
EVERYTHING = CORE | {name: version for pins in EXTRAS.values() for name, version in pins.items()}


def test_every_requirement_is_pinned_exactly_and_named_once():
    assert all(version for version in EVERYTHING.values()), "every direct dependency is pinned exactly"
    assert len(CORE) + sum(len(pins) for pins in EXTRAS.values()) == len(EVERYTHING), \
        "a package sits in the core and an extra, or in two extras"
    assert set(EXTRAS) == {"book", "test"}


def test_environment_yml_names_the_core_and_every_extra():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = dict(_norm(r) for r in pip_section if not r.startswith("-e"))
    assert conda_pins == EVERYTHING
    (editable,) = [r for r in pip_section if r.startswith("-e")]
    assert set(Requirement("repro" + editable.split(None, 1)[1].lstrip(".")).extras) == set(EXTRAS)


def test_the_makefile_installs_every_extra_under_the_lock():
    install = [l for l in (ROOT / "Makefile").read_text().splitlines() if "pip install" in l and " -e " in l]
    assert len(install) == 1 and "-c requirements/constraints.txt" in install[0]
    extras = re.search(r'-e "?\.\[([^\]]*)\]', install[0])
    assert extras and set(extras.group(1).split(",")) == set(EXTRAS)


def test_constraints_pin_the_direct_dependencies_identically():
    lines = [l for l in (ROOT / "requirements/constraints.txt").read_text().splitlines() if "==" in l]
    locked = dict(_norm(l) for l in lines)
    assert {k: locked.get(k) for k in EVERYTHING} == EVERYTHING


def test_the_lock_pins_only_what_the_package_and_its_extras_install():
    """Every package of the lock is reached from ``repro[book,test]`` through the installed
    distributions' requirements (a pin left behind by a dropped dependency fails here)."""
    from packaging.utils import canonicalize_name

    installed = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    reached, todo = set(), [("repro", frozenset({"book", "test"}))]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in reached or name not in installed:
            continue
        reached.add((name, extras))
        for text in installed[name].requires or []:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    lines = [l for l in (ROOT / "requirements/constraints.txt").read_text().splitlines() if "==" in l]
    stale = sorted(n for n in (canonicalize_name(l.split("==")[0]) for l in lines) if n not in {r for r, _ in reached})
    assert not stale, f"requirements/constraints.txt pins packages nothing installs: {stale}"


def _imports(path: Path, at_import_time: bool) -> set[str]:
    """Top-level names of a module's absolute imports of third-party packages; with
    ``at_import_time`` only those outside function bodies."""
    names: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        in_function = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        if not (at_import_time and in_function):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child, in_function)

    visit(ast.parse(path.read_text()), False)
    return names - set(sys.stdlib_module_names) - {"__future__", "repro"}


def _distributions(modules: set[str]) -> set[str]:
    providers = metadata.packages_distributions()
    missing = modules - set(providers)
    assert not missing, f"no installed distribution provides {sorted(missing)}"
    return {_canon(dist) for module in modules for dist in providers[module]}


def _closure(requirements: list[str]) -> set[str]:
    """Every installed distribution that ``requirements`` pull in (extras and markers evaluated)."""
    seen, todo = set(), [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        for extra in {""} | req.extras:
            if (_canon(req.name), extra) in seen:
                continue
            seen.add((_canon(req.name), extra))
            for child in map(Requirement, metadata.requires(req.name) or []):
                if child.marker is None or child.marker.evaluate({"extra": extra}):
                    todo.append(child)
    return {name for name, _ in seen}


MODULES = sorted((ROOT / "src/repro").rglob("*.py"))
BOOK = ROOT / "src/repro/book.py"


def test_the_core_is_what_the_package_imports():
    # The book commands import papermill and its kernel machinery inside repro.book's functions;
    # everything else, and what repro.book imports at import time, must come with the core.
    used = set().union(*(_imports(m, at_import_time=m == BOOK) for m in MODULES))
    assert _distributions(used) <= set(CORE), "src/repro imports a package the core does not pin"
    assert set(CORE) - _distributions(used) == PINNED_NOT_IMPORTED, "the core pins a package nothing imports"
    book_commands = _imports(BOOK, at_import_time=False) - _imports(BOOK, at_import_time=True)
    assert "papermill" in book_commands
    assert _distributions(book_commands) <= _closure(PROJECT["optional-dependencies"]["book"])


#: Run in a fresh interpreter whose path finder does not see the modules only the extras bring.
_WITHOUT_EXTRAS = r"""
import importlib, importlib.machinery, pkgutil, sys
hidden = set(sys.argv[1].split(","))
class WithoutExtras(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        return None if name.split(".")[0] in hidden else super().find_spec(name, path, target)
sys.meta_path[sys.meta_path.index(importlib.machinery.PathFinder)] = WithoutExtras
import repro
for info in pkgutil.walk_packages(repro.__path__, "repro."):
    importlib.import_module(info.name)
from repro.cli import main
from repro.mtadam import MTAdam
try:
    main(["--help"])
except SystemExit as exit_:
    assert exit_.code == 0, exit_.code
assert not hidden & set(sys.modules), sorted(hidden & set(sys.modules))
"""


def test_the_package_imports_and_repro_help_runs_without_the_extras():
    extras_only = _closure([r for reqs in PROJECT["optional-dependencies"].values() for r in reqs]) \
        - _closure(PROJECT["dependencies"])
    assert {"pytest", "playwright", "jupyter-book", "papermill", "nbformat"} <= extras_only
    hidden = {module for module, dists in metadata.packages_distributions().items()
              if {_canon(d) for d in dists} <= extras_only}
    done = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRAS, ",".join(sorted(hidden))],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "usage: repro" in done.stdout


def test_torch_and_torchvision_are_a_working_pair():
    import torch
    import torchvision
    from torchvision.ops import nms

    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
    assert nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]
    assert torchvision.__version__.startswith("0.29")
