"""CycleGAN, SRGAN and the Table 5 ablation: data with hidden ground truth, networks, determinism."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from repro.data import unpaired
from repro.mtadam.experiments import cyclegan as cg
from repro.mtadam.experiments import srgan as sr
from repro.mtadam import ABLATIONS, MTAdam
from repro.mtadam.baselines import make_optimizer
from repro.zoo import create_model


def _same(a, b) -> bool:  # NaN-safe deep equality
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# ---- data ---------------------------------------------------------------------------------------
def test_falsecolour_pairs_are_exact_and_colourful():
    a, b = unpaired.paired_set("photo2falsecolour", 6, 16, "test", seed=3)
    assert torch.equal(b, a[:, [1, 2, 0]])
    assert (unpaired._saturation(a) >= unpaired.MIN_SATURATION).all()
    a2, _ = unpaired.paired_set("photo2falsecolour", 6, 16, "test", seed=3)
    assert torch.equal(a, a2)  # deterministic in the seed


def test_unpaired_domains_come_from_different_crops():
    a, b = unpaired.unpaired_set("photo2map", 4, 16, "train", seed=0)
    assert a.shape == b.shape == (4, 3, 16, 16)
    assert not torch.allclose(unpaired.to_domain_b("photo2map", a), b)  # B is not A's rendering


def test_unknown_unpaired_task_names_the_valid_ones():
    with pytest.raises(ValueError, match="photo2falsecolour"):
        unpaired.to_domain_b("horse2zebra", torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="photo2falsecolour"):
        cg.config("horse2zebra", "smoke")


# ---- networks -----------------------------------------------------------------------------------
def test_srresnet_bicubic_skip_starts_from_bicubic():
    net = create_model("srresnet", width=8, n_blocks=1, factor=4, bicubic_skip=True)
    torch.nn.init.zeros_(net.head.weight)
    torch.nn.init.zeros_(net.head.bias)
    x = torch.rand(2, 3, 8, 8)
    expected = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.allclose(net(x), expected)
    with pytest.raises(ValueError, match="power of two"):
        create_model("srresnet", factor=3)


def test_cyclegan_generator_keeps_shape_and_rejects_odd_sizes():
    net = create_model("cyclegan_resnet", ngf=8, n_blocks=1)
    assert net(torch.rand(1, 3, 16, 20) * 2 - 1).shape == (1, 3, 16, 20)
    with pytest.raises(ValueError, match="divisible by 4"):
        net(torch.rand(1, 3, 18, 16))


def test_tiles_cover_the_image_exactly():
    x = torch.rand(1, 3, 8, 12)
    tiles = sr._tiles(x, 4)
    assert tiles.shape == (6, 3, 4, 4)
    assert torch.equal(tiles[1], x[0, :, 0:4, 4:8]) and torch.equal(tiles[3], x[0, :, 4:8, 0:4])


def test_luma_is_the_bt601_y_channel():
    white, black = torch.ones(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    assert torch.allclose(sr._luma(white, 0), torch.full((1, 1, 4, 4), 235 / 255))
    assert torch.allclose(sr._luma(black, 1), torch.full((1, 1, 2, 2), 16 / 255))


# ---- optimiser options ----------------------------------------------------------------------------
def test_ablation_options_reach_mtadam_and_only_mtadam():
    net = torch.nn.Linear(2, 2)
    opt = make_optimizer("MTAdam", net, lr=1e-3, **ABLATIONS["(v) mean instead of max denominator"])
    assert isinstance(opt, MTAdam) and opt.options["denominator"] == "mean"
    with pytest.raises(ValueError, match="MTAdam only"):
        make_optimizer("Adam", net, lr=1e-3, denominator="mean")


# ---- determinism of the training runs ---------------------------------------------------------------
def test_cyclegan_training_is_deterministic():
    cfg = cg.config("photo2falsecolour", "smoke", n_train=4, n_test=3, epochs=1)
    data = cg.datasets(cfg)
    a, b = (cg.train(cfg, "MTAdam", 1000.0, data) for _ in range(2))
    assert _same(a["final"], b["final"]) and _same(a["samples"], b["samples"])
    assert set(a["final"]) == {f"{m}_{s}" for m in cg.METRICS for s in "AB"}


def test_srgan_training_is_deterministic():
    cfg = sr.config("smoke", n_train=8, epochs=1)
    data = sr.datasets(cfg)
    a, b = (sr.train(cfg, "MTAdam", sr.WEIGHTS["unbalanced"], data) for _ in range(2))
    assert _same(a["final"], b["final"]) and _same(a["curves"], b["curves"])
    assert set(a["final"]) == {f"{s}_{m}" for s in sr.TEST_SETS for m in ("PSNR", "SSIM", "FID")}


def test_srgan_config_errors_name_the_fix():
    with pytest.raises(ValueError, match="multiple of hr_size"):
        sr.config("cpu", eval_size=100)
    with pytest.raises(ValueError, match="factor"):
        sr.config("cpu", factor=3)


def test_a_diverged_srgan_run_scores_nan_instead_of_failing():
    cfg = sr.config("smoke")
    data = sr.datasets(cfg)

    class Diverged(torch.nn.Module):
        def forward(self, x):
            return F.interpolate(x, scale_factor=cfg.factor) * float("nan")

    row, _ = sr._Evaluator(data, cfg)(Diverged())
    assert len(row) == 6 and all(v != v for v in row.values())


def test_native_crops_keep_the_resolution():
    rng = np.random.default_rng(0)
    image = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)  # as decode_image gives
    crop = sr._native_crop(image, 16, rng)
    assert crop.shape == (16, 16, 3)
    assert any(np.array_equal(crop, image[t : t + 16, l : l + 16]) for t in range(25) for l in range(35))  # noqa: E741
    assert sr._native_crop(image[:8, :8], 16, rng).shape == (16, 16, 3)  # smaller images are resized up
