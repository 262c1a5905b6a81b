"""The pretrained half of the zoo: genuine weights, pinned, offline, and behaving as they should."""
import lpips as lpips_pkg
import numpy as np
import pytest
import torch

from repro import assets
from repro.metrics import fid, inception_features, lpips
from repro.zoo import create_model


def test_converted_weights_match_their_pins():
    for name, spec in assets.CONVERTED.items():
        assert assets.state_dict_digest(assets.load_weights(name)) == spec.digest, name


@pytest.mark.parametrize("net", ["vgg", "alex"])
def test_lpips_heads_equal_the_lpips_wheels(net):
    wheel = torch.load(lpips_pkg.__file__.replace("__init__.py", f"weights/v0.1/{net}.pth"), map_location="cpu")
    ours = assets.load_weights(f"lpips_{net}_heads")
    assert wheel.keys() == ours.keys()
    for key in wheel:
        torch.testing.assert_close(ours[key], wheel[key], rtol=0, atol=0)


@pytest.mark.parametrize("net", ["vgg", "alex"])
def test_lpips_is_zero_on_identical_images_and_grows_with_noise(net, photos64, rng):
    assert torch.equal(lpips(photos64, photos64, net=net), torch.zeros(len(photos64)))
    noise = torch.randn(photos64.shape, generator=rng)
    values = [float(lpips((photos64 + s * noise).clamp(0, 1), photos64, net=net).mean()) for s in (0.02, 0.05, 0.1, 0.2)]
    assert values == sorted(values) and values[0] > 0


def test_lpips_distinguishes_structure_from_noise(photos64):
    """Genuine LPIPS ranks a shifted copy closer than an unrelated photo."""
    shifted = torch.roll(photos64, shifts=1, dims=-1)
    unrelated = torch.roll(photos64, shifts=1, dims=0)
    assert lpips(photos64, shifted).mean() < lpips(photos64, unrelated).mean()


def test_fid_is_zero_for_one_set_and_grows_with_noise(photos64, rng):
    assert fid(photos64, photos64) < 1e-6
    noise = torch.randn(photos64.shape, generator=rng)
    values = [fid((photos64 + s * noise).clamp(0, 1), photos64) for s in (0.05, 0.1, 0.3)]
    assert values == sorted(values) and values[0] > 1


def test_converted_inception_matches_the_torchscript_original(rng):
    scripted = torch.jit.load(str(assets.member_path(assets.WEIGHT_MEMBERS["default_1.pt"])), map_location="cpu").eval()
    model = create_model("fid_inception", pretrained=True)
    x = torch.rand(2, 3, 299, 299, generator=rng) * 2 - 1
    with torch.no_grad():
        ours, theirs = model.pool3(x), scripted(x).reshape(2, -1)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


def test_inception_features_are_2048_dimensional(photos64):
    assert inception_features(photos64[:3]).shape == (3, 2048)


def test_reference_features_are_computed_once_per_set_and_never_shared_between_sets(photos64, monkeypatch):
    import importlib

    fid_module = importlib.import_module("repro.metrics.fid")  # (repro.metrics.fid is also the function)

    calls = []
    monkeypatch.setattr(fid_module, "inception_features", lambda images: calls.append(len(images)) or inception_features(images))
    cache = fid_module.ReferenceFeatures(maxsize=2)
    first = cache(photos64[:3])
    np.testing.assert_array_equal(first, inception_features(photos64[:3]))
    assert cache(photos64[:3].clone()) is first and calls == [3]  # the same content is one set, whatever the tensor
    other = photos64[:3].clone()
    other[0, 0, 0, 0] += 1e-3
    assert cache(other) is not first and calls == [3, 3]  # one changed value is another set
    cache(photos64[:2]), cache(photos64[:3])
    assert calls == [3, 3, 2, 3]  # only the two most recent sets are kept
    fake = photos64[3:6]
    assert cache.fid(fake, photos64[:3]) == fid(fake, photos64[:3])


def test_vgg_filters_are_trained_not_random():
    """ImageNet conv1 filters are smooth: neighbouring taps correlate (random init: |r| ~ 0.03)."""
    w = create_model("vgg16_features", pretrained=True).features[0].weight
    a, b = w[..., :, :-1].flatten(), w[..., :, 1:].flatten()
    assert torch.corrcoef(torch.stack([a, b]))[0, 1] > 0.25
    r = create_model("vgg16_features").features[0].weight
    a, b = r[..., :, :-1].flatten(), r[..., :, 1:].flatten()
    assert abs(torch.corrcoef(torch.stack([a, b]))[0, 1]) < 0.12


def test_frozen_backbones_stay_in_eval_mode():
    for name in ("vgg16_features", "lpips_vgg", "fid_inception"):
        model = create_model(name).train()
        assert not model.training and not any(m.training for m in model.modules()), name
        assert not any(p.requires_grad for p in model.parameters()), name


def test_vgg_passes_gradients_to_its_input(photos64):
    x = photos64[:1].clone().requires_grad_(True)
    create_model("vgg16_features", pretrained=True, pool="avg")(x, "relu3_1").sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_missing_weights_name_the_fetch_command(empty_cache):
    with pytest.raises(assets.MissingAssetError, match="make fetch"):
        create_model("lpips_vgg", pretrained=True)


def test_corrupt_weights_are_refused(empty_cache):
    spec = assets.CONVERTED["lpips_alex_heads"]
    spec.local.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)}, spec.local)
    with pytest.raises(assets.ChecksumError, match="repro fetch"):
        assets.load_weights("lpips_alex_heads")


def test_lpips_equals_a_from_scratch_computation(photos64, rng):
    """LPIPS-VGG re-derived from its definition (Zhang et al. 2018, Eq. 1) with our VGG-16.

    d(x, y) = sum_l mean_hw || w_l * (f_l(x)/|f_l(x)| - f_l(y)/|f_l(y)|) ||^2 on inputs scaled by
    lpips' shift/scale, with f_l the relu{1_2, 2_2, 3_3, 4_3, 5_3} activations.
    """
    x = photos64[:4]
    y = (x + 0.1 * torch.randn(x.shape, generator=rng)).clamp(0, 1)
    vgg = create_model("vgg16_features", pretrained=True, normalize=False)
    heads = assets.load_weights("lpips_vgg_heads")
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    layers = ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"]
    with torch.no_grad():
        fx, fy = vgg(((2 * x - 1) - shift) / scale, layers), vgg(((2 * y - 1) - shift) / scale, layers)
        total = torch.zeros(len(x))
        for l, (a, b) in enumerate(zip(fx, fy)):
            a = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            b = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            w = heads[f"lin{l}.model.1.weight"].view(1, -1, 1, 1)
            total += ((a - b) ** 2 * w).sum(1).mean(dim=(1, 2))
    torch.testing.assert_close(lpips(x, y, net="vgg"), total, rtol=1e-4, atol=1e-6)


def test_first_use_of_a_metric_leaves_the_global_rng_alone(photos64):
    from repro.zoo import pretrained_model

    pretrained_model.cache_clear()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    lpips(photos64[:2], photos64[:2])
    inception_features(photos64[:2])
    assert torch.equal(torch.rand(3), expected)
