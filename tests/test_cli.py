import subprocess
import sys

from repro.cli import main


def test_unknown_scale_is_refused_with_the_valid_ones(capsys):
    try:
        main(["run", "01", "--scale", "gpu"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "valid scales are smoke, cpu, paper" in capsys.readouterr().err


def test_unknown_chapter_lists_the_chapters(capsys):
    assert main(["run", "no-such-chapter"]) == 2
    assert "01_networks_metrics_data" in capsys.readouterr().err


def test_chapters_are_listed():
    out = subprocess.run([sys.executable, "-m", "repro.cli", "chapters"], capture_output=True, text=True, check=True).stdout
    assert "book/01_networks_metrics_data.ipynb" in out


def test_train_pgn_refuses_bad_arguments(capsys):
    try:
        main(["train-pgn", "--backbone", "vgg19"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "invalid choice: 'vgg19'" in capsys.readouterr().err


# ---- every command the README and the introduction show --------------------------------------
import os
import re
import shlex
import signal
import time
from pathlib import Path

import nbformat
import pytest

from repro.book import chapter_by_name, execute_chapter, execute_chapters, schedule
from repro.paths import repo_root

#: Commands that take long or rewrite committed files: the tests check their parsing and name
#: resolution with a dry run (`--dry-run`, `make -n`, papermill's `--prepare-only`), never run them.
LONG = {("repro", "run"), ("repro", "book"), ("repro", "train-pgn"), ("make", "book"), ("make", "test"),
        ("make", "notebooks"), ("make", "nbval-other-cpu")}


def documented_commands() -> list[str]:
    """The shell commands of every ```bash block of the README and the book's introduction."""
    commands = []
    for doc in ("README.md", "book/intro.md"):
        text = (repo_root() / doc).read_text()
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip()
                if line and not line.startswith("#"):
                    commands.append(line)
    return commands


def test_the_documents_show_the_commands_tested_here():
    shown = {tuple(shlex.split(c)[:2]) for c in documented_commands()}
    assert (".venv/bin/repro", "run") in shown and ("make", "book") in shown and ("make", "test") in shown
    assert (".venv/bin/papermill", "book/01_networks_metrics_data.ipynb") in shown


#: Options of `repro run` that take a value (the value is not part of the chapter's name).
VALUED = {"--scale", "--seed", "--data-root", "--output", "--scheduler", "--workers"}


def _positional(words: list[str]) -> list[str]:
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in VALUED:
            skip = True
        elif not word.startswith("-"):
            out.append(word)
    return out


@pytest.mark.parametrize("command", sorted(set(documented_commands())))
def test_documented_command(command, tmp_path):
    words = shlex.split(command)
    program = Path(words[0]).name
    root = repo_root()
    if program == "repro":
        argv = [sys.executable, "-m", "repro.cli", *words[1:]]
        if (program, words[1]) in LONG:
            argv.append("--dry-run")
    elif program == "make":
        argv = ["make", "-n", *words[1:]]
    elif program == "papermill":
        argv = [sys.executable, "-m", "papermill", *[str(tmp_path / w) if w.endswith(".ipynb") and w.startswith("out") else w
                                                     for w in words[1:]], "--prepare-only"]
    else:
        pytest.fail(f"the documents show {command!r}, which no test knows how to check")
    # A private result store: `repro fetch --verify` deletes corrupt results, never in the user's store.
    env = dict(os.environ, REPRO_RESULTS=str(tmp_path / "results"))
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, f"{command!r} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    if program == "repro" and words[1] == "run":
        chapter = chapter_by_name(" ".join(_positional(words[2:])))
        assert f"would run {chapter.relative_to(root)} at scale=" in done.stdout


@pytest.mark.parametrize("name, stem", [
    ("01", "01_networks_metrics_data"), ("1", "01_networks_metrics_data"), ("awa 2", "awa_02_comparison"),
    ("awa_02", "awa_02_comparison"), ("MTAdam 4", "mtadam_04_srgan"), ("pix2pix", "mtadam_02_pix2pix"),
    ("awa_02_comparison", "awa_02_comparison"), ("awa_02_comparison.ipynb", "awa_02_comparison"),
    ("book/awa_02_comparison.ipynb", "awa_02_comparison"),
])
def test_chapter_names_resolve(name, stem):
    assert chapter_by_name(name).stem == stem


def test_every_path_repro_chapters_prints_resolves():
    out = subprocess.run([sys.executable, "-m", "repro.cli", "chapters"], capture_output=True, text=True, check=True).stdout
    for line in out.split():
        assert chapter_by_name(line) == repo_root() / line
        assert main(["run", line, "--dry-run"]) == 0


def test_run_takes_a_part_and_a_number_as_two_words(capsys):
    assert main(["run", "awa", "2", "--dry-run"]) == 0
    assert "book/awa_02_comparison.ipynb" in capsys.readouterr().out


def test_an_ambiguous_chapter_lists_its_matches(capsys):
    assert main(["run", "networks"]) == 2
    err = capsys.readouterr().err
    assert "01_networks_metrics_data, pgn_01_gradient_networks" in err and "awa 2" in err


@pytest.mark.parametrize("argv, message", [
    (["run", "01", "--seed", "-1"], "seed must be a non-negative integer"),
    (["run", "01", "--seed", "x"], "seed must be a non-negative integer"),
    (["run", "01", "--data-root", "/no/such/folder"], "is not a folder"),
    (["run", "01", "--scale", "paper"], "--scale paper needs --data-root"),
    (["book", "--scale", "paper"], "--scale paper needs --data-root"),
    (["train-pgn", "--steps", "0"], "must be a positive integer"),
])
def test_bad_arguments_fail_before_any_kernel_starts(argv, message, capsys):
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert time.perf_counter() - start < 5  # argparse, not a kernel: a generous bound, not a benchmark


def test_run_help_names_the_real_default_output_and_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "_build/executed/<chapter>-<scale>.ipynb" in out
    for option in ("--seed", "--data-root", "--scale", "--dry-run"):
        assert re.search(rf"{option}\b.*\n?\s+\S", out)
    with pytest.raises(SystemExit):
        main(["train-pgn", "--help"])
    out = capsys.readouterr().out
    assert "training steps" in out and "imagenet_train" in out


# ---- the kernel: IPC sockets, and nothing left behind ------------------------------------------
def _notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('scale = "cpu"\nseed = 0\ndata_root = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


TRANSPORT = ("from ipykernel.kernelapp import IPKernelApp\n"
             "app = IPKernelApp.instance()\nprint(scale, seed, app.transport, app.shell_port)")


def test_a_chapter_runs_over_ipc_and_leaves_only_its_output(tmp_path):
    notebook = _notebook(tmp_path / "chapter.ipynb", TRANSPORT)
    out = execute_chapter(notebook, tmp_path / "out" / "chapter-smoke.ipynb", scale="smoke", seed=3)
    text = "".join(o.get("text", "") for c in nbformat.read(out, 4).cells for o in c.get("outputs", []))
    assert text.split()[:3] == ["smoke", "3", "ipc"]
    assert [p.name for p in out.parent.iterdir()] == ["chapter-smoke.ipynb"]
    assert oct(out.stat().st_mode & 0o777) == "0o644"


def test_bad_parameters_fail_before_the_kernel_starts(tmp_path):
    notebook = _notebook(tmp_path / "chapter.ipynb", "print(1)")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        execute_chapter(notebook, tmp_path / "out.ipynb", scale="smoke", seed=-1)
    assert not (tmp_path / "out.ipynb").exists()


_RUNNER = ("import sys; from pathlib import Path; from repro.book import execute_chapter; "
           "execute_chapter(Path(sys.argv[1]), Path(sys.argv[2]), scale='smoke')")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_run_leaves_no_temporary_notebook(tmp_path, sig):
    notebook = _notebook(tmp_path / "chapter.ipynb", "import time\nprint('started', flush=True)\ntime.sleep(60)")
    out_dir = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", _RUNNER, str(notebook), str(out_dir / "chapter.ipynb")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while not list(out_dir.glob(".chapter.pid*.ipynb")) and time.time() < deadline:
        time.sleep(0.2)
    assert list(out_dir.glob(".chapter.pid*.ipynb")), "the run never started"
    time.sleep(3)  # the kernel is up and in the sleeping cell
    proc.send_signal(sig)
    proc.wait(timeout=60)
    if sig == signal.SIGKILL:  # nothing can clean up after SIGKILL: the next run of the same output does
        assert list(out_dir.glob(".chapter.pid*.ipynb"))
        quick = _notebook(tmp_path / "quick.ipynb", "print(1)")
        execute_chapter(quick, out_dir / "chapter.ipynb", scale="smoke")
        assert [p.name for p in out_dir.iterdir()] == ["chapter.ipynb"]
    else:
        assert proc.returncode != 0 and list(out_dir.iterdir()) == []


# ---- repro book: chapters side by side ---------------------------------------------------------
def _timed_chapter(folder: Path, name: str, declares: bool, fail: bool = False, seconds: float = 4,
                   alone: bool = False) -> Path:
    """A chapter that logs when its cell starts and ends (and declares runs, as far as
    repro.book.declares_runs can tell, when ``declares``; marked ``repro.alone`` when ``alone``)."""
    body = (f"import time\nopen({str(folder / 'events')!r}, 'a').write('{name} start %.3f\\n' % time.time())\n"
            f"time.sleep({seconds})\n" + ("raise RuntimeError('chapter failed on purpose')\n" if fail else "")
            + f"open({str(folder / 'events')!r}, 'a').write('{name} end %.3f\\n' % time.time())\n"
            + ("if False:\n    runner.gather([])\n" if declares else ""))
    path = _notebook(folder / f"{name}.ipynb", body)
    if alone:
        nb = nbformat.read(path, as_version=4)
        nb.metadata["repro"] = {"alone": "times something in its kernel"}
        nbformat.write(nb, path)
    return path


def _events(folder: Path) -> dict:
    lines = [line.split() for line in (folder / "events").read_text().splitlines()]
    return {(name, what): float(t) for name, what, t in lines}


def test_chapters_overlap_unless_they_read_what_came_before_or_run_alone(tmp_path):
    spec = (("a", True, False), ("b", True, False), ("reader", False, False), ("c", True, False),
            ("timer", False, True), ("d", True, False))
    books = [_timed_chapter(tmp_path, n, d, alone=al, seconds=3) for n, d, al in spec]
    assert [schedule(b) for b in books] == ["runs", "runs", "reads", "runs", "alone", "runs"]
    execute_chapters(books, tmp_path / "stage", "smoke", at_once=2, root=tmp_path)
    t = _events(tmp_path)
    assert t["b", "start"] < t["a", "end"]  # side by side
    assert t["reader", "start"] > max(t["a", "end"], t["b", "end"])  # a reader after every chapter before it,
    assert t["c", "start"] < t["reader", "end"]  # the next one beside it
    assert t["timer", "start"] > max(t["reader", "end"], t["c", "end"])  # alone: after every chapter before it ...
    assert t["d", "start"] > t["timer", "end"]  # ... and before the next one
    assert sorted(p.name for p in (tmp_path / "stage").iterdir()) == [f"{n}.ipynb" for n in sorted(x[0] for x in spec)]
    assert (tmp_path / "logs" / "a.log").is_file()


def test_the_books_chapters_are_scheduled_by_what_they_do():
    """PGN 1 times gradients in its kernel (alone); the closing pages read the chapters before them."""
    kinds = {name: schedule(chapter_by_name(name)) for name in ("01", "pgn_01", "pgn_02", "pgn_05", "mtadam_06", "claims")}
    assert kinds == {"01": "reads", "pgn_01": "alone", "pgn_02": "runs", "pgn_05": "reads", "mtadam_06": "reads",
                     "claims": "reads"}


def test_a_failed_chapter_stops_the_book_and_names_its_log(tmp_path):
    books = [_timed_chapter(tmp_path, "a", True, fail=True, seconds=1), _timed_chapter(tmp_path, "b", True, seconds=10),
             _timed_chapter(tmp_path, "c", True)]
    with pytest.raises(RuntimeError, match=r"(?s)chapter a\.ipynb failed .*chapter failed on purpose"):
        execute_chapters(books, tmp_path / "stage", "smoke", at_once=2, root=tmp_path)
    t = _events(tmp_path)
    assert ("b", "end") in t and ("c", "start") not in t  # the running one finished, the next never started
    assert sorted(p.name for p in (tmp_path / "stage").iterdir()) == ["b.ipynb"]


def test_a_missing_book_extra_names_the_install_command(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "papermill", None)  # as in an install without the [book] extra
    assert main(["run", "01", "--scale", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "papermill is not installed" in err and 'pip install -e ".[book]"' in err
