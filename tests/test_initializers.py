import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxtyping import TypeCheckError

from ngcx.initializers import DistributionGenerator as DG, initialize_params


def test_distributions_statistics(getkey):
    u = DG.uniform(-2.0, 2.0)(getkey(), (4000,))
    assert -2.0 <= float(u.min()) and float(u.max()) < 2.0 and abs(float(u.mean())) < 0.1
    g = DG.gaussian(1.0, 0.5)(getkey(), (4000,))
    assert abs(float(g.mean()) - 1.0) < 0.05 and abs(float(g.std()) - 0.5) < 0.05
    lg = DG.log_gaussian(0.1)(getkey(), (4000,))
    assert float(lg.min()) > 0 and abs(float(jnp.log(lg).std()) - 0.1) < 0.01
    f = DG.fan_in_gaussian()(getkey(), (400, 50))
    assert abs(float(f.std()) - 1 / 20) < 0.005
    fu = DG.fan_in_uniform()(getkey(), (100, 30))
    assert float(jnp.abs(fu).max()) <= 0.1
    np.testing.assert_array_equal(DG.constant(3.0)(getkey(), (2, 2)), 3.0 * np.ones((2, 2)))


def test_structure_options(getkey):
    ones = DG.constant(1.0, lower_triangle=True)(getkey(), (3, 3))
    np.testing.assert_array_equal(ones, np.tril(np.ones((3, 3))))
    np.testing.assert_array_equal(
        DG.constant(1.0, upper_triangle=True)(getkey(), (3, 3)), np.triu(np.ones((3, 3)))
    )
    np.testing.assert_array_equal(DG.constant(2.0, eye=True)(getkey(), (3, 3)), 2 * np.eye(3))
    clipped = DG.gaussian(0.0, 10.0, amin=-0.1, amax=0.2)(getkey(), (100,))
    assert float(clipped.min()) >= np.float32(-0.1) and float(clipped.max()) <= np.float32(0.2)
    assert initialize_params(getkey(), DG.constant(1.0), (2,), jnp.float16).dtype == jnp.float16


def test_bad_specs():
    with pytest.raises(ValueError, match="low"):
        DG.uniform(1.0, 0.0)
    with pytest.raises(ValueError, match="std"):
        DG.gaussian(0.0, 0.0)
    with pytest.raises(ValueError, match="options"):
        DG.constant(1.0, nonsense=True)
    with pytest.raises(ValueError, match="mutually"):
        DG.constant(1.0, lower_triangle=True, upper_triangle=True)
    with pytest.raises((ValueError, TypeCheckError), match="init_kernel"):
        initialize_params(jax.random.key(0), {"dist": "uniform"}, (2,))
    with pytest.raises(ValueError, match="shape"):
        DG.constant(1.0)(jax.random.key(0), (0, 2))


def test_masks_dtype_numpy_and_ngclearn_call_order(getkey):
    w = DG.constant(1.0, col_mask=2)(getkey(), (3, 5))
    assert int((np.asarray(w).sum(0) > 0).sum()) == 2
    w = DG.constant(1.0, row_mask=[0, 2])(getkey(), (4, 3))
    np.testing.assert_array_equal(np.asarray(w).sum(1), [3, 0, 3, 0])
    assert DG.uniform(dtype=jnp.float16)(getkey(), (2, 2)).dtype == jnp.float16
    arr = DG.gaussian(use_numpy=True)(getkey(), (2, 2))
    assert isinstance(arr, np.ndarray)
    key = getkey()
    np.testing.assert_array_equal(DG.uniform()((3, 2), key), DG.uniform()(key, (3, 2)))
    with pytest.raises(ValueError, match="2-D"):
        DG.constant(1.0, col_mask=1)(getkey(), (3,))
