"""PGN beyond the equations: inference rewrites, memory measurement, training, checkpoints, the
tasks' gradient sources, the stability rules, and the stored experiments at the CI scale."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from repro.pgn import checkpoints
from repro.pgn.cost import SubPixelConv, gradient_producer, optimize_for_inference, peak_memory_mb
from repro.pgn.pgn import PGN, PGNConfig, PerceptualLoss, cosine_similarity, normalize
from repro.pgn.tasks import (DIPSkip, PatchDecoder, deep_image_prior, invert, mse_source, perceptual_source, pgn_source,
                             render, stability)
from repro.zoo import create_model
from repro.zoo.pgn_backbones import backbone


# ---- inference rewrites and costs -------------------------------------------------------------------------
def test_subpixel_convolution_equals_upsample_then_convolve():
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 7, 3, 1, 1).double()
    x = torch.randn(2, 5, 6, 9, dtype=torch.float64)
    expected = conv(nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
    assert torch.allclose(SubPixelConv(conv)(x), expected, atol=1e-12)
    with pytest.raises(ValueError, match="3x3"):
        SubPixelConv(nn.Conv2d(5, 7, 5, 1, 2))


@pytest.mark.parametrize("name", ["resnet4", "resnet8", "unet"])
def test_inference_rewrites_keep_the_outputs(name, randomise_batchnorm):
    torch.manual_seed(0)
    net = randomise_batchnorm(backbone(name, 16))
    fast = optimize_for_inference(net)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    if name.startswith("resnet"):
        assert not any(isinstance(m, nn.Upsample) for m in fast.modules())
    x = torch.randn(2, 6, 64, 64)
    with torch.no_grad():
        assert torch.allclose(fast(x), net(x), atol=1e-4)


def test_peak_memory_grows_with_the_image_area():
    small, large = peak_memory_mb([("ResNet-4", 64, 2), ("ResNet-4", 128, 2)])
    assert small > 1 and 3.0 < large / small < 5.0  # the activations scale with H x W
    with pytest.raises(ValueError, match="unknown model"):
        gradient_producer("VGG-19", 64, 1)


# ---- training and checkpoints -----------------------------------------------------------------------------
@pytest.fixture
def tiny_train(empty_cache, tiny_features):
    from repro.pgn.training import config, train

    cfg = config("smoke", steps=6)
    images = torch.rand(24, 3, cfg.image_size, cfg.image_size)
    return cfg, lambda: train(cfg, PerceptualLoss(tiny_features(), layers=None), images, progress=False)


def test_training_is_deterministic_and_resets_stagnating_autoencoders(tiny_train):
    cfg, run = tiny_train
    first, second = run(), run()
    assert first["log"]["cosine"] == second["log"]["cosine"] and first["log"]["grad"] == second["log"]["grad"]
    assert len(first["log"]["step"]) == cfg.steps
    assert first["log"]["resets"], "patience=2 over 6 steps must reset some autoencoder"
    assert all(0 <= i < 3 for _, i in first["log"]["resets"])


def test_training_config_rejects_bad_values():
    from repro.pgn.training import config

    with pytest.raises(ValueError, match="multiple of 3"):
        config("cpu", batch_size=10)
    with pytest.raises(ValueError, match="unknown PGN backbone"):
        config("cpu", backbone="vgg")
    with pytest.raises(ValueError, match="multiple of 32"):
        config("cpu", backbone="unet", image_size=48)


def test_checkpoint_round_trip_and_corruption(tiny_train, monkeypatch, tmp_path):
    cfg, run = tiny_train
    monkeypatch.setattr(checkpoints, "folder", lambda scale="cpu": tmp_path / scale)
    result = run()
    path = checkpoints.save(result, cfg)
    loaded = checkpoints.load(cfg.name, cfg.mode, "smoke")
    x = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    with torch.no_grad():  # float16 storage: close, not equal
        assert torch.allclose(loaded(*x)[0], result["pgn"](*x)[0], rtol=1e-2, atol=1e-4)
    assert checkpoints.training_log(cfg.name, cfg.mode, "smoke")["cosine"] == result["log"]["cosine"]
    with pytest.raises(FileNotFoundError, match="repro train-pgn --scale smoke --backbone resnet4 --mode direct"):
        checkpoints.load(cfg.name, "direct", "smoke")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="corrupt.*retrain"):
        checkpoints.load(cfg.name, cfg.mode, "smoke")


def test_committed_pgns_load_by_name_and_match_their_manifest():
    for key, info in checkpoints.manifest().items():
        name, mode = key.rsplit("-", 1)
        pgn = create_model(name, pretrained=True, mode=mode)
        assert isinstance(pgn, PGN) and pgn.cfg.mode == mode and not pgn.training
        assert info["config"]["scale"] == "cpu" and info["config"]["mode"] == mode
    assert sum(i["bytes"] for i in checkpoints.manifest().values()) < 10e6  # small enough to commit


@pytest.mark.weights
def test_trained_pgn_beats_an_untrained_one_on_held_out_photos():
    """The issue's acceptance test: cosine to the true VGG-16 gradient on held-out photos."""
    from repro.data.photos import photos
    from repro.pgn.pgn import vgg_loss

    torch.manual_seed(0)
    y = photos("test", 32)
    y_hat = (nn.functional.avg_pool2d(nn.functional.pad(y, (1, 1, 1, 1), mode="replicate"), 3, 1)
             + 0.05 * torch.randn_like(y)).clamp(0, 1)  # blurred, noisy reconstructions
    truth = vgg_loss().gradient(normalize(y_hat), normalize(y))
    trained = create_model("pgn_resnet4", pretrained=True)
    untrained = PGN(backbone("resnet4", checkpoints.entry("pgn_resnet4")["config"]["width"]), PGNConfig()).eval()
    with torch.no_grad():
        cos_trained = cosine_similarity(trained(normalize(y_hat), normalize(y))[0], truth)
        cos_untrained = cosine_similarity(untrained(normalize(y_hat), normalize(y))[0], truth)
    assert (cos_trained > cos_untrained).all()
    assert cos_trained.mean() > cos_untrained.mean() + 0.05


