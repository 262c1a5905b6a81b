"""The introduction's ``data_root`` layout is exactly what the code reads at ``scale="paper"``.

The layout block of ``book/intro.md`` is parsed, a tiny fake ``data_root`` is built from it (a few
small random images per folder, A|B pairs for pix2pix, MNIST as IDX files, masks in every hole-ratio
bin), and every paper-scale entry point (the stored experiments and ``repro train-pgn``) is started
on it with sizes small enough to take seconds, on each device (``REPRO_DEVICE``): cpu always, cuda
where there is one. Every folder of the layout must be read by the entry points that it names, and
by no other; the block must equal :func:`repro.data.folders.layout_text`. Results go to a private
store (``REPRO_RESULTS`` and ``store=``), trained paper-scale PGNs to a temporary folder.

What is tested is the data path, not the metrics: the FID Inception, whose cost does not shrink with
the images (it resizes them to 299 px; a hundred calls would take minutes on 2 cores), is replaced
by a small frozen random network with the same (N, 2048) output. Every other network is the real one.
"""
from __future__ import annotations

import functools
import gzip
import importlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from repro import metrics
from repro.data import folders, masks
from repro.paths import repo_root

pytestmark = pytest.mark.weights

IMAGES_PER_FOLDER = 4  # maps/val holds Hyperband's n_val = 2 validation pairs, then n_test = 2 test pairs
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here"))]


# ---- the introduction's block ----------------------------------------------------------------------
def intro_block() -> str:
    text = (repo_root() / "book" / "intro.md").read_text()
    blocks = re.findall(r"```text\n(<data_root>/.*?)\n```", text, flags=re.S)
    assert len(blocks) == 1, "book/intro.md must hold exactly one ```text block starting with <data_root>/"
    return blocks[0]


def _entries(line: str) -> list[str]:
    """``"a, b (AWA 1-4), c (PGN 2)"`` -> ``["a", "b", "c"]``."""
    return [e.strip() for e in re.sub(r"\([^)]*\)", "", line).split(",") if e.strip()]


def parse_layout(block: str) -> tuple[dict, dict]:
    """``({folder: {"splits", "holds", "read_by"}}, {entry point: reason})`` of the block."""
    layout, nothing, current, section = {}, {}, None, "folders"
    for line in block.splitlines()[1:]:
        if line.startswith("read nothing under data_root"):
            section, current = "nothing", None
        elif re.match(r"^  \S", line):
            if section == "folders":
                name, splits = re.fullmatch(r"  ([a-z0-9_]+)/(?:\{([^}]*)\}/)?", line).groups()
                current = layout[name] = {"splits": tuple(splits.split(",")) if splits else (), "holds": "", "read_by": []}
            else:
                current = {"names": _entries(line), "reason": ""}
                nothing.update({e: current for e in current["names"]})
        elif line.startswith("      ") and section == "folders":
            text = line.strip()
            if text.startswith("read by ") or current.get("by"):  # "read by ..." ends a folder's entry
                current["by"] = f"{current.get('by', '')} {text.removeprefix('read by ')}".strip()
                current["read_by"] = _entries(current["by"])
            else:
                current["holds"] = f"{current['holds']} {text}".strip()
        elif line.startswith("      "):
            current["reason"] = f"{current['reason']} {line.strip()}".strip()
    for info in layout.values():
        info.pop("by", None)
    return layout, {e: v["reason"] for e, v in nothing.items()}


