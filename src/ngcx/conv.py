r"""2-D convolution and transposed convolution built from stride-1 convolutions only.

Layouts follow ngc-learn: inputs ``(batch, height, width, channels)`` (NHWC) and filters
``(kh, kw, c_in, c_out)`` (HWIO); non-square images, kernels and strides are accepted.

- :func:`conv2d` equals ``lax.conv_general_dilated(x, W, strides, padding)`` (a
  cross-correlation, ngc-learn's ``conv2d``).
- :func:`conv_transpose2d` equals ``lax.conv_transpose(x, W, strides, padding)``
  (ngc-learn's ``deconv2d``).

Both are computed without any dilated convolution, so neither they nor their VJPs (the
filter update ``dW`` and the back-transmitted ``dX``) ever hit XLA's slow dilated path:

- a stride-$s$ convolution is one stride-1 convolution of the *space-to-depth* input
  (the $s^2$ polyphase components stacked as channels) with the correspondingly
  rearranged kernel;
- a stride-$s$ transposed convolution is one stride-1 convolution producing the $s^2$
  output phases as channels (the sub-pixel / phase decomposition), followed by a
  depth-to-space interleave.

For output phase $r$ of a transposed convolution with low padding $p$, the taps that
reach it are $t \equiv p - r \pmod s$, i.e. the sub-kernel $W[t_0(r) + s j]$, applied at
input offset $c_r = (r + t_0(r) - p)/s$. All sub-kernels are placed in one kernel over the
union of their offsets (zeros elsewhere). Gradients flow through gathers, pads and
reshapes, which XLA lowers to copies. Tested equal to the ``lax`` reference (values,
``dW`` and ``dX``) for strides 1-3 and both paddings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


__all__ = [
    "Padding",
    "normalize_stride",
    "normalize_padding",
    "conv_padding",
    "conv_transpose_padding",
    "conv2d",
    "conv_transpose2d",
    "conv_output_shape",
    "conv_transpose_output_shape",
]

Padding = str | Sequence[tuple[int, int]]  # "SAME", "VALID" or two (lo, hi) pairs
_DIMS = ("NHWC", "HWIO", "NHWC")


def normalize_stride(stride: int | Sequence[int]) -> tuple[int, int]:
    """``stride`` as a pair of positive ints (``ValueError`` naming ``stride`` otherwise)."""
    pair = (stride, stride) if isinstance(stride, int) else tuple(stride)
    if len(pair) != 2 or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in pair):
        raise ValueError(f"`stride` must be a positive int or a pair of them, got {stride!r}.")
    return int(pair[0]), int(pair[1])


def _explicit(padding: Padding) -> tuple[tuple[int, int], tuple[int, int]] | None:
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(
                f"`padding` must be 'SAME', 'VALID' or two (lo, hi) pairs, got {padding!r}."
            )
        return None
    pads = tuple(tuple(int(v) for v in p) for p in padding)
    if len(pads) != 2 or any(len(p) != 2 for p in pads):
        raise ValueError(f"`padding` must be two (lo, hi) pairs, got {padding!r}.")
    return pads  # type: ignore[return-value]


def normalize_padding(padding: Padding) -> str | tuple[tuple[int, int], tuple[int, int]]:
    """``"SAME"``/``"VALID"`` (any case) or two ``(lo, hi)`` int pairs, as hashable values
    (``ValueError`` naming ``padding`` otherwise)."""
    explicit = _explicit(padding)
    return str(padding).upper() if explicit is None else explicit


def conv_padding(
    in_hw: tuple[int, int], kernel_hw: tuple[int, int], stride: tuple[int, int], padding: Padding
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit ``((lo, hi), (lo, hi))`` pads of a forward convolution (as ``lax``)."""
    explicit = _explicit(padding)
    if explicit is not None:
        return explicit
    return tuple(  # type: ignore[return-value]
        jax.lax.padtype_to_pads(in_hw, kernel_hw, stride, str(padding).upper())
    )


