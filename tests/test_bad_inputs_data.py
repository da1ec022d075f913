"""Bad input never passes silently (issue 13), part 2: data loaders, IDX files, patches,
filters, masks, sparse regression, ODE integrators, simulation, data parallelism, ops and
activations. Each case asserts the exception type and that the message names the user's
argument (for files: the file) and what was received."""

import gzip
import struct

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import activations as act, diffeq, filters, ops, simulation
from ngcx.data import (
    Create_Patches,
    DataLoader,
    PatchGenerator,
    generate_patch_set,
    generate_patchify_patch_set,
    load_idx,
    load_mnist,
    patch_with_overlap,
    patch_with_stride,
    save_idx,
    train_test_split,
)
from ngcx.feature_dictionaries import PolynomialLibrary
from ngcx.masks import MaskCollator
from ngcx.parallel import DataParallel
from ngcx.sparse_regression import Iterative_ElasticNet, Iterative_Lasso, Iterative_Ridge


pytestmark = pytest.mark.usefixtures("normal_use")


X10 = np.arange(40, dtype=np.float32).reshape(10, 4)
Y10 = np.arange(10)


# --------------------------------------------------------------------------- DataLoader


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            dict(design_matrices=[("x", X10), ("y", Y10[:9])], batch_size=2),
            ValueError,
            r"`design_matrices` differ in their number of rows: \{'x': 10, 'y': 9\}",
        ),
        (dict(design_matrices=[], batch_size=2), ValueError, r"`design_matrices` is empty"),
        (
            dict(design_matrices=[("x", X10[:0])], batch_size=2),
            ValueError,
            r"`design_matrices` hold no samples \(0 rows\)",
        ),
        (
            dict(design_matrices=[("x", X10)], batch_size=0),
            ValueError,
            r"`batch_size` must be a positive int, got 0",
        ),
        (
            dict(design_matrices=[("x", X10)], batch_size=-3),
            ValueError,
            r"`batch_size` must be a positive int, got -3",
        ),
        (
            dict(design_matrices=[("x", X10)], batch_size=2.5),
            TypeError,
            r"`batch_size` must be a positive int, got 2\.5",
        ),
        (
            dict(design_matrices=[("x", X10)], batch_size=True),
            TypeError,
            r"`batch_size` must be a positive int, got True",
        ),
        (
            dict(design_matrices=[("x", X10)], batch_size=2, key=5),
            TypeError,
            r"`key` must be a single JAX PRNG key .*got int",
        ),
        (
            dict(design_matrices=[("x", X10)], batch_size=2, key=jnp.zeros(3, jnp.uint32)),
            TypeError,
            r"`key` must be a single JAX PRNG key .*shape \(3,\)",
        ),
        (
            dict(design_matrices=[("x", [[1, 2], [3, 4]])], batch_size=1),
            TypeError,
            r"`design_matrices` entry 'x' must be a NumPy or JAX array, got list",
        ),
        (
            dict(design_matrices=[("x", np.float32(3.0))], batch_size=1),
            ValueError,
            r"`design_matrices` entry 'x' must have a leading sample axis",
        ),
        (
            dict(design_matrices=[X10], batch_size=1),
            TypeError,
            r"`design_matrices` must be a sequence of \(name, array\) pairs, got an entry of "
            r"type ndarray",
        ),
        (
            dict(design_matrices={"x": X10}, batch_size=1),
            TypeError,
            r"`design_matrices` must be a sequence of \(name, array\) pairs, got dict",
        ),
        (
            dict(design_matrices=[(1, X10)], batch_size=1),
            TypeError,
            r"`design_matrices` names must be str, got int 1",
        ),
        (
            dict(design_matrices=[("x", X10), ("x", X10)], batch_size=1),
            ValueError,
            r"`design_matrices` names must be unique",
        ),
    ],
)
def test_data_loader_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        DataLoader(**kwargs)


def test_data_loader_batch_larger_than_data_is_filled():
    """Regression: a batch more than twice the data came out short despite
    ``ensure_equal_batches`` (the fill took only one pass over the permutation)."""
    (batch,) = list(DataLoader([("x", X10)], 25, key=jax.random.key(3)))
    assert batch[0][1].shape == (25, 4)
    assert np.array_equal(np.unique(batch[0][1][:, 0]), X10[:, 0])


