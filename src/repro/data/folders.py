r"""The papers' real datasets under ``data_root``: what ``scale="paper"`` reads, and from where.

:data:`LAYOUT` is the one table of the folders; :func:`layout_text` renders it, and the book's
introduction shows exactly that text (a test checks both, builds a fake ``data_root`` from the
introduction's block and starts every paper-scale entry point on it)::

    <data_root>/                      read at scale="paper" only; a chapter needs only its own folders
      places2/{train,test}/
          Places2 photos
          read by awa/run, awa/classical (AWA 1-4), awa/warm_start (AWA 1-2), awa/probe (AWA 4)
      paris_streetview/{train,test}/
          Paris StreetView photos
          read by awa/run (AWA 1-4), awa/warm_start (AWA 1-2)
      celeba/{train,test}/
          CelebA photos
          read by awa/run (AWA 1-4), awa/warm_start (AWA 1-2)
      masks/
          NVIDIA irregular test masks: PNGs, white = hole, any sub-folders; binned by hole ratio at the
          run's image size, the first n_test of each scored bin (training masks are drawn at every
          scale)
          read by awa/run, awa/classical (AWA 1-4)
      imagenet_train/
          ImageNet training images, any sub-folders
          read by repro train-pgn (PGN 1-5)
      imagenet_val/
          ImageNet validation images, any sub-folders
          read by foundation/metric_sanity (Ch. 1), pgn/dip, pgn/dip_reference (PGN 2),
          mtadam/table4_srgan, mtadam/table4_reference (MTAdam 4)
      facades/{train,val,test}/
          pix2pix facades, A|B side by side
          read by mtadam/table2_pix2pix, mtadam/table2_reference (MTAdam 2), mtadam/table5_pix2pix
          (MTAdam 5)
      maps/{train,val}/
          pix2pix maps, A|B side by side; val/ is the test set (pix2pix's split; Hyperband validates on
          its first n_val)
          read by mtadam/table2_pix2pix, mtadam/table2_reference (MTAdam 2), mtadam/table3_cyclegan,
          mtadam/table3_reference (MTAdam 3)
      horse2zebra/{trainA,trainB,testA,testB}/
          CycleGAN horse2zebra photos
          read by mtadam/table3_cyclegan, mtadam/table3_reference (MTAdam 3), mtadam/table5_cyclegan
          (MTAdam 5)
      set14/
          Set14 high-resolution images
          read by mtadam/table4_srgan, mtadam/table4_reference (MTAdam 4)
      bsd100/
          BSD100 high-resolution images
          read by mtadam/table4_srgan, mtadam/table4_reference (MTAdam 4)
      mnist/
          the four MNIST IDX files (train-images-idx3-ubyte, ... t10k-labels-idx1-ubyte; .gz or not)
          read by mtadam/table1_mnist (MTAdam 1)
    read nothing under data_root, at any scale:
      awa/step_costs (AWA 1), pgn/cost (PGN 1), mtadam/step_costs (MTAdam 1)
          benchmarks: time and memory on random tensors or photo-bank crops
      pgn/inversion, pgn/inversion_reference (PGN 3)
          an analogue on the photo bank: no StyleGAN or FFHQ exists offline, so a small generator is
          trained on photo-bank crops and inverted
      pgn/heads, pgn/heads_reference (PGN 4)
          an analogue on the photo bank: no talking-heads model or VoxCeleb2 exists offline, so a
          "person" is a held-out photo and its "frames" are crops of it
"""
from __future__ import annotations

import contextlib
import dataclasses
import textwrap
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

from repro.data.images import center_square, decode_image, resize, to_tensor
from repro.numerics import floating

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


@dataclasses.dataclass(frozen=True)
class Folder:
    """One folder of ``data_root``: its sub-folders (``()``: the images themselves), what it holds,
    and the entry points (:data:`ENTRY_POINTS`) that read it."""

    name: str
    splits: tuple[str, ...]
    holds: str
    read_by: tuple[str, ...]