def conv_transpose_padding(
    kernel_hw: tuple[int, int], stride: tuple[int, int], padding: Padding
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Pads applied to the stride-dilated input of a transposed convolution (as
    ``lax.conv_transpose``)."""
    explicit = _explicit(padding)
    if explicit is not None:
        return explicit
    mode = str(padding).upper()
    pads = []
    for k, s in zip(kernel_hw, stride, strict=True):
        if mode == "SAME":
            pad_len = k + s - 2
            pad_a = k - 1 if s > k - 1 else int(math.ceil(pad_len / 2))
        else:
            pad_len = k + s - 2 + max(k - s, 0)
            pad_a = k - 1
        pads.append((pad_a, pad_len - pad_a))
    return tuple(pads)  # type: ignore[return-value]


def conv_output_shape(
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: int | Sequence[int],
    padding: Padding,
) -> tuple[int, int]:
    """Spatial output size of :func:`conv2d`."""
    s = normalize_stride(stride)
    pads = conv_padding(in_hw, kernel_hw, s, padding)
    out = []
    for n, k, st, (lo, hi) in zip(in_hw, kernel_hw, s, pads, strict=True):
        size = n + lo + hi - k
        out.append(size // st + 1 if size >= 0 else 0)
    return out[0], out[1]


def conv_transpose_output_shape(
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: int | Sequence[int],
    padding: Padding,
) -> tuple[int, int]:
    """Spatial output size of :func:`conv_transpose2d`."""
    s = normalize_stride(stride)
    pads = conv_transpose_padding(kernel_hw, s, padding)
    out = [
        (n - 1) * st + 1 + lo + hi - k + 1
        for n, k, st, (lo, hi) in zip(in_hw, kernel_hw, s, pads, strict=True)
    ]
    return out[0], out[1]


def _check(x: Array, W: Array) -> None:
    if x.ndim != 4:
        raise ValueError(f"`x` must be (batch, height, width, channels), got shape {x.shape}.")
    if W.ndim != 4:
        raise ValueError(f"`W` must be (kh, kw, c_in, c_out), got shape {W.shape}.")
    if x.shape[-1] != W.shape[2]:
        raise ValueError(
            f"channel mismatch: `x` of shape {x.shape} has {x.shape[-1]} channels, `W` of "
            f"shape {W.shape} expects {W.shape[2]}."
        )


def check_output_shape(
    out_hw: tuple[int, int],
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: tuple[int, int],
    padding: Padding,
    what: str = "convolution",
    names: tuple[str, str] = ("x", "W"),
) -> None:
    """``ValueError`` naming the kernel and input sizes when a (transposed) convolution's
    output ``out_hw`` would be empty (e.g. a ``"VALID"`` kernel larger than its input):
    an empty map is never what was meant. Shapes are static: no run-time cost."""
    if min(out_hw) <= 0:
        raise ValueError(
            f"the {what}'s output would be empty ({out_hw[0]} x {out_hw[1]}): the kernel "
            f"of `{names[1]}` is {tuple(kernel_hw)} and the input `{names[0]}` is "
            f"{tuple(in_hw)} (height, "
            f"width), with stride "
            f"{tuple(stride)} and padding {normalize_padding(padding)!r}; the kernel must fit "
            "in the padded input."
        )


def _stride1(x: Array, W: Array, pads) -> Array:
    return jax.lax.conv_general_dilated(x, W, (1, 1), pads, dimension_numbers=_DIMS)


# ---------------------------------------------------------------------------
# strided convolution: space-to-depth + one stride-1 convolution
# ---------------------------------------------------------------------------


def conv2d(
    x: Float[Array, "batch h w c_in"],
    W: Float[Array, "kh kw c_in c_out"],
    stride: int | Sequence[int] = 1,
    padding: Padding = "SAME",
) -> Float[Array, "batch oh ow c_out"]:
    """Cross-correlation, equal to ``lax.conv_general_dilated(x, W, stride, padding)``
    with NHWC/HWIO layouts; strided cases use no dilated convolution (see the module).

    **Raises:** ``ValueError`` naming `x`/`W` for a wrong rank or a channel mismatch, and
    naming the kernel and input sizes when the output would be empty (a ``"VALID"`` kernel
    larger than the input), at trace time."""
    _check(x, W)
    s = normalize_stride(stride)
    kh, kw = W.shape[0], W.shape[1]
    pads = conv_padding((x.shape[1], x.shape[2]), (kh, kw), s, padding)
    oh, ow = conv_output_shape((x.shape[1], x.shape[2]), (kh, kw), s, padding)
    check_output_shape((oh, ow), (x.shape[1], x.shape[2]), (kh, kw), s, padding)
    if s == (1, 1):
        return _stride1(x, W, pads)
    sh, sw = s
    qh, qw = -(-kh // sh), -(-kw // sw)  # sub-kernel sizes
    # pad so that the padded length is (out + q - 1) * s: every polyphase has out + q - 1
    lh, lw = (oh + qh - 1) * sh, (ow + qw - 1) * sw
    (plo_h, _), (plo_w, _) = pads
    xp = jax.lax.pad(
        x,
        jnp.zeros((), x.dtype),
        (
            (0, 0, 0),
            (plo_h, lh - x.shape[1] - plo_h, 0),
            (plo_w, lw - x.shape[2] - plo_w, 0),
            (0, 0, 0),
        ),
    )
    b, c = x.shape[0], x.shape[3]
    # space-to-depth: (B, Lh/sh, sh, Lw/sw, sw, C) -> (B, Lh/sh, Lw/sw, sh, sw, C)
    xs = xp.reshape(b, lh // sh, sh, lw // sw, sw, c).transpose(0, 1, 3, 2, 4, 5)
    xs = xs.reshape(b, lh // sh, lw // sw, sh * sw * c)
    # kernel: W[r + s*j] -> K[j, (r, c)], zero where r + s*j >= k
    Wp = jnp.pad(W, ((0, qh * sh - kh), (0, qw * sw - kw), (0, 0), (0, 0)))
    K = Wp.reshape(qh, sh, qw, sw, c, W.shape[3]).transpose(0, 2, 1, 3, 4, 5)
    K = K.reshape(qh, qw, sh * sw * c, W.shape[3])
    return _stride1(xs, K, ((0, 0), (0, 0)))


# ---------------------------------------------------------------------------
# transposed convolution: one stride-1 convolution over all output phases
# ---------------------------------------------------------------------------


def _phase_plan(k: int, s: int, pad_lo: int):
    """Per output phase r: (t0, c_r, J_r), and the union offset range [umin, umax]."""
    plan = []
    for r in range(s):
        t0 = (pad_lo - r) % s
        count = len(range(t0, k, s))
        c = (r + t0 - pad_lo) // s
        plan.append((t0, c, count))
    offsets = [c for _, c, n in plan if n] + [c + n - 1 for _, c, n in plan if n]
    umin, umax = (min(offsets), max(offsets)) if offsets else (0, 0)
    return plan, umin, umax


def _phase_index(k: int, s: int, pad_lo: int):
    """Static gather indices and mask: tap of W feeding (offset u, phase r), or none."""
    plan, umin, umax = _phase_plan(k, s, pad_lo)
    width = umax - umin + 1
    index = np.zeros((width, s), dtype=np.int32)
    mask = np.zeros((width, s), dtype=bool)
    for r, (t0, c, n) in enumerate(plan):
        for j in range(n):
            u = c + j - umin
            index[u, r] = t0 + s * j
            mask[u, r] = True
    return index, mask, umin, width


def conv_transpose2d(
    x: Float[Array, "batch h w c_in"],
    W: Float[Array, "kh kw c_in c_out"],
    stride: int | Sequence[int] = 1,
    padding: Padding = "SAME",
) -> Float[Array, "batch oh ow c_out"]:
    """Transposed convolution, equal to ``lax.conv_transpose(x, W, stride, padding)``
    (``transpose_kernel=False``, NHWC/HWIO: ngc-learn's ``deconv2d``), computed as one
    stride-1 convolution and a depth-to-space interleave (see the module docstring).

    **Raises:** as :func:`conv2d` (an empty output comes only from negative explicit
    padding here)."""
    _check(x, W)
    s = normalize_stride(stride)
    kh, kw, c_in, c_out = W.shape
    pads = conv_transpose_padding((kh, kw), s, padding)
    oh, ow = conv_transpose_output_shape((x.shape[1], x.shape[2]), (kh, kw), s, padding)
    check_output_shape(
        (oh, ow), (x.shape[1], x.shape[2]), (kh, kw), s, padding, "transposed convolution"
    )
    if s == (1, 1):
        return _stride1(x, W, pads)
    sh, sw = s
    ih, mh, umin_h, uh = _phase_index(kh, sh, pads[0][0])
    iw, mw, umin_w, uw = _phase_index(kw, sw, pads[1][0])
    # K[uh, uw, c_in, (rh, rw, c_out)] = W[ih[uh, rh], iw[uw, rw]] where both taps exist
    K = W[ih[:, None, :, None], iw[None, :, None, :]]  # (uh, uw, sh, sw, c_in, c_out)
    mask = (mh[:, None, :, None] & mw[None, :, None, :]).astype(W.dtype)
    K = K * mask[..., None, None]
    K = K.transpose(0, 1, 4, 2, 3, 5).reshape(uh, uw, c_in, sh * sw * c_out)
    qh, qw = -(-oh // sh), -(-ow // sw)
    # output phase q reads input rows q + umin .. q + umin + U - 1
    pad_h = (-umin_h, qh + uh - 1 + umin_h - x.shape[1])
    pad_w = (-umin_w, qw + uw - 1 + umin_w - x.shape[2])
    xp = jax.lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (*pad_h, 0), (*pad_w, 0), (0, 0, 0)))
    y = _stride1(xp, K, ((0, 0), (0, 0)))  # (B, qh, qw, sh*sw*c_out)
    b = x.shape[0]
    y = y.reshape(b, qh, qw, sh, sw, c_out).transpose(0, 1, 3, 2, 4, 5)
    y = y.reshape(b, qh * sh, qw * sw, c_out)
    return y[:, :oh, :ow, :]