@pytest.mark.parametrize(
    ("images", "labels", "fraction", "exc", "match"),
    [
        (X10, Y10, 0.0, ValueError, r"`test_fraction` must lie in \(0, 1\), got 0\.0"),
        (X10, Y10, 1.0, ValueError, r"`test_fraction` must lie in \(0, 1\), got 1\.0"),
        (X10, Y10, float("nan"), ValueError, r"`test_fraction` must lie in \(0, 1\), got nan"),
        (X10, Y10, "0.2", TypeError, r"`test_fraction` must be a number"),
        (
            X10,
            Y10,
            0.01,
            ValueError,
            r"`test_fraction` 0\.01 of 10 samples leaves the test split empty",
        ),
        (
            X10,
            Y10,
            0.99,
            ValueError,
            r"`test_fraction` 0\.99 of 10 samples leaves the training split empty",
        ),
        (X10[:0], Y10[:0], 0.2, ValueError, r"`test_fraction` 0\.2 of 0 samples leaves"),
        (X10, Y10[:5], 0.2, ValueError, r"`images` and `labels` differ in length: 10 != 5"),
    ],
)
def test_train_test_split_bad_arguments(images, labels, fraction, exc, match):
    with pytest.raises(exc, match=match):
        train_test_split(images, labels, fraction)


# --------------------------------------------------------------------------- IDX files


def _idx(code: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(">" + "I" * len(dims), *dims) + payload


_GOOD = _idx(0x08, (3,), b"abc")
_LONG = _idx(0x08, (300,), np.random.default_rng(0).integers(0, 256, 300, np.uint8).tobytes())


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("short", b"\x00\x00", r"'[^']*short' is not an IDX file: 2 bytes, shorter than"),
        ("magic", b"\x01\x00" + _GOOD[2:], r"'[^']*magic' is not an IDX file \(bad magic number"),
        ("dtype", _idx(0x07, (3,), b"abc"), r"'[^']*dtype' has an unknown IDX type code 0x07"),
        ("header", _GOOD[:6], r"'[^']*header' is truncated inside its header"),
        (
            "payload_short",
            _idx(0x08, (5,), b"abc"),
            r"'[^']*payload_short' holds 3 data bytes, its header says 5",
        ),
        (
            "payload_long",
            _idx(0x08, (2,), b"abc"),
            r"'[^']*payload_long' holds 3 data bytes, its header says 2",
        ),
        (
            "dims",
            _idx(0x0C, (2, 2), bytes(8)),
            r"'[^']*dims' holds 8 data bytes, its header says 16 \(dimensions \(2, 2\)",
        ),
        (
            "trunc.gz",
            gzip.compress(_LONG, mtime=0)[:40],
            r"'[^']*trunc\.gz' is a corrupt or truncated gzip",
        ),
    ],
)
def test_load_idx_corrupt_files_name_the_file(tmp_path, name, content, match):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load_idx(tmp_path / name)


def test_load_idx_missing_file_names_path(tmp_path):
    with pytest.raises(ValueError, match=r"`path`: no IDX file at '[^']*nothing'"):
        load_idx(tmp_path / "nothing")