#: Every paper-scale entry point (the stored experiments and ``repro train-pgn``) -> its chapter.
ENTRY_POINTS: dict[str, str] = {
    "foundation/metric_sanity": "Ch. 1",
    "repro train-pgn": "PGN 1-5",
    "pgn/cost": "PGN 1",
    "pgn/dip": "PGN 2",
    "pgn/dip_reference": "PGN 2",
    "pgn/inversion": "PGN 3",
    "pgn/inversion_reference": "PGN 3",
    "pgn/heads": "PGN 4",
    "pgn/heads_reference": "PGN 4",
    "awa/run": "AWA 1-4",
    "awa/classical": "AWA 1-4",
    "awa/warm_start": "AWA 1-2",
    "awa/probe": "AWA 4",
    "awa/step_costs": "AWA 1",
    "mtadam/step_costs": "MTAdam 1",
    "mtadam/table1_mnist": "MTAdam 1",
    "mtadam/table2_pix2pix": "MTAdam 2",
    "mtadam/table2_reference": "MTAdam 2",
    "mtadam/table3_cyclegan": "MTAdam 3",
    "mtadam/table3_reference": "MTAdam 3",
    "mtadam/table4_srgan": "MTAdam 4",
    "mtadam/table4_reference": "MTAdam 4",
    "mtadam/table5_pix2pix": "MTAdam 5",
    "mtadam/table5_cyclegan": "MTAdam 5",
}

_AWA = ("awa/run", "awa/classical", "awa/warm_start")
#: The layout of ``data_root`` at ``scale="paper"``: every folder any entry point reads, and nothing else.
LAYOUT: tuple[Folder, ...] = (
    Folder("places2", ("train", "test"), "Places2 photos", _AWA + ("awa/probe",)),
    Folder("paris_streetview", ("train", "test"), "Paris StreetView photos", ("awa/run", "awa/warm_start")),
    Folder("celeba", ("train", "test"), "CelebA photos", ("awa/run", "awa/warm_start")),
    Folder("masks", (), "NVIDIA irregular test masks: PNGs, white = hole, any sub-folders; binned by hole ratio at the "
           "run's image size, the first n_test of each scored bin (training masks are drawn at every scale)", _AWA[:2]),
    Folder("imagenet_train", (), "ImageNet training images, any sub-folders", ("repro train-pgn",)),
    Folder("imagenet_val", (), "ImageNet validation images, any sub-folders",
           ("foundation/metric_sanity", "pgn/dip", "pgn/dip_reference", "mtadam/table4_srgan", "mtadam/table4_reference")),
    Folder("facades", ("train", "val", "test"), "pix2pix facades, A|B side by side",
           ("mtadam/table2_pix2pix", "mtadam/table2_reference", "mtadam/table5_pix2pix")),
    Folder("maps", ("train", "val"), "pix2pix maps, A|B side by side; val/ is the test set (pix2pix's split; "
           "Hyperband validates on its first n_val)",
           ("mtadam/table2_pix2pix", "mtadam/table2_reference", "mtadam/table3_cyclegan", "mtadam/table3_reference")),
    Folder("horse2zebra", ("trainA", "trainB", "testA", "testB"), "CycleGAN horse2zebra photos",
           ("mtadam/table3_cyclegan", "mtadam/table3_reference", "mtadam/table5_cyclegan")),
    Folder("set14", (), "Set14 high-resolution images", ("mtadam/table4_srgan", "mtadam/table4_reference")),
    Folder("bsd100", (), "BSD100 high-resolution images", ("mtadam/table4_srgan", "mtadam/table4_reference")),
    Folder("mnist", (), "the four MNIST IDX files (train-images-idx3-ubyte, ... t10k-labels-idx1-ubyte; .gz or not)",
           ("mtadam/table1_mnist",)),
)
#: Entry points that read nothing under ``data_root`` at any scale, grouped by the reason.
READS_NOTHING: dict[tuple[str, ...], str] = {
    ("awa/step_costs", "pgn/cost", "mtadam/step_costs"): "benchmarks: time and memory on random tensors or photo-bank crops",
    ("pgn/inversion", "pgn/inversion_reference"): "an analogue on the photo bank: no StyleGAN or FFHQ exists offline, so a small generator is "
                        "trained on photo-bank crops and inverted",
    ("pgn/heads", "pgn/heads_reference"): "an analogue on the photo bank: no talking-heads model or VoxCeleb2 exists offline, so a "
                    '"person" is a held-out photo and its "frames" are crops of it',
}
FOLDERS: dict[str, Folder] = {f.name: f for f in LAYOUT}


def _check_layout() -> None:
    named = [e for f in LAYOUT for e in f.read_by] + [e for group in READS_NOTHING for e in group]
    unknown = sorted(set(named) - set(ENTRY_POINTS))
    silent = sorted(set(ENTRY_POINTS) - set(named))
    if unknown or silent:
        raise RuntimeError(f"repro.data.folders: LAYOUT names unknown entry points {unknown} / leaves out {silent}")


