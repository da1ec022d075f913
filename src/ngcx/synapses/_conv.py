r"""Convolutional and deconvolutional (transposed-convolution) synapses, static, Hebbian
and trace-STDP, on NHWC inputs with HWIO filters.

The forward maps are :func:`ngcx.conv.conv2d` / :func:`ngcx.conv.conv_transpose2d`
(equal to ``lax.conv_general_dilated`` / ``lax.conv_transpose``, ngc-learn's ``conv2d`` /
``deconv2d``), scaled by ``resist_scale`` and shifted by per-channel biases. Learning
rules are computed as the VJP of the (linear) forward map, so no shape-correction
heuristic is needed:

- filter update $\Delta W = \partial_W \langle \text{post}, \mathrm{op}(\text{pre}, W)
  \rangle$ (the correlation of pre- and post-synaptic maps),
- bias update $\Delta b = \sum_{b,h,w} \text{post}$,
- back-transmitted signal ``backtransmit(post)`` $= \partial_x \langle \text{post},
  y(x)\rangle$.

Differences from ngc-learn: its ``delta_shape``/``x_delta_shape`` corrections crop the
input before correlating (and pad/crop ``dInputs``), which is not the gradient whenever
they are non-zero; its deconvolutional biases have shape ``(1, kernel_width)`` instead of
one per output channel; its ``backtransmit`` multiplies ``dInputs`` by ``sign_value``
(ngcx returns the gradient itself); and it accepts only square images and kernels.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_nonnegative
from .._custom_types import Key
from .._shapes import left_pad_rank
from ..conv import (
    Padding,
    conv2d,
    conv_output_shape,
    conv_padding,
    conv_transpose2d,
    conv_transpose_output_shape,
    normalize_padding,
    normalize_stride,
)
from ..initializers import DistributionGenerator, Initializer
from ._plasticity import HebbianOptions, PriorSpec, updates_like


__all__ = [
    "ConvSynapse",
    "DeconvSynapse",
    "StaticConvSynapse",
    "StaticDeconvSynapse",
    "HebbianConvSynapse",
    "HebbianDeconvSynapse",
    "TraceSTDPConvSynapse",
    "TraceSTDPDeconvSynapse",
    "conv_hebbian_rule",
    "conv_trace_stdp_rule",
]


class _ConvBase(eqx.Module):
    """Shared fields and behaviour of the convolutional synapses."""

    weights: Float[Array, "kh kw c_in c_out"]
    biases: Float[Array, " c_out"] | None
    stride: tuple[int, int] = eqx.field(static=True)
    padding: Any = eqx.field(static=True)
    resist_scale: float = eqx.field(static=True)
    x_shape: tuple[int, int] | None = eqx.field(static=True)

    def __init__(
        self,
        shape: Sequence[int],
        x_shape: Sequence[int] | None = None,
        *,
        key: Key,
        filter_init: Initializer | None = None,
        bias_init: Initializer | None = None,
        use_bias: bool = False,
        stride: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        resist_scale: float = 1.0,
        dtype: Any = None,
    ):
        """**Arguments** (the static :class:`ConvSynapse` and :class:`DeconvSynapse`):

        - `shape`: filter shape ``(kh, kw, c_in, c_out)`` (non-square allowed).
        - `x_shape`: optional input ``(height, width)``; checked against the kernel and
          used by ``backtransmit``.
        - `key`: PRNG key. `filter_init`/`bias_init`: initialisers (default fan-in
          Gaussian / zeros); `use_bias`: give the synapse biases.
        - `stride`: int or ``(sh, sw)``. `padding`: ``"SAME"``, ``"VALID"`` or
          ``((lo, hi), (lo, hi))``. `resist_scale`: output scale. `dtype`: parameter dtype.
        """
        self._setup(
            shape,
            x_shape,
            key,
            filter_init,
            bias_init,
            use_bias,
            stride,
            padding,
            resist_scale,
            dtype,
        )

    def _setup(
        self,
        shape: Sequence[int],
        x_shape: Sequence[int] | None,
        key: Key,
        filter_init: Initializer | None,
        bias_init: Initializer | None,
        use_bias: bool,
        stride: int | Sequence[int],
        padding: Padding,
        resist_scale: float,
        dtype: Any,
    ) -> None:
        shape = tuple(shape)
        if len(shape) != 4 or any(not isinstance(s, int) or s <= 0 for s in shape):
            raise ValueError(
                f"`shape` must be four positive ints (kh, kw, c_in, c_out), got {shape!r}."
            )
        self.stride = normalize_stride(stride)
        self.padding = normalize_padding(padding)
        self.resist_scale = float(resist_scale)
        if x_shape is not None:
            xs = tuple(int(v) for v in x_shape)
            if len(xs) != 2 or any(v <= 0 for v in xs):
                raise ValueError(f"`x_shape` must be (height, width), got {x_shape!r}.")
            self.x_shape = (xs[0], xs[1])
            self._check_geometry(self.x_shape, (shape[0], shape[1]))
        else:
            self.x_shape = None
        wkey, bkey = jax.random.split(key)
        init = DistributionGenerator.fan_in_gaussian() if filter_init is None else filter_init
        self.weights = init(wkey, shape, dtype)
        if use_bias or bias_init is not None:
            binit = DistributionGenerator.constant(0.0) if bias_init is None else bias_init
            self.biases = binit(bkey, (shape[3],), dtype)
        else:
            self.biases = None

    @abc.abstractmethod
    def _check_geometry(self, x_hw: tuple[int, int], k_hw: tuple[int, int]) -> None:
        """Raise ``ValueError`` if the kernel cannot be applied to an input of ``x_hw``."""

    @abc.abstractmethod
    def _op(self, x: Array, W: Array) -> Array:
        """The linear map (convolution or transposed convolution) without scale or bias."""

    @property
    def filters(self) -> Array:
        """The filters (ngc-learn's name), shape ``(kh, kw, c_in, c_out)``."""
        return self.weights

    @property
    def shape(self) -> tuple[int, int, int, int]:
        kh, kw, ci, co = self.weights.shape
        return int(kh), int(kw), int(ci), int(co)

    def _validate_input(self, x: Array) -> None:
        if x.ndim != 4:
            raise ValueError(f"`x` must be (batch, height, width, channels), got shape {x.shape}.")
        if x.shape[-1] != self.shape[2]:
            raise ValueError(
                f"`x` has {x.shape[-1]} channels but the filters expect {self.shape[2]}."
            )
        if self.x_shape is not None and tuple(x.shape[1:3]) != self.x_shape:
            raise ValueError(f"`x` must be {self.x_shape} spatially, got {tuple(x.shape[1:3])}.")

    def __call__(self, x: Float[Array, "batch h w c_in"]) -> Float[Array, "batch oh ow c_out"]:
        """Transmit ``x``: ``resist_scale * op(x, W) + b``."""
        self._validate_input(x)
        y = self.resist_scale * self._op(x, self.weights)
        if self.biases is not None:
            y = y + left_pad_rank(self.biases, y.ndim)
        return y

    def backtransmit(
        self, post: Float[Array, "batch oh ow c_out"], x_hw: tuple[int, int] | None = None
    ) -> Float[Array, "batch h w c_in"]:
        """``dInputs``: the gradient of $\\langle \\text{post}, y(x)\\rangle$ with respect to
        the input, whose spatial size ``x_hw`` defaults to the synapse's ``x_shape``."""
        hw = self.x_shape if x_hw is None else tuple(x_hw)
        if hw is None:
            raise ValueError("`x_hw` is needed when the synapse was built without `x_shape`.")
        x0 = jnp.zeros((post.shape[0], hw[0], hw[1], self.shape[2]), post.dtype)
        _, vjp = jax.vjp(lambda x: self.resist_scale * self._op(x, self.weights), x0)
        (dx,) = vjp(post)
        return dx


class ConvSynapse(_ConvBase):
    r"""Static convolutional synapse, $y = r\,(W \star x) + b$ (cross-correlation, stride
    and padding as ``lax.conv_general_dilated``). ``StaticConvSynapse`` is the same class.
    """

    def _check_geometry(self, x_hw, k_hw):
        pads = conv_padding(x_hw, k_hw, self.stride, self.padding)
        for n, k, (lo, hi), name in zip(x_hw, k_hw, pads, ("height", "width"), strict=True):
            if k > n + lo + hi:
                raise ValueError(
                    f"kernel {name} {k} is larger than the padded input {name} {n + lo + hi}."
                )

    def _op(self, x, W):
        return conv2d(x, W, self.stride, self.padding)

    def output_shape(self, x_hw: tuple[int, int]) -> tuple[int, int]:
        """Spatial output size for an input of ``x_hw``."""
        return conv_output_shape(x_hw, self.shape[:2], self.stride, self.padding)


class DeconvSynapse(_ConvBase):
    r"""Static deconvolutional synapse, $y = r\,(W \star^\top x) + b$: the transposed
    convolution ``lax.conv_transpose(x, W, stride, padding)`` (ngc-learn's ``deconv2d``),
    computed with stride-1 convolutions only. ``StaticDeconvSynapse`` is the same class.
    Constructor as :class:`ConvSynapse`; ``x_shape`` is the (smaller) input size.
    """

    def _check_geometry(self, x_hw, k_hw):
        out = conv_transpose_output_shape(x_hw, k_hw, self.stride, self.padding)
        if min(out) <= 0:
            raise ValueError(f"this kernel/padding gives an empty output {out} for input {x_hw}.")

    def _op(self, x, W):
        return conv_transpose2d(x, W, self.stride, self.padding)

    def output_shape(self, x_hw: tuple[int, int]) -> tuple[int, int]:
        """Spatial output size for an input of ``x_hw``."""
        return conv_transpose_output_shape(x_hw, self.shape[:2], self.stride, self.padding)


StaticConvSynapse = ConvSynapse
StaticDeconvSynapse = DeconvSynapse


def _hebbian_conv_init(
    self,
    shape: Sequence[int],
    x_shape: Sequence[int] | None = None,
    *,
    key: Key,
    eta: float = 0.0,
    filter_init: Initializer | None = None,
    bias_init: Initializer | None = None,
    use_bias: bool = False,
    stride: int | Sequence[int] = 1,
    padding: Padding = "SAME",
    resist_scale: float = 1.0,
    w_bound: float = 0.0,
    is_nonnegative: bool = False,
    w_decay: float = 0.0,
    sign_value: float = 1.0,
    optim_type: str = "sgd",
    pre_wght: float = 1.0,
    post_wght: float = 1.0,
    prior: PriorSpec = None,
    momentum: float = 0.9,
    dtype: Any = None,
):
    """**Arguments:** those of :class:`ConvSynapse` and of
    :class:`ngcx.synapses.HebbianSynapse` (eta, w_bound, is_nonnegative, w_decay,
    sign_value, optim_type, pre_wght, post_wght, prior, momentum); ``w_bound`` only clips
    (as ngc-learn's convolutional synapses) and defaults to 0."""
    self._setup(
        shape, x_shape, key, filter_init, bias_init, use_bias, stride, padding, resist_scale, dtype
    )
    self._set_hebbian_options(
        eta,
        w_bound,
        is_nonnegative,
        w_decay,
        sign_value,
        optim_type,
        pre_wght,
        post_wght,
        prior,
        momentum,
    )


class HebbianConvSynapse(ConvSynapse, HebbianOptions):
    """:class:`ConvSynapse` with ngc-learn's two-factor Hebbian plasticity (the options of
    :class:`ngcx.synapses.HebbianSynapse`); rule: :func:`conv_hebbian_rule`."""

    __init__ = _hebbian_conv_init

    def hebbian_updates(self, pre: Array, post: Array) -> HebbianConvSynapse:
        """:func:`conv_hebbian_rule` applied to this synapse."""
        return conv_hebbian_rule(self, pre, post)


class HebbianDeconvSynapse(DeconvSynapse, HebbianOptions):
    """:class:`DeconvSynapse` with two-factor Hebbian plasticity (ngc-learn's
    ``HebbianDeconvSynapse``); rule: :func:`conv_hebbian_rule`."""

    __init__ = _hebbian_conv_init

    def hebbian_updates(self, pre: Array, post: Array) -> HebbianDeconvSynapse:
        """:func:`conv_hebbian_rule` applied to this synapse."""
        return conv_hebbian_rule(self, pre, post)


def _filter_correlation(synapse: _ConvBase, pre: Array, post: Array) -> Array:
    """$\\partial_W \\langle \\text{post}, \\mathrm{op}(\\text{pre}, W)\\rangle$ (one VJP)."""
    synapse._validate_input(pre)
    _, vjp = jax.vjp(lambda w: synapse._op(pre, w), synapse.weights)
    (dW,) = vjp(post)
    return dW


def conv_hebbian_rule(synapse: Any, pre: Array, post: Array) -> Any:
    r"""Two-factor Hebbian update of a (de)convolutional synapse, shaped like it.

    $\Delta W = a b\, \partial_W \langle \text{post}, \mathrm{op}(\text{pre}, W)\rangle$
    and $\Delta b = b \sum_{n,h,w} \text{post}$ (``pre_wght`` $a$, ``post_wght`` $b$; 1 for a
    static synapse). ``ngcx.learning`` applies sign, decay and the optimiser exactly as
    for dense synapses (descending along ``sign_value`` times this update).
    """
    a = getattr(synapse, "pre_wght", 1.0)
    b = getattr(synapse, "post_wght", 1.0)
    dW = (a * b) * _filter_correlation(synapse, pre, post)
    db = None if synapse.biases is None else b * jnp.sum(post, axis=(0, 1, 2))
    return updates_like(synapse, dW, db)


class _TraceSTDPOptions(eqx.Module):
    A_plus: float = eqx.field(static=True)
    A_minus: float = eqx.field(static=True)
    eta: float = eqx.field(static=True)
    mu: float = eqx.field(static=True)
    w_bound: float = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)

    def _set_stdp_options(self, A_plus, A_minus, eta, mu, w_bound, optim_type):
        for name, value in (("A_plus", A_plus), ("A_minus", A_minus), ("eta", eta), ("mu", mu)):
            check_nonnegative(value, name)
        check_nonnegative(w_bound, "w_bound")
        if mu > 0 and not w_bound > 0:
            raise ValueError("soft bounds (`mu` > 0) need a positive `w_bound`.")
        if optim_type not in ("sgd", "adam"):
            raise ValueError(f"`optim_type` must be 'sgd' or 'adam', got {optim_type!r}.")
        self.A_plus = float(A_plus)
        self.A_minus = float(A_minus)
        self.eta = float(eta)
        self.mu = float(mu)
        self.w_bound = float(w_bound)
        self.optim_type = optim_type

    # the optax glue reads these: STDP adds its update (W <- W + eta dW), so the
    # descending optimiser gets -dW; no decay or prior
    sign_value = -1.0
    w_decay = 0.0
    prior = "none"
    prior_lmbda = 0.0
    momentum = 0.9

    def project(self):
        """Clip the filters to ``[0, w_bound]`` when a bound is set."""
        if self.w_bound > 0:
            w = jnp.clip(self.weights, 0.0, self.w_bound)
            return eqx.tree_at(lambda s: s.weights, self, w)
        return self


