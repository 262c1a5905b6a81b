"""environment.yml (conda) and pyproject.toml name the same packages at the same versions."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]


def _norm(req: str) -> tuple[str, str]:
    name, _, version = req.partition("==")
    return re.sub(r"[-_.]+", "-", name.strip().lower()), version.strip()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = dict(_norm(r) for r in project["dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = dict(_norm(r) for r in pip_section if not r.startswith("-e"))
    assert conda_pins == pinned
    assert all(v for v in pinned.values()), "every direct dependency is pinned exactly"


def test_constraints_pin_the_direct_dependencies_identically():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = dict(_norm(r) for r in project["dependencies"])
    lines = [l for l in (ROOT / "requirements/constraints.txt").read_text().splitlines() if "==" in l]
    locked = dict(_norm(l) for l in lines)
    assert {k: locked.get(k) for k in pinned} == pinned


def test_torch_and_torchvision_are_a_working_pair():
    import torch
    import torchvision
    from torchvision.ops import nms

    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
    assert nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]
    assert torchvision.__version__.startswith("0.29")
