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
        execute_chapters(chapters(), target, scale, seed=seed, data_root=data_root)
    return target


#: How many chapters ``repro book`` executes at once (default 2; ``1``: one after another, in this process).
CHAPTERS_AT_ONCE_ENV = "REPRO_CHAPTERS_AT_ONCE"


#: The notebook metadata key (``metadata.repro.alone``, a sentence saying why) of a chapter that
#: must have the machine to itself: PGN 1 times gradients and measures peak memory in its kernel.
ALONE_KEY = "alone"


def declares_runs(notebook: Path) -> bool:
    """Whether a chapter hands its runs to :func:`repro.runner.gather` (its code calls ``runner.gather(``)."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    return any("runner.gather(" in cell.source for cell in nb.cells if cell.cell_type == "code")


def schedule(notebook: Path) -> str:
    """How :func:`execute_chapters` places a chapter beside the others:

    * ``"runs"``: it declares its runs (:func:`declares_runs`) and may overlap any chapter;
    * ``"reads"``: it declares none and reads what the chapters before it stored (the foundations,
      the parts' closing pages, the claims page): it starts once every chapter before it has
      finished, and the next chapter may start beside it;
    * ``"alone"``: its metadata says ``repro.alone`` (it times something in its kernel): it starts
      after every chapter before it and the next starts after it.
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    if nb.metadata.get("repro", {}).get(ALONE_KEY):
        return "alone"
    return "runs" if declares_runs(notebook) else "reads"


def execute_chapters(notebooks: "list[Path]", target: Path, scale: str, seed: int = 0,
                     data_root: "str | None" = None, at_once: "int | None" = None, root: "Path | None" = None) -> None:
    """Execute ``notebooks`` (book order) into ``target`` at ``scale``, ``at_once`` chapters at a time.

    Chapters that declare their runs (:func:`declares_runs`) overlap: their kernels send their runs
    to the one cluster of :func:`repro.runner.shared`, so the workers stay busy while a chapter waits
    for its last run or builds its tables, and a run two chapters declare is one task (its key). A
    chapter that declares none waits for every chapter before it, and one marked ``alone`` also
    keeps the next from starting (:func:`schedule`). Each chapter runs in a process of its own
    (``python -m repro.book NOTEBOOK OUTPUT SCALE SEED [DATA_ROOT]``: :func:`execute_chapter`),
    its log in ``<target>/../logs/``; the first failure stops the chapters not started yet and is
    raised once the running ones have finished. Results do not
    depend on the overlap (a run's key fixes its bits: :mod:`repro.runner`).
    """
    import concurrent.futures
    import time

    root = Path(root) if root is not None else repo_root()  # notebooks land at target / their path under root
    at_once = at_once if at_once is not None else int(os.environ.get(CHAPTERS_AT_ONCE_ENV, "2"))
    if at_once < 1:
        raise ValueError(f"{CHAPTERS_AT_ONCE_ENV} must be at least 1, got {at_once}")
    if at_once == 1:
        for notebook in notebooks:
            rel = notebook.relative_to(root)
            print(f"executing {rel} at scale={scale}", flush=True)
            execute_chapter(notebook, target / rel, scale=scale, seed=seed, data_root=data_root, log_output=True)
        return
    logs = target.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children: dict = {}

    def one(notebook: Path) -> None:
        rel = notebook.relative_to(root)
        log = logs / f"{notebook.stem}.log"
        cmd = [sys.executable, "-m", "repro.book", str(notebook), str(target / rel), str(scale), str(seed)]
        cmd += [str(data_root)] if data_root is not None else []
        print(f"{time.strftime('%H:%M:%S')} executing {rel} at scale={scale} (log: {log})", flush=True)
        start = time.monotonic()
        with open(log, "w", encoding="utf-8") as fh:
            child = children[notebook] = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                                          env=dict(os.environ, TQDM_DISABLE="1"))
            code = child.wait()
        if code != 0:
            tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-40:])
            raise RuntimeError(f"chapter {rel} failed (exit {code}); the end of {log}:\n{tail}")
        print(f"{time.strftime('%H:%M:%S')} finished {rel} in {time.monotonic() - start:.0f} s", flush=True)

    started: list = []
    with _terminate_as_exit(), concurrent.futures.ThreadPoolExecutor(at_once) as pool:
        try:
            for notebook in notebooks:
                kind = schedule(notebook)
                if kind != "runs":  # it reads what the chapters before it stored, or times something
                    concurrent.futures.wait(started)
                while sum(not f.done() for f in started) >= at_once:
                    concurrent.futures.wait(started, return_when=concurrent.futures.FIRST_COMPLETED)
                if any(f.exception() is not None for f in started if f.done()):
                    break  # start nothing more; the running chapters finish
                started.append(pool.submit(one, notebook))
                if kind == "alone":  # and nothing runs beside it
                    concurrent.futures.wait(started)
            concurrent.futures.wait(started)
        except BaseException:  # interrupted: stop the chapters' processes (each removes its partial notebook)
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            raise
    for future in started:
        if future.exception() is not None:
            raise future.exception()


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


if __name__ == "__main__":  # one chapter of execute_chapters: NOTEBOOK OUTPUT SCALE SEED [DATA_ROOT]
    _args = sys.argv[1:]
    if len(_args) not in (4, 5):
        sys.exit("usage: python -m repro.book NOTEBOOK OUTPUT SCALE SEED [DATA_ROOT]")
    execute_chapter(Path(_args[0]), Path(_args[1]), scale=_args[2], seed=int(_args[3]),
                    data_root=_args[4] if len(_args) == 5 else None, log_output=True)
