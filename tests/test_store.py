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
