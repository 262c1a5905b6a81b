r"""Image-quality metrics, as the three papers report them.

All functions take batches of RGB (or grey) images as tensors of shape (N, C, H, W) with values
in ``[0, 1]`` and return one value per image (shape (N,)), except FID, which compares two sets.
The papers' conventions:

======  ==================================================  =========================  ===========
metric  definition (per image)                              range / scale              used by
======  ==================================================  =========================  ===========
PSNR    :math:`10\log_{10}(1/\mathrm{MSE})`                 dB, data range 1           AWA, MTAdam
SSIM    Wang et al. 2004, Gaussian window 11, σ=1.5         [-1, 1]                    AWA, MTAdam
MAE     :math:`\mathrm{mean}|x-y|`                          images in [0, 1]           AWA
L1      :math:`\mathrm{mean}|x-y|`                          pixels in [0, 255]         MTAdam
L2      :math:`\mathrm{mean}(x-y)^2`                        pixels in [0, 255]         MTAdam
MSE     :math:`\mathrm{mean}(x-y)^2`                        images in [0, 1]           PGN (×10³)
NMSE    :math:`\|x-y\|^2 / \|y\|^2`                         scale-free                 MTAdam
LPIPS   Zhang et al. 2018, v0.1, VGG (default) or AlexNet   ≥ 0, lower is better       AWA, PGN
FID     Heusel et al. 2017, pool3 of the TF Inception       ≥ 0, lower is better       AWA, MTAdam
======  ==================================================  =========================  ===========

:data:`REFERENCE_FEATURES` computes the Inception features of a fixed reference set once per
process (:class:`ReferenceFeatures`). Chapter 1's noise-sweep check of these metrics on real photos
is the experiment :mod:`repro.metrics.sanity`.
"""
from repro.metrics.pixel import l1, l2, mae, mse, nmse, psnr, ssim
from repro.metrics.perceptual import lpips
from repro.metrics.fid import REFERENCE_FEATURES, ReferenceFeatures, fid, frechet_distance, inception_features

__all__ = ["psnr", "ssim", "mae", "mse", "l1", "l2", "nmse", "lpips", "fid", "frechet_distance", "inception_features",
           "REFERENCE_FEATURES", "ReferenceFeatures"]
