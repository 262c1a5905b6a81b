import math

import pytest

from repro.config import ExperimentConfig
from repro.store import ResultStore, atomic_write_bytes, experiment


def test_atomic_write_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "result.json"
    atomic_write_bytes(target, b"old")

    # A failure while writing keeps the old content and leaves no temporary file behind.
    with pytest.raises(TypeError):
        atomic_write_bytes(target, object())  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_experiment_runs_once_and_reuses_its_stored_result(tmp_path):
    calls = []

    @experiment("test/square")
    def square(cfg: ExperimentConfig) -> dict:
        calls.append(cfg.seed)
        return {"value": cfg.seed**2, "nan": float("nan"), "inf": float("inf")}

    store = ResultStore(tmp_path)
    first = square(ExperimentConfig(scale="smoke", seed=3), store=store)
    second = square(ExperimentConfig(scale="smoke", seed=3), store=store)
    assert calls == [3]
    assert first["value"] == second["value"] == 9
    assert math.isnan(second["nan"]) and second["inf"] == math.inf
    square(ExperimentConfig(scale="smoke", seed=3), store=store, rerun=True)
    assert calls == [3, 3]
    assert store.path("test/square", ExperimentConfig(scale="smoke", seed=3)).is_file()


def test_stored_only_reads_what_is_stored_and_computes_nothing(tmp_path):
    from repro.store import MissingResultError, stored_only

    calls = []

    @experiment("test/cube")
    def cube(cfg: ExperimentConfig) -> dict:
        calls.append(cfg.seed)
        return {"value": cfg.seed**3}

    store = ResultStore(tmp_path)
    with stored_only(), pytest.raises(MissingResultError, match="no stored result of test/cube"):
        cube(ExperimentConfig(scale="smoke", seed=2), store=store)
    assert calls == [] and not store.has("test/cube", ExperimentConfig(scale="smoke", seed=2))
    assert cube(ExperimentConfig(scale="smoke", seed=2), store=store)["value"] == 8
    with stored_only():
        assert cube(ExperimentConfig(scale="smoke", seed=2), store=store)["value"] == 8
    assert calls == [2]


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    steps_run = []

    @experiment("test/count", resumable=True)
    def count(cfg: ExperimentConfig, checkpoint) -> dict:
        state = checkpoint.load() if checkpoint.exists() else {"step": 0, "total": 0}
        while state["step"] < 10:
            state["step"] += 1
            state["total"] += state["step"]
            steps_run.append(state["step"])
            checkpoint.save(state)
            if state["step"] == 4 and len(steps_run) == 4:
                raise KeyboardInterrupt  # simulated interrupt, after the checkpoint of step 4
        return {"total": state["total"]}

    store, cfg = ResultStore(tmp_path), ExperimentConfig(scale="smoke")
    with pytest.raises(KeyboardInterrupt):
        count(cfg, store=store)
    assert not store.has("test/count", cfg)  # no result from a broken run
    assert count(cfg, store=store) == {"total": 55}
    assert steps_run == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]  # resumed at step 5, not from scratch
    assert not store.checkpoint("test/count", cfg).exists()


def test_experiments_take_a_config():
    @experiment("test/x")
    def x(cfg):
        return {}

    with pytest.raises(TypeError, match="ExperimentConfig"):
        x({"scale": "cpu"})


# ---- what is read back from the store is verified ---------------------------------------------
import json
import pickle

import numpy as np
import torch

from repro.store import Checkpoint, CorruptCheckpointError, CorruptResultError


