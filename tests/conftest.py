"""Test configuration: strict promotion rules, a PRNG-key fixture, hypothesis profile."""

import os


# XLA's CPU backend compiles with LLVM at -O1 in the tests instead of -O2: the suite's
# programs are small and mostly compiled once (every hypothesis example and eager op has
# its own shapes), so compile time dominates, and -O1 cuts the suite's time by ~15%
# (compile-bound modules by ~30%). The floating-point semantics are unchanged (no fast
# math at any level); an explicit setting in XLA_FLAGS wins. Set before JAX's backend
# starts, i.e. before any test runs.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    _flags = os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=1"
    os.environ["XLA_FLAGS"] = _flags.strip()

import jax  # noqa: E402
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
