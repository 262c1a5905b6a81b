r"""Pixel metrics: PSNR, SSIM, MAE/MSE (images in [0, 1]), L1/L2 (pixels in [0, 255]), NMSE.

Each returns a per-image tensor of shape (N,); papers report the mean over a test set.
SSIM follows Wang et al. (2004) exactly as scikit-image's ``structural_similarity`` with
``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1``: an 11x11
Gaussian window (σ = 1.5, truncated at 3.5σ), :math:`C_1 = (0.01)^2`, :math:`C_2 = (0.03)^2`,
the SSIM map averaged over the valid region and over channels (tested against scikit-image).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from repro.metrics.checks import check_images


def _per_image(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).mean(1)


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Mean squared error on ``[0, 1]`` images: :math:`\frac{1}{CHW}\sum (x-y)^2`."""
    check_images(x, y, "mse")
    return _per_image((x - y) ** 2)


def mae(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Mean absolute error on ``[0, 1]`` images (AWA's MAE): :math:`\frac{1}{CHW}\sum |x-y|`."""
    check_images(x, y, "mae")
    return _per_image((x - y).abs())


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""MTAdam's L1: mean absolute error with pixels on the 0–255 scale."""
    return 255.0 * mae(x, y)


def l2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""MTAdam's L2: mean squared error with pixels on the 0–255 scale."""
    return 255.0**2 * mse(x, y)


def nmse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Normalised MSE, :math:`\|x-y\|_2^2 / \|y\|_2^2` (``y`` the ground truth; scale-free)."""
    check_images(x, y, "nmse")
    num = ((x - y) ** 2).flatten(1).sum(1)
    den = (y**2).flatten(1).sum(1)
    if (den == 0).any():
        raise ValueError("nmse: the ground truth y is all-zero for some image; NMSE is undefined there")
    return num / den


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Peak signal-to-noise ratio in dB with data range 1: :math:`10\log_{10}(1/\mathrm{MSE})`.

    Identical images give ``inf``.
    """
    return 10.0 * torch.log10(1.0 / mse(x, y))


def _gaussian_window(sigma: float = 1.5, truncate: float = 3.5, dtype=torch.float64) -> torch.Tensor:
    radius = int(truncate * sigma + 0.5)
    coords = torch.arange(-radius, radius + 1, dtype=dtype)
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, sigma: float = 1.5) -> torch.Tensor:
    r"""Structural similarity (Wang et al. 2004), per image, averaged over channels.

    .. math::
        \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
                                   {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)}

    with local Gaussian-weighted statistics; the map is averaged over the region where the
    11x11 window fits (scikit-image's convention). Images must be at least 11x11.
    """
    check_images(x, y, "ssim")
    g = _gaussian_window(sigma).to(x.device)
    k = g.numel()
    if min(x.shape[-2:]) < k:
        raise ValueError(f"ssim: images must be at least {k}x{k}, got {tuple(x.shape[-2:])}")
    n, c = x.shape[:2]
    xd, yd = x.double().reshape(n * c, 1, *x.shape[-2:]), y.double().reshape(n * c, 1, *y.shape[-2:])

    def blur(t: torch.Tensor) -> torch.Tensor:  # separable Gaussian, 'valid' region only
        t = F.conv2d(t, g.view(1, 1, k, 1))
        return F.conv2d(t, g.view(1, 1, 1, k))

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(xd), blur(yd)
    sxx = blur(xd * xd) - mx * mx
    syy = blur(yd * yd) - my * my
    sxy = blur(xd * yd) - mx * my
    smap = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return smap.reshape(n, c, -1).mean(dim=(1, 2)).to(x.dtype)