# ---- a fake data_root from the block ---------------------------------------------------------------
def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def fill_folder(folder: Path, holds: str, rng: np.random.Generator) -> None:
    """A few files of the kind ``holds`` describes."""
    folder.mkdir(parents=True, exist_ok=True)
    if "IDX" in holds:
        from repro.data.mnist import IDX_FILES

        for split, n in (("train", 20), ("test", 10)):
            images, labels = IDX_FILES[split]
            _write_idx(folder / f"{images}.gz", rng.integers(0, 256, (n, 28, 28)))
            _write_idx(folder / f"{labels}.gz", np.arange(n) % 10)
    elif "white = hole" in holds:  # one band of rows per bin, aligned so that it keeps its ratio at 16 px
        for b, (lo, hi) in enumerate(masks.HOLE_RATIO_BINS):
            rows = 4 * round((lo + hi) / 2 * 16)
            for k in range(2):
                mask = np.zeros((64, 64), np.uint8)
                mask[8 * k : 8 * k + rows] = 255
                _save(folder / "set" / f"bin{b}_{k}.png", mask)
    else:
        paired = "A|B" in holds
        sub = folder / "n00000001" if "any sub-folders" in holds else folder
        for i in range(IMAGES_PER_FOLDER):
            shape = (32, 64, 3) if paired else (32, 40, 3)
            _save(sub / f"{i}.png", rng.integers(0, 256, shape, dtype=np.uint8))


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data_root")
    rng = np.random.default_rng(0)
    layout, _ = parse_layout(intro_block())
    for name, info in layout.items():
        for split in info["splits"] or (None,):
            fill_folder(root / name / split if split else root / name, info["holds"], rng)
    return root


# ---- every paper-scale entry point, at sizes of seconds -------------------------------------------
def _metric_sanity(root, store):
    from repro.metrics import sanity as foundation

    foundation.metric_sanity(foundation.sanity_config("paper", data_root=root, image_size=32, n_images=4,
                                                      noise_levels=(0.0, 0.2)), store=store)


def _train_pgn(root, store):
    from repro.pgn.training import train_and_save

    train_and_save("paper", data_root=root, steps=1, image_size=32, batch_size=3, width=8, ae_width=4, log_every=1)


def _pgn(name: str, reference: bool = False, **sizes):
    def start(root, store):
        from repro.pgn import experiments as pe

        getattr(pe, f"{name}_reference" if reference else name)(getattr(pe, f"{name}_config")("paper", data_root=root, **sizes), store=store)
    return start


PGN_SIZES = {"dip": dict(image_size=32, n_images=2, steps=2, track_every=1, width=8),
             "inversion": dict(n_images=2, generator_steps=2, n_train=8, warm_steps=1, steps=1, sweep=(0.0, 20.0)),
             "heads": dict(image_size=32, n_subjects=1, shots=2, pretrain_steps=1, n_train=8, batch=4, steps=1, width=8)}


AWA_SIZES = dict(image_size=16, width=8, batch_size=4, steps=1, finetune_steps=0, n_test=2, n_samples=2)


def _awa(name: str, dataset: str):
    def start(root, store):
        from repro.awa import experiments as ai

        getattr(ai, name)(ai.config("paper", data_root=root, dataset=dataset, **AWA_SIZES), store=store)
    return start


def _awa_warm_start(dataset: str):
    def start(root, store):
        from repro.awa import experiments as ai

        ai.warm_start(ai.warm_config(ai.config("paper", data_root=root, dataset=dataset, warm_steps=1, **AWA_SIZES)), store=store)
    return start


def _awa_probe(root, store):
    from repro.awa import experiments as ai

    ai.probe(ai.ProbeConfig.create("paper", data_root=root, pairs=1, warm_steps=1), store=store)


def _step_costs(root, store):
    from repro.mtadam.experiments import cost as mtadam_cost

    mtadam_cost.run(mtadam_cost.config("paper", data_root=root, n_terms=(2,), batch_size=4, repeats=1), store=store)


def _awa_step_costs(root, store):
    from repro.awa import benchmark

    benchmark.run(benchmark.config("paper", data_root=root, size=16, batch=2, width=4, repeats=1), store=store)


def _mnist(root, store):
    from repro.mtadam.experiments import mnist as mtadam_mnist

    mtadam_mnist.run(mtadam_mnist.config("paper", data_root=root, repeats=1, epochs=1, batch_size=8), store=store)


