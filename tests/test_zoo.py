import pytest
import torch

import repro.pgn  # noqa: F401  (the paper packages register their zoo entries: the whole zoo is tested)
from repro.zoo import create_model, list_models, list_pretrained, pretrained_model


@pytest.mark.parametrize("name", list_models())
def test_every_model_builds_and_runs_forward(name):
    model = create_model(name)
    x = torch.rand(2, *getattr(model, "input_shape", (3, 64, 64)))
    inputs = model.example_inputs(2) if hasattr(model, "example_inputs") else (x, x) if name.startswith("lpips") else (x,)
    with torch.no_grad():
        out = model(*inputs)
    if hasattr(out, "image"):  # inpainting generators: the image and the predicted structure maps
        out = [out.image, *out.structures]
    outs = out if isinstance(out, (list, tuple)) else [out]
    assert all(torch.isfinite(o).all() and o.shape[0] == 2 for o in outs)


def test_registry_lookup():
    assert list_models("lpips_*") == ["lpips_alex", "lpips_vgg"]
    with pytest.raises(ValueError, match="unknown model 'vgg19'.*registered"):
        create_model("vgg19")


def test_the_registry_knows_which_models_have_weights():
    assert list_pretrained() == ["alexnet_features", "fid_inception", "lpips_alex", "lpips_vgg", "pgn_resnet4", "pgn_resnet6",
                                 "pgn_resnet8", "pgn_unet", "vgg16_features"]
    for name in sorted(set(list_models()) - set(list_pretrained())):
        with pytest.raises(ValueError, match=f"{name} has no pretrained weights.*pretrained=False.*vgg16_features"):
            create_model(name, pretrained=True)


def test_a_frozen_network_is_built_once_per_floating_type_and_shared():
    # (that building it leaves the caller's RNG alone: test_pretrained.py, first use of a metric)
    first = pretrained_model("lpips_alex")
    assert pretrained_model("lpips_alex") is first and not first.training
    assert all(not p.requires_grad for p in first.parameters())
    with torch.random.fork_rng(devices=[]):
        torch.set_default_dtype(torch.float64)
        try:
            assert pretrained_model("lpips_alex") is not first  # one copy per floating type
        finally:
            torch.set_default_dtype(torch.float32)


def test_vgg_layer_names():
    vgg = create_model("vgg16_features")
    x = torch.rand(1, 3, 32, 32)
    relu11, pool3 = vgg(x, ["relu1_1", "pool3"])
    assert relu11.shape == (1, 64, 32, 32) and pool3.shape == (1, 256, 4, 4)
    with pytest.raises(ValueError, match="unknown VGG-16 layer"):
        vgg(x, "relu6_1")


def test_unet_generator_keeps_the_size_and_checks_it():
    g = create_model("pix2pix_unet", ngf=8, depth=4)
    assert g(torch.rand(2, 3, 32, 32) * 2 - 1).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="divisible by 16"):
        g(torch.rand(1, 3, 24, 24))


def test_the_pgn_entries_come_from_the_pgn_package():
    assert list_models("pgn_*") == ["pgn_resnet4", "pgn_resnet6", "pgn_resnet8", "pgn_unet"]
    assert create_model("pgn_resnet4", width=4).__class__.__module__ == "repro.pgn.pgn"
