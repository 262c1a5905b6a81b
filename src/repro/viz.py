"""Figures of the book, built from data and stored results (the notebooks only call these)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def _image(t: torch.Tensor) -> np.ndarray:
    array = t.detach().cpu().float()
    if array.ndim == 3:
        array = array.permute(1, 2, 0)
    return array.clamp(0, 1).numpy().squeeze()


def image_grid(images: Sequence[torch.Tensor], titles: "Sequence[str] | None" = None, ncols: int = 6, size: float = 1.8, cmap: str = "gray"):
    """A grid of (C, H, W) images in [0, 1]."""
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(_image(img), cmap=cmap, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig


def conv_filters(weight: torch.Tensor, ncols: int = 16):
    """First-layer RGB filters (out, 3, k, k), each rescaled to [0, 1] for display."""
    w = weight.detach().cpu()
    lo = w.flatten(1).min(1).values.view(-1, 1, 1, 1)
    hi = w.flatten(1).max(1).values.view(-1, 1, 1, 1)
    return image_grid(list((w - lo) / (hi - lo + 1e-12)), ncols=ncols, size=0.6)


def masked_examples(photos: torch.Tensor, masks: dict[str, torch.Tensor]):
    """One photo per hole-ratio bin with its mask painted white, titled with bin and ratio."""
    images, titles = [], []
    for i, (label, mask) in enumerate(masks.items()):
        photo = photos[i % len(photos)]
        hole = mask[0]
        images.append(photo * (1 - hole) + hole)
        titles.append(f"{label}: {float(hole.mean()):.2f}")
    return image_grid(images, titles, ncols=len(images), size=2.0)


def noise_sweep(rows: list[dict], metrics: Sequence[str]):
    """Each metric against the noise level, one panel per metric."""
    sigma = [r["noise_std"] for r in rows]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.0 * len(metrics), 2.6))
    for ax, name in zip(np.atleast_1d(axes), metrics):
        ax.plot(sigma, [r[name] for r in rows], marker="o")
        ax.set_xlabel("noise std")
        ax.set_title(name, fontsize=9)
    fig.tight_layout()
    return fig


def accuracy_vs_weight(frames: dict, ylabel: str = "test accuracy (%)"):
    """Per-class accuracy against the class's loss weight, one panel per optimiser."""
    fig, axes = plt.subplots(1, len(frames), figsize=(3.2 * len(frames), 2.8), sharey=True)
    for ax, (title, frame) in zip(np.atleast_1d(axes), frames.items()):
        ax.scatter(frame["weight"], frame["accuracy"], s=12, alpha=0.7)
        ax.set_xscale("log")
        ax.set_xlabel("class weight")
        ax.set_title(title, fontsize=9)
    np.atleast_1d(axes)[0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def training_curves(curves: dict, metrics: Sequence[str], title: str = ""):
    """One panel per metric: value per epoch for each method (``curves[method] = [{epoch, metric...}]``)."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 2.8))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        for name, rows in curves.items():
            points = [(r["epoch"], r[metric]) for r in rows if r.get(metric) == r.get(metric)]  # skip NaN
            if points:
                ax.plot(*zip(*points), marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_title(f"{title} {metric}".strip(), fontsize=9)
    np.atleast_1d(axes)[-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def sample_table(columns: dict, size: float = 1.3, title: str = ""):
    """A grid with one column per entry of ``columns`` (name -> list of (H, W, 3) uint8 images)."""
    names = list(columns)
    rows = len(columns[names[0]])
    fig, axes = plt.subplots(rows, len(names), figsize=(size * len(names), size * rows), squeeze=False)
    for j, name in enumerate(names):
        for i, image in enumerate(columns[name]):
            axes[i, j].imshow(np.asarray(image, dtype=np.uint8))
            axes[i, j].axis("off")
        axes[0, j].set_title(name, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig


def weight_grid(grid, metrics: Sequence[str]):
    """AWA Fig. 1: one heat map per metric over (perceptual weight, style weight); the default boxed."""
    ps, ss = sorted(grid.weight_p.unique()), sorted(grid.weight_s.unique())
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 2.8))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        values = np.array([[grid[(grid.weight_p == p) & (grid.weight_s == s)][metric].iloc[0] for s in ss] for p in ps])
        im = ax.imshow(values, cmap="viridis", origin="lower")
        for i in range(len(ps)):
            for j in range(len(ss)):
                ax.text(j, i, f"{values[i, j]:.3g}", ha="center", va="center", fontsize=7, color="w")
        default = grid[grid["default"]].iloc[0]
        ax.add_patch(plt.Rectangle((ss.index(default.weight_s) - 0.5, ps.index(default.weight_p) - 0.5), 1, 1,
                                   fill=False, edgecolor="red", linewidth=2))
        ax.set_xticks(range(len(ss)), [f"{s:g}" for s in ss])
        ax.set_yticks(range(len(ps)), [f"{p:g}" for p in ps])
        ax.set_xlabel("style weight")
        ax.set_ylabel("perceptual weight")
        ax.set_title(metric, fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def weight_curves(frame, finetune_start: int, title: str = ""):
    """AWA Fig. 4: the TPL (left) and TSL (right) weights per step; dashed: fine-tuning starts."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
    for ax, kind, label in zip(axes, ("perc", "styl"), ("TPL weights", "TSL weights")):
        for i, column in enumerate(c for c in frame.columns if c.startswith(kind)):
            ax.plot(frame.index, frame[column], label=f"$\\omega^{i + 1}$ ({column.split('_')[1]})")
        ax.axvline(finetune_start, color="k", linestyle="--", linewidth=1)
        ax.set_xlabel("step")
        ax.set_title(f"{title}: {label}".strip(": "), fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def lines(frame, x: str, ys: Sequence[str], group: str, logy: bool = False, titles: "Sequence[str] | None" = None):
    """One panel per column of ``ys``: ``y`` against ``x``, one line per value of ``group`` (PGN Figs. 2/8)."""
    fig, axes = plt.subplots(1, len(ys), figsize=(3.8 * len(ys), 3.0))
    for k, (ax, y) in enumerate(zip(np.atleast_1d(axes), ys)):
        for name, part in frame.groupby(group, sort=False):
            ax.plot(part[x], part[y], marker="o", markersize=3, label=name)
        ax.set_xlabel(x)
        ax.set_title(titles[k] if titles else y, fontsize=9)
        if logy:
            ax.set_yscale("log")
    np.atleast_1d(axes)[-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def series(curves: dict, xlabel: str, ylabel: str, title: str = "", smooth: int = 1):
    """One line per entry of ``curves`` (name -> (x values, y values)); ``smooth`` = running-mean window."""
    fig, ax = plt.subplots(figsize=(5.2, 3.0))
    for name, (xs, ys) in curves.items():
        ys = np.asarray(ys, dtype=float)
        if smooth > 1 and len(ys) >= smooth:
            ys = np.convolve(ys, np.ones(smooth) / smooth, mode="valid")
            xs = list(xs)[smooth - 1:]
        ax.plot(xs, ys, label=name, linewidth=1.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def win_matrix(table, title: str = ""):
    """PGN Fig. 5 layout: fraction of row-over-column wins as a heat map."""
    values = table.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(0.62 * len(table) + 1.6, 0.5 * len(table) + 1.0))
    im = ax.imshow(values, cmap="RdYlGn", vmin=0, vmax=1)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if values[i, j] == values[i, j]:
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(table.columns)), table.columns, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(table.index)), table.index, fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
