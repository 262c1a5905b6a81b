r"""Fréchet Inception Distance (Heusel et al. 2017).

.. math::
    \mathrm{FID} = \|\mu_1 - \mu_2\|^2 + \mathrm{Tr}\big(\Sigma_1 + \Sigma_2 - 2(\Sigma_1\Sigma_2)^{1/2}\big)

over pool3 features (2048-d) of the standard TF Inception (:mod:`repro.zoo.inception`); the
distance itself is pytorch-fid's ``calculate_frechet_distance``. Caveat for the book's small
sets: FID is biased upwards for few images (the covariance of N < 2048 samples is rank-deficient),
so ours are comparable with each other, not with the papers' absolute values. For such sets
(fewer images than 2048) :func:`frechet_distance` evaluates the same formula exactly through a
small SVD instead of a 2048 x 2048 matrix square root (see :func:`_frechet_lowrank`).
"""
from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import warnings

import numpy as np
import torch
from pytorch_fid.fid_score import calculate_frechet_distance

from repro.metrics.checks import check_images
from repro.zoo import pretrained_model


def inception_features(images: torch.Tensor, batch_size: int = 32) -> np.ndarray:
    """Pool3 features (N, 2048) of images in ``[0, 1]``."""
    check_images(images, name="inception_features")
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    model = pretrained_model("fid_inception").to(images.device)
    with torch.no_grad():
        feats = [model(images[i : i + batch_size]).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(feats).double().numpy()


def _frechet_lowrank(features_1: np.ndarray, features_2: np.ndarray) -> float:
    r"""Exact Fréchet distance for sets smaller than the feature dimension.

    With centred feature matrices :math:`X_i` (:math:`n_i \times d`) and
    :math:`\Sigma_i = X_i^\top X_i / (n_i - 1)`, the non-zero eigenvalues of
    :math:`\Sigma_1\Sigma_2` are the squared singular values of
    :math:`M = X_1 X_2^\top / \sqrt{(n_1 - 1)(n_2 - 1)}`, so
    :math:`\mathrm{Tr}(\Sigma_1\Sigma_2)^{1/2} = \|M\|_*` (the nuclear norm). This needs an
    :math:`n_1 \times n_2` SVD instead of a :math:`d \times d` matrix square root (14 s for
    d = 2048 on 2 cores); it agrees with pytorch-fid's formula (tested).
    """
    x1 = features_1 - features_1.mean(0)
    x2 = features_2 - features_2.mean(0)
    n1, n2 = len(x1), len(x2)
    trace_1 = float((x1 * x1).sum() / (n1 - 1))
    trace_2 = float((x2 * x2).sum() / (n2 - 1))
    cross = x1 @ x2.T / np.sqrt((n1 - 1) * (n2 - 1))
    trace_sqrt = float(np.linalg.svd(cross, compute_uv=False).sum())
    diff = features_1.mean(0) - features_2.mean(0)
    return max(0.0, float(diff @ diff + trace_1 + trace_2 - 2 * trace_sqrt))  # >= 0; clip rounding


def frechet_distance(features_1: np.ndarray, features_2: np.ndarray, method: str = "auto") -> float:
    """Fréchet distance between Gaussians fitted to two feature sets.

    ``method="pytorch-fid"`` is pytorch-fid's ``calculate_frechet_distance`` (a d x d matrix
    square root); ``"lowrank"`` is the exact identity of :func:`_frechet_lowrank`; ``"auto"``
    uses the low-rank form when both sets have fewer images than feature dimensions (the
    book's small sets) and pytorch-fid's otherwise.
    """
    if len(features_1) < 2 or len(features_2) < 2:
        raise ValueError("FID needs at least 2 images per set")
    if method not in ("auto", "pytorch-fid", "lowrank"):
        raise ValueError(f"method must be 'auto', 'pytorch-fid' or 'lowrank', got {method!r}")
    dim = features_1.shape[1]
    if method == "lowrank" or (method == "auto" and max(len(features_1), len(features_2)) < dim):
        return _frechet_lowrank(features_1, features_2)
    mu1, mu2 = features_1.mean(0), features_2.mean(0)
    s1, s2 = np.cov(features_1, rowvar=False), np.cov(features_2, rowvar=False)
    # pytorch-fid prints a note and adds eps to the diagonal for singular products, and passes
    # scipy's deprecated `disp` flag; keep both out of notebook outputs.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", DeprecationWarning)
        return max(0.0, float(calculate_frechet_distance(mu1, s1, mu2, s2)))  # >= 0; clip rounding


def fid(x: torch.Tensor, y: torch.Tensor) -> float:
    """FID between image sets ``x`` and ``y`` (both (N, C, H, W) in ``[0, 1]``)."""
    return frechet_distance(inception_features(x), inception_features(y))


class ReferenceFeatures:
    """Inception features of fixed reference sets, each computed once and then reused.

    Every run of a table (its methods, Hyperband trials, ablation variants, hole bins) scores its
    FID against the same real images; ``features(images)`` computes their features the first time
    and returns the stored ones after. A set is identified by its content (shape, dtype, the
    floating type in force and a sha256 of the values), so two different sets never share an entry
    whatever the caller calls them, and the same set met again in another run is not recomputed.
    The ``maxsize`` most recently used sets are kept.
    """

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = maxsize
        self._features: "collections.OrderedDict[tuple, np.ndarray]" = collections.OrderedDict()

    @staticmethod
    def _identity(images: torch.Tensor) -> tuple:
        values = images.detach().cpu().contiguous()
        digest = hashlib.sha256(values.view(torch.uint8).numpy() if values.numel() else b"").hexdigest()
        return tuple(values.shape), str(values.dtype), str(torch.get_default_dtype()), digest

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        """The Inception features of ``images`` ((N, C, H, W) in ``[0, 1]``), computed at most once."""
        key = self._identity(images)
        if key in self._features:
            self._features.move_to_end(key)
        else:
            self._features[key] = inception_features(images)
            while len(self._features) > self.maxsize:
                self._features.popitem(last=False)
        return self._features[key]

    def fid(self, fake: torch.Tensor, reference: torch.Tensor) -> float:
        """FID of ``fake`` against the reference set ``reference`` (its features cached)."""
        return frechet_distance(inception_features(fake), self(reference))

    def cache_clear(self) -> None:
        self._features.clear()


#: The process's cache of reference features, shared by every experiment that reports FID.
REFERENCE_FEATURES = ReferenceFeatures()