@pytest.mark.parametrize(
    ("name", "content"), [("plain.gz", _GOOD), ("zipped", gzip.compress(_GOOD, mtime=0))]
)
def test_load_idx_reads_gzipped_or_not_whatever_the_name(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    np.testing.assert_array_equal(load_idx(tmp_path / name), np.frombuffer(b"abc", np.uint8))


def test_load_mnist_missing_folder_names_files_and_sources(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"`folder`: '[^']*absent' is not a directory; it must hold "
        r"train-images-idx3-ubyte\[\.gz\] and train-labels-idx1-ubyte\[\.gz\] .*"
        r"yann\.lecun\.com.*fashion-mnist",
    ):
        load_mnist(tmp_path / "absent")


def test_load_mnist_missing_labels_file(tmp_path):
    save_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(
        ValueError, match=r"`folder`: no t10k-labels-idx1-ubyte\[\.gz\] in '[^']*'.*download"
    ):
        load_mnist(tmp_path, "test")


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (
            np.zeros((5, 2, 2), np.uint8),
            np.zeros(4, np.uint8),
            r"'[^']*train-images-idx3-ubyte' holds 5 images but '[^']*train-labels-idx1-ubyte' "
            r"holds 4 labels",
        ),
        (
            np.zeros((5, 4), np.uint8),
            np.zeros(5, np.uint8),
            r"'[^']*train-images-idx3-ubyte' must hold images of shape \(N, rows, cols\), got "
            r"shape \(5, 4\)",
        ),
        (
            np.zeros((5, 2, 2), np.uint8),
            np.zeros((5, 1), np.uint8),
            r"'[^']*train-labels-idx1-ubyte' must hold labels of shape \(N,\), got shape \(5, 1\)",
        ),
    ],
)
def test_load_mnist_inconsistent_files_name_them(tmp_path, images, labels, match):
    save_idx(tmp_path / "train-images-idx3-ubyte", images)
    save_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    with pytest.raises(ValueError, match=match):
        load_mnist(tmp_path)


def test_save_idx_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match=r"`array` dtype int64 has no IDX type code"):
        save_idx(tmp_path / "x", np.zeros(3, np.int64))


# --------------------------------------------------------------------------- patches

IMGS = np.ones((3, 16), np.float32)  # three 4x4 images


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: generate_patch_set(IMGS, (8, 8)),
            r"`patch_size` \(8, 8\) is larger than the images \(4, 4\)",
        ),
        (lambda: generate_patch_set(IMGS, (0, 2)), r"`patch_size` must be a pair of ints >= 1"),
        (lambda: generate_patch_set(IMGS, (-1, 2)), r"`patch_size` must be a pair of ints >= 1"),
        (lambda: generate_patch_set(IMGS, (2, 2, 2)), r"`patch_size` must be a pair of ints"),
        (
            lambda: generate_patch_set(IMGS, (2, 2), step_size=(0, 1)),
            r"`step_size` must be a pair of ints >= 1, got \(0, 1\)",
        ),
        (
            lambda: generate_patch_set(IMGS, (2, 2), max_patches=0),
            r"`max_patches` must be an int >= 1, got 0",
        ),
        (
            lambda: generate_patch_set(np.ones((3, 15)), (2, 2)),
            r"`x_batch` rows of length 15 are not square",
        ),
        (
            lambda: generate_patchify_patch_set(np.ones((1, 16)), (5, 5)),
            r"`patch_size` \(5, 5\) is larger than the image \(4, 4\)",
        ),
        (
            lambda: generate_patchify_patch_set(np.ones((1, 16)), (0, 2)),
            r"`patch_size` must be a pair of ints >= 1, got \(0, 2\)",
        ),
        (
            lambda: Create_Patches(np.ones((4, 4)), (5, 5), (0, 0)).create_patches(),
            r"`patch_shape` \(5, 5\) is larger than the image \(4, 4\)",
        ),
        (
            lambda: Create_Patches(np.ones((4, 4)), (0, 2), (0, 0)),
            r"`patch_shape` must be a pair of ints >= 1",
        ),
        (
            lambda: Create_Patches(np.ones((4, 4)), (2, 2), (2, 0)),
            r"`overlap_shape` \(2, 0\) must be >= 0 and below `patch_shape`",
        ),
        (
            lambda: Create_Patches(np.ones((4, 4)), (2, 2), (-1, 0)),
            r"`overlap_shape` must be a pair of ints >= 0, got \(-1, 0\)",
        ),
        (
            lambda: patch_with_stride(np.ones((4, 4)), (2, 2), (0, 1)),
            r"`stride` must be a pair of ints >= 1, got \(0, 1\)",
        ),
        (
            lambda: patch_with_stride(np.ones((4, 4)), (2.5, 2), (1, 1)),
            r"`patch` must be a pair of ints, got \(2\.5, 2\)",
        ),
        (
            lambda: patch_with_overlap(np.ones((4, 4)), (2, 2), (2, 0)),
            r"`overlap` \(2, 0\) must be below `patch` \(2, 2\)",
        ),
        (lambda: PatchGenerator(0, 2), r"`patch_height` must be an int >= 1, got 0"),
        (lambda: PatchGenerator(2, 2.5), r"`patch_width` must be an int >= 1, got 2\.5"),
        (
            lambda: PatchGenerator(2, 2, horizontal_stride=2),
            r"`horizontal_stride` .* must lie in \[0, 2\) .*got 2",
        ),
        (
            lambda: PatchGenerator(2, 2, vertical_stride=-1),
            r"`vertical_stride` .* must lie in \[0, 2\) .*got -1",
        ),
        (
            lambda: PatchGenerator(5, 5)(np.ones((4, 4))),
            r"`img` of shape \(4, 4\) is smaller than the patch \(5, 5\)",
        ),
    ],
)
def test_patches_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- filters

