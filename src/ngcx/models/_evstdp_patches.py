r"""Event-driven STDP on image patches (ngc-museum's ``evstdp_patches``; Tavanaei,
Masquelier & Maida 2018, "Representation learning using event-based STDP").

A patch $x \in [0, 1]^{n_{\text{in}}}$ is shown for ``T`` steps of ``dt`` ms. Each step,
Bernoulli cells spike with probability $x$ (:class:`~ngcx.cells.BernoulliCell`), an
exponential kernel turns the spikes into EPSPs $k_t$ (:class:`~ngcx.cells.ExpKernel`,
``tau_w``, ``nu``), and a winner-take-all layer (:class:`~ngcx.cells.WTASCell`) receives
$j_t = k_t W$: cell $i$ spikes where $\mathrm{softmax}(j_t)_i > \theta_i$, and the
thresholds move by $g(\sum_i s_i - 1)$ so that about one cell wins per step (lateral
inhibition through the softmax). The thresholds persist from patch to patch (ngc-learn's
``WTASCell`` keeps them on reset), so they are a field of the model (``thr``).

$W$ learns at every step by the event-driven rule :class:`~ngcx.plasticity.EventSTDP`
(through :func:`~ngcx.plasticity.EventSTDPSynapse`): when cell $j$ spikes, each weight
$W_{ij}$ moves towards $w_{\max}/(1+\lambda)$ if input $i$ spiked within the last
``presyn_win_len`` ms and decays towards 0 otherwise,

$$\Delta W_{ij} = \eta\, s_j \big[r_i\,(w_{\max} - (1 + \lambda) W_{ij})
- (1 - r_i)(1 + \lambda) W_{ij}\big],$$

then $W$ is clipped to $[0.01, w_{\max}]$. A winner's filter is thus pulled towards the
(spike-probability weighted) patches it wins: the layer learns a dictionary of patch
prototypes, a spiking form of competitive learning. Empty patches (all zeros) are skipped,
as in the exhibit.

Differences from the exhibit: the kernel's output reaches the WTA layer in the same step
(ngc-learn's process order delays it by one step), and the clock starts at ``dt`` rather
than 0, so a spike in the first step counts as a spike (ngc-learn reads a time of last
spike of 0 as "never").
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .. import plasticity
from .._checks import check_features
from .._custom_types import Key
from .._params import param
from ..cells import BernoulliCell, EncoderState, ExpKernel, ExpKernelState, SLIFState, WTASCell
from ..initializers import DistributionGenerator
from ..plasticity import EventSTDPSynapse, PlasticSynapse


__all__ = ["EventSTDPPatches", "EVState", "filter_match"]


class EVState(eqx.Module):
    """Dynamic state of an :class:`EventSTDPPatches` network during one presentation: the
    Bernoulli encoder (its times of last spike feed the rule), the kernel and the WTA
    layer."""

    enc: EncoderState
    kernel: ExpKernelState
    wta: SLIFState


def _pair(value: Any, name: str) -> tuple[int, int]:
    if (
        not isinstance(value, tuple | list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
    ):
        raise ValueError(f"`{name}` must be two ints >= 1 (height, width), got {value!r}.")
    return int(value[0]), int(value[1])


class EventSTDPPatches(eqx.Module):
    r"""A spiking patch-dictionary learner trained by event-driven STDP (see the module
    docstring for the maths).

    Fields are public ngcx pieces: ``encoder`` (:class:`~ngcx.cells.BernoulliCell`),
    ``kernel`` (:class:`~ngcx.cells.ExpKernel`), ``W`` (a
    :class:`~ngcx.plasticity.PlasticSynapse` from
    :func:`~ngcx.plasticity.EventSTDPSynapse`: the dense synapse, the
    :class:`~ngcx.plasticity.EventSTDP` rule and its optax options), ``wta``
    (:class:`~ngcx.cells.WTASCell`); ``thr`` the WTA thresholds carried from patch to
    patch (shape ``(n_hid,)``); ``dt`` (ms) an array leaf; ``T`` steps per patch and
    ``patch_shape`` are static.

    Train one patch at a time with :meth:`train_sample` (pure: it returns the new model);
    :meth:`respond` gives spike counts without learning; :attr:`filters` the learned
    filters as images.
    """

    encoder: BernoulliCell
    kernel: ExpKernel
    W: PlasticSynapse
    wta: WTASCell
    thr: Float[Array, " n_hid"]
    dt: Float[Array, ""]
    T: int = eqx.field(static=True)
    patch_shape: tuple[int, int] = eqx.field(static=True)

    def __init__(
        self,
        patch_shape: tuple[int, int] = (10, 10),
        n_hid: int = 100,
        *,
        key: Key,
        T: int = 50,
        dt: float = 3.0,
        eta: float = 0.0055,
        lmbda: float = 0.01,
        presyn_win_len: float = 3.0,
        w_bound: float = 1.0,
        thr_base: float = 0.2,
        thr_gain: float = 0.002,
        thr_jitter: float = 0.055,
        refract_time: float = 5.0,
        tau_m: float = 100.0,
        tau_w: float = 0.5,
        nu: float = 4.0,
        weight_init: tuple[float, float] = (0.025, 0.8),
    ):
        r"""The exhibit's defaults (10x10 MNIST patches, 100 cells).

        **Arguments:**

        - `patch_shape`: ``(height, width)`` of a patch (static); ``n_in = height * width``.
        - `n_hid`: WTA cells (filters).
        - `key`: PRNG key for the weights and the threshold jitter.
        - `T`: steps per patch (a positive int, static); `dt`: the step (ms, > 0).
        - `eta`: the rule's learning rate; `lmbda` ($\lambda$), `presyn_win_len` (ms) and
          `w_bound` ($w_{\max}$) as :class:`~ngcx.plasticity.EventSTDP`.
        - `thr_base`, `thr_gain`, `thr_jitter`, `refract_time` (ms), `tau_m` (unused, as in
          ngc-learn): the :class:`~ngcx.cells.WTASCell`'s.
        - `tau_w`, `nu` (ms): the :class:`~ngcx.cells.ExpKernel`'s.
        - `weight_init`: initial weights uniform on ``[low, high)``.

        **Raises:** ``ValueError`` naming the argument for a value outside its domain.
        """
        self.patch_shape = _pair(patch_shape, "patch_shape")
        if not isinstance(T, int) or isinstance(T, bool) or T <= 0:
            raise ValueError(f"`T` must be a positive int, got {T!r}.")
        if not isinstance(n_hid, int) or isinstance(n_hid, bool) or n_hid < 1:
            raise ValueError(f"`n_hid` must be a positive int, got {n_hid!r}.")
        n_in = self.patch_shape[0] * self.patch_shape[1]
        wkey, tkey = jax.random.split(key)
        self.dt = param(dt, "dt", "positive")
        self.T = T
        self.encoder = BernoulliCell(n_in)
        self.kernel = ExpKernel(n_in, dt, tau_w=tau_w, nu=nu)
        self.W = EventSTDPSynapse(
            (n_in, n_hid), eta, lmbda, 1.0, 1.0, presyn_win_len, w_bound, key=wkey,
            weight_init=DistributionGenerator.uniform(*weight_init),
        )  # fmt: skip
        self.wta = WTASCell(
            n_hid, tau_m, 1.0, thr_base, thr_gain, refract_time, thr_jitter, key=tkey
        )
        self.thr = self.wta.threshold0

    @property
    def n_in(self) -> int:
        return int(self.W.shape[0])

    @property
    def n_hid(self) -> int:
        return int(self.W.shape[1])

    @property
    def filters(self) -> Float[Array, "n_hid h w"]:
        """The learned filters, one ``patch_shape`` image per WTA cell."""
        return self.W.weights.T.reshape(self.n_hid, *self.patch_shape)

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain of ``W``: the rule's update added at rate ``eta``, weights
        clipped to ``[0.01, w_bound]``."""
        return self.W.optimizer()

    def init_optimizer(self) -> Any:
        """Optimiser state for ``W``."""
        return plasticity.init(self.optimizer(), self.W)

    def init_state(self) -> EVState:
        """Rest state for one patch (clocks at ``dt``), carrying the adapted thresholds."""
        t0 = self.dt
        wta = self.wta.init_state(t=t0)
        return EVState(
            enc=self.encoder.init_state(t=t0),
            kernel=self.kernel.init_state(t=t0),
            wta=eqx.tree_at(lambda s: s.thr, wta, self.thr),
        )

    def step(
        self, state: EVState, x: Float[Array, " n_in"], key: Key, W: PlasticSynapse
    ) -> EVState:
        """One ``dt`` step given the patch `x` and the synapse `W` (plasticity is separate:
        :meth:`train_sample`)."""
        enc = self.encoder(state.enc, x, key=key, dt=self.dt)
        kernel = self.kernel(state.kernel, enc.s)
        wta = self.wta(state.wta, W(kernel.epsp), dt=self.dt)
        return EVState(enc=enc, kernel=kernel, wta=wta)

    def train_sample(
        self, opt_state: Any, x: Float[Array, " n_in"], key: Key
    ) -> tuple[EventSTDPPatches, Any, Float[Array, " n_hid"]]:
        """Present one patch for ``T`` steps with event-driven STDP at every step; keep the
        adapted thresholds. An all-zero patch changes nothing (the exhibit skips it) and
        gets zero counts.

        **Returns:** ``(model, opt_state, counts)``, `counts` the WTA spike counts.
        """
        check_features(x, "x", self.n_in, "EventSTDPPatches.train_sample", rank=1)
        optimizer = self.optimizer()
        keys = jax.random.split(key, self.T)

        def body(carry: Any, k: Key) -> tuple[Any, Array]:
            W, ost, state = carry
            t = state.enc.t  # the time the spikes of this step are stamped with
            state = self.step(state, x, k, W)
            updates = W.updates(state.enc.tols, state.wta.s, t)
            W, ost = plasticity.apply_updates(W, updates, ost, optimizer)
            return (W, ost, state), state.wta.s

        (W, new_ost, state), spikes = jax.lax.scan(
            body, (self.W, opt_state, self.init_state()), keys
        )
        trained = eqx.tree_at(lambda m: (m.W, m.thr), self, (W, state.wta.thr))
        nonempty = jnp.sum(x) > 0
        keep = lambda new, old: jnp.where(nonempty, new, old)  # noqa: E731
        model = jax.tree_util.tree_map(keep, trained, self)
        counts = keep(spikes.sum(0), jnp.zeros_like(state.wta.thr))
        return model, jax.tree_util.tree_map(keep, new_ost, opt_state), counts

    def train_patches(
        self, opt_state: Any, patches: Float[Array, "n n_in"], key: Key
    ) -> tuple[EventSTDPPatches, Any, Float[Array, "n n_hid"]]:
        """:meth:`train_sample` on each patch in turn (one ``lax.scan``; patch ``i`` uses
        ``fold_in(key, i)``). **Returns:** ``(model, opt_state, counts)``."""
        check_features(patches, "patches", self.n_in, "EventSTDPPatches.train_patches", rank=2)
        params, static = eqx.partition(self, eqx.is_array)

        def body(carry: Any, inputs: Any) -> tuple[Any, Array]:
            p, ost = carry
            x, i = inputs
            model = eqx.combine(p, static)
            model, ost, counts = model.train_sample(ost, x, jax.random.fold_in(key, i))
            return (eqx.filter(model, eqx.is_array), ost), counts

        idx = jnp.arange(patches.shape[0])
        (params, opt_state), counts = jax.lax.scan(body, (params, opt_state), (patches, idx))
        return eqx.combine(params, static), opt_state, counts

    def respond(self, patches: Float[Array, "batch n_in"], key: Key) -> Float[Array, "batch n_hid"]:
        """WTA spike counts for a batch of patches, without learning and with the
        thresholds frozen at ``thr`` (each patch from rest; patch ``i`` draws its spikes
        from ``fold_in(key, i)``)."""
        check_features(patches, "patches", self.n_in, "EventSTDPPatches.respond", rank=2)

        def one(x: Array, k: Key) -> Array:
            def body(state: EVState, kk: Key) -> tuple[EVState, Array]:
                state = self.step(state, x, kk, self.W)
                state = eqx.tree_at(lambda s: s.wta.thr, state, self.thr)
                return state, state.wta.s

            _, s = jax.lax.scan(body, self.init_state(), jax.random.split(k, self.T))
            return s.sum(0)

        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(patches.shape[0]))
        return jax.vmap(one)(patches, keys)


