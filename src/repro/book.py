r"""Executing the chapters with papermill and building the Jupyter Book.

Two ways to build, one code path:

* ``repro book --scale cpu`` (the README's ``make book``): every chapter notebook is executed by
  papermill with ``scale="cpu"`` into a staging copy of the book, then jupyter-book builds the
  staged copy (``execute_notebooks: off``) into ``_build/html``. Experiments store their results
  (:mod:`repro.store`), so a rebuild only re-renders.
* ``repro book --committed`` (the test suite): builds from the notebooks as committed, i.e.
  executed at the CI scale (``smoke``), without executing anything.

Either way Sphinx runs with warnings as errors (``-W``), and MathJax is copied into the book
from its pinned wheel so that maths renders with no network.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from repro.config import parse_scale
from repro.fetch import ensure_mathjax
from repro.paths import repo_root

#: The scale the committed notebooks are executed at (what ``pytest --nbval`` re-runs).
COMMITTED_SCALE = "smoke"
KERNEL_NAME = "python3"


def chapters() -> list[Path]:
    """Chapter notebooks in the order of ``_toc.yml``."""
    root = repo_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    entries = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    entries += [c["file"] for c in toc.get("chapters", [])]
    paths = [root / f"{e}.ipynb" for e in entries]
    return [p for p in paths if p.is_file()]


def chapter_by_name(name: str) -> Path:
    """Find a chapter notebook by (part of) its file name, e.g. ``01`` or ``networks``."""
    matches = [p for p in chapters() if name in p.stem]
    if len(matches) != 1:
        names = ", ".join(p.stem for p in chapters())
        raise ValueError(f"chapter {name!r} matches {len(matches)} notebooks; chapters: {names}")
    return matches[0]


def execute_chapter(
    notebook: Path,
    output: Path,
    scale: str = "cpu",
    seed: int = 0,
    data_root: "str | None" = None,
    log_output: bool = False,
) -> Path:
    """Run one chapter with papermill; the output notebook appears complete or not at all."""
    import papermill

    scale = parse_scale(scale).value
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.stem}.", suffix=".ipynb")
    os.close(fd)
    try:
        papermill.execute_notebook(
            str(notebook),
            tmp,
            parameters={"scale": scale, "seed": seed, "data_root": data_root},
            kernel_name=KERNEL_NAME,
            cwd=str(notebook.parent),
            progress_bar=False,
            log_output=log_output,
        )
        os.replace(tmp, output)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return output


def stage(target: Path, scale: "str | None", seed: int = 0, data_root: "str | None" = None) -> Path:
    """Copy the book's sources into ``target``; execute chapters at ``scale`` (None: as committed)."""
    root = repo_root()
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, target / name)
    shutil.copytree(root / "book", target / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    # Not under _static/: jupyter-book would add every .js file there to every page.
    shutil.copytree(ensure_mathjax(), target / "_vendor" / "mathjax")
    if scale is not None:
        for notebook in chapters():
            rel = notebook.relative_to(root)
            print(f"executing {rel} at scale={scale}", flush=True)
            execute_chapter(notebook, target / rel, scale=scale, seed=seed, data_root=data_root, log_output=True)
    return target


def build(
    scale: "str | None" = "cpu",
    output: "Path | None" = None,
    seed: int = 0,
    data_root: "str | None" = None,
) -> Path:
    """Build the HTML book; returns the ``html`` folder (``<output>/html``, default ``_build/html``)."""
    root = repo_root()
    output = Path(output) if output is not None else root / "_build"
    staged = stage(output / "stage", scale, seed=seed, data_root=data_root)
    html = output / "html"
    with tempfile.TemporaryDirectory(dir=output) as tmp:
        jb = Path(sys.executable).parent / "jupyter-book"
        cmd = [str(jb if jb.is_file() else "jupyter-book"), "build", str(staged), "--path-output", tmp, "-W", "-n", "--keep-going"]
        env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
        done = subprocess.run(cmd, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"jupyter-book build failed (exit {done.returncode}); see the log above")
        if html.exists():
            shutil.rmtree(html)
        shutil.move(str(Path(tmp) / "_build" / "html"), html)
    return html