IM4 = np.ones((1, 1, 8, 8), np.float32)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: filters.gaussian_filter(IM4, 0.0, 1.0, 1), r"`sigma_center` must be > 0, got 0"),
        (
            lambda: filters.gaussian_filter(IM4, 1.0, -1.0, 1),
            r"`sigma_surround` must be > 0, got -1",
        ),
        (
            lambda: filters.gaussian_filter(IM4, 1.0, 2.0, -1),
            r"`kernel_size` \(the radius\) must be an int >= 0, got -1",
        ),
        (
            lambda: filters.gaussian_filter(IM4, 1.0, 2.0, 1.5),
            r"`kernel_size` \(the radius\) must be an int >= 0, got 1\.5",
        ),
        (
            lambda: filters.gaussian_filter(IM4[0], 1.0, 2.0, 1),
            r"`images` must be \(B, C, H, W\), got shape \(1, 8, 8\)",
        ),
        (
            lambda: filters.gaussian_filter(IM4, 1.0, 2.0, 1, edge_pad_mode="bogus"),
            r"`edge_pad_mode` must be one of .*got 'bogus'",
        ),
        (
            lambda: filters.cortical_gaussian_filter(IM4, 1.0, 2.0, 1, True, semi_sat_constant=0.0),
            r"`semi_sat_constant` must be > 0, got 0",
        ),
        (
            lambda: filters.cortical_gaussian_filter(IM4, 1.0, 2.0, 1, True, inhibition_exp=-1.0),
            r"`inhibition_exp` must be > 0, got -1",
        ),
    ],
)
def test_filters_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- masks

CFG = [dict(spatial_scale=(0.2, 0.5), aspect_ratio=(0.5, 2.0), num_blocks=2)]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: MaskCollator(CFG, (8, 8), (0, 4)),
            r"`patch_size` must be an int >= 1 or a pair .*got \(0, 4\)",
        ),
        (lambda: MaskCollator(CFG, (8, 8), (16, 16)), r"`crop_size` \(8, 8\) is smaller"),
        (lambda: MaskCollator(CFG, (8, 8), (8, 8)), r"`crop_size` \(8, 8\) holds a single patch"),
        (lambda: MaskCollator([], (8, 8), (2, 2)), r"`cfgs_mask` must be a non-empty list"),
        (
            lambda: MaskCollator([dict(spatial_scal=(0.1, 0.2))], (8, 8), (2, 2)),
            r"`cfgs_mask`: unknown key\(s\) \['spatial_scal'\]",
        ),
        (
            lambda: MaskCollator([dict(spatial_scale=0.5)], (8, 8), (2, 2)),
            r"`spatial_scale` must be a \(min, max\)",
        ),
        (
            lambda: MaskCollator([dict(spatial_scale=(0.5, 1.2))], (8, 8), (2, 2)),
            r"`spatial_scale` must satisfy 0 < min <= max <= 1, got \(0\.5, 1\.2\)",
        ),
        (
            lambda: MaskCollator([dict(max_keep=0)], (8, 8), (2, 2)),
            r"`max_keep` must be None or a positive int, got 0",
        ),
        (
            lambda: MaskCollator(CFG, (8, 8), (2, 2))(0),
            r"`batch` must hold at least one sample, got size 0",
        ),
    ],
)
def test_mask_collator_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_mask_collator_full_grid_block_terminates():
    """Regression: a block as large as the grid (``spatial_scale`` (1, 1)) looped
    forever resampling; now the block is shrunk by one patch and a context remains."""
    collator = MaskCollator([dict(spatial_scale=(1.0, 1.0), aspect_ratio=(1.0, 1.0))], 8, 2)
    (enc,), (pred,) = collator(3)
    assert enc.shape[0] == 3 and enc.shape[1] >= 1 and pred.shape[1] >= 1