class _RunsCode:
    """A pickle payload whose loading would create a file (the probe of the issue: os.system)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_a_planted_code_running_checkpoint_is_refused_and_named(tmp_path, writer):
    marker = tmp_path / "pwned"
    ckpt = Checkpoint(tmp_path / "mtadam" / "table1_mnist" / "smoke-seed0-x.ckpt")
    ckpt.path.parent.mkdir(parents=True)
    if writer == "pickle":
        ckpt.path.write_bytes(pickle.dumps({"runs": _RunsCode(marker)}))
    else:
        torch.save({"runs": _RunsCode(marker)}, ckpt.path)
    with pytest.raises(CorruptCheckpointError) as err:
        ckpt.load()
    assert not marker.exists()  # the payload never ran
    message = str(err.value)
    assert str(ckpt.path) in message and "delete it" in message and "restarts from scratch" in message


def test_a_resumed_experiment_refuses_a_planted_checkpoint(tmp_path):
    """Through the decorator, as training resumes: the planted file is refused before any step runs."""
    marker = tmp_path / "pwned"
    steps = []

    @experiment("test/resume", resumable=True)
    def resume(cfg, checkpoint):
        state = checkpoint.load() if checkpoint.exists() else {"step": 0}
        steps.append(state["step"])
        return {"step": state["step"]}

    store, cfg = ResultStore(tmp_path / "store"), ExperimentConfig(scale="smoke")
    path = store.checkpoint("test/resume", cfg).path
    path.parent.mkdir(parents=True)
    torch.save([_RunsCode(marker)], path)
    with pytest.raises(CorruptCheckpointError, match="restarts from scratch"):
        resume(cfg, store=store)
    assert not marker.exists() and steps == [] and not store.has("test/resume", cfg)
    path.unlink()  # the fix the message names
    assert resume(cfg, store=store) == {"step": 0}


def test_checkpoint_round_trips_numpy_values_exactly(tmp_path):
    state = {"runs": [{"final": np.float32(0.1), "samples": np.arange(12, dtype=np.uint8).reshape(2, 2, 3),
                       "curve": np.linspace(0, 1, 5), "flag": np.bool_(True)}],
             "pair": (1, "a", None, 2.5), "tensor": torch.arange(3.0), 7: "int key"}
    ckpt = Checkpoint(tmp_path / "a.ckpt")
    ckpt.save(state)
    back = ckpt.load()
    run = back["runs"][0]
    assert type(run["final"]) is np.float32 and run["final"] == np.float32(0.1)
    assert run["samples"].dtype == np.uint8 and np.array_equal(run["samples"], state["runs"][0]["samples"])
    assert np.array_equal(run["curve"], state["runs"][0]["curve"]) and run["flag"] == np.True_
    assert back["pair"] == (1, "a", None, 2.5) and torch.equal(back["tensor"], state["tensor"]) and back[7] == "int key"
    with pytest.raises(TypeError, match="plain containers"):
        ckpt.save({"bad": object()})
    assert ckpt.load()["pair"] == (1, "a", None, 2.5)  # the refused save left the old state


def test_truncated_checkpoint_names_its_file(tmp_path):
    ckpt = Checkpoint(tmp_path / "b.ckpt")
    ckpt.save({"x": torch.zeros(100)})
    ckpt.path.write_bytes(ckpt.path.read_bytes()[:50])
    with pytest.raises(CorruptCheckpointError, match=str(ckpt.path)):
        ckpt.load()


def _stored(tmp_path):
    @experiment("test/accuracy")
    def accuracy(cfg):
        return {"accuracy": 0.75, "curve": [1.0, 2.0]}

    store, cfg = ResultStore(tmp_path), ExperimentConfig(scale="smoke")
    accuracy(cfg, store=store)
    return accuracy, store, cfg, store.path("test/accuracy", cfg)


def test_an_edited_result_is_refused_with_the_fix(tmp_path):
    accuracy, store, cfg, path = _stored(tmp_path)
    record = json.loads(path.read_text())
    record["result"]["accuracy"] = 99.99  # the probe: an edited accuracy
    path.write_text(json.dumps(record))
    with pytest.raises(CorruptResultError) as err:
        accuracy(cfg, store=store)
    assert str(path) in str(err.value) and "checksum" in str(err.value) and "delete it" in str(err.value)
    assert [p for p, _ in store.verify()] == [path]
    assert store.verify(repair=True) and not path.exists()
    assert accuracy(cfg, store=store)["accuracy"] == 0.75 and store.verify() == []


@pytest.mark.parametrize("damage", ["truncate", "no checksum", "wrong place"])
def test_damaged_results_give_one_error_naming_the_file(tmp_path, damage):
    accuracy, store, cfg, path = _stored(tmp_path)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "no checksum":
        record = json.loads(path.read_text())
        del record["sha256"]
        path.write_text(json.dumps(record))
    else:  # a valid record of another config copied over this one
        other = ExperimentConfig(scale="smoke", seed=1)
        accuracy(other, store=store)
        path.write_bytes(store.path("test/accuracy", other).read_bytes())
    with pytest.raises(CorruptResultError, match="delete it and run again") as err:
        accuracy(cfg, store=store)
    assert str(path) in str(err.value)
    assert [p for p, _ in store.verify()] == [path]


def test_a_real_experiment_resumes_to_the_same_result_and_refuses_a_planted_checkpoint(tmp_path, monkeypatch):
    """MTAdam Table 1 at smoke, as training builds it: interrupted after its first checkpoint, then
    resumed, it stores the same result as an uninterrupted run; a planted pickle is refused (issue probe)."""
    from repro.mtadam.experiments import mnist as mtadam_mnist

    cfg = mtadam_mnist.config("smoke", train_limit=128)  # two steps per run: the state, not the training, is tested
    whole = mtadam_mnist.run(cfg, store=ResultStore(tmp_path / "whole"))

    store = ResultStore(tmp_path / "resumed")
    save = Checkpoint.save

    def save_then_stop(self, state):
        save(self, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoint, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        mtadam_mnist.run(cfg, store=store)
    monkeypatch.setattr(Checkpoint, "save", save)
    assert store.checkpoint("mtadam/table1_mnist", cfg).exists()
    assert mtadam_mnist.run(cfg, store=store) == whole

    planted = ResultStore(tmp_path / "planted")
    path = planted.checkpoint("mtadam/table1_mnist", cfg).path
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps({"runs": _RunsCode(tmp_path / "pwned")}))
    with pytest.raises(CorruptCheckpointError, match=str(path)):
        mtadam_mnist.run(cfg, store=planted)
    assert not (tmp_path / "pwned").exists()


def test_prune_removes_exactly_the_results_no_current_config_maps_to(tmp_path):
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Kept(ExperimentConfig):
        NAME = "test.prune"
        steps: int = 2

    @experiment("test/prune")
    def run(cfg):
        return {"steps": cfg.steps}

    store = ResultStore(tmp_path)
    kept = Kept(scale="smoke")
    run(kept, store=store)
    old = tmp_path / "test" / "prune" / "smoke-seed0-000000000000.json"  # filed under a key the code no longer makes
    old.write_bytes(store.path("test/prune", kept).read_bytes())
    legacy = tmp_path / "test" / "prune" / "cpu-seed0-111111111111.json"  # written before records named their type
    legacy.write_text('{"result": {}}')
    types = {"test.prune": Kept}
    assert store.prune(types) == sorted([old, legacy]) and old.exists()
    assert store.prune(types, remove=True) == sorted([old, legacy]) and not old.exists() and not legacy.exists()
    assert run(kept, store=store) == {"steps": 2} and store.prune(types) == []
