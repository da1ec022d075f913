r"""Convolutional and deconvolutional (transposed-convolution) synapses on NHWC inputs
with HWIO filters (their Hebbian and STDP learning: :mod:`ngcx.plasticity`).

The forward maps are :func:`ngcx.conv.conv2d` / :func:`ngcx.conv.conv_transpose2d`
(equal to ``lax.conv_general_dilated`` / ``lax.conv_transpose``, ngc-learn's ``conv2d`` /
``deconv2d``), scaled by ``resist_scale`` and shifted by per-channel biases. The
contraction that learning rules use is the VJP of the (linear) forward map, so no
shape-correction heuristic is needed:

- ``contract(pre, post)`` $= \partial_W \langle \text{post}, \mathrm{op}(\text{pre}, W)
  \rangle$ (the correlation of pre- and post-synaptic maps),
- ``bias_contract(post)`` $= \sum_{b,h,w} \text{post}$,
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
import numpy as np
from jaxtyping import Array, Float

from .._custom_types import Key
from .._params import is_static_one, param
from .._shapes import left_pad_rank
from ..conv import (
    Padding,
    check_output_shape,
    conv2d,
    conv_output_shape,
    conv_transpose2d,
    conv_transpose_output_shape,
    normalize_padding,
    normalize_stride,
)
from ..initializers import DistributionGenerator, Initializer
from ._base import AbstractSynapse


__all__ = ["ConvSynapse", "DeconvSynapse", "StaticConvSynapse", "StaticDeconvSynapse"]


class _AbstractConvSynapse(AbstractSynapse):
    """Shared fields and behaviour of the convolutional synapses (abstract: the finals
    implement the geometry check and the linear map)."""

    weights: Float[Array, "kh kw c_in c_out"]
    biases: Float[Array, " c_out"] | None
    resist_scale: Float[Array, ""]
    stride: tuple[int, int] = eqx.field(static=True)
    padding: Any = eqx.field(static=True)
    x_shape: tuple[int, int] | None = eqx.field(static=True)

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
        resist_scale: Any,
        dtype: Any,
    ) -> None:
        shape = tuple(shape)
        if len(shape) != 4 or any(
            not isinstance(s, int) or isinstance(s, bool) or s <= 0 for s in shape
        ):
            raise ValueError(
                f"`shape` must be four positive ints (kh, kw, c_in, c_out), got {shape!r}."
            )
        self.stride = normalize_stride(stride)
        self.padding = normalize_padding(padding)
        self.resist_scale = param(resist_scale, "resist_scale")
        if x_shape is not None:
            xs = tuple(int(v) for v in x_shape)
            if len(xs) != 2 or any(v <= 0 for v in xs):
                raise ValueError(f"`x_shape` must be (height, width), got {x_shape!r}.")
            self.x_shape = (xs[0], xs[1])
            self._check_geometry(self.x_shape, (shape[0], shape[1]), "x_shape")
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
    def _check_geometry(
        self, x_hw: tuple[int, int], k_hw: tuple[int, int], x_name: str = "x"
    ) -> None:
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

    def _validate_input(self, x: Array, name: str = "x") -> None:
        if x.ndim != 4:
            raise ValueError(
                f"`{name}` of {type(self).__name__} must be (batch, height, width, "
                f"{self.shape[2]}), got shape {tuple(x.shape)}."
            )
        if x.shape[-1] != self.shape[2]:
            raise ValueError(
                f"`{name}` of shape {tuple(x.shape)} has {x.shape[-1]} channels but the "
                f"filters of shape {self.shape} expect {self.shape[2]}."
            )
        if self.x_shape is not None and tuple(x.shape[1:3]) != self.x_shape:
            raise ValueError(
                f"`{name}` of {type(self).__name__} must be {self.x_shape} spatially (its "
                f"`x_shape`), got shape {tuple(x.shape)}."
            )
        if self.x_shape is None:  # checked at construction otherwise
            self._check_geometry((int(x.shape[1]), int(x.shape[2])), self.shape[:2], name)

    def _validate_post(self, post: Array, x_hw: tuple[int, int], batch: int | None) -> None:
        """``ValueError`` naming `post` unless it is the map's output for an input of
        spatial size ``x_hw`` (and, when given, ``batch`` samples)."""
        oh, ow = self.output_shape(x_hw)
        want = ("batch" if batch is None else batch, oh, ow, self.shape[3])
        ok = post.ndim == 4 and tuple(post.shape[1:]) == want[1:]
        if not ok or (batch is not None and post.shape[0] != batch):
            text = "(" + ", ".join(str(v) for v in want) + ")"
            raise ValueError(
                f"`post` of {type(self).__name__} must have shape {text} (the output for an "
                f"input of {tuple(x_hw)}), got shape {tuple(post.shape)}."
            )

    @abc.abstractmethod
    def output_shape(self, x_hw: tuple[int, int]) -> tuple[int, int]:
        """Spatial output size for an input of ``x_hw``."""

    def __call__(self, x: Float[Array, "batch h w c_in"]) -> Float[Array, "batch oh ow c_out"]:
        """Transmit ``x``: ``resist_scale * op(x, W) + b``."""
        self._validate_input(x)
        y = self._scaled(self._op(x, self.weights))
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
        if x_hw is not None:
            if len(hw) != 2 or any(not isinstance(v, int | np.integer) or v <= 0 for v in hw):
                raise ValueError(f"`x_hw` must be two positive ints, got {x_hw!r}.")
            hw = (int(hw[0]), int(hw[1]))
            self._check_geometry(hw, self.shape[:2], "x_hw")
        self._validate_post(post, (hw[0], hw[1]), None)
        x0 = jnp.zeros((post.shape[0], hw[0], hw[1], self.shape[2]), post.dtype)
        _, vjp = jax.vjp(lambda x: self._scaled(self._op(x, self.weights)), x0)
        (dx,) = vjp(post)
        return dx

    def _scaled(self, y: Array) -> Array:
        """``resist_scale * y`` (a concrete 1, closed over by jit, is skipped)."""
        return y if is_static_one(self.resist_scale) else self.resist_scale * y

    def contract(
        self, pre: Float[Array, "batch h w c_in"], post: Float[Array, "batch oh ow c_out"]
    ) -> Float[Array, "kh kw c_in c_out"]:
        """The filter correlation $\\partial_W \\langle \\text{post}, \\mathrm{op}(\\text{pre},
        W)\\rangle$ (one VJP of the linear map; summed over the batch)."""
        self._validate_input(pre, "pre")
        self._validate_post(post, (int(pre.shape[1]), int(pre.shape[2])), int(pre.shape[0]))
        _, vjp = jax.vjp(lambda w: self._op(pre, w), self.weights)
        (dW,) = vjp(post)
        return dW

    def bias_contract(self, post: Float[Array, "batch oh ow c_out"]) -> Float[Array, " c_out"]:
        """$\\sum_{b,h,w} \\text{post}$."""
        if post.ndim != 4 or post.shape[-1] != self.shape[3]:
            raise ValueError(
                f"`post` of {type(self).__name__} must have shape (batch, oh, ow, "
                f"{self.shape[3]}), got shape {tuple(post.shape)}."
            )
        return jnp.sum(post, axis=(0, 1, 2))


class ConvSynapse(_AbstractConvSynapse):
    r"""Static convolutional synapse, $y = r\,(W \star x) + b$ (cross-correlation, stride
    and padding as ``lax.conv_general_dilated``). ``StaticConvSynapse`` is the same class.
    """

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
        resist_scale: Any = 1.0,
        dtype: Any = None,
    ):
        """**Arguments:**

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

    def _check_geometry(self, x_hw, k_hw, x_name="x"):
        out = conv_output_shape(x_hw, k_hw, self.stride, self.padding)
        check_output_shape(out, x_hw, k_hw, self.stride, self.padding, names=(x_name, "shape"))

    def _op(self, x, W):
        return conv2d(x, W, self.stride, self.padding)

    def output_shape(self, x_hw: tuple[int, int]) -> tuple[int, int]:
        """Spatial output size for an input of ``x_hw``."""
        return conv_output_shape(x_hw, self.shape[:2], self.stride, self.padding)


