import gzip

import jax
import numpy as np
import pytest
from jaxtyping import TypeCheckError

from ngcx.data import (
    Create_Patches,
    DataLoader,
    PatchGenerator,
    generate_pacthify_patch_set,
    generate_patch_set,
    generate_patchify_patch_set,
    load_digits,
    load_idx,
    load_mnist,
    save_idx,
    train_test_split,
)


def test_digits_and_split():
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) == set(range(10))
    raw, _ = load_digits(normalize=False)
    assert raw.max() == 16
    xtr, ytr, xte, yte = train_test_split(x, y, 0.2, seed=1)
    assert len(xte) == 359 and len(xtr) + len(xte) == 1797
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(x, y, 1.5)


def test_data_loader_equal_and_ragged_batches():
    X = np.arange(10 * 2).reshape(10, 2)
    Y = np.arange(10)
    loader = DataLoader([("x", X), ("y", Y)], batch_size=4, key=jax.random.key(1))
    batches = list(loader)
    assert len(batches) == len(loader) == 3
    assert all(b[0][1].shape == (4, 2) for b in batches)
    seen = np.concatenate([b[1][1] for b in batches])
    assert set(seen[:10]) == set(range(10))  # the first 10 drawn rows are a permutation
    np.testing.assert_array_equal(seen[10:], seen[:2])  # the short batch re-uses earlier samples
    for (_, xb), (_, yb) in batches:
        np.testing.assert_array_equal(xb[:, 0] // 2, yb)
    ragged = list(DataLoader([("x", X)], 4, disable_shuffle=True, ensure_equal_batches=False))
    np.testing.assert_array_equal(ragged[-1][0][1], X[8:])
    again = [b[1][1] for b in DataLoader([("x", X), ("y", Y)], 4, key=jax.random.key(1))]
    np.testing.assert_array_equal(np.concatenate(again), seen)
    with pytest.raises(ValueError, match="rows"):
        DataLoader([("x", X), ("y", Y[:5])], 4)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader([("x", X)], 0)


def test_idx_round_trip_and_mnist_reader(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (7, 4, 3), dtype=np.uint8)
    labels = np.arange(7, dtype=np.uint8)
    save_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    save_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    np.testing.assert_array_equal(load_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    x, y = load_mnist(tmp_path, "train")
    assert x.shape == (7, 12) and x.dtype == np.float32
    np.testing.assert_allclose(x, images.reshape(7, 12) / 255.0)
    np.testing.assert_array_equal(y, labels)
    floats = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    save_idx(tmp_path / "f.idx", floats)
    np.testing.assert_array_equal(load_idx(tmp_path / "f.idx"), floats)
    raw = (tmp_path / "train-labels-idx1-ubyte").read_bytes()
    (tmp_path / "bad").write_bytes(raw[:-2])
    with pytest.raises(ValueError, match="header says"):
        load_idx(tmp_path / "bad")
    (tmp_path / "magic").write_bytes(b"\x01\x02" + raw[2:])
    with pytest.raises(ValueError, match="magic"):
        load_idx(tmp_path / "magic")
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08")
    with pytest.raises(ValueError):
        load_mnist(tmp_path, "test")
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, "valid")


def test_create_patches_grid_frame_and_centering():
    img = np.arange(36, dtype=np.float32).reshape(6, 6)
    p = Create_Patches(img, (2, 2), (0, 0)).create_patches(center=False)
    assert p.shape == (9, 2, 2)
    np.testing.assert_array_equal(p[1], img[0:2, 2:4])
    overlapping = Create_Patches(img, (3, 3), (1, 1)).create_patches(center=False)
    assert overlapping.shape == (4, 3, 3)  # positions 0 and 2 along each axis
    np.testing.assert_array_equal(overlapping[3], img[2:5, 2:5])
    framed = Create_Patches(img, (2, 2), (0, 0)).create_patches(add_frame=True, center=False)
    assert framed.shape == (25, 2, 2)
    centred = Create_Patches(img, (2, 2), (0, 0)).create_patches(center=True)
    np.testing.assert_allclose(
        np.asarray(centred).reshape(3, 3, 2, 2).transpose(0, 2, 1, 3).reshape(6, 6).mean(0),
        0,
        atol=1e-5,
    )
    with pytest.raises(ValueError, match="overlap"):
        Create_Patches(img, (2, 2), (2, 0))


def test_random_and_patchify_patch_sets():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 64)).astype(np.float32)
    patches, mu = generate_patch_set(x, (4, 4), max_patches=5, vis_mode=True)
    assert patches.shape == (15, 16) and mu.shape == (15, 1)
    np.testing.assert_allclose(np.asarray(patches).mean(1), 0, atol=1e-6)
    # every patch is a real window of its image
    raw = np.asarray(generate_patch_set(x, (4, 4), max_patches=5, center=False, seed=3)).reshape(
        3, 5, 4, 4
    )
    imgs = x.reshape(3, 8, 8)
    for i in range(3):
        windows = {imgs[i, r : r + 4, c : c + 4].tobytes() for r in range(5) for c in range(5)}
        assert all(raw[i, k].tobytes() in windows for k in range(5))
    stepped = np.asarray(generate_patch_set(x, (4, 4), 20, center=False, step_size=(4, 4))).reshape(
        3, 20, 4, 4
    )
    corners = {imgs[0, r : r + 4, c : c + 4].tobytes() for r in (0, 4) for c in (0, 4)}
    assert all(stepped[0, k].tobytes() in corners for k in range(20))
    single = np.arange(36, dtype=np.float32).reshape(1, 36)
    pf = generate_patchify_patch_set(single, (3, 3), center=False)
    assert pf.shape == (4, 9)
    np.testing.assert_array_equal(pf[1], single.reshape(6, 6)[0:3, 3:6].ravel())
    assert generate_pacthify_patch_set is generate_patchify_patch_set
    with pytest.raises(ValueError, match="square"):
        generate_patch_set(np.ones((2, 10)), (2, 2))


def test_patch_generator_alignments():
    img = np.arange(10 * 7).reshape(10, 7)
    gen = PatchGenerator(4, 3)
    patches = gen(img)
    assert patches.shape == (4, 4, 3)  # rows 0, 4 ; cols 0, 3
    np.testing.assert_array_equal(patches[3], img[4:8, 3:6])
    assert PatchGenerator(4, 3, "right", "bottom").positions(10, 7) == [
        (2, 1),
        (2, 4),
        (6, 1),
        (6, 4),
    ]
    fit = PatchGenerator(4, 3, "fit", "fit").positions(10, 7)
    assert [r for r, _ in fit][0] == 1 and [c for _, c in fit][:2] == [0, 3]
    overl = PatchGenerator(4, 3, horizontal_stride=1).positions(4, 7)
    assert [c for _, c in overl] == [0, 2, 4]
    centre = PatchGenerator(2, 2, "center", "center").positions(8, 8)
    assert (4, 4) in centre and (2, 2) in centre
    with pytest.raises(ValueError, match="target"):
        list(PatchGenerator(2, 2))
    with pytest.raises((ValueError, TypeCheckError), match="horizontal_alignment"):
        PatchGenerator(2, 2, "middle")