# --------------------------------------------------------------------------- regression


@pytest.mark.parametrize("cls", [Iterative_Lasso, Iterative_Ridge, Iterative_ElasticNet])
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(lr=0.0), r"`lr` must be > 0, got 0"),
        (dict(lr=-1.0), r"`lr` must be > 0, got -1"),
        (dict(epochs=0), r"`epochs` must be a positive int, got 0"),
        (dict(optim_type="rmsprop"), r"`optim_type` must be one of .*got 'rmsprop'"),
    ],
)
def test_iterative_regression_bad_settings(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(None, "m", 2, 3, 5, **kwargs)


@pytest.mark.parametrize(
    ("y_shape", "X_shape", "match"),
    [
        ((4, 2), (5, 3), r"`y` must have shape \(5, 2\) to match `X`, got \(4, 2\)"),
        ((5, 2), (5, 4), r"`X` must have shape \(N, 3\), got \(5, 4\)"),
        ((6, 2), (6, 3), r"`batch_size` is 5 but `X` has 6 rows"),
    ],
)
def test_iterative_regression_bad_data(y_shape, X_shape, match):
    model = Iterative_Lasso(None, "m", 2, 3, 5, epochs=1)
    with pytest.raises(ValueError, match=match):
        model.fit(np.ones(y_shape, np.float32), np.ones(X_shape, np.float32))


def test_regression_thresholding_scale_and_library():
    model = Iterative_Ridge(None, "m", 2, 3, 5)
    with pytest.raises(ValueError, match=r"`scale` must be finite, got nan"):
        model.thresholding(scale=float("nan"))
    with pytest.raises(ValueError, match=r"`poly_order` must be a non-negative int, got -1"):
        PolynomialLibrary(-1)
    with pytest.raises(ValueError, match=r"the variables in `X` differ in length: \[3, 4\]"):
        PolynomialLibrary(2).fit([np.ones(3), np.ones(4)])
    with pytest.raises(ValueError, match=r"the variables in `X` hold no samples"):
        PolynomialLibrary(2).fit([np.ones(0)])


# --------------------------------------------------------------------------- diffeq


def _decay(t, x, params):
    return -x


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: diffeq.solve_ode("euler", 0.0, jnp.ones(2), 5, _decay, 0.0),
            r"`dt` must be finite and > 0, got 0\.0",
        ),
        (
            lambda: diffeq.solve_ode("rk4", 0.0, jnp.ones(2), 5, _decay, -0.1),
            r"`dt` must be finite and > 0, got -0\.1",
        ),
        (
            lambda: diffeq.solve_ode("heun", 0.0, jnp.ones(2), 5, _decay, float("nan")),
            r"`dt` must be finite and > 0, got nan",
        ),
        (
            lambda: diffeq.solve_ode("euler", 0.0, jnp.ones(2), 0, _decay, 0.1),
            r"`T` must be a positive int \(number of steps\), got 0",
        ),
        (
            lambda: diffeq.solve_ode("euler", 0.0, jnp.ones(2), -3, _decay, 0.1),
            r"`T` must be a positive int \(number of steps\), got -3",
        ),
        (
            lambda: diffeq.solve_ode("rk5", 0.0, jnp.ones(2), 3, _decay, 0.1),
            r"`method_name`: unknown integrator 'rk5'",
        ),
        (
            lambda: diffeq.solve_ode("euler", 0.0, jnp.ones(2), 3, _decay, 0.1, x_scale=np.inf),
            r"`x_scale` must be finite, got inf",
        ),
        (lambda: diffeq.get_integrator("bogus"), r"`integration_type`: unknown integrator 'bogus'"),
        (
            lambda: diffeq.step_rk2(0.0, jnp.ones(2), _decay, -1.0),
            r"`dt` must be finite and > 0, got -1\.0",
        ),
        (
            lambda: diffeq.leapfrog(0.0, jnp.ones(2), jnp.ones(2), _decay, 3, 0.0),
            r"`step_size` must be finite and > 0, got 0\.0",
        ),
        (
            lambda: diffeq.leapfrog(0.0, jnp.ones(2), jnp.ones(3), _decay, 3, 0.1),
            r"`q_curr` and `p_curr` must have the same structure and shapes",
        ),
        (
            lambda: diffeq.leapfrog(0.0, jnp.ones(2), jnp.ones(2), _decay, -1, 0.1),
            r"`L` must be a non-negative int",
        ),
    ],
)
def test_diffeq_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_diffeq_traced_dt_is_not_checked_eagerly():
    """A JAX-array ``dt`` (e.g. under ``jit``) is left to checked mode: no host sync."""
    t, x = jax.jit(lambda dt: diffeq.step_euler(0.0, jnp.ones(2), _decay, dt))(0.5)
    np.testing.assert_allclose(x, 0.5)


