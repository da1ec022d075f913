"""ngc-museum's evstdp_patches exhibit: EventSTDPPatches and ``ngcx train evstdp-patches``.

The qualitative claim: event-driven STDP turns random filters into structured patch
filters. Proxy: :func:`filter_match`, the mean (over held-out digit patches) of the best
Pearson correlation between a patch and any filter. Competitive event STDP pulls each
winner's filter towards the patches it wins, so learned filters are patch prototypes and
match held-out patches far better than random filters, whose match is chance alignment;
centring removes the mean level every non-negative filter shares with every patch.
"""

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.models import EventSTDPPatches, filter_match
from ngcx.training._fit import fit
from ngcx.training._task import Run
from ngcx.training.evstdp_patches import EvSTDPPatchesConfig, EvSTDPPatchesTask, _cut_patches


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short run through ``fit`` (1 epoch of the digits, 9000 patches)."""
    out = tmp_path_factory.mktemp("evstdp")
    config = EvSTDPPatchesConfig(epochs=1, batch_size=16, out=str(out / "run"))
    return fit(EvSTDPPatchesTask(), config, progress=False)


def test_filters_become_structured(trained):
    final = trained.final
    # measured: 0.47 for the random initial filters, 0.71 after one epoch
    assert final["filter_match_init"] < 0.55
    assert final["filter_match"] > final["filter_match_init"] + 0.15
    assert final["used_filters"] > 0.3
    assert trained.history["spikes_per_patch"][0] > 10  # about one winner per step
    out = Path(trained.config.out)
    for name in ("filters.png", "filter_match.png", "metrics.json", "model.ckpt"):
        assert (out / name).is_file()


def test_evaluate_is_reproducible(trained, tmp_path):
    task = EvSTDPPatchesTask()
    config = trained.config
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), tmp_path)
    again = task.evaluate(run, trained.state, jax.random.key(3))
    assert again["filter_match"] == pytest.approx(trained.final["filter_match"], abs=1e-6)


def test_filter_match_by_hand():
    patches = jnp.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    # a filter equal to each non-blank patch: best correlation 1; the blank patch is left out
    assert float(filter_match(patches[:2], patches)) == pytest.approx(1.0, abs=1e-6)
    # one filter, the first patch: correlations 1 and corr([1,0,0,0],[0,0,1,1]) = -1/sqrt(3)
    expected = (1.0 - 1.0 / np.sqrt(3.0)) / 2
    assert float(filter_match(patches[:1], patches)) == pytest.approx(expected, abs=1e-6)


def test_step_learns_the_winners_patch(getkey):
    """One presentation: the rule raises the weights from spiking pixels and lowers the
    others on the cells that won, and nothing else changes; a blank patch changes nothing."""
    model = EventSTDPPatches((3, 3), 4, key=getkey(), T=20, eta=0.05)
    opt = model.init_optimizer()
    x = jnp.array([1.0, 1.0, 1.0, 0, 0, 0, 0, 0, 0])
    new, _, counts = jax.jit(EventSTDPPatches.train_sample)(model, opt, x, getkey())
    dW = new.W.weights - model.W.weights
    won = np.asarray(counts) > 0
    assert won.any()
    assert np.all(np.asarray(dW[:3][:, won]) > 0)
    assert np.all(np.asarray(dW[3:][:, won]) < 0)
    assert np.all(np.asarray(dW[:, ~won]) == 0)
    blank, _, c0 = EventSTDPPatches.train_sample(model, opt, jnp.zeros(9), getkey())
    assert bool(eqx.tree_equal(blank, model))
    assert float(c0.sum()) == 0.0


def test_cut_patches_are_windows(getkey):
    img = jnp.arange(64.0).reshape(1, 64)
    p = np.asarray(_cut_patches(img, (8, 8), (3, 3), 5, getkey())).reshape(5, 3, 3)
    full = np.arange(64.0).reshape(8, 8)
    for q in p:
        r, c = divmod(int(q[0, 0]), 8)
        np.testing.assert_array_equal(q, full[r : r + 3, c : c + 3])


@pytest.mark.usefixtures("normal_use")
def test_bad_settings():
    with pytest.raises(ValueError, match="patch"):
        EvSTDPPatchesConfig(patch=(5,))
    with pytest.raises(ValueError, match="eta"):
        EvSTDPPatchesConfig(eta=0.0)
    with pytest.raises(ValueError, match="patch"):
        EvSTDPPatchesTask().load_data(EvSTDPPatchesConfig(patch=(9, 9)))
    with pytest.raises(ValueError, match="patch_shape"):
        EventSTDPPatches((0, 3), 4, key=jax.random.key(0))
    with pytest.raises(ValueError, match="n_hid"):
        EventSTDPPatches((3, 3), 0, key=jax.random.key(0))