# ---- tasks -------------------------------------------------------------------------------------------------
def test_perceptual_source_is_the_gradient_in_image_space(tiny_features):
    loss = PerceptualLoss(tiny_features().double(), layers=None)
    torch.manual_seed(0)
    a, b = torch.rand(2, 3, 8, 8, dtype=torch.float64), torch.rand(2, 3, 8, 8, dtype=torch.float64)
    x = a.clone().requires_grad_(True)
    expected = torch.autograd.grad(loss.per_image(normalize(x), normalize(b)).sum(), x)[0]
    assert torch.allclose(perceptual_source("PL", loss)(a, b), expected, atol=1e-12)
    assert torch.allclose(mse_source()(a, b), torch.autograd.grad(((x - b) ** 2).flatten(1).mean(1).sum(), x)[0])


def test_pgn_source_applies_the_chain_rule_through_the_normalisation():
    pgn = create_model("pgn_resnet4", width=4).double().eval()
    a, b = torch.rand(1, 3, 8, 8, dtype=torch.float64), torch.rand(1, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        g_norm, _ = pgn(normalize(a), normalize(b))
    x = a.clone().requires_grad_(True)
    chained = torch.autograd.grad((normalize(x) * g_norm).sum(), x)[0]  # d<norm(x), g>/dx
    assert torch.allclose(pgn_source("p", pgn)(a, b), chained, atol=1e-12)


def test_grouped_dip_networks_are_independent():
    torch.manual_seed(0)
    net = DIPSkip(3, width=4, depth=2, in_ch=2)
    z = torch.rand(1, 6, 16, 16)
    out = net(z)
    z2 = z.clone()
    z2[:, 2:4] += 1.0  # change image 1's noise only
    out2 = net(z2)
    assert torch.equal(out[0], out2[0]) and torch.equal(out[2], out2[2]) and not torch.equal(out[1], out2[1])


def test_dip_with_mse_fits_its_targets_and_is_deterministic(tiny_features):
    loss = PerceptualLoss(tiny_features(), layers=None)
    targets = torch.rand(2, 3, 16, 16)
    runs = [deep_image_prior(targets, mse_source(), loss, steps=30, width=8, depth=2, progress=False) for _ in range(2)]
    assert runs[0]["perceptual"] == runs[1]["perceptual"]
    first, last = np.mean(runs[0]["perceptual"][0]), np.mean(runs[0]["perceptual"][-1])
    assert last < first
    assert runs[0]["iterations"][-1] == 30


def test_inversion_over_the_extended_code_lowers_the_mse():
    torch.manual_seed(0)
    generator = PatchDecoder(latent=8, width=8).eval().requires_grad_(False)
    targets = torch.rand(2, 3, 32, 32)
    start = {"z": torch.zeros(2, 8), "styles": generator.zero_styles(2)}
    before = float(((render(generator, start) - targets) ** 2).mean())
    code = invert(generator, targets, mse_source(), 30, lr=0.05, progress=False)
    assert float(((render(generator, code) - targets) ** 2).mean()) < before
    assert code["styles"].abs().sum() > 0  # the styles (the W+ analogue) moved too


def test_stability_rules():
    its = list(range(1, 11))
    diverged = stability(its, [4, 3, 5, 8, 9, 9, 9, 9, 9, 9], patience=5)
    assert diverged["outcome"] == "diverged" and diverged["last_it"] == 4 and diverged["best_PL"] == 3
    stagnated = stability(its, [4, 3, 3.5, 3.2, 3.9, 3.1, 3.3, 3.4, 3.2, 3.2], patience=5)
    assert stagnated["outcome"] == "stagnated" and stagnated["best_it"] == 2 and stagnated["last_it"] == 7
    good = stability(its, [4, 3.9, 3.8, 3.7, 3.6, 3.5, 3.4, 3.3, 3.2, 3.1], patience=5)
    assert good["outcome"] == "successful" and good["best_it"] == 10 and math.isclose(good["best_PL"], 3.1)
    assert stability(its, [4, float("nan")] + [1] * 8, patience=5)["outcome"] == "diverged"


# ---- tables ------------------------------------------------------------------------------------------------
def test_pairwise_wins_are_complementary():
    from repro.pgn.tables import pairwise_wins

    runs = {"a": {"LPIPS": [0.1, 0.5, 0.3]}, "b": {"LPIPS": [0.2, 0.4, 0.3]}}
    wins = pairwise_wins(runs)
    assert wins.loc["a", "b"] == pytest.approx(1 / 3) and wins.loc["b", "a"] == pytest.approx(1 / 3)
    assert np.isnan(wins.loc["a", "a"])


def test_cost_ratios_are_against_the_vgg_loss():
    from repro.pgn.tables import cost_ratios
    from repro.pgn.cost import MODELS

    rows = [{"model": m, "params_M": 10.0 if m == "VGG-16 PL" else 1.0, "GMACs": 50.0 if m == "VGG-16 PL" else 5.0,
             "size": 256, "batch": 2, "seconds": 1.0 if m == "VGG-16 PL" else 0.4, "peak_MiB": 400.0 if m == "VGG-16 PL" else 100.0}
            for m in MODELS]
    cost = {"rows": rows}
    assert cost_ratios(cost).loc["ResNet-4", "speed-up vs VGG-16"] == pytest.approx(2.5)
    assert cost_ratios(cost).loc["ResNet-4", "memory saving vs VGG-16"] == pytest.approx(4.0)


# ---- the stored experiments at the CI scale -----------------------------------------------------------------
@pytest.mark.weights
def test_dip_experiment_at_smoke_scale(tmp_path):
    from repro.pgn import experiments as pe, tables as pt
    from repro.store import ResultStore

    store = ResultStore(tmp_path)
    result = pe.dip(pe.dip_config("smoke"), store=store)
    assert set(result["runs"]) == set(pe.BASELINES) | set(pe.PGNS) | set(pe.VARIANTS)
    frame = pt.stability_frame(result)
    n = pe.dip_config("smoke").n_images
    assert (frame[["diverged_n", "stagnated_n", "successful_n"]].sum(axis=1) == n).all()
    assert pe.dip(pe.dip_config("smoke"), store=store) == result  # stored and reused
    # the reference's seed spread: its run alone at seed 0 is the same arm, bit for bit, as in the full run
    alone = pe.dip_reference(pe.dip_config("smoke"), store=store)
    assert set(alone["runs"]) == {pe.REFERENCE} and alone["runs"][pe.REFERENCE] == result["runs"][pe.REFERENCE]
    with pytest.raises(ValueError, match="multiple of 8"):
        pe.dip_config("smoke", image_size=20)


@pytest.mark.weights
def test_only_the_controlled_pgn_carries_its_untrained_twin():
    from repro.config import Scale
    from repro.pgn import experiments as pe

    srcs = pe.sources(Scale.SMOKE, ("MSE", "ResNet-4", "ResNet-6"), seed=1)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    again = pe.untrained_source(Scale.SMOKE, seed=1).pgn
    assert torch.equal(torch.rand(3), expected)  # building the twin leaves the caller's RNG alone
    assert [name for name, s in srcs.items() if s.control is not None] == [pe.CONTROLLED]
    twin, trained = srcs[pe.CONTROLLED].control.pgn, srcs[pe.CONTROLLED].pgn
    assert type(twin.backbone) is type(trained.backbone) and twin.cfg == trained.cfg
    assert all(torch.equal(a, b) for a, b in zip(twin.state_dict().values(), again.state_dict().values()))
    assert not all(torch.equal(a, b) for a, b in zip(twin.state_dict().values(), trained.state_dict().values()))
    assert srcs[pe.CONTROLLED].plus_mse(20.0).control is srcs[pe.CONTROLLED].control


def test_paper_scale_training_reads_imagenet_from_data_root(tmp_path, tiny_features):
    from PIL import Image

    from repro.pgn.training import config, train

    with pytest.raises(FileNotFoundError, match="imagenet_train"):
        train(config("paper", data_root=str(tmp_path), steps=1), PerceptualLoss(tiny_features(), layers=None), progress=False)
    folder = tmp_path / "imagenet_train" / "n01440764"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    cfg = config("paper", data_root=str(tmp_path), steps=2, image_size=16, batch_size=3, width=4, ae_width=4, log_every=1)
    result = train(cfg, PerceptualLoss(tiny_features(), layers=None), progress=False)
    assert len(result["log"]["cosine"]) == 2