def conv_trace_stdp_rule(
    synapse: Any, pre: Array, post: Array, pre_trace: Array, post_trace: Array
) -> Any:
    r"""Trace STDP for (de)convolutional synapses, shaped like the synapse:

    $$\Delta W = A_+ \,C(x_{\text{pre}}, s_{\text{post}}) \odot g_+(W) -
    A_- \,C(s_{\text{pre}}, x_{\text{post}}) \odot g_-(W),$$

    with $C(u, v) = \partial_W\langle v, \mathrm{op}(u, W)\rangle$ the filter correlation,
    spikes $s$ and traces $x$. With ``mu > 0`` the soft bounds are
    $g_+ = (w_{\max} - W)^{\mu}$ and $g_- = W^{\mu}$; otherwise $g_\pm = 1$. Biases get
    no update.
    """
    ltp = _filter_correlation(synapse, pre_trace, post)
    ltd = _filter_correlation(synapse, pre, post_trace)
    W = synapse.weights
    if synapse.mu > 0:
        ltp = ltp * jnp.power(jnp.maximum(synapse.w_bound - W, 0.0), synapse.mu)
        ltd = ltd * jnp.power(jnp.maximum(W, 0.0), synapse.mu)
    dW = synapse.A_plus * ltp - synapse.A_minus * ltd
    db = None if synapse.biases is None else jnp.zeros_like(synapse.biases)
    return updates_like(synapse, dW, db)