# --------------------------------------------------------------------------- simulation


def _inc(s, *x):
    return s + 1


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: simulation.simulate(_inc, jnp.zeros(2), -1),
            r"`n_steps` must be a non-negative int, got -1",
        ),
        (
            lambda: simulation.simulate(_inc, jnp.zeros(2), 2.5),
            r"`n_steps` must be a non-negative int, got 2\.5",
        ),
        (
            lambda: simulation.simulate(_inc, jnp.zeros(2), "3"),
            r"`n_steps` must be a non-negative int, got '3'",
        ),
        (lambda: simulation.simulate(_inc, jnp.zeros(2)), r"`n_steps` must be a non-negative int"),
        (
            lambda: simulation.simulate(_inc, jnp.zeros(2), 4, inputs=jnp.ones((3, 2))),
            r"`n_steps`=4 but the leading \(time\) axis of `inputs` has 3 steps",
        ),
        (
            lambda: simulation.simulate(
                _inc, jnp.zeros(2), inputs=(jnp.ones((3,)), jnp.ones((4,)))
            ),
            r"`inputs` leaves disagree on their time axis: \[3, 4\]",
        ),
        (
            lambda: simulation.simulate(_inc, jnp.zeros(2), inputs=jnp.float32(1.0)),
            r"every leaf of `inputs` must be an array with a leading time axis",
        ),
        (
            lambda: simulation.simulate(_inc, jnp.zeros(2), inputs=[1, 2]),
            r"every leaf of `inputs` must be an array .*got int",
        ),
        (
            lambda: simulation.simulate_chunked(_inc, jnp.zeros(2), 2.5),
            r"`n_steps` must be a non-negative int, got 2\.5",
        ),
        (
            lambda: simulation.simulate_chunked(_inc, jnp.zeros(2), 5, 0),
            r"`chunk_size` must be a positive int, got 0",
        ),
    ],
)
def test_simulation_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- parallel


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(devices=0), r"`devices` must lie in \[1, \d+\] \(the local devices\), got 0"),
        (dict(devices=10_000), r"`devices` must lie in \[1, \d+\] .*got 10000"),
        (dict(devices=True), r"`devices` must be an int, devices or None, got True"),
        (dict(devices=[]), r"`devices` is empty"),
        (dict(devices="cpu"), r"`devices` must be an int, a sequence of jax devices or None"),
        (dict(devices=["cpu:0"]), r"`devices` must hold jax devices, got 'cpu:0'"),
        (dict(axis_name=""), r"`axis_name` must be a non-empty str"),
    ],
)
def test_data_parallel_bad_devices(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataParallel(**kwargs)


def test_data_parallel_repeated_device_and_bad_batch(monkeypatch):
    d = jax.local_devices()[0]
    with pytest.raises(ValueError, match=r"`devices` must not repeat a device"):
        DataParallel([d, d])
    dp = DataParallel(1)
    with pytest.raises(ValueError, match=r"`arrays\[0\]` of shard_batch must have a leading"):
        dp.shard_batch(jnp.float32(1.0))
    with pytest.raises(ValueError, match=r"`batch_argnums` \(3,\) refers to argument 3"):
        dp.per_shard(lambda a: a, batch_argnums=(3,))(jnp.ones(2))
    # the divisibility message, as it reads on 4 devices (this machine may have one)
    monkeypatch.setattr(DataParallel, "n_devices", property(lambda self: 4))
    with pytest.raises(
        ValueError,
        match=r"`arrays\[1\]` of shard_batch has a batch of 10 samples \(shape \(10, 3\)\), "
        r"which does not divide over 4 devices",
    ):
        dp.shard_batch(np.ones((8, 3)), np.ones((10, 3)))


# --------------------------------------------------------------------------- ops, activations


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: ops.normalize_matrix(np.ones((2, 2)), -5.0),
            r"`wnorm` must be finite and > 0, got -5\.0",
        ),
        (lambda: ops.normalize_matrix(np.ones((2, 2)), float("nan")), r"`wnorm` must be finite"),
        (
            lambda: ops.normalize_matrix(np.ones((2, 2)), 1.0, scale=np.inf),
            r"`scale` must be finite, got inf",
        ),
        (
            lambda: ops.normalize_block_matrix(np.ones((4, 4)), (2, 2), norm_targ=-1.0),
            r"`norm_targ` must be finite and > 0, got -1\.0",
        ),
        (lambda: ops.binarize(np.ones(3), float("nan")), r"`threshold` must be finite, got nan"),
        (lambda: ops.clamp_min(np.ones(3), float("nan")), r"`min_val` must be finite, got nan"),
        (lambda: ops.clamp_max(np.ones(3), np.inf), r"`max_val` must be finite, got inf"),
        (
            lambda: act.clip(np.ones(2), 1.0, 0.0),
            r"`min_val` must be <= `max_val`, got 1\.0 > 0\.0",
        ),
        (lambda: act.clip(np.ones(2), float("nan"), 1.0), r"`min_val` must be finite, got nan"),
        (
            lambda: act.threshold_soft(np.ones(2), -1.0),
            r"`lmbda` must be finite and >= 0, got -1\.0",
        ),
        (lambda: act.threshold_cauchy(np.ones(2), -1.0), r"`lmbda` must be finite and >= 0"),
        (lambda: act.softmax(np.ones(2), float("nan")), r"`tau` must be finite and >= 0 .*got nan"),
        (lambda: act.softmax(np.ones(2), float("inf")), r"`tau` must be finite and >= 0 .*got inf"),
        (
            lambda: act.lkwta(np.ones((1, 4)), np.ones(4), 1, clipval=float("nan")),
            r"`clipval` must be finite, got nan",
        ),
        (lambda: act.lrelu(np.ones(2), float("nan")), r"`negative_slope` must be finite, got nan"),
        (lambda: act.swish(np.ones(2), np.inf), r"`beta` must be finite, got inf"),
        (lambda: act.threshold(np.ones(2), float("nan")), r"`thr` must be finite, got nan"),
        (lambda: act.elu(np.ones(2), float("nan")), r"`alpha` must be finite, got nan"),
        (lambda: act.sine(np.ones(2), np.inf), r"`omega_0` must be finite, got inf"),
    ],
)
def test_ops_and_activations_impossible_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_ops_and_activations_skip_checks_on_jax_arrays():
    """Checks read only host numbers: a traced (or device) parameter passes without a
    host sync, and valid values give the same results as before."""
    out = jax.jit(lambda lo, hi: act.clip(jnp.arange(4.0), lo, hi))(1.0, 2.0)
    np.testing.assert_array_equal(out, [1.0, 1.0, 2.0, 2.0])
    np.testing.assert_allclose(ops.normalize_matrix(np.ones((2, 2)), 2.0), np.ones((2, 2)))
