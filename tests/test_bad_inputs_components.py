"""Bad input never passes silently (issue 13), components: construction-time validation and
shape errors of cells, synapses, convolutions, initialisers and optimisers. Each case
asserts the exception type and that the message names the user's argument and what was
received."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import conv, optim
from ngcx.cells import GaussianErrorCell, LaplacianErrorCell, RateCell
from ngcx.initializers import DistributionGenerator as DG, Initializer
from ngcx.learning import hebbian_optimizer
from ngcx.plasticity import HebbianSynapse, hebbian
from ngcx.synapses import (
    ConvSynapse,
    DeconvSynapse,
    ExponentialSynapse,
    HopfieldMap,
    MPSSynapse,
    PatchedSynapse,
    SOMMap,
    SparseTensorSynapse,
    STPDenseSynapse,
)


pytestmark = pytest.mark.usefixtures("normal_use")


K = jax.random.key(0)
NAN, INF = float("nan"), float("inf")


def _conv(shape=(3, 3, 1, 2), x_shape=None, **kw):
    return ConvSynapse(shape, x_shape, key=K, **kw)


def _deconv(shape=(3, 3, 1, 2), x_shape=None, **kw):
    return DeconvSynapse(shape, x_shape, key=K, **kw)


def _stp_step(x_shape=(2, 3), batch=(2,), dt=1.0):
    syn = STPDenseSynapse((3, 4), key=K)
    return syn.step(syn.init_state(batch), jnp.ones(x_shape), dt=dt)


def _exp_step(x_shape=(2, 3), v_shape=None, dt=1.0):
    syn = ExponentialSynapse((3, 4), 5.0, 1.0, None if v_shape is None else 0.0, key=K)
    v = None if v_shape is None else jnp.zeros(v_shape)
    return syn.step(syn.init_state((2,)), jnp.ones(x_shape), v, dt=dt)


def _rate_step(n_state=4, j_shape=(2, 4), j_td_shape=None):
    cell = RateCell(4, tau_m=10.0)
    state = RateCell(n_state).init_state((2,))
    j_td = None if j_td_shape is None else jnp.ones(j_td_shape)
    return cell(state, jnp.ones(j_shape), j_td, dt=1.0)


TRIL_UPPER = jnp.array([[1.0, 0.5], [0.0, 1.0]])
TRIL_NEG = jnp.array([[-1.0, 0.0], [0.3, 1.0]])
TRIL_ZERO = jnp.array([[1.0, 0.0], [0.3, 0.0]])
TRIL_NAN = jnp.array([[1.0, 0.0], [NAN, 1.0]])

# (id, thunk, exception, regex the message must match: the argument and what it received)
CASES = [
    # -- error cells -----------------------------------------------------------------
    ("tril-upper", lambda: GaussianErrorCell(2, scale_tril=TRIL_UPPER), ValueError,
     r"`scale_tril` must be lower-triangular .*\[0, 1\] = 0\.5"),
    ("tril-negative-diag", lambda: GaussianErrorCell(2, scale_tril=TRIL_NEG), ValueError,
     r"`scale_tril` must have a positive diagonal, got \[0, 0\] = -1"),
    ("tril-zero-diag", lambda: GaussianErrorCell(2, scale_tril=TRIL_ZERO), ValueError,
     r"`scale_tril` must have a positive diagonal, got \[1, 1\] = 0"),
    ("tril-nan", lambda: GaussianErrorCell(2, scale_tril=TRIL_NAN), ValueError,
     r"`scale_tril` must be finite, got \[1, 0\] = nan"),
    ("tril-shape", lambda: GaussianErrorCell(3, scale_tril=jnp.eye(2)), ValueError,
     r"`scale_tril` must have shape \(3, 3\), got \(2, 2\)"),
    ("laplace-per-unit-width",
     lambda: LaplacianErrorCell(3, scale=jnp.ones(3))(jnp.ones((2, 4)), jnp.ones((2, 4))),
     ValueError, r"`mu` of LaplacianErrorCell must have shape \(\.\.\., 3\).*got shape \(2, 4\)"),
    # -- rate cell -------------------------------------------------------------------
    ("rate-softmax", lambda: RateCell(4, act_fx="softmax"), ValueError,
     r"`act_fx` must be an elementwise activation.*'softmax'.*derivative of shape \(2, 4, 4\)"),
    ("rate-clip-needs-args", lambda: RateCell(4, act_fx="clip"), ValueError,
     r"`act_fx` must be an elementwise activation .*needs no extra arguments, got 'clip'"),
    ("rate-unknown-act", lambda: RateCell(4, act_fx="nope"), ValueError,
     r"`act_fx`: .*unknown activation 'nope'"),
    ("rate-act-not-a-name", lambda: RateCell(4, act_fx=jnp.tanh), ValueError,
     r"`act_fx` must be an activation's name"),
    ("rate-fx_lat-softmax", lambda: RateCell(4, use_lateral=True, fx_lat="softmax"), ValueError,
     r"`fx_lat` must be an elementwise activation.*'softmax'"),
    ("rate-j-width", lambda: _rate_step(j_shape=(2, 3)), ValueError,
     r"`j` of RateCell must have the state's shape \(2, 4\).*got shape \(2, 3\)"),
    ("rate-j_td-width", lambda: _rate_step(j_td_shape=(2, 5)), ValueError,
     r"`j_td` of RateCell must have the state's shape \(2, 4\).*got shape \(2, 5\)"),
    ("rate-state-width", lambda: _rate_step(n_state=3), ValueError,
     r"`state` of RateCell must have shape \(\.\.\., 4\).*\(2, 3\)"),
    # -- conv functions --------------------------------------------------------------
    ("conv2d-valid-kernel-too-big",
     lambda: conv.conv2d(jnp.ones((1, 3, 3, 1)), jnp.ones((5, 5, 1, 1)), 1, "VALID"),
     ValueError, r"output would be empty.*kernel of `W` is \(5, 5\).*input `x` is \(3, 3\)"),
    ("conv2d-valid-strided",
     lambda: conv.conv2d(jnp.ones((1, 3, 8, 1)), jnp.ones((4, 2, 1, 1)), 2, "VALID"),
     ValueError, r"kernel of `W` is \(4, 2\).*input `x` is \(3, 8\).*stride \(2, 2\)"),
    ("conv2d-channels", lambda: conv.conv2d(jnp.ones((1, 8, 8, 3)), jnp.ones((3, 3, 2, 1))),
     ValueError, r"`x` of shape \(1, 8, 8, 3\) has 3 channels, `W` of shape \(3, 3, 2, 1\)"),
    ("conv2d-rank", lambda: conv.conv2d(jnp.ones((8, 8, 1)), jnp.ones((3, 3, 1, 1))),
     ValueError, r"`x` must be \(batch, height, width, channels\), got shape \(8, 8, 1\)"),
    ("deconv2d-negative-padding",
     lambda: conv.conv_transpose2d(
         jnp.ones((1, 3, 3, 1)), jnp.ones((2, 2, 1, 1)), 1, ((-5, -5), (0, 0))),
     ValueError, r"transposed convolution's output would be empty.*`W`.*`x` is \(3, 3\)"),
    ("conv2d-bad-stride", lambda: conv.conv2d(jnp.ones((1, 8, 8, 1)), jnp.ones((3, 3, 1, 1)), 0),
     ValueError, r"`stride` must be a positive int"),
    ("conv2d-bad-padding",
     lambda: conv.conv2d(jnp.ones((1, 8, 8, 1)), jnp.ones((3, 3, 1, 1)), 1, "FULL"),
     ValueError, r"`padding` must be 'SAME', 'VALID'"),
    # -- conv / deconv synapses ------------------------------------------------------
    ("convsyn-valid-kernel-too-big",
     lambda: _conv((5, 5, 1, 2), padding="VALID")(jnp.ones((1, 3, 3, 1))),
     ValueError, r"kernel of `shape` is \(5, 5\) and the input `x` is \(3, 3\)"),
    ("convsyn-x_shape-too-small", lambda: _conv((5, 5, 1, 2), (3, 3), padding="VALID"),
     ValueError, r"kernel of `shape` is \(5, 5\) and the input `x_shape` is \(3, 3\)"),
    ("convsyn-channels", lambda: _conv()(jnp.ones((1, 8, 8, 3))), ValueError,
     r"`x` of shape \(1, 8, 8, 3\) has 3 channels but the filters of shape \(3, 3, 1, 2\)"),
    ("convsyn-rank", lambda: _conv()(jnp.ones((8, 8, 1))), ValueError,
     r"`x` of ConvSynapse must be \(batch, height, width, 1\), got shape \(8, 8, 1\)"),
    ("convsyn-spatial", lambda: _conv(x_shape=(8, 8))(jnp.ones((1, 6, 8, 1))), ValueError,
     r"`x` of ConvSynapse must be \(8, 8\) spatially .*got shape \(1, 6, 8, 1\)"),
    ("convsyn-backtransmit-post",
     lambda: _conv(x_shape=(8, 8)).backtransmit(jnp.ones((1, 8, 8, 5))), ValueError,
     r"`post` of ConvSynapse must have shape \(batch, 8, 8, 2\).*got shape \(1, 8, 8, 5\)"),
    ("convsyn-contract-post",
     lambda: _conv(x_shape=(8, 8)).contract(jnp.ones((1, 8, 8, 1)), jnp.ones((1, 7, 8, 2))),
     ValueError, r"`post` of ConvSynapse must have shape \(1, 8, 8, 2\).*\(1, 7, 8, 2\)"),
    ("convsyn-bias_contract-post", lambda: _conv().bias_contract(jnp.ones((1, 8, 8, 3))),
     ValueError, r"`post` of ConvSynapse must have shape \(batch, oh, ow, 2\)"),
    ("convsyn-shape-bool", lambda: _conv((True, 3, 1, 2)), ValueError,
     r"`shape` must be four positive ints .*got \(True, 3, 1, 2\)"),
    ("convsyn-backtransmit-x_hw",
     lambda: _conv().backtransmit(jnp.ones((1, 8, 8, 2)), (0, 8)), ValueError,
     r"`x_hw` must be two positive ints, got \(0, 8\)"),
    ("deconvsyn-channels", lambda: _deconv()(jnp.ones((1, 4, 4, 5))), ValueError,
     r"`x` of shape \(1, 4, 4, 5\) has 5 channels"),
    ("deconvsyn-contract-post",
     lambda: _deconv(stride=2).contract(jnp.ones((1, 4, 4, 1)), jnp.ones((1, 4, 4, 2))),
     ValueError, r"`post` of DeconvSynapse must have shape \(1, 8, 8, 2\).*\(1, 4, 4, 2\)"),
    ("deconvsyn-negative-padding",
     lambda: _deconv(padding=((-5, -5), (0, 0)))(jnp.ones((1, 3, 3, 1))), ValueError,
     r"transposed convolution's output would be empty.*`shape` is \(3, 3\).*`x` is \(3, 3\)"),
    # -- other synapses: wrong widths at trace time, bad dt ----------------------------
    ("mps-x", lambda: MPSSynapse((3, 4), key=K)(jnp.ones((2, 5))), ValueError,
     r"`x` must end in 3 units .*got shape \(2, 5\)"),
    ("mps-post", lambda: MPSSynapse((3, 4), key=K).backtransmit(jnp.ones((2, 3))), ValueError,
     r"`post` must end in 4 units .*got shape \(2, 3\)"),
    ("patched-x", lambda: PatchedSynapse((4, 4), 2, key=K)(jnp.ones((2, 5))), ValueError,
     r"`x` must end in 4 units .*got shape \(2, 5\)"),
    ("sparse-x", lambda: SparseTensorSynapse(4, 2, 3, key=K)(jnp.ones((2, 5))), ValueError,
     r"`x` must end in 8 units .*got shape \(2, 5\)"),
    ("stp-x", lambda: STPDenseSynapse((3, 4), key=K)(jnp.ones((2, 5))), ValueError,
     r"`x` must end in 3 units.*got shape \(2, 5\)"),
    ("stp-dt-negative", lambda: _stp_step(dt=-1.0), ValueError,
     r"`dt` of STPDenseSynapse must be finite and > 0 \(ms\), got -1\.0"),
    ("stp-dt-nan", lambda: _stp_step(dt=NAN), ValueError, r"`dt` of STPDenseSynapse .*nan"),
    ("stp-state", lambda: _stp_step(batch=(3,)), ValueError,
     r"`state` must have shape \(2, 3, 4\) for `x` of shape \(2, 3\), got \(3, 3, 4\)"),
    ("conductance-dt", lambda: _exp_step(dt=-1.0), ValueError,
     r"`dt` of ExponentialSynapse must be finite and > 0"),
    ("conductance-x", lambda: _exp_step(x_shape=(2, 5)), ValueError,
     r"`x` must end in 3 units.*got shape \(2, 5\)"),
    ("conductance-v", lambda: _exp_step(v_shape=(2, 5)), ValueError,
     r"`v` must have shape \(2, 4\), got \(2, 5\)"),
    # -- other synapses: constructors -------------------------------------------------
    ("som-grid", lambda: SOMMap(4, 0, 3, key=K), ValueError,
     r"`n_units_x` must be a positive int, got 0"),
    ("som-radius", lambda: SOMMap(4, 3, 3, key=K, radius=-1.0), ValueError,
     r"`radius` must be > 0, got -1\.0"),
    ("hopfield-beta", lambda: HopfieldMap((4, 3), key=K, beta=0.0), ValueError,
     r"`beta` must be > 0, got 0\.0"),
    ("patched-p_conn", lambda: PatchedSynapse((4, 4), 2, key=K, p_conn=1.5), ValueError,
     r"`p_conn` must be in \(0, 1\], got 1\.5"),
    ("sparse-convergent", lambda: SparseTensorSynapse(4, 2, 3, convergent_factor=2.0, key=K),
     ValueError, r"`convergent_factor` must be in \[0, 1\], got 2\.0"),
    ("mps-bond_dim", lambda: MPSSynapse((3, 4), 2.5, key=K), ValueError,
     r"`bond_dim` must be a positive int, got 2\.5"),
    ("stp-tau_f", lambda: STPDenseSynapse((3, 4), key=K, tau_f=-1.0), ValueError,
     r"`tau_f` must be >= 0, got -1\.0"),
    ("conductance-tau_decay", lambda: ExponentialSynapse((3, 4), 0.0, 1.0, None, key=K),
     ValueError, r"`tau_decay` must be > 0, got 0\.0"),
    ("conv-resist_scale", lambda: _conv(resist_scale=NAN), ValueError,
     r"`resist_scale` must be finite, got nan"),
    # -- initialisers ----------------------------------------------------------------
    ("init-shape-float", lambda: DG.uniform()(K, (2.5, 3)), ValueError,
     r"`shape` must be a tuple of positive ints, got \(2\.5, 3\)"),
    ("init-shape-zero", lambda: DG.gaussian()(K, (0, 3)), ValueError,
     r"`shape` must be a tuple of positive ints, got \(0, 3\)"),
    ("init-shape-negative", lambda: DG.constant(1.0)(K, (3, -1)), ValueError,
     r"`shape` must be a tuple of positive ints, got \(3, -1\)"),
    ("init-shape-bool", lambda: DG.fan_in_gaussian()(K, (True, 3)), ValueError,
     r"`shape` must be a tuple of positive ints"),
    ("init-std-negative", lambda: DG.gaussian(std=-1.0), ValueError, r"`std` must be > 0, got -1"),
    ("init-std-inf", lambda: DG.gaussian(std=INF), ValueError, r"`std` must be finite, got inf"),
    ("init-mean-nan", lambda: DG.gaussian(mean=NAN), ValueError, r"`mean` must be finite"),
    ("init-sigma-zero", lambda: DG.log_gaussian(sigma=0.0), ValueError, r"`sigma` must be > 0"),
    ("init-low-high", lambda: DG.uniform(1.0, 0.5), ValueError,
     r"`low` \(1\.0\) must be below `high` \(0\.5\)"),
    ("init-low-eq-high", lambda: DG.uniform(1.0, 1.0), ValueError, r"`low` \(1\.0\) must be below"),
    ("init-high-inf", lambda: DG.uniform(0.0, INF), ValueError, r"`high` must be finite, got inf"),
    ("init-constant-nan", lambda: DG.constant(NAN), ValueError, r"`value` must be finite"),
    ("init-diag-inf", lambda: DG.diag_offdiag(1.0, -INF), ValueError, r"`off_diag` must be finite"),
    ("init-amin-nan", lambda: DG.uniform(amin=NAN), ValueError, r"`amin` must be finite"),
    ("init-amin-above-amax", lambda: DG.uniform(amin=1.0, amax=0.0), ValueError,
     r"`amin` \(1\.0\) must not exceed `amax` \(0\.0\)"),
    ("init-col_mask-index", lambda: DG.uniform(col_mask=[0, 7])(K, (3, 3)), ValueError,
     r"`col_mask` indices must be in \[-3, 3\) .*got \[0, 7\]"),
    ("init-row_mask-count", lambda: DG.uniform(row_mask=5)(K, (3, 3)), ValueError,
     r"`row_mask` must be in \[0, 3\] .*got 5"),
    ("init-unknown-dist", lambda: Initializer("cauchy"), ValueError,
     r"`dist`: unknown distribution 'cauchy'; known: constant, uniform, gaussian"),
    ("init-unknown-option", lambda: DG.uniform(lower=0.0), ValueError,
     r"unknown initialiser options \['lower'\]"),
    # -- optimisers ------------------------------------------------------------------
    ("opt-nag-momentum", lambda: optim.get_opt_step_fn("nag", eta=0.1, mu=-5.0), ValueError,
     r"`mu` must be finite and in \[0, 1\) \(the momentum\), got -5\.0"),
    ("opt-momentum-one", lambda: optim.get_opt_step_fn("nag", mu=1.0), ValueError,
     r"`mu` must be finite and in \[0, 1\)"),
    ("opt-eta-negative", lambda: optim.get_opt_step_fn("sgd", eta=-1.0), ValueError,
     r"`eta` must be finite and >= 0, got -1\.0"),
    ("opt-eta-nan", lambda: optim.get_opt_step_fn("adam", eta=NAN), ValueError,
     r"`eta` must be finite and >= 0, got nan"),
    ("opt-beta1", lambda: optim.get_opt_step_fn("adam", beta1=1.5), ValueError,
     r"`beta1` must be finite and in \[0, 1\), got 1\.5"),
    ("opt-beta2", lambda: optim.get_opt_step_fn("adam", beta2=-0.1), ValueError,
     r"`beta2` must be finite and in \[0, 1\), got -0\.1"),
    ("opt-epsilon", lambda: optim.get_opt_step_fn("adam", epsilon=0.0), ValueError,
     r"`epsilon` must be finite and > 0, got 0\.0"),
    ("opt-unknown-name", lambda: optim.get_opt_init_fn("rmsprop"), ValueError,
     r"`opt` must be one of 'sgd', 'adam', 'nag', got 'rmsprop'"),
    ("opt-unknown-option", lambda: optim.get_opt_step_fn("sgd", lr=0.1), ValueError,
     r"unknown optimiser option\(s\) 'lr'; known: 'eta'"),
    ("opt-eta-not-a-number", lambda: optim.get_opt_step_fn("sgd", eta="fast"), ValueError,
     r"`eta` must be a number, got 'fast'"),
    ("hebbian-momentum-sgd", lambda: hebbian(0.1, "sgd", momentum=-5.0), ValueError,
     r"`momentum` must be in \[0, 1\), got -5\.0"),
    ("hebbian-momentum-nag", lambda: hebbian(0.1, "nag", momentum=1.0), ValueError,
     r"`momentum` must be in \[0, 1\), got 1\.0"),
    ("hebbian-b1", lambda: hebbian(0.1, "adam", b1=1.0), ValueError, r"`b1` must be in \[0, 1\)"),
    ("hebbian-eps", lambda: hebbian(0.1, "adam", eps=-1e-8), ValueError, r"`eps` must be > 0"),
    ("hebbian-eta", lambda: hebbian(-0.1), ValueError, r"`eta` must be >= 0, got -0\.1"),
    ("hebbian-eta-inf", lambda: hebbian(INF), ValueError, r"`eta` must be finite, got inf"),
    ("hebbian-name", lambda: hebbian(0.1, "rmsprop"), ValueError,
     r"`optimizer` \(ngc-learn's `optim_type`\) must be 'sgd', 'adam', 'nag'.*'rmsprop'"),
    ("hebbian_optimizer-momentum", lambda: hebbian_optimizer(0.1, "nag", momentum=-5.0),
     ValueError, r"`momentum` must be in \[0, 1\), got -5\.0"),
    ("hebbian_optimizer-sign_value", lambda: hebbian_optimizer(0.1, sign_value=0.0), ValueError,
     r"`sign_value` must be non-zero"),
    ("HebbianSynapse-momentum",
     lambda: HebbianSynapse((3, 4), eta=0.1, momentum=-5.0, key=K), ValueError,
     r"`momentum` must be in \[0, 1\), got -5\.0"),
    ("HebbianSynapse-optim_type",
     lambda: HebbianSynapse((3, 4), eta=0.1, optim_type="rmsprop", key=K), ValueError,
     r"`optim_type` must be one of 'sgd', 'adam', 'nag', got 'rmsprop'"),
    ("HebbianSynapse-sign_value-zero",
     lambda: HebbianSynapse((3, 4), eta=0.1, sign_value=0.0, key=K), ValueError,
     r"`sign_value` must be non-zero"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "exc", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_naming_the_argument(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


# -- the shape checks run at trace time (under jit), not as XLA errors -----------------


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda x: _conv((5, 5, 1, 2), padding="VALID")(x), r"kernel of `shape` is \(5, 5\)"),
        (lambda x: conv.conv2d(x, jnp.ones((4, 4, 1, 1)), 1, "VALID"), r"kernel of `W`"),
        (lambda x: MPSSynapse((3, 4), key=K)(x.reshape(1, 9)), r"`x` must end in 3 units"),
    ],
    ids=["conv-synapse", "conv2d", "mps"],
)
def test_shape_errors_are_raised_at_trace_time(fn, match):
    with pytest.raises(ValueError, match=match):
        jax.jit(fn)(jnp.ones((1, 3, 3, 1)))


# -- valid inputs keep working (and their results) ---------------------------------------


def test_valid_lower_triangular_factor_is_kept_unchanged():
    tril = jnp.array([[1.0, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.2, 0.1, 1.2]])
    cell = GaussianErrorCell(3, scale_tril=tril)
    np.testing.assert_array_equal(cell.scale_tril, tril)
    out = cell(jnp.zeros((2, 3)), jnp.ones((2, 3)))
    assert np.isfinite(float(out.L))


def test_traced_scale_tril_is_checked_in_checked_mode_only():
    import ngcx

    def make_loss():  # a new function each time: jit caches compilations by function
        def loss(t):
            return GaussianErrorCell(2, scale_tril=t)(jnp.zeros((1, 2)), jnp.ones((1, 2))).L

        return jax.jit(loss)

    make_loss()(TRIL_UPPER)  # traced, unchecked: the strict upper triangle is ignored
    with ngcx.debug_nans():
        with pytest.raises(Exception, match="`scale_tril` must be"):
            jax.block_until_ready(make_loss()(TRIL_NEG))
        assert np.isfinite(float(make_loss()(TRIL_NEG.at[0, 0].set(1.0))))


@pytest.mark.parametrize("act", ["identity", "relu", "tanh", "sigmoid", "heaviside", "bkwta"])
def test_elementwise_activations_are_accepted(act):
    cell = RateCell(6, act_fx=act)
    state = cell(cell.init_state((2,)), jnp.ones((2, 6)), dt=1.0)
    assert state.z.shape == state.zF.shape == (2, 6)


def test_valid_conv_geometries_still_work():
    # SAME with a kernel larger than the input is fine (the padding makes it fit)
    y = conv.conv2d(jnp.ones((1, 3, 3, 1)), jnp.ones((5, 5, 1, 1)), 1, "SAME")
    assert y.shape == (1, 3, 3, 1)
    # a VALID kernel exactly the input's size gives a 1 x 1 map
    syn = _conv((3, 3, 1, 2), padding="VALID")
    assert syn(jnp.ones((2, 3, 3, 1))).shape == (2, 1, 1, 2)
    dsyn = _deconv((3, 3, 1, 2), (4, 4), stride=2)
    y = dsyn(jnp.ones((1, 4, 4, 1)))
    assert y.shape == (1, 8, 8, 2)
    assert dsyn.contract(jnp.ones((1, 4, 4, 1)), y).shape == (3, 3, 1, 2)
    assert dsyn.backtransmit(y).shape == (1, 4, 4, 1)


def test_optimisers_accept_their_domains_edges():
    theta = [jnp.ones(3)]
    for opt, kw in [("sgd", {"eta": 0.0}), ("nag", {"mu": 0.0}), ("adam", {"beta1": 0.0})]:
        state = optim.get_opt_init_fn(opt)(theta)
        optim.get_opt_step_fn(opt, **kw)(state, theta, [jnp.ones(3)])
    hebbian(0.0, "nag", momentum=0.0)
