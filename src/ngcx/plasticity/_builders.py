r"""ngc-learn's names for the rules of :mod:`ngcx.plasticity`'s ``_rules_rate``,
``_rules_spike`` and ``_reinforce`` modules, as builders of
:class:`~ngcx.plasticity.PlasticSynapse` bundles (synapse + rule +
:class:`~ngcx.plasticity.LearningOptions`).

The mapping (ngc-learn name: ngcx pieces):

- ``BCMSynapse(shape, tau_w, tau_theta, ...)``: ``DenseSynapse`` + ``BCM`` + sgd at rate
  $\Delta t/\tau_w$ with weight decay ``w_decay``;
- ``STDPSynapse(shape, A_plus, A_minus, tau_plus, tau_minus, ...)``: ``DenseSynapse`` +
  ``PairSTDP`` + the STDP chain (leak, clip to $[w_\epsilon, w_{\max} - w_\epsilon]$);
- ``GerstnerHebbianSynapse(shape, eta, coeffs, ...)``: ``DenseSynapse`` +
  ``GerstnerHebbian`` + sgd;
- ``InhibitorySTDPSynapse(shape, eta, rho, ...)``: ``DenseSynapse`` + ``InhibitorySTDP`` +
  sgd, clip to $[w_{\min}, w_{\max}]$ and the connectivity mask;
- ``OjaTensorSynapse(n_in_streams, K_local, O_local, ...)``: ``SparseTensorSynapse`` +
  ``Oja`` + sgd;
- ``REINFORCESynapse(shape, eta, ...)``: ``DenseSynapse`` of shape
  ``(n_in, 2 n_out)`` + ``REINFORCE`` + sgd, clip to $[0, w_{\max}]$.

Each bundle's ``updates(*activity)`` runs the rule (see each rule for its arguments) and
``optimizer()`` builds the optax chain; rule state (BCM's threshold, REINFORCE's running
statistics, iSTDP's traces) is reached through ``bundle.rule``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import ArrayLike

from .._custom_types import Key
from .._params import is_concrete, is_static_zero, param
from ..initializers import DistributionGenerator, Initializer
from ..synapses import DenseSynapse, SparseTensorSynapse
from ._compat import LearningOptions, PlasticSynapse, _connectivity, _stdp_bundle, _stdp_clip
from ._reinforce import REINFORCE
from ._rules_rate import BCM, GerstnerHebbian, Oja
from ._rules_spike import InhibitorySTDP, PairSTDP


__all__ = [
    "BCMSynapse",
    "STDPSynapse",
    "GerstnerHebbianSynapse",
    "InhibitorySTDPSynapse",
    "OjaTensorSynapse",
    "REINFORCESynapse",
]


def _dense(
    shape: tuple[int, int],
    key: Key,
    weight_init: Initializer | None,
    resist_scale: Any,
    p_conn: Any,
    weight_mask: ArrayLike | None,
    dtype: Any,
    bias_init: Initializer | None = None,
) -> tuple[DenseSynapse, Any]:
    """A dense synapse with ngc-learn's default initialiser (uniform on [0.025, 0.8]) and
    its fixed connectivity mask (absent connections start at 0)."""
    if not (isinstance(shape, tuple | list) and len(shape) == 2):
        raise ValueError(f"`shape` must be two positive ints (n_in, n_out), got {shape!r}.")
    wkey, mkey = jax.random.split(key)
    init = DistributionGenerator.uniform(0.025, 0.8) if weight_init is None else weight_init
    syn = DenseSynapse(
        tuple(shape),  # type: ignore[arg-type]
        key=wkey,
        weight_init=init,
        bias_init=bias_init,
        resist_scale=resist_scale,
        dtype=dtype,
    )
    mask = _connectivity(mkey, tuple(shape), p_conn, weight_mask)  # type: ignore[arg-type]
    if mask is not None:
        syn = eqx.tree_at(lambda s: s.weights, syn, jnp.where(mask, syn.weights, 0.0))
    return syn, mask


def BCMSynapse(
    shape: tuple[int, int],
    tau_w: Any,
    tau_theta: Any,
    theta0: Any = -1.0,
    w_bound: Any = 0.0,
    w_decay: Any = 0.0,
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    dt: Any = 1.0,
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``BCMSynapse`` (``resist_scale`` is its ``g_conduct_factor``): a
    :class:`~ngcx.synapses.DenseSynapse` (weights uniform on [0.025, 0.8] by default), the
    :class:`~ngcx.plasticity.BCM` rule (`tau_theta`, `theta0`, `w_bound`) and sgd at rate
    $\Delta t/\tau_w$ with weight decay `w_decay`: one Euler step of
    $\tau_w \dot W = -\lambda W + \Delta W$,

    $$W \leftarrow W + \tfrac{\Delta t}{\tau_w}\big(\Delta W - \lambda W\big).$$

    `dt` (ms) is the integration step folded into the learning rate (ngc-learn takes it
    from the simulation); the threshold's step takes its own ``dt``. Use::

        theta = bcm.rule.init_threshold(bcm.synapse)
        upd = bcm.updates(pre, post, theta)              # uses the current threshold
        theta = bcm.rule.threshold_step(theta, post, dt=dt)

    With ``p_conn < 1`` the absent connections stay absent (ngc-learn lets them grow).
    """
    syn, mask = _dense(shape, key, weight_init, resist_scale, p_conn, None, dtype)
    tw = param(tau_w, "tau_w", "positive")
    eta = param(dt, "dt", "positive") / tw
    options = LearningOptions(eta, "sgd", sign=1.0, w_decay=w_decay, mask=mask)
    return PlasticSynapse(syn, BCM(tau_theta, theta0, w_bound), options)