PIX2PIX_SIZES = dict(image_size=32, depth=4, ngf=8, ndf=8, n_val=2, n_test=2, epochs=1, batch_size=2, fid_every=1,
                     hyperband_trials=1, n_samples=2)
CYCLEGAN_SIZES = dict(image_size=16, ngf=8, ndf=8, n_blocks=1, n_val=2, epochs=1, batch_size=2, fid_every=1,
                      hyperband_trials=1, n_samples=2)


def _pix2pix(task: str, ablation: bool = False, reference: bool = False):
    def start(root, store):
        from repro.mtadam.experiments import ablation as mtadam_ablation, pix2pix as mtadam_pix2pix

        fn = mtadam_ablation.run_pix2pix if ablation else mtadam_pix2pix.reference if reference else mtadam_pix2pix.run
        fn(mtadam_pix2pix.config(task, "paper", data_root=root, **PIX2PIX_SIZES), store=store)
    return start


def _cyclegan(task: str, ablation: bool = False, reference: bool = False):
    def start(root, store):
        from repro.mtadam.experiments import ablation as mtadam_ablation, cyclegan as mtadam_cyclegan

        fn = mtadam_ablation.run_cyclegan if ablation else mtadam_cyclegan.reference if reference else mtadam_cyclegan.run
        fn(mtadam_cyclegan.config(task, "paper", data_root=root, **CYCLEGAN_SIZES), store=store)
    return start


def _srgan(root, store, reference: bool = False):
    from repro.mtadam.experiments import srgan as mtadam_srgan

    (mtadam_srgan.reference if reference else mtadam_srgan.run)(mtadam_srgan.config("paper", data_root=root, hr_size=16, eval_size=16, n_train=4, n_val=2, epochs=1,
                                         batch_size=2, width=8, n_blocks=1, d_width=8, vgg_layer="relu2_2", fid_every=1,
                                         hyperband_trials=1, n_samples=1), store=store)


#: (entry point, variant) -> how to start it. Variants cover every dataset an entry point can read.
STARTS = {
    ("foundation/metric_sanity", ""): _metric_sanity,
    ("repro train-pgn", ""): _train_pgn,
    ("pgn/cost", ""): _pgn("cost", resolutions=(32,), batch=1, repeats=1, memory=False),
    **{(f"pgn/{name}{suffix}", ""): _pgn(name, reference=bool(suffix), **sizes)
       for name, sizes in PGN_SIZES.items() for suffix in ("", "_reference")},
    ("awa/run", "places2"): _awa("run", "places2"),
    ("awa/run", "paris_streetview"): _awa("run", "paris_streetview"),
    ("awa/run", "celeba"): _awa("run", "celeba"),
    ("awa/classical", "places2"): _awa("classical", "places2"),
    **{("awa/warm_start", d): _awa_warm_start(d) for d in ("places2", "paris_streetview", "celeba")},
    ("awa/probe", "places2"): _awa_probe,
    ("mtadam/step_costs", ""): _step_costs,
    ("awa/step_costs", ""): _awa_step_costs,
    ("mtadam/table1_mnist", ""): _mnist,
    ("mtadam/table2_pix2pix", "labels2photo"): _pix2pix("labels2photo"),
    ("mtadam/table2_pix2pix", "photo2map"): _pix2pix("photo2map"),
    ("mtadam/table3_cyclegan", "photo2falsecolour"): _cyclegan("photo2falsecolour"),
    ("mtadam/table3_cyclegan", "photo2map"): _cyclegan("photo2map"),
    ("mtadam/table2_reference", "labels2photo"): _pix2pix("labels2photo", reference=True),
    ("mtadam/table2_reference", "photo2map"): _pix2pix("photo2map", reference=True),
    ("mtadam/table3_reference", "photo2falsecolour"): _cyclegan("photo2falsecolour", reference=True),
    ("mtadam/table3_reference", "photo2map"): _cyclegan("photo2map", reference=True),
    ("mtadam/table4_srgan", ""): _srgan,
    ("mtadam/table4_reference", ""): functools.partial(_srgan, reference=True),
    ("mtadam/table5_pix2pix", "labels2photo"): _pix2pix("labels2photo", ablation=True),
    ("mtadam/table5_cyclegan", "photo2falsecolour"): _cyclegan("photo2falsecolour", ablation=True),
}
def _name(key: tuple) -> str:
    return f"{key[0]}[{key[1]}]" if key[1] else key[0]


