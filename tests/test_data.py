import gzip
import re

import numpy as np
import pytest
import torch
from PIL import Image

from repro import data
from repro.data import folders, masks


def test_photo_bank_manifest_is_complete():
    table = data.manifest()
    assert len(table) >= 30
    assert table.id.is_unique and table.sha256.is_unique
    assert table.sha256.str.fullmatch(r"[0-9a-f]{64}").all()
    assert table.licence.str.len().ge(3).all() and table.package.str.len().gt(0).all()
    assert set(table.split) == {"train", "test"}
    assert {"monarch", "barbara"} <= set(table[table.split == "test"].id)  # the Set14 images


def test_every_photo_decodes_to_a_real_rgb_image():
    for photo_id in data.photo_ids("all"):
        img = data.load_photo(photo_id)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= 128, photo_id
        assert img.std() > 10, photo_id  # not blank


def test_photos_and_crops_are_deterministic():
    a = data.photos("test", size=32)
    assert a.shape == (8, 3, 32, 32) and a.dtype == torch.float32 and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, data.photos("test", size=32))
    c1, c2 = data.random_crops(6, 48, seed=5), data.random_crops(6, 48, seed=5)
    assert torch.equal(c1, c2) and not torch.equal(c1, data.random_crops(6, 48, seed=6))


def test_bad_photo_requests_fail_clearly():
    with pytest.raises(ValueError, match="unknown split"):
        data.photos("val")
    with pytest.raises(ValueError, match="size"):
        data.photos("train", size=4)
    with pytest.raises(ValueError, match="unknown photo"):
        data.load_photo("lena")


def test_missing_data_names_the_fetch_command(empty_cache):
    data.load_photo.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="make fetch"):
            data.load_photo("coffee")
    finally:
        data.load_photo.cache_clear()


def test_mnist_fixed_stratified_split():
    x_train, y_train = data.mnist("train")
    x_test, y_test = data.mnist("test")
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert y_train.bincount().tolist() == [400] * 10 and y_test.bincount().tolist() == [100] * 10
    assert 0 <= x_train.min() and x_train.max() <= 1 and x_train.mean() > 0.05
    flat_train = {tuple(r) for r in (x_train.view(4000, -1) * 255).round().to(torch.uint8).tolist()}
    assert not any(tuple(r) in flat_train for r in (x_test.view(1000, -1) * 255).round().to(torch.uint8).tolist()[:100])


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_mnist_reads_idx_files_from_data_root(tmp_path):
    (tmp_path / "mnist").mkdir()
    images = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28))
    _write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.arange(7))
    x, y = data.mnist("test", data_root=tmp_path)
    assert torch.equal(y, torch.arange(7)) and torch.allclose(x[:, 0] * 255, torch.tensor(images, dtype=torch.float32))
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.mnist("train", data_root=tmp_path)


@pytest.mark.parametrize("size", [32, 64, 256])
def test_masks_land_in_their_bin_and_are_deterministic(size):
    for b, (lo, hi) in enumerate(masks.HOLE_RATIO_BINS):
        for seed in range(4):
            mask = masks.irregular_mask(size, b, seed)
            assert lo < masks.hole_ratio(mask) <= hi, (size, b, seed)
            assert np.array_equal(mask, masks.irregular_mask(size, b, seed))
    assert not np.array_equal(masks.irregular_mask(64, 2, 0), masks.irregular_mask(64, 2, 1))


def test_mask_set_uses_the_papers_bin_labels():
    ms = data.mask_set(2, 32, seed=0)
    assert list(ms) == ["(0.01,0.1]", "(0.1,0.2]", "(0.2,0.3]", "(0.3,0.4]", "(0.4,0.5]", "(0.5,0.6]"]
    assert all(m.shape == (2, 1, 32, 32) and set(m.unique().tolist()) <= {0.0, 1.0} for m in ms.values())
    with pytest.raises(ValueError, match="bin_index"):
        masks.irregular_mask(32, 6)


def test_data_root_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="needs data_root"):
        folders.dataset_path(None, "celeba", "train")
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "celeba" / "test"))):
        folders.dataset_path(tmp_path, "celeba", "test")
    (tmp_path / "places2" / "train").mkdir(parents=True)
    (tmp_path / "places2" / "train" / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match="holds no images"):
        folders.ImageFolder(folders.dataset_path(tmp_path, "places2", "train"), 32)
    with pytest.raises(ValueError, match="unknown dataset"):
        folders.dataset_path(tmp_path, "imagenet")


def test_image_folder_reads_images_and_rejects_corrupt_ones(tmp_path):
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((50, 50), 10, np.uint8)).save(tmp_path / "b.jpg")
    batch = folders.ImageFolder(tmp_path, 16).load_all()
    assert batch.shape == (2, 3, 16, 16) and abs(batch[0].mean().item() - 200 / 255) < 1e-6
    (tmp_path / "c.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="cannot decode image .*c.png"):
        folders.ImageFolder(tmp_path, 16).load_all()


def test_mask_folder_follows_the_hole_convention(tmp_path):
    m = np.zeros((32, 32), np.uint8)
    m[:8] = 255
    Image.fromarray(m).save(tmp_path / "m.png")
    assert folders.mask_folder(tmp_path, 32)[0].mean().item() == pytest.approx(0.25)
    assert folders.mask_folder(tmp_path, 32, hole_is_white=False)[0].mean().item() == pytest.approx(0.75)


@pytest.mark.parametrize("task", ["labels2photo", "photo2map"])
def test_paired_tasks_are_deterministic_renderings(task):
    from repro.data.paired import paired_set

    x, y = paired_set(task, 3, 32, "test", seed=0)
    x2, y2 = paired_set(task, 3, 32, "test", seed=0)
    assert x.shape == y.shape == (3, 3, 32, 32) and torch.equal(x, x2) and torch.equal(y, y2)
    rendered = x if task == "labels2photo" else y
    # a rendering is flat: few distinct colours, unlike the photo it comes from
    assert len(torch.unique(rendered[0].reshape(3, -1), dim=1).T) <= 13
    with pytest.raises(ValueError, match="unknown task"):
        paired_set("horse2zebra", 1, 32, "test", 0)