def _leak_tau(tau_w: Any, w_decay: Any) -> Any:
    """The leak of ngc-learn's spiking synapses: ``tau_w`` if set, else ``1/w_decay``."""
    param(tau_w, "tau_w", "nonnegative")
    wd = param(w_decay, "w_decay", "nonnegative")
    if not is_static_zero(tau_w) or is_static_zero(w_decay):
        return tau_w
    # traced w_decay = 0 gives tau = inf, a leak of rate 0
    return 1.0 / wd


def STDPSynapse(
    shape: tuple[int, int],
    A_plus: Any,
    A_minus: Any,
    tau_plus: Any = 10.0,
    tau_minus: Any = 10.0,
    w_decay: Any = 0.0,
    eta: Any = 1.0,
    tau_w: Any = 0.0,
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    w_bound: Any = 1.0,
    w_eps: Any = 0.001,
    optim_type: str = "sgd",
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``STDPSynapse``: a :class:`~ngcx.synapses.DenseSynapse` (uniform on
    [0.025, 0.8] by default), the pair rule :class:`~ngcx.plasticity.PairSTDP` and the
    STDP chain

    $$W \leftarrow \Pi\big(W + \eta\,\Delta W - W/\tau_w\big)$$

    ($\tau_w$ in steps; with ``tau_w = 0`` and ``w_decay`` $> 0$ the leak is
    $\lambda W$, as ngc-learn's two branches), $\Pi$ the clip to
    $[w_\epsilon, w_{\max} - w_\epsilon]$ (ngc-learn's fixed $w_\epsilon = 0.001$;
    ``w_bound = 0``: none) and the fixed connectivity mask of density `p_conn`. Use
    ``bundle.updates(pre, post, pre_tols, post_tols, t)``. ngc-learn 3.2's class cannot
    be built (its ``tau_plus`` argument is misspelt ``au_plus``) and its depression
    window grows with the delay; ngcx decays it (see :class:`~ngcx.plasticity.PairSTDP`).
    Batches sum their updates (ngc-learn takes one sample).
    """
    rule = PairSTDP(A_plus, A_minus, tau_plus, tau_minus)
    return _stdp_bundle(
        rule, shape, key, weight_init, resist_scale, p_conn, None, eta, optim_type,
        _leak_tau(tau_w, w_decay), _stdp_clip(w_bound, w_eps), dtype,
    )  # fmt: skip


_GERSTNER_KEYS = ("c0", "c1_pre", "c1_post", "c2_corr")


def GerstnerHebbianSynapse(
    shape: tuple[int, int],
    eta: Any = 0.01,
    coeffs: Mapping[str, Any] | None = None,
    weight_init: Initializer | None = None,
    p_conn: Any = 1.0,
    resist_scale: Any = 1.0,
    sign_value: Any = 1.0,
    *,
    key: Key,
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``GerstnerHebbianSynapse``: a :class:`~ngcx.synapses.DenseSynapse`
    without biases, the :class:`~ngcx.plasticity.GerstnerHebbian` rule with `coeffs`
    (a mapping with keys ``c0``, ``c1_pre``, ``c1_post``, ``c2_corr``; missing keys take
    the plain-Hebb defaults 0, 0, 0, 1) and sgd, $W \leftarrow W + \eta\, s\,\Delta W$
    with ``sign_value`` $s$ (ngc-learn documents `sign_value` but never applies it; ngcx
    does) and the fixed connectivity mask of density `p_conn`.
    """
    coeffs = {} if coeffs is None else dict(coeffs)
    unknown = sorted(set(coeffs) - set(_GERSTNER_KEYS))
    if unknown:
        raise ValueError(
            f"`coeffs` has unknown keys {unknown}; expected a subset of {list(_GERSTNER_KEYS)}."
        )
    rule = GerstnerHebbian(
        coeffs.get("c0", 0.0),
        coeffs.get("c1_pre", 0.0),
        coeffs.get("c1_post", 0.0),
        coeffs.get("c2_corr", 1.0),
    )
    syn, mask = _dense(shape, key, weight_init, resist_scale, p_conn, None, dtype)
    options = LearningOptions(eta, "sgd", sign=param(sign_value, "sign_value"), mask=mask)
    return PlasticSynapse(syn, rule, options)


def InhibitorySTDPSynapse(
    shape: tuple[int, int],
    eta: Any = 1.0,
    rho: Any = 0.2,
    Aplus: Any = 1.0,
    Aminus: Any = 1.0,
    tau_x_pre: Any = 30.0,
    tau_x_post: Any = 30.0,
    use_soft_bounds: bool = True,
    w_max: Any = 1.0,
    w_min: Any = 0.0,
    is_volt_dependent: bool = False,
    weight_init: Initializer | None = None,
    bias_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_release_mean: Any = 1.0,
    p_conn: Any = 1.0,
    mask: ArrayLike | None = None,
    *,
    key: Key,
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``InhibitorySTDPSynapse``: a :class:`~ngcx.synapses.DenseSynapse`, the
    :class:`~ngcx.plasticity.InhibitorySTDP` rule and sgd with the clip to
    $[w_{\min}, w_{\max}]$ and the connectivity `mask` (and density `p_conn`):
    $W \leftarrow \Pi(W + \eta\,\Delta W)$. The traces are explicit state: ::

        x_pre, x_post = syn.rule.trace_step(x_pre, x_post, s_pre, s_post, dt=dt)
        upd = syn.updates(s_pre, s_post, x_pre, x_post)     # (..., v_post) if voltage-dependent

    (ngc-learn's component filters the spikes itself, in the same order). Stochastic
    release (`p_release_mean` < 1) belongs to the synapse and is not offered here.
    """
    if not (is_concrete(p_release_mean) and float(p_release_mean) == 1.0):
        raise ValueError(
            f"`p_release_mean` must be 1.0 here (no stochastic release), got {p_release_mean!r}."
        )
    param(Aplus, "Aplus", "nonnegative"), param(Aminus, "Aminus", "nonnegative")
    rule = InhibitorySTDP(
        Aplus, Aminus, rho, w_max, tau_x_pre, tau_x_post, use_soft_bounds, is_volt_dependent
    )
    lo, hi = param(w_min, "w_min"), param(w_max, "w_max", "positive")
    if is_concrete((lo, hi)) and not float(lo) < float(hi):
        raise ValueError(f"`w_min` ({float(lo)}) must be below `w_max` ({float(hi)}).")
    syn, conn = _dense(shape, key, weight_init, resist_scale, p_conn, mask, dtype, bias_init)
    options = LearningOptions(eta, "sgd", sign=1.0, clip=(lo, hi), mask=conn)
    return PlasticSynapse(syn, rule, options)


def REINFORCESynapse(
    shape: tuple[int, int],
    eta: Any = 1e-4,
    decay: Any = 0.99,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    act_fx: str | None = None,
    p_conn: Any = 1.0,
    w_bound: Any = 1.0,
    mu_act_fx: str | None = None,
    mu_out_min: Any = -math.inf,
    mu_out_max: Any = math.inf,
    scalar_stddev: Any = -1.0,
    *,
    key: Key,
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``REINFORCESynapse``: a :class:`~ngcx.synapses.DenseSynapse` of shape
    ``(n_in, 2 n_out)`` (mean and log-std halves; uniform on [0.025, 0.8] by default), the
    :class:`~ngcx.plasticity.REINFORCE` rule with ngc-learn's objective scale
    $\kappa = 10^{-2}$ and sgd ascent with the clip to $[0, w_{\max}]$:
    $W \leftarrow \Pi(W + \eta\,\Delta W)$. Randomness is an explicit key (ngc-learn's
    ``seed`` compartment): ::

        a = syn.rule.sample(syn.synapse, x, key=k)
        upd = syn.updates(x, a, r - r_hat)                 # one centred reward per sample
        stats = syn.rule.state_step(stats, upd.weights)    # ngc-learn's running statistics

    ngc-learn applies an update only when its ``learning_mask`` compartment is 1 (0 by
    default); in ngcx the caller decides by applying the update or not.
    """
    if not (isinstance(shape, tuple | list) and len(shape) == 2):
        raise ValueError(f"`shape` must be two positive ints (n_in, n_out), got {shape!r}.")
    n_in, n_out = shape
    rule = REINFORCE(act_fx, mu_act_fx, mu_out_min, mu_out_max, scalar_stddev, decay, 1e-2)
    syn, mask = _dense((n_in, 2 * n_out), key, weight_init, resist_scale, p_conn, None, dtype)
    wb = param(w_bound, "w_bound", "positive")
    options = LearningOptions(eta, "sgd", sign=1.0, clip=(0.0, wb), mask=mask)
    return PlasticSynapse(syn, rule, options)


def OjaTensorSynapse(
    n_in_streams: int,
    K_local: int,
    O_local: int,
    P_l: int = 1,
    stride: int = 1,
    convergent_factor: float = 0.0,
    dilation: int = 1,
    invert_conn: bool = False,
    eta: Any = 0.0,
    oja_factor: Any = 1.0,
    sign_value: Any = 1.0,
    normalize: bool = False,
    norm_axis: int = 1,
    weight_init: Initializer | None = None,
    bias_init: Initializer | None = None,
    p_conn: Any = 1.0,
    resist_scale: Any = 1.0,
    use_block_matrix_format: bool = False,
    *,
    key: Key,
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``OjaTensorSynapse``: a locally connected
    :class:`~ngcx.synapses.SparseTensorSynapse` (its geometry arguments; see it), the
    :class:`~ngcx.plasticity.Oja` rule over its contraction (with Oja's decay when
    ``oja_factor > 0``) and sgd, $W \leftarrow W + \eta\, s\,\Delta W$ (``sign_value``
    $s$). With `normalize` the initial blocks have unit L2 norm along `norm_axis`.

    Differences from ngc-learn 3.2: it never applies `eta` (it adds
    ``sign_value * dW``; ``eta=1`` reproduces it here), and with `normalize` it also
    rescales every block to unit norm over its ``O_local`` outputs after each update; in
    ngcx that projection is a transform to chain:
    ``optax.chain(bundle.optimizer(), normalize_weights(1.0, axis=3, order=2))``.
    The same rule serves a dense synapse:
    ``PlasticSynapse(DenseSynapse(...), Oja(), LearningOptions(eta))``.
    """
    synapse = SparseTensorSynapse(
        n_in_streams, K_local, O_local, P_l, stride, convergent_factor, dilation, invert_conn,
        normalize, norm_axis, key=key, weight_init=weight_init, bias_init=bias_init,
        resist_scale=resist_scale, p_conn=p_conn,
        use_block_matrix_format=use_block_matrix_format, dtype=dtype,
    )  # fmt: skip
    of = param(oja_factor, "oja_factor")
    if not is_concrete(of):
        raise ValueError("`oja_factor` switches Oja's decay on or off and must be concrete.")
    options = LearningOptions(eta, "sgd", sign=param(sign_value, "sign_value"))
    return PlasticSynapse(synapse, Oja(correction=float(of) > 0.0), options)
