"""Docstrings hold the papers' equations: one with a backslash must be a raw string (``r\"\"\"``),
or ``\\top`` becomes a TAB and ``\\beta`` a backspace in the rendered text."""
from __future__ import annotations

import ast
from pathlib import Path

import repro

PACKAGE = Path(repro.__file__).parent


def _docstrings():
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                    yield path, getattr(node, "name", "<module>"), ast.get_source_segment(source, first.value), first.value.value


def test_docstrings_with_a_backslash_are_raw_and_hold_no_control_characters():
    bad = [f"{path.relative_to(PACKAGE)}:{name}" for path, name, segment, value in _docstrings()
           if ("\\" in segment and segment[:1] not in "rR") or any(c in value for c in "\t\b\f\v\a")]
    assert not bad, f"make these docstrings raw (r\"\"\"...\"\"\"): {bad}"


def test_the_scan_sees_the_package():
    assert sum(1 for _ in _docstrings()) > 200