#: Entry points that use the trained paper-scale PGNs (``repro train-pgn --scale paper`` runs first).
NEEDS_PGNS = {f"pgn/{name}{suffix}" for name in ("dip", "inversion", "heads") for suffix in ("", "_reference")}


class TinyInception(torch.nn.Module):
    """Stand-in for the FID Inception: (N, 3, H, W) in [0, 1] -> (N, 2048) features, frozen, random."""

    def __init__(self) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1).requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 16).flatten(1)


class PaperRuns:
    """Each (device, entry point, variant) started at most once per test session; what it read or raised."""

    def __init__(self, root: Path, scratch: Path) -> None:
        self.root, self.scratch, self.done = root, scratch, {}

    def get(self, dev: str, key: tuple) -> set:
        if (dev, key) not in self.done:
            if key[0] in NEEDS_PGNS:
                self.get(dev, ("repro train-pgn", ""))
            self.done[dev, key] = self._start(dev, key)
        outcome = self.done[dev, key]
        if isinstance(outcome, BaseException):
            if isinstance(outcome, FileNotFoundError):
                pytest.fail(f"{_name(key)} at scale='paper' on the introduction's layout: {outcome}")
            raise outcome
        return outcome

    def _start(self, dev: str, key: tuple):
        from repro.pgn import checkpoints
        from repro.store import ResultStore

        results, pgns = self.scratch / dev / "results", self.scratch / dev / "pgn"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("REPRO_DEVICE", dev)
            mp.setattr(importlib.import_module("repro.metrics.fid"), "pretrained_model", lambda name: TinyInception())
            mp.setattr(metrics, "REFERENCE_FEATURES", metrics.ReferenceFeatures())  # no stand-in features outlive the stub
            mp.setenv("REPRO_RESULTS", str(results))  # also for results an experiment loads itself (Table 5)
            mp.setattr(checkpoints, "folder", lambda scale=checkpoints.SHIPPED_PGN_SCALE, _f=checkpoints.folder:
                       _f(scale) if scale == checkpoints.SHIPPED_PGN_SCALE else pgns / scale)
            try:
                with folders.recording_reads() as reads:
                    STARTS[key](str(self.root), ResultStore(results))
            except Exception as error:  # kept, and raised by every test that asks for this run
                return error
        return reads


@pytest.fixture(scope="module")
def paper_runs(fake_root, tmp_path_factory) -> PaperRuns:
    return PaperRuns(fake_root, tmp_path_factory.mktemp("paper_runs"))


# ---- the tests ----------------------------------------------------------------------------------
def test_intro_block_is_the_layout_table():
    assert intro_block() == folders.layout_text()
    assert "\n".join("    " + line for line in folders.layout_text().splitlines()) in folders.__doc__
    layout, nothing = parse_layout(intro_block())
    assert layout == {f.name: {"splits": f.splits, "holds": " ".join(f.holds.split()), "read_by": list(f.read_by)}
                      for f in folders.LAYOUT}
    assert set(nothing) == {e for group in folders.READS_NOTHING for e in group}


def test_every_paper_scale_entry_point_is_started_here():
    from repro.cli import experiment_modules

    stored = {"repro train-pgn"}
    for module in experiment_modules():
        stored |= {getattr(module, n).experiment_name for n in dir(module) if hasattr(getattr(module, n), "experiment_name")}
    assert stored == set(folders.ENTRY_POINTS) == {entry for entry, _ in STARTS}