class DeconvSynapse(_AbstractConvSynapse):
    r"""Static deconvolutional synapse, $y = r\,(W \star^\top x) + b$: the transposed
    convolution ``lax.conv_transpose(x, W, stride, padding)`` (ngc-learn's ``deconv2d``),
    computed with stride-1 convolutions only. ``StaticDeconvSynapse`` is the same class.
    ``x_shape`` is the (smaller) input size.
    """

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
        resist_scale: Any = 1.0,
        dtype: Any = None,
    ):
        """**Arguments:**

        - `shape`: filter shape ``(kh, kw, c_in, c_out)`` (non-square allowed).
        - `x_shape`: optional (smaller) input ``(height, width)``; checked against the
          kernel and used by ``backtransmit``.
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

    def _check_geometry(self, x_hw, k_hw, x_name="x"):
        out = conv_transpose_output_shape(x_hw, k_hw, self.stride, self.padding)
        check_output_shape(
            out, x_hw, k_hw, self.stride, self.padding, "transposed convolution", (x_name, "shape")
        )

    def _op(self, x, W):
        return conv_transpose2d(x, W, self.stride, self.padding)

    def output_shape(self, x_hw: tuple[int, int]) -> tuple[int, int]:
        """Spatial output size for an input of ``x_hw``."""
        return conv_transpose_output_shape(x_hw, self.shape[:2], self.stride, self.padding)


StaticConvSynapse = ConvSynapse
StaticDeconvSynapse = DeconvSynapse
