"""Test configuration: strict promotion rules, a PRNG-key fixture, hypothesis profile."""

import os

import jax
import pytest
from hypothesis import settings


# the CLI's persistent compilation cache never writes to the user's cache from the tests
os.environ.setdefault("NGCX_COMPILE_CACHE", "0")

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

settings.register_profile("ngcx", max_examples=40, deadline=None, derandomize=True)
settings.load_profile("ngcx")


@pytest.fixture
def getkey():
    """Return a function that hands out fresh PRNG keys from a fixed seed."""
    key = jax.random.key(0)

    def _getkey():
        nonlocal key
        key, sub = jax.random.split(key)
        return sub

    return _getkey


@pytest.fixture
def normal_use():
    """Checks as users get them: without the test suite's jaxtyping hook (which would raise
    its own TypeCheckError before an entry point's own check). Modules of bad-input tests
    use it with ``pytestmark = pytest.mark.usefixtures("normal_use")``."""
    import jaxtyping

    before = jaxtyping.config.jaxtyping_disable
    jaxtyping.config.update("jaxtyping_disable", True)
    yield
    jaxtyping.config.update("jaxtyping_disable", before)