def _stdp_conv_init(
    self,
    shape: Sequence[int],
    x_shape: Sequence[int] | None = None,
    *,
    key: Key,
    A_plus: float = 1.0,
    A_minus: float = 1.0,
    eta: float = 1.0,
    mu: float = 0.0,
    w_bound: float = 1.0,
    optim_type: str = "sgd",
    filter_init: Initializer | None = None,
    stride: int | Sequence[int] = 1,
    padding: Padding = "SAME",
    resist_scale: float = 1.0,
    dtype: Any = None,
):
    """**Arguments:** those of :class:`ConvSynapse` (no biases) plus ``A_plus``,
    ``A_minus``, ``eta``, ``mu`` (soft-bound exponent, needs ``w_bound``), ``w_bound`` and
    ``optim_type``; filters default to uniform on ``[0.025, 0.8]`` as in ngc-learn."""
    init = DistributionGenerator.uniform(0.025, 0.8) if filter_init is None else filter_init
    self._setup(shape, x_shape, key, init, None, False, stride, padding, resist_scale, dtype)
    self._set_stdp_options(A_plus, A_minus, eta, mu, w_bound, optim_type)


def _stdp_updates(self, pre, post, pre_trace, post_trace):
    """:func:`conv_trace_stdp_rule` applied to this synapse."""
    return conv_trace_stdp_rule(self, pre, post, pre_trace, post_trace)


class TraceSTDPConvSynapse(ConvSynapse, _TraceSTDPOptions):
    """:class:`ConvSynapse` with trace-based STDP (:func:`conv_trace_stdp_rule`)."""

    __init__ = _stdp_conv_init
    stdp_updates = _stdp_updates


class TraceSTDPDeconvSynapse(DeconvSynapse, _TraceSTDPOptions):
    """:class:`DeconvSynapse` with trace-based STDP (:func:`conv_trace_stdp_rule`)."""

    __init__ = _stdp_conv_init
    stdp_updates = _stdp_updates
