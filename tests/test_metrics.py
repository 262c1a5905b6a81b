"""Metrics against reference libraries and closed forms."""
import numpy as np
import pytest
import torch
from pytorch_fid.fid_score import calculate_frechet_distance
from skimage.metrics import mean_squared_error, normalized_root_mse, peak_signal_noise_ratio, structural_similarity

from repro import metrics
from repro.metrics.fid import frechet_distance


def _pair(rng, shape=(3, 3, 40, 48)):
    x = torch.rand(shape, generator=rng, dtype=torch.float64)
    y = (x + 0.1 * torch.randn(shape, generator=rng, dtype=torch.float64)).clamp(0, 1)
    return x, y


def _np(t):
    return t.permute(1, 2, 0).numpy()


def test_psnr_mse_match_scikit_image(rng):
    x, y = _pair(rng)
    for i in range(len(x)):
        assert metrics.psnr(x, y)[i].item() == pytest.approx(peak_signal_noise_ratio(_np(y[i]), _np(x[i]), data_range=1), rel=1e-10)
        assert metrics.mse(x, y)[i].item() == pytest.approx(mean_squared_error(_np(x[i]), _np(y[i])), rel=1e-10)


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_matches_scikit_image(rng, channels):
    x, y = _pair(rng, (2, channels, 37, 45))
    for i in range(2):
        ref = structural_similarity(_np(x[i]), _np(y[i]), data_range=1, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, channel_axis=2)
        assert metrics.ssim(x, y)[i].item() == pytest.approx(ref, abs=1e-10)


def test_ssim_of_an_image_with_itself_is_one(rng):
    x, _ = _pair(rng)
    torch.testing.assert_close(metrics.ssim(x, x), torch.ones(len(x), dtype=x.dtype))


def test_mae_l1_l2_nmse_conventions(rng):
    x, y = _pair(rng)
    assert torch.allclose(metrics.mae(x, y), (x - y).abs().mean(dim=(1, 2, 3)))
    assert torch.allclose(metrics.l1(x, y), 255 * (x - y).abs().mean(dim=(1, 2, 3)))
    assert torch.allclose(metrics.l2(x, y), ((255 * x - 255 * y) ** 2).mean(dim=(1, 2, 3)))
    for i in range(len(x)):
        # NMSE = ||x - y||^2 / ||y||^2 = (skimage's Euclidean NRMSE)^2, with y the reference
        ref = normalized_root_mse(_np(y[i]), _np(x[i]), normalization="euclidean") ** 2
        assert metrics.nmse(x, y)[i].item() == pytest.approx(ref, rel=1e-10)


def test_metrics_explain_bad_input():
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*\(x \+ 1\) / 2"):
        metrics.psnr(torch.full((1, 3, 16, 16), -1.0), torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="same shape"):
        metrics.mae(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="shape"):
        metrics.ssim(torch.zeros(3, 16, 16), torch.zeros(3, 16, 16))
    with pytest.raises(ValueError, match="NaN"):
        metrics.mse(torch.full((1, 1, 8, 8), float("nan")), torch.zeros(1, 1, 8, 8))


def _features(n, d, seed, shift=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(size=(n, d)) * scale + shift


@pytest.mark.parametrize("n", [5, 40])
def test_lowrank_frechet_equals_pytorch_fid(n):
    a, b = _features(n, 64, 0), _features(n + 3, 64, 1, shift=0.3, scale=1.5)
    ref = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert frechet_distance(a, b, method="lowrank") == pytest.approx(ref, rel=1e-6)
    assert frechet_distance(a, b, method="pytorch-fid") == pytest.approx(ref, rel=1e-12)


def test_frechet_distance_closed_form_for_diagonal_gaussians():
    """Large samples of N(mu_i, diag(s_i^2)): FID -> |mu1-mu2|^2 + sum (s1 - s2)^2."""
    d, n = 4, 200_000
    mu1, mu2, s1, s2 = np.zeros(d), np.full(d, 0.5), np.ones(d), np.full(d, 2.0)
    rng = np.random.default_rng(0)
    a, b = rng.normal(mu1, s1, size=(n, d)), rng.normal(mu2, s2, size=(n, d))
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-2)


def test_frechet_distance_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(np.zeros((1, 8)), np.zeros((3, 8)))
