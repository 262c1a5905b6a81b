import dataclasses

import pytest

from repro.config import ExperimentConfig, Scale, parse_scale
from repro.metrics.sanity import MetricSanityConfig, sanity_config


def test_parse_scale_accepts_the_three_scales():
    assert [parse_scale(s) for s in ("smoke", "CPU", " paper ")] == [Scale.SMOKE, Scale.CPU, Scale.PAPER]


def test_unknown_scale_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid scales are smoke, cpu, paper"):
        parse_scale("gpu")
    with pytest.raises(ValueError, match="valid scales"):
        sanity_config("huge")


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown parameter.*image_sise.*valid"):
        sanity_config("smoke", image_sise=64)


def test_bad_values_fail_at_construction():
    with pytest.raises(ValueError, match="seed"):
        MetricSanityConfig(seed=-1)
    with pytest.raises(ValueError, match="image_size must be a non-negative integer"):
        MetricSanityConfig(image_size=64.5)
    with pytest.raises(ValueError, match="noise_levels"):
        MetricSanityConfig(noise_levels=(0.2, 0.1))


def test_paper_scale_needs_an_existing_data_root(tmp_path):
    with pytest.raises(ValueError, match="data_root"):
        sanity_config("paper")
    with pytest.raises(ValueError, match="is not a folder"):
        sanity_config("paper", data_root=str(tmp_path / "missing"))
    assert sanity_config("paper", data_root=str(tmp_path)).scale is Scale.PAPER


def test_configs_are_frozen_and_keyed_by_their_fields():
    a, b = sanity_config("smoke"), sanity_config("smoke")
    assert a.key() == b.key() and a.key().startswith("smoke-seed0-")
    assert sanity_config("smoke", seed=1).key() != a.key()
    assert sanity_config("cpu").key() != a.key()
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.seed = 3  # type: ignore[misc]


def test_two_config_types_never_share_a_key():
    @dataclasses.dataclass(frozen=True)
    class Other(ExperimentConfig):
        NAME = "test.other"
        image_size: int = 64
        n_images: int = 8
        noise_levels: tuple = (0.0, 0.05, 0.2)

    assert Other(scale="smoke").key() != sanity_config("smoke").key()


def test_bumping_the_version_changes_the_key():
    @dataclasses.dataclass(frozen=True)
    class V1(ExperimentConfig):
        NAME = "test.versioned"

    @dataclasses.dataclass(frozen=True)
    class V2(ExperimentConfig):
        NAME = "test.versioned"
        VERSION = 2

    assert V1(scale="smoke").key() != V2(scale="smoke").key()


def test_the_key_follows_the_stable_name_not_the_module():
    """Moving a config to another module (or renaming its class) keeps its stored results."""
    def declare(module: str, qualname: str):
        @dataclasses.dataclass(frozen=True)
        class Moved(ExperimentConfig):
            NAME = "test.moved"
            steps: int = 3

        Moved.__module__, Moved.__qualname__ = module, qualname
        return Moved

    a, b = declare("repro.experiments.old_place", "Old"), declare("repro.awa.new_place", "New")
    assert a(scale="smoke").key() == b(scale="smoke").key()


def test_every_config_declares_a_name_and_they_are_unique():
    with pytest.raises(TypeError, match="must declare NAME"):
        @dataclasses.dataclass(frozen=True)
        class Nameless(ExperimentConfig):
            pass
    names = [c.NAME for c in _all_config_types()]
    assert len(names) == len(set(names)) >= 12


def test_presets_live_on_the_class_and_at_least_one_is_checked():
    from repro.mtadam.experiments import mnist as mtadam_mnist

    cfg = mtadam_mnist.MnistConfig.create("smoke")
    assert cfg.repeats == mtadam_mnist.MnistConfig.PRESETS[Scale.SMOKE]["repeats"] and cfg == mtadam_mnist.config("smoke")
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        mtadam_mnist.MnistConfig.create("smoke", epochs=0)


# ---- impossible values and None are errors, never silent fall-backs ---------------------------
import math
import sys


def _all_config_types() -> list[type]:
    from repro.cli import experiment_modules

    experiment_modules()
    # The package's own: defined at the top of a module of repro (not the tests' throw-away
    # classes, some of which pose as moved repro modules and may outlive their test until collected).
    return [c for c in ExperimentConfig.subclasses()
            if getattr(sys.modules.get(c.__module__), c.__qualname__, None) is c and c.__module__.startswith("repro.")]


def _learning_rates(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name == "lr" or f.name.endswith("_lr")]


def test_every_config_type_has_its_learning_rates_checked():
    types = [c for c in _all_config_types() if _learning_rates(c)]
    assert len(types) >= 8  # AWA, pix2pix, CycleGAN, SRGAN, MNIST, DIP, inversion, heads, PGN training
    for cls in types:
        for name in _learning_rates(cls):
            for bad in (0.0, -1e-3, math.nan, math.inf, "1e-3", None):
                with pytest.raises(ValueError, match=name):
                    cls(**{name: bad})


def test_the_issue_probes_give_one_clear_error():
    from repro.mtadam.experiments import mnist as mtadam_mnist

    with pytest.raises(ValueError, match="noise_levels must be a non-empty tuple of numbers"):
        sanity_config("smoke", noise_levels="abc")
    with pytest.raises(ValueError, match="None is not a value for image_size; leave it out"):
        sanity_config("smoke", image_size=None)
    with pytest.raises(ValueError, match="adam_lr must be a finite number"):
        mtadam_mnist.config("smoke", adam_lr=float("nan"))
    with pytest.raises(ValueError, match="learning rate and must be positive"):
        mtadam_mnist.config("smoke", sgd_lr=-0.1)
    with pytest.raises(ValueError, match="sgd_momentum must lie in"):
        mtadam_mnist.config("smoke", sgd_momentum=1.5)
    with pytest.raises(ValueError, match="weight_low..weight_high must be a positive range"):
        mtadam_mnist.config("smoke", weight_low=10.0, weight_high=1.0)
    with pytest.raises(ValueError, match="data_root"):  # data_root=None stays a value: it is required at paper
        sanity_config("paper", data_root=None)


def test_zero_means_every_image_only_at_paper_scale(tmp_path):
    from repro.mtadam.experiments import cyclegan, pix2pix

    for module, args in ((pix2pix, ("labels2photo",)), (cyclegan, ("photo2falsecolour",))):
        with pytest.raises(ValueError, match=r"n_train must be >= 1 \(0 = all, at scale='paper'\), got 0"):
            module.config(*args, "smoke", n_train=0)
        assert module.config(*args, "paper", data_root=str(tmp_path), n_train=0).n_train == 0


def test_papermill_lists_become_tuples_with_the_same_key():
    assert sanity_config("smoke", noise_levels=[0.0, 0.1]) == sanity_config("smoke", noise_levels=(0.0, 0.1))
    assert sanity_config("smoke", noise_levels=[0.0, 0.1]).key() == sanity_config("smoke", noise_levels=(0.0, 0.1)).key()