_check_layout()


def layout_text(width: int = 100) -> str:
    """:data:`LAYOUT` and :data:`READS_NOTHING` as the tree the book's introduction shows."""
    def chapters(entries) -> str:  # "a, b (AWA 1-4), c (PGN 2)": entries of one chapter share its name
        groups: list[list] = []
        for e in entries:
            if groups and ENTRY_POINTS[groups[-1][-1]] == ENTRY_POINTS[e]:
                groups[-1].append(e)
            else:
                groups.append([e])
        return ", ".join(f"{', '.join(g)} ({ENTRY_POINTS[g[0]]})" for g in groups)

    def wrap(text: str) -> list[str]:
        return textwrap.wrap(text, width, initial_indent=" " * 6, subsequent_indent=" " * 6, break_on_hyphens=False)

    lines = ['<data_root>/                      read at scale="paper" only; a chapter needs only its own folders']
    for f in LAYOUT:
        lines.append(f"  {f.name}/" + (f"{{{','.join(f.splits)}}}/" if f.splits else ""))
        lines += wrap(f.holds) + wrap(f"read by {chapters(f.read_by)}")
    lines.append("read nothing under data_root, at any scale:")
    for entries, reason in READS_NOTHING.items():
        lines.append(f"  {chapters(entries)}")
        lines += wrap(reason)
    return "\n".join(lines)


# ---- reading ----------------------------------------------------------------------------------------
_recorders: list[set] = []


@contextlib.contextmanager
def recording_reads() -> Iterator[set]:
    """Collect every ``(folder, sub-folder or None)`` that :func:`dataset_path` opens inside the block
    (how the layout test checks that every folder of :data:`LAYOUT` is read by some entry point)."""
    reads: set = set()
    _recorders.append(reads)
    try:
        yield reads
    finally:
        _recorders.remove(reads)


def dataset_path(data_root: "str | Path | None", name: str, split: "str | None" = None) -> Path:
    """``<data_root>/<folder>[/<sub-folder>]`` of :data:`LAYOUT`, checked to be declared and to exist."""
    if name not in FOLDERS:
        raise ValueError(f"unknown dataset {name!r}; the layout (repro.data.folders.LAYOUT) has: {', '.join(FOLDERS)}")
    declared = FOLDERS[name].splits
    if (split is None) != (not declared) or (split is not None and split not in declared):
        have = f"sub-folders {', '.join(declared)}" if declared else "no sub-folders"
        raise ValueError(f"{name}/{split or ''} is not in the data_root layout: {name} has {have} (repro.data.folders.LAYOUT)")
    if data_root is None:
        raise ValueError(f"dataset {name!r} needs data_root (scale='paper'); pass data_root='/path/to/datasets'")
    for reads in _recorders:
        reads.add((name, split))
    path = Path(data_root).expanduser() / name
    if split is not None:
        path = path / split
    if not path.is_dir():
        raise FileNotFoundError(
            f"dataset folder {path} does not exist; put the {name} images there "
            f"(layout: the book's introduction, or repro.data.folders) or run at scale='cpu'"
        )
    return path


def list_images(folder: "str | Path") -> list[Path]:
    """Image files in ``folder`` (recursively), sorted; an error if there are none."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"image folder {folder} holds no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


class ImageFolder(Dataset):
    """Images of a folder as centre squares resized to ``size``: items (3, size, size) in [0, 1]."""

    def __init__(self, folder: "str | Path", size: int, limit: "int | None" = None):
        self.files = list_images(folder)[:limit]
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        fix = "Replace or remove that file."
        return to_tensor([resize(center_square(decode_image(self.files[index], fix)), self.size)])[0]

    def load_all(self) -> torch.Tensor:
        return torch.stack([self[i] for i in range(len(self))])


def read_mask(path: "str | Path", size: int, hole_is_white: bool = True) -> np.ndarray:
    """One mask image resized to (size, size) as a boolean array, True = hole."""
    grey = resize(decode_image(Path(path), "Replace or remove that file."), size).mean(axis=2)
    return grey > 127 if hole_is_white else grey <= 127


def mask_folder(folder: "str | Path", size: int, hole_is_white: bool = True, limit: "int | None" = None) -> torch.Tensor:
    """Mask PNGs of a folder as (N, 1, size, size) tensors with 1 = hole."""
    masks = [read_mask(path, size, hole_is_white) for path in list_images(folder)[:limit]]
    return floating(torch.from_numpy(np.stack(masks))).unsqueeze(1)