def filter_match(
    filters: Float[Array, "n_filters n_in"], patches: Float[Array, "n n_in"]
) -> Float[Array, ""]:
    r"""How well a dictionary of filters covers a set of patches: the mean, over the
    patches, of the best Pearson correlation with any filter,

    $$q = \frac{1}{|P|}\sum_{p \in P} \max_k
    \frac{\langle w_k - \bar w_k,\ p - \bar p\rangle}
    {\lVert w_k - \bar w_k\rVert\,\lVert p - \bar p\rVert} \in [-1, 1]$$

    ($\bar v$ the mean of a vector's entries). Centring removes the part every
    non-negative filter shares with every non-negative patch (their mean level), which
    would otherwise give random positive filters a high cosine with anything; what is left
    is the match of shapes. A filter that has become a prototype of some patches (what
    competitive event STDP learns) raises $q$ towards 1; random filters score what chance
    alignment gives ($\approx 0.5$ for 36 random filters of 4x4 patches). Patches with no
    variance (blank or uniform) are left out.
    """
    f = filters - jnp.mean(filters, axis=-1, keepdims=True)
    f = f / jnp.maximum(jnp.linalg.norm(f, axis=-1, keepdims=True), 1e-12)
    p = patches - jnp.mean(patches, axis=-1, keepdims=True)
    norms = jnp.linalg.norm(p, axis=-1)
    p = p / jnp.maximum(norms, 1e-12)[:, None]
    best = jnp.max(p @ f.T, axis=-1)
    used = (norms > 1e-6).astype(best.dtype)
    return jnp.sum(best * used) / jnp.maximum(jnp.sum(used), 1.0)
