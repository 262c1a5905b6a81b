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

The Jupyter kernel that papermill starts talks to it over IPC (Unix sockets in a private 0700
folder), not over TCP: the kernel listens on no network port, not even on localhost. The chapters'
runs go to the runner's cluster (:mod:`repro.runner`): at scales ``cpu`` and ``paper`` a local
Dask cluster on 127.0.0.1 that ``repro book`` / ``repro run`` start once for every chapter.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from repro.fetch import ensure_mathjax, mathjax_license
from repro.paths import repo_root

#: The scale the committed notebooks are executed at (what ``pytest --nbval`` re-runs).
NOTEBOOK_SCALE = "smoke"
KERNEL_NAME = "python3"


def chapters() -> list[Path]:
    """Chapter notebooks in the order of ``_toc.yml``."""
    root = repo_root()
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    entries = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    entries += [c["file"] for c in toc.get("chapters", [])]
    paths = [root / f"{e}.ipynb" for e in entries]
    return [p for p in paths if p.is_file()]


#: The book's parts: a chapter file is ``<part>_<NN>_<words>.ipynb``; the foundations chapter is ``<NN>_<words>``.
PARTS = ("awa", "pgn", "mtadam")
_NUMBERED = re.compile(rf"^(?:(?P<part>{'|'.join(PARTS)})[\s_-]*)?0*(?P<number>\d+)$")


def chapter_by_name(name: str) -> Path:
    """Find a chapter notebook by the names the README, the introduction and ``repro chapters`` show.

    Accepted, in this order: a path (``book/awa_02_comparison.ipynb``, as ``repro chapters``
    prints it, relative to the repository or the current folder) or a file name with or without
    ``.ipynb``; a number (``01``: the foundations chapter) or a part and a number (``awa 2``,
    ``awa_02``, ``mtadam 4``); otherwise words of the file name (``pix2pix``), which must
    match exactly one chapter. An unknown or ambiguous name lists the candidates.
    """
    all_chapters = chapters()
    text = str(name).strip()
    listing = "chapters: " + ", ".join(p.stem for p in all_chapters) + " (see `repro chapters`)"
    for candidate in (Path(text), repo_root() / text):
        resolved = candidate.expanduser().resolve()
        for path in all_chapters:
            if resolved == path.resolve():
                return path
    stem = Path(text).name.removesuffix(".ipynb").lower()
    exact = [p for p in all_chapters if p.stem.lower() == stem]
    if exact:
        return exact[0]
    numbered = _NUMBERED.match(stem)
    if numbered:
        prefix = (f"{numbered['part']}_" if numbered["part"] else "") + f"{int(numbered['number']):02d}_"
        matches = [p for p in all_chapters if p.stem.lower().startswith(prefix)]
        if numbered["part"] is None:  # "01" is the foundations chapter, not "awa_01"
            matches = [p for p in matches if not p.stem.lower().startswith(PARTS)]
    else:
        words = [w for w in re.split(r"[\s_-]+", stem) if w]
        matches = [p for p in all_chapters if words and all(w in p.stem.lower() for w in words)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValueError(f"no chapter matches {name!r}; {listing}")
    raise ValueError(
        f"chapter {name!r} is ambiguous: it matches {', '.join(p.stem for p in matches)}; "
        "name one by its part and number (e.g. `awa 2`, `pgn 1`) or its file name"
    )


def _kernel_manager_class(folder: Path):
    """A kernel manager whose kernel talks over Unix sockets in ``folder`` instead of TCP ports."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:
            return str(folder / "kernel")

    return IPCKernelManager


def _temporary_name(output: Path) -> str:
    return f".{output.stem}.pid"


def _remove_stale_temporaries(output: Path) -> None:
    """Delete the temporary notebooks of runs of ``output`` whose process is gone (killed runs)."""
    for tmp in output.parent.glob(f"{_temporary_name(output)}*.ipynb"):
        pid = tmp.name[len(_temporary_name(output)) :].split(".")[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except PermissionError:  # another user's live process
            pass


@contextlib.contextmanager
def _terminate_as_exit():
    """Within the block, SIGTERM and SIGHUP raise ``SystemExit`` so that ``finally`` clauses run."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    if sys.platform == "win32" or not hasattr(signal, "SIGHUP"):
        yield
        return
    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def execute_chapter(
    notebook: Path,
    output: Path,
    scale: str = "cpu",
    seed: int = 0,
    data_root: "str | None" = None,
    log_output: bool = False,
) -> Path:
    """Run one chapter with papermill; the output notebook appears complete or not at all.

    While it runs, the notebook is written to a hidden temporary file next to ``output``; it is
    removed when the run fails, is interrupted or is terminated (SIGTERM, SIGHUP), and a later
    run removes those of killed runs (SIGKILL). The parameters are validated before the kernel
    starts (:class:`repro.config.ExperimentConfig`).
    """
    import papermill

    from repro.config import ExperimentConfig

    parameters = ExperimentConfig(scale=scale, seed=seed, data_root=data_root)  # fails before any kernel starts
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(output)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f"{_temporary_name(output)}{os.getpid()}.", suffix=".ipynb")
    os.fchmod(fd, 0o644)
    os.close(fd)
    try:
        with _terminate_as_exit(), tempfile.TemporaryDirectory(prefix="repro-kernel-") as sockets:
            papermill.execute_notebook(
                str(notebook),
                tmp,
                parameters={"scale": parameters.scale.value, "seed": parameters.seed, "data_root": parameters.data_root},
                kernel_name=KERNEL_NAME,
                kernel_manager_class=_kernel_manager_class(Path(sockets)),
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
    shutil.copytree(ensure_mathjax(verify=True), target / "_vendor" / "mathjax")  # compared with its pinned wheel
    (target / "_vendor" / "mathjax" / "LICENSE").write_bytes(mathjax_license())  # Apache-2.0: travels with the copy
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