@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize("key", list(STARTS), ids=[_name(key) for key in STARTS])
def test_entry_point_starts_on_the_layout(paper_runs, key, dev):
    reads = paper_runs.get(dev, key)
    layout, nothing = parse_layout(intro_block())
    if key[0] in nothing:
        assert reads == set(), f"{key[0]} is documented as reading nothing under data_root, but read {sorted(reads)}"
    for name, split in reads:
        assert key[0] in layout[name]["read_by"], f"{key[0]} reads {name}/{split or ''}, which the layout does not say"


def test_every_folder_of_the_layout_is_read(paper_runs):
    layout, _ = parse_layout(intro_block())
    readers: dict[tuple, set] = {}
    for key in STARTS:
        for read in paper_runs.get("cpu", key):
            readers.setdefault(read, set()).add(key[0])
    for name, info in layout.items():
        for split in info["splits"] or (None,):
            assert (name, split) in readers, f"no entry point reads {name}/{split or ''} of the layout"
        assert set().union(*(readers.get((name, s), set()) for s in info["splits"] or (None,))) == set(info["read_by"]), name


# ---- the pieces on their own ----------------------------------------------------------------------
def test_dataset_path_refuses_what_the_layout_does_not_declare(tmp_path):
    (tmp_path / "facades" / "val").mkdir(parents=True)
    assert folders.dataset_path(tmp_path, "facades", "val") == tmp_path / "facades" / "val"
    with pytest.raises(ValueError, match="maps/test is not in the data_root layout: maps has sub-folders train, val"):
        folders.dataset_path(tmp_path, "maps", "test")
    with pytest.raises(ValueError, match="facades/ is not in the data_root layout"):
        folders.dataset_path(tmp_path, "facades")
    with pytest.raises(ValueError, match="imagenet_val/train is not in the data_root layout: imagenet_val has no sub-folders"):
        folders.dataset_path(tmp_path, "imagenet_val", "train")
    for gone in ("celeba_hq", "ffhq"):
        with pytest.raises(ValueError, match="unknown dataset"):
            folders.dataset_path(tmp_path, gone)


def test_mask_folder_is_binned_by_hole_ratio_and_an_empty_bin_is_an_error(tmp_path):
    rng = np.random.default_rng(0)
    fill_folder(tmp_path / "masks", folders.FOLDERS["masks"].holds, rng)
    binned = masks.binned_mask_folder(tmp_path / "masks", 16, 3)
    assert list(binned) == [masks.bin_label(b) for b in masks.HOLE_RATIO_BINS]
    for (lo, hi), m in zip(masks.HOLE_RATIO_BINS, binned.values()):
        assert m.shape == (3, 1, 16, 16) and all(lo < masks.hole_ratio(x) <= hi for x in m)
        assert torch.equal(m[2], m[0])  # two masks per bin: repeated in order
    for path in (tmp_path / "masks").rglob("bin3_*.png"):
        path.unlink()
    with pytest.raises(ValueError, match=re.escape("hole ratio in (0.3,0.4]")):
        masks.binned_mask_folder(tmp_path / "masks", 16, 2, bins=(1, 3))


def test_repro_device_overrides_the_choice_and_names_an_unavailable_device(monkeypatch):
    from repro.runtime import device

    monkeypatch.setenv("REPRO_DEVICE", "cpu")
    assert device() == torch.device("cpu")
    monkeypatch.setenv("REPRO_DEVICE", "gpu0")
    with pytest.raises(ValueError, match="REPRO_DEVICE='gpu0' is not a device name"):
        device()
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    monkeypatch.setenv("REPRO_DEVICE", f"cuda:{count}")
    with pytest.raises(RuntimeError, match=f"REPRO_DEVICE='cuda:{count}'"):
        device()
    monkeypatch.delenv("REPRO_DEVICE")
    assert device().type == ("cuda" if torch.cuda.is_available() else "cpu")
