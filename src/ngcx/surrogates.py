r"""Spike emission with surrogate derivatives.

A spike is the Heaviside step of the membrane potential above threshold,

$$s = H(v - \theta) = 1[v > \theta],$$

whose true derivative is zero almost everywhere. Each surrogate here is a small,
immutable ``eqx.Module`` whose ``__call__(v, thr)`` returns exactly that step, through a
``jax.custom_jvp`` whose tangent is the surrogate derivative $g(v - \theta)$ (and
$-g(v - \theta)$ with respect to ``thr``). So ``jax.grad`` through a spiking network uses
the surrogate with no side function to call.

Every surrogate also has a *relaxation* ``surr_fx`` $S$, a smooth (or piecewise smooth)
stand-in for the step, and the rule that holds for all of them is
$$g = S'.$$
The tests check it by finite differences on a grid, and check that ``jax.grad`` through
the spike equals ``d_spike_fx``, under ``jit`` and ``vmap``.

Surrogates (selectable by name with :func:`get_surrogate`):

| name | $g(x)$, $x = v - \theta$ | $S(x)$ |
| --- | --- | --- |
| ``straight_through`` | $1$ | $x$ |
| ``triangular`` | $\max(0, 1 - \lvert x\rvert/w)/w$ | piecewise quadratic, 0 to 1 |
| ``triangular_explicit`` | $h\max(0, 1 - \lvert x\rvert/w)$ | $h w$ times the above |
| ``boxcar`` | $1[\lvert x\rvert < w/2]/w$ | $\mathrm{clip}(x/w + 1/2, 0, 1)$ |
| ``boxcar_explicit`` | $h\,1[\lvert x\rvert \le a]$ | $h(\mathrm{clip}(x, -a, a) + a)$ |
| ``arctan`` | $\frac{\alpha/2}{1 + (\pi\alpha x/2)^2}$ | $\arctan(\pi\alpha x/2)/\pi$ |
| ``secant_lif`` | $c_1 c_2 \,\mathrm{sech}^2(c_2 x) 1[x > 0]$ | $\max(0, c_1\tanh(c_2 x))$ |
| ``fast_sigmoid`` / ``superspike`` | $1/(1 + k\lvert x\rvert)^2$ | $x/(1 + k\lvert x\rvert)$ |
| ``sigmoid`` | $k\sigma(kx)(1 - \sigma(kx))$ | $\sigma(kx)$ |
| ``tanh`` | $\tfrac{k}{2}(1 - \tanh^2(kx))$ | $\tfrac12(1 + \tanh(kx))$ |
| ``gaussian`` | $\mathcal N(x; 0, \sigma^2)$ | $\Phi(x/\sigma)$ |
| ``piecewise_linear`` | $1/(2w)$ inside $\lvert x\rvert < w$, ``leak`` outside | continuous ramp |
| ``exponential`` | $\tfrac{\beta}{2}e^{-\beta\lvert x\rvert}$ | Laplace CDF |

ngc-learn's builders (:func:`straight_through_estimator`, :func:`triangular_estimator`,
:func:`explicit_triangular_estimator`, :func:`boxcar_estimator`, :func:`arctan_estimator`,
:func:`secant_lif_estimator`) return ``(spike_fx, d_spike_fx)`` or
``(spike_fx, surr_fx, d_spike_fx)`` with ngc-learn 3.2's signatures, defaults and
derivatives:

* ``triangular_estimator``: $\max(0, 1 - \alpha\lvert x\rvert)$, $\alpha = 2$
  (``TriangularExplicit(1, 1/alpha)``; ``unit_area=True``: ``Triangular(1/alpha)``);
* ``explicit_triangular_estimator``: $\max(0, 1 - \lvert x\rvert/a)$, $a$ = ``window``
  $= 5$ (``TriangularExplicit(1, window)``; ``unit_area=True``: ``Triangular(window)``);
* ``boxcar_estimator``: $1[\lvert x\rvert \le a]$, $a$ = ``window`` $= 5$
  (``BoxcarExplicit(1, window)``; ``unit_area=True``: ``Boxcar(2 window)``);
* ``arctan_estimator``: $\frac{1/\pi}{1 + (\pi\alpha x/2)^2}$
  (``ArcTan(alpha, ngclearn_scaling=True)``; ``ngclearn_scaling=False``: ``ArcTan(alpha)``).

The named classes ``triangular`` and ``boxcar`` (``get_surrogate``, and so the cells'
``surrogate_type``) are ngcx's unit-area forms, as before.

Differences from ngc-learn 3.2's ``surrogate_fx`` (all deliberate):

* ``surr_fx``: ngc-learn's straight-through, triangular, explicit-triangular and boxcar
  builders return the step ``spike_fx`` itself as ``surr_fx``, whose derivative is not
  the carried one. ngcx returns a relaxation $S$ with $S' = g$: $x$ for the
  straight-through estimator, the piecewise quadratic for the triangles, the clipped ramp
  for the boxcar.
* ``arctan``: ngc-learn's ``d_spike_fx`` is $\frac{1/\pi}{1 + (\pi\alpha(v -
  \theta)/2)^2}$, which is not the derivative of its own ``surr_fx``
  $\arctan(\pi\alpha v/2)/\pi$ (that is the $\alpha/2$ form above, as in snnTorch), and
  its ``surr_fx`` ignores the threshold. ngcx's :func:`arctan_estimator` carries
  ngc-learn's derivative (``ngclearn_scaling=True``) with the relaxation whose derivative
  it is, $\frac{2}{\pi^2\alpha}\arctan(\pi\alpha(v - \theta)/2)$;
  ``ngclearn_scaling=False`` (and the class ``ArcTan()``) carry the true derivative of
  $\arctan(\pi\alpha x/2)/\pi$.
* ``secant_lif``: ngc-learn's ``d_spike_fx`` uses $\mathrm{sech}$ where the derivative of
  its ``surr_fx`` (and its docstring) has $\mathrm{sech}^2$. ngcx uses $\mathrm{sech}^2$
  (``secant_lif_estimator(ngclearn_sech=True)`` / ``SecantLIF(ngclearn_sech=True)``
  carry ngc-learn's $\mathrm{sech}$ with a matching relaxation).
  ``omit_scale=True`` drops the $c_1 c_2$ factor from the derivative *and* divides the
  relaxation by $c_1 c_2$ so the two still agree. As in ngc-learn, the derivative is
  meant to be evaluated on the LIF neuron's input current $j$: call ``d_spike_fx(j)``
  (``thr`` defaults to 0, and ngcx evaluates at $j - \theta$ where ngc-learn ignores
  ``thr``).
* Widths: ngc-learn accepts ``alpha <= 0`` or ``window <= 0`` (``alpha = 0`` makes the
  triangle a constant 1); ngcx raises ``ValueError`` naming the argument when the value
  is concrete (a window must be positive).
* Every derivative is evaluated at $v - \theta$: pass ``thr=0`` to evaluate at $v$.
"""

from __future__ import annotations

import abc
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero
from jaxtyping import Array, ArrayLike, Float

from ._checks import check_nonnegative, check_positive, float_array
from ._custom_types import Scalar


__all__ = [
    "AbstractSurrogate",
    "StraightThrough",
    "Triangular",
    "TriangularExplicit",
    "Boxcar",
    "BoxcarExplicit",
    "ArcTan",
    "SecantLIF",
    "FastSigmoid",
    "Sigmoid",
    "Tanh",
    "Gaussian",
    "PiecewiseLinear",
    "Exponential",
    "SURROGATES",
    "get_surrogate",
    "estimator",
    "straight_through_estimator",
    "triangular_estimator",
    "explicit_triangular_estimator",
    "boxcar_estimator",
    "arctan_estimator",
    "secant_lif_estimator",
]


@jax.custom_jvp
def _spike(surrogate: AbstractSurrogate, v: Array, thr: Array) -> Array:
    return (v > thr).astype(v.dtype)


def _spike_jvp(primals, tangents):
    surrogate, v, thr = primals
    _, tv, tthr = tangents  # the surrogate's own parameters get no derivative
    out = _spike(surrogate, v, thr)
    v_zero = isinstance(tv, SymbolicZero)
    thr_zero = isinstance(tthr, SymbolicZero)
    if v_zero and thr_zero:
        return out, jnp.zeros_like(out)
    g = surrogate.derivative(v - thr).astype(v.dtype)
    # skip the known-zero tangents (a constant threshold is the common case): fewer ops
    # in the backward pass of a spiking network
    if thr_zero:
        return out, g * tv
    if v_zero:
        return out, -(g * tthr)
    return out, g * (tv - tthr)


_spike.defjvp(_spike_jvp, symbolic_zeros=True)


class AbstractSurrogate(eqx.Module):
    r"""A spike function $H(v - \theta)$ carrying the surrogate derivative $g$.

    Subclasses define ``derivative(x)`` $= g(x)$ and ``relaxation(x)`` $= S(x)$ with
    $g = S'$, as functions of $x = v - \theta$.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def derivative(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """The surrogate derivative $g(x)$ at $x = v - \\theta$."""

    @abc.abstractmethod
    def relaxation(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """The relaxation $S(x)$ whose derivative is $g$."""

    def __call__(
        self, v: Float[ArrayLike, "*shape"], thr: Float[ArrayLike, "*#shape"] | Scalar = 0.0
    ) -> Float[Array, "*shape"]:
        """Emit spikes.

        **Arguments:**

        - `v`: membrane potential, any shape.
        - `thr`: threshold, a scalar or an array broadcastable to `v`'s shape.

        **Returns:**

        ``1[v > thr]`` with `v`'s dtype; its jvp is $g(v - \\theta)(\\dot v - \\dot\\theta)$.
        """
        v = float_array(v, "v")
        thr_arr = jnp.broadcast_to(jnp.asarray(thr, dtype=v.dtype), v.shape)
        return _spike(self, v, thr_arr)

    def spike_fx(
        self, v: Float[ArrayLike, "*shape"], thr: Float[ArrayLike, "*#shape"] | Scalar = 0.0
    ) -> Float[Array, "*shape"]:
        """Same as calling the surrogate (ngc-learn's name)."""
        return self(v, thr)

    def surr_fx(
        self, v: Float[ArrayLike, "*shape"], thr: Float[ArrayLike, "*#shape"] | Scalar = 0.0
    ) -> Float[Array, "*shape"]:
        r"""The relaxation $S(v - \theta)$ (differentiable by autodiff)."""
        v = float_array(v, "v")
        return self.relaxation(v - jnp.broadcast_to(jnp.asarray(thr, dtype=v.dtype), v.shape))

    def d_spike_fx(
        self, v: Float[ArrayLike, "*shape"], thr: Float[ArrayLike, "*#shape"] | Scalar = 0.0
    ) -> Float[Array, "*shape"]:
        r"""$\partial s / \partial v$ elementwise: exactly the tangent the spike's jvp carries."""
        v = float_array(v, "v")
        _, tangent = jax.jvp(lambda u: self(u, thr), (v,), (jnp.ones_like(v),))
        return tangent


class StraightThrough(AbstractSurrogate):
    r"""Straight-through estimator (Bengio et al., 2013): $g = 1$, $S(x) = x$."""

    name: ClassVar[str] = "straight_through"

    def derivative(self, x):
        return jnp.ones_like(x)

    def relaxation(self, x):
        return x


def _unit_triangle_cdf(u: Array) -> Array:
    """CDF of the unit triangle density ``max(0, 1 - |u|)`` on ``[-1, 1]``."""
    u = jnp.clip(u, -1.0, 1.0)
    left = 0.5 * jnp.square(u + 1.0)
    right = 1.0 - 0.5 * jnp.square(1.0 - u)
    return jnp.where(u < 0, left, right)


class Triangular(AbstractSurrogate):
    r"""Triangular surrogate of half-width $w$ and unit area:
    $g(x) = \max(0, 1 - \lvert x\rvert / w) / w$.

    At the default ``width=1`` this is $\max(0, 1 - \lvert v - \theta\rvert)$. $S$ rises
    from 0 (at $x = -w$) to 1 (at $x = w$) piecewise quadratically.
    """

    width: Scalar = 1.0
    name: ClassVar[str] = "triangular"

    def __check_init__(self):
        check_positive(self.width, "width")

    def derivative(self, x):
        return jnp.maximum(0.0, 1.0 - jnp.abs(x) / self.width) / self.width

    def relaxation(self, x):
        return _unit_triangle_cdf(x / self.width)


class TriangularExplicit(AbstractSurrogate):
    r"""Triangle with explicit peak height $h$ and half-width $w$:
    $g(x) = h \max(0, 1 - \lvert x\rvert / w)$; $S$ rises from 0 to $h w$."""

    height: Scalar = 1.0
    width: Scalar = 1.0
    name: ClassVar[str] = "triangular_explicit"

    def __check_init__(self):
        check_positive(self.height, "height")
        check_positive(self.width, "width")

    def derivative(self, x):
        return self.height * jnp.maximum(0.0, 1.0 - jnp.abs(x) / self.width)

    def relaxation(self, x):
        return self.height * self.width * _unit_triangle_cdf(x / self.width)


class Boxcar(AbstractSurrogate):
    r"""Rectangular window of width $w$ and unit area: $g(x) = 1[\lvert x\rvert < w/2] / w$,
    $S(x) = \mathrm{clip}(x / w + 1/2, 0, 1)$."""

    width: Scalar = 1.0
    name: ClassVar[str] = "boxcar"

    def __check_init__(self):
        check_positive(self.width, "width")

    def derivative(self, x):
        inside = jnp.abs(x) < 0.5 * self.width
        return jnp.where(inside, 1.0 / self.width, 0.0).astype(x.dtype)

    def relaxation(self, x):
        return jnp.clip(x / self.width + 0.5, 0.0, 1.0)


class BoxcarExplicit(AbstractSurrogate):
    r"""Rectangular window of explicit height $h$ and half-width $a$ (ngc-learn 3.2's
    ``boxcar_estimator``, which has $h = 1$, $a = 5$):
    $g(x) = h\,1[\lvert x\rvert \le a]$, $S(x) = h(\mathrm{clip}(x, -a, a) + a)$, rising
    from 0 to $2ha$. The window is closed, as in ngc-learn; see :class:`Boxcar` for the
    unit-area window."""

    height: Scalar = 1.0
    window: Scalar = 5.0
    name: ClassVar[str] = "boxcar_explicit"

    def __check_init__(self):
        check_positive(self.height, "height")
        check_positive(self.window, "window")

    def derivative(self, x):
        inside = jnp.abs(x) <= self.window
        return jnp.where(inside, self.height, 0.0).astype(x.dtype)

    def relaxation(self, x):
        return self.height * (jnp.clip(x, -self.window, self.window) + self.window)


class ArcTan(AbstractSurrogate):
    r"""Arctan surrogate (Fang et al., 2021; snnTorch's ``atan``):
    $S(x) = \arctan(\pi\alpha x / 2)/\pi$, $g(x) = \frac{\alpha/2}{1 + (\pi\alpha x/2)^2}$.

    ``ngclearn_scaling=True`` carries ngc-learn's derivative
    $\frac{1/\pi}{1 + (\pi\alpha x/2)^2}$ instead, with the relaxation
    $\frac{2}{\pi^2\alpha}\arctan(\pi\alpha x/2)$ whose derivative it is. (ngc-learn also
    evaluates it at $v$, ignoring the threshold: pass ``thr=0`` to do the same.)
    """

    alpha: Scalar = 2.0
    ngclearn_scaling: bool = eqx.field(default=False, static=True)
    name: ClassVar[str] = "arctan"

    def __check_init__(self):
        check_positive(self.alpha, "alpha")

    def _peak(self):
        return 1.0 / math.pi if self.ngclearn_scaling else 0.5 * self.alpha

    def derivative(self, x):
        z = 0.5 * math.pi * self.alpha * x
        return self._peak() / (1.0 + jnp.square(z))

    def relaxation(self, x):
        z = 0.5 * math.pi * self.alpha * x
        return self._peak() / (0.5 * math.pi * self.alpha) * jnp.arctan(z)


class SecantLIF(AbstractSurrogate):
    r"""Secant surrogate for LIF neurons (Samadi, Lillicrap and Tweed, 2017):
    $S(x) = \max(0, c_1 \tanh(c_2 x))$, $g(x) = c_1 c_2\,\mathrm{sech}^2(c_2 x)\,1[x > 0]$.

    Meant to be evaluated on the input current $j$ (``d_spike_fx(j)``).
    ``omit_scale=True`` (ngc-learn's default for the derivative) drops $c_1 c_2$ from $g$
    and divides $S$ by the same factor. ngc-learn's derivative has $\mathrm{sech}$ where
    the derivative of its ``surr_fx`` has $\mathrm{sech}^2$; ngcx uses $\mathrm{sech}^2$.
    ``ngclearn_sech=True`` carries ngc-learn's $\mathrm{sech}(c_2 x)$ instead (times the
    same scale), for ported experiments, with the relaxation whose derivative it is,
    $\frac{s}{c_2}\mathrm{gd}(c_2 x)\,1[x > 0]$, $\mathrm{gd}(u) = 2\arctan(\tanh(u/2))$
    the Gudermannian and $s$ the scale ($1$ or $c_1 c_2$).
    """

    c1: Scalar = 0.82
    c2: Scalar = 0.08
    omit_scale: bool = eqx.field(default=True, static=True)
    ngclearn_sech: bool = eqx.field(default=False, static=True)
    name: ClassVar[str] = "secant_lif"

    def __check_init__(self):
        check_positive(self.c1, "c1")
        check_positive(self.c2, "c2")

    def _scale(self):
        return 1.0 if self.omit_scale else self.c1 * self.c2

    def derivative(self, x):
        sech = 1.0 / jnp.cosh(self.c2 * x)
        shape = sech if self.ngclearn_sech else jnp.square(sech)
        return jnp.where(x > 0, self._scale() * shape, 0.0).astype(x.dtype)

    def relaxation(self, x):
        if self.ngclearn_sech:
            gd = 2.0 * jnp.arctan(jnp.tanh(0.5 * self.c2 * jnp.maximum(x, 0.0)))
            return gd * (self._scale() / self.c2)
        return jnp.maximum(0.0, jnp.tanh(self.c2 * x)) * (self._scale() / self.c2)


class FastSigmoid(AbstractSurrogate):
    r"""Fast sigmoid / SuperSpike (Zenke and Ganguli, 2018):
    $g(x) = 1/(1 + k\lvert x\rvert)^2$, $S(x) = x / (1 + k\lvert x\rvert)$, slope $k$."""

    slope: Scalar = 25.0
    name: ClassVar[str] = "fast_sigmoid"

    def __check_init__(self):
        check_positive(self.slope, "slope")

    def derivative(self, x):
        return 1.0 / jnp.square(1.0 + self.slope * jnp.abs(x))

    def relaxation(self, x):
        return x / (1.0 + self.slope * jnp.abs(x))


class Sigmoid(AbstractSurrogate):
    r"""Logistic surrogate: $S(x) = \sigma(kx)$, $g(x) = k\sigma(kx)(1 - \sigma(kx))$."""

    slope: Scalar = 25.0
    name: ClassVar[str] = "sigmoid"

    def __check_init__(self):
        check_positive(self.slope, "slope")

    def derivative(self, x):
        s = jax.nn.sigmoid(self.slope * x)
        return self.slope * s * (1.0 - s)

    def relaxation(self, x):
        return jax.nn.sigmoid(self.slope * x)


class Tanh(AbstractSurrogate):
    r"""Hyperbolic-tangent surrogate: $S(x) = (1 + \tanh(kx))/2$,
    $g(x) = \tfrac{k}{2}(1 - \tanh^2(kx))$."""

    slope: Scalar = 1.0
    name: ClassVar[str] = "tanh"

    def __check_init__(self):
        check_positive(self.slope, "slope")

    def derivative(self, x):
        t = jnp.tanh(self.slope * x)
        return 0.5 * self.slope * (1.0 - jnp.square(t))

    def relaxation(self, x):
        return 0.5 * (1.0 + jnp.tanh(self.slope * x))


class Gaussian(AbstractSurrogate):
    r"""Gaussian surrogate: $g(x) = \exp(-x^2/2\sigma^2)/(\sigma\sqrt{2\pi})$,
    $S(x) = \Phi(x/\sigma)$ (the normal CDF)."""

    sigma: Scalar = 0.5
    name: ClassVar[str] = "gaussian"

    def __check_init__(self):
        check_positive(self.sigma, "sigma")

    def derivative(self, x):
        z = x / self.sigma
        return jnp.exp(-0.5 * jnp.square(z)) / (self.sigma * math.sqrt(2.0 * math.pi))

    def relaxation(self, x):
        return 0.5 * (1.0 + jax.scipy.special.erf(x / (self.sigma * math.sqrt(2.0))))


class PiecewiseLinear(AbstractSurrogate):
    r"""Piecewise-linear (leaky) surrogate: $g(x) = 1/(2w)$ for $\lvert x\rvert < w$ and
    ``leak`` outside; $S$ is the continuous ramp $(x + w)/(2w)$ inside, continued with
    slope ``leak`` outside (SpikingJelly's ``PiecewiseLeakyReLU``)."""

    width: Scalar = 1.0
    leak: Scalar = 0.01
    name: ClassVar[str] = "piecewise_linear"

    def __check_init__(self):
        check_positive(self.width, "width")
        check_nonnegative(self.leak, "leak")

    def derivative(self, x):
        inside = jnp.abs(x) < self.width
        return jnp.where(inside, 0.5 / self.width, self.leak).astype(x.dtype)

    def relaxation(self, x):
        w = self.width
        ramp = (x + w) / (2.0 * w)
        above = 1.0 + self.leak * (x - w)
        below = self.leak * (x + w)
        return jnp.where(x >= w, above, jnp.where(x <= -w, below, ramp))


class Exponential(AbstractSurrogate):
    r"""Exponential (SLAYER-style, unit area) surrogate: $g(x) = \tfrac{\beta}{2}
    e^{-\beta\lvert x\rvert}$, $S$ the Laplace CDF ($\tfrac12 e^{\beta x}$ below 0,
    $1 - \tfrac12 e^{-\beta x}$ above)."""

    beta: Scalar = 5.0
    name: ClassVar[str] = "exponential"

    def __check_init__(self):
        check_positive(self.beta, "beta")

    def derivative(self, x):
        return 0.5 * self.beta * jnp.exp(-self.beta * jnp.abs(x))

    def relaxation(self, x):
        e = 0.5 * jnp.exp(-self.beta * jnp.abs(x))
        return jnp.where(x < 0, e, 1.0 - e)


#: Surrogate classes by name (``superspike`` and ``ste`` are aliases).
SURROGATES: Mapping[str, type[AbstractSurrogate]] = {
    "straight_through": StraightThrough,
    "ste": StraightThrough,
    "triangular": Triangular,
    "triangular_explicit": TriangularExplicit,
    "boxcar": Boxcar,
    "boxcar_explicit": BoxcarExplicit,
    "arctan": ArcTan,
    "secant_lif": SecantLIF,
    "fast_sigmoid": FastSigmoid,
    "superspike": FastSigmoid,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "gaussian": Gaussian,
    "piecewise_linear": PiecewiseLinear,
    "exponential": Exponential,
}


def get_surrogate(name: str, **params: Any) -> AbstractSurrogate:
    """Build the surrogate called ``name`` with its parameters, e.g.
    ``get_surrogate("arctan", alpha=4.0)``. Raises ``ValueError`` for an unknown name or
    an unknown parameter."""
    if name not in SURROGATES:
        raise ValueError(
            f"`name`: unknown surrogate {name!r}; known: {', '.join(sorted(SURROGATES))}."
        )
    cls = SURROGATES[name]
    try:
        return cls(**params)
    except TypeError as err:
        raise ValueError(f"bad parameters {sorted(params)} for surrogate {name!r}: {err}") from err


# ---------------------------------------------------------------------------
# ngc-learn's builder API
# ---------------------------------------------------------------------------

_Fn = Callable[..., Array]


def _builder(
    make: Callable[..., AbstractSurrogate],
    defaults: dict[str, Any],
    get_surr_fx: bool,
    surr_defaults: dict[str, Any] | None = None,
    surr_thr_first: bool = True,
) -> tuple[_Fn, _Fn] | tuple[_Fn, _Fn, _Fn]:
    spike_surrogate = make(**defaults)

    def spike_fx(v, thr):
        return spike_surrogate(v, thr)

    def d_spike_fx(v, thr=0.0, *args, **kwargs):
        params = dict(zip(defaults, args, strict=False))
        return make(**{**defaults, **params, **kwargs}).d_spike_fx(v, thr)

    if not get_surr_fx:
        return spike_fx, d_spike_fx

    base = defaults if surr_defaults is None else surr_defaults

    if surr_thr_first:

        def surr_fx(v, thr=0.0, *args, **kwargs):
            params = dict(zip(base, args, strict=False))
            return make(**{**base, **params, **kwargs}).surr_fx(v, thr)

    else:  # ngc-learn's arctan surr_fx takes (v, alpha) with no threshold

        def surr_fx(v, *args, thr=0.0, **kwargs):
            params = dict(zip(base, args, strict=False))
            return make(**{**base, **params, **kwargs}).surr_fx(v, thr)

    return spike_fx, surr_fx, d_spike_fx


def estimator(
    name: str, get_surr_fx: bool = False, **params: Any
) -> tuple[_Fn, _Fn] | tuple[_Fn, _Fn, _Fn]:
    """ngc-learn-style builder for any surrogate in :data:`SURROGATES`.

    Returns ``(spike_fx, d_spike_fx)`` or, with ``get_surr_fx=True``,
    ``(spike_fx, surr_fx, d_spike_fx)``. ``spike_fx(v, thr)`` carries the surrogate;
    ``d_spike_fx(v, thr=0, **overrides)`` is exactly its tangent (computed by
    ``jax.jvp`` of ``spike_fx``); ``surr_fx(v, thr=0, **overrides)`` is the relaxation.
    """
    get_surrogate(name, **params)  # validate eagerly
    cls = SURROGATES[name]
    return _builder(cls, dict(params), get_surr_fx)


def straight_through_estimator(get_surr_fx: bool = False):
    """ngc-learn's ``straight_through_estimator``: the step with derivative 1.

    ``surr_fx(v, thr=0)`` is the identity relaxation ``v - thr`` (ngc-learn returns the
    step itself, whose derivative is not the carried 1).
    """
    return _builder(StraightThrough, {}, get_surr_fx)


def _positive(value: Any, name: str) -> Any:
    check_positive(value, name)
    return value


def _ngc_triangle(alpha: Any = 2.0) -> AbstractSurrogate:
    return TriangularExplicit(height=1.0, width=1.0 / _positive(alpha, "alpha"))


def _unit_triangle_alpha(alpha: Any = 2.0) -> AbstractSurrogate:
    return Triangular(width=1.0 / _positive(alpha, "alpha"))


def _ngc_explicit_triangle(window: Any = 5.0) -> AbstractSurrogate:
    return TriangularExplicit(height=1.0, width=_positive(window, "window"))


def _unit_triangle_window(window: Any = 5.0) -> AbstractSurrogate:
    return Triangular(width=_positive(window, "window"))


def _ngc_boxcar(window: Any = 5.0) -> AbstractSurrogate:
    return BoxcarExplicit(height=1.0, window=_positive(window, "window"))


def _unit_boxcar(window: Any = 5.0) -> AbstractSurrogate:
    return Boxcar(width=2.0 * _positive(window, "window"))


def triangular_estimator(
    get_surr_fx: bool = False,
    alpha: float = 2.0,
    *,
    unit_area: bool = False,
    width: float | None = None,
):
    r"""ngc-learn 3.2's ``triangular_estimator``: the step carrying the triangle
    $g(x) = \max(0, 1 - \alpha\lvert x\rvert)$, $x = v - \theta$ (peak 1, half-width
    $1/\alpha$; ``alpha`` sets how narrow the window is).

    Signatures as in ngc-learn: ``spike_fx(v, thr)``, ``d_spike_fx(v, thr=0, alpha=2.0)``,
    and ``surr_fx(v, thr=0, alpha=2.0)``, here the relaxation whose derivative is $g$
    (ngc-learn returns the step itself).

    **Arguments:**

    - `get_surr_fx`: also return ``surr_fx``.
    - `alpha`: default slope of the triangle's sides (> 0; ngc-learn's default 2).
    - `unit_area`: carry ngcx's unit-area triangle
      $\alpha\max(0, 1 - \alpha\lvert x\rvert)$ (:class:`Triangular` of half-width
      $1/\alpha$) instead.
    - `width`: ngcx's earlier signature (kept for compatibility): a unit-area :class:`Triangular` of
      this half-width, overridable as ``d_spike_fx(v, thr, width=...)`` (at ``width=1``
      the same as ngc-learn's triangle with ``alpha=1``).
    """
    if width is not None:
        return _builder(Triangular, {"width": width}, get_surr_fx)
    make = _unit_triangle_alpha if unit_area else _ngc_triangle
    return _builder(make, {"alpha": alpha}, get_surr_fx)


def explicit_triangular_estimator(
    get_surr_fx: bool = False, window: float = 5.0, *, unit_area: bool = False
):
    r"""ngc-learn 3.2's ``explicit_triangular_estimator``: the step carrying
    $g(x) = \max(0, 1 - \lvert x\rvert / a)$ with half-width $a$ = ``window``.

    Signatures as in ngc-learn: ``spike_fx(v, thr)``, ``d_spike_fx(v, thr=0, window=5.0)``,
    ``surr_fx(v, thr=0, window=5.0)`` (the relaxation; ngc-learn returns the step).
    ``unit_area=True`` carries :class:`Triangular` of half-width ``window`` (height
    $1/a$) instead.
    """
    make = _unit_triangle_window if unit_area else _ngc_explicit_triangle
    return _builder(make, {"window": window}, get_surr_fx)


def boxcar_estimator(get_surr_fx: bool = False, window: float = 5.0, *, unit_area: bool = False):
    r"""ngc-learn 3.2's ``boxcar_estimator``: the step carrying the window
    $g(x) = 1[\lvert x\rvert \le a]$ of height 1 and half-width $a$ = ``window``
    (:class:`BoxcarExplicit`).

    Signatures as in ngc-learn: ``spike_fx(v, thr)``, ``d_spike_fx(v, thr=0, window=5.0)``,
    ``surr_fx(v, thr=0, window=5.0)`` (the relaxation $\mathrm{clip}(x, -a, a) + a$;
    ngc-learn returns the step). ``unit_area=True`` carries ngcx's unit-area window
    $1[\lvert x\rvert < a] / (2a)$ (:class:`Boxcar` of width $2a$) instead.
    """
    make = _unit_boxcar if unit_area else _ngc_boxcar
    return _builder(make, {"window": window}, get_surr_fx)


def arctan_estimator(get_surr_fx: bool = False, alpha: float = 2.0, ngclearn_scaling: bool = True):
    r"""ngc-learn 3.2's ``arctan_estimator``: the step carrying
    $g(x) = \frac{1/\pi}{1 + (\pi\alpha x/2)^2}$, $x = v - \theta$.

    Signatures as in ngc-learn: ``spike_fx(v, thr)``, ``surr_fx(v, alpha=2.0, thr=0)``,
    ``d_spike_fx(v, thr=0.0, alpha=2.0)``. ``surr_fx`` is the relaxation
    $\frac{2}{\pi^2\alpha}\arctan(\pi\alpha x/2)$ whose derivative is $g$ (ngc-learn's
    ``surr_fx`` $\arctan(\pi\alpha v/2)/\pi$ is not). ``ngclearn_scaling=False`` carries the
    true derivative of $\arctan(\pi\alpha x/2)/\pi$, $\frac{\alpha/2}{1 + (\pi\alpha
    x/2)^2}$, with that relaxation (see :class:`ArcTan`).
    """
    make = functools.partial(ArcTan, ngclearn_scaling=ngclearn_scaling)
    return _builder(make, {"alpha": alpha}, get_surr_fx, surr_thr_first=False)


def secant_lif_estimator(
    get_surr_fx: bool = False, c1: float = 0.82, c2: float = 0.08, *, ngclearn_sech: bool = False
):
    r"""ngc-learn's ``secant_lif_estimator`` (see :class:`SecantLIF`).

    Signatures and defaults as in ngc-learn: ``spike_fx(v, thr)``,
    ``surr_fx(j, thr=0, c1=0.82, c2=0.08, omit_scale=False)`` and
    ``d_spike_fx(j, thr=0, c1=0.82, c2=0.08, omit_scale=True)``; for equal ``omit_scale``
    the derivative is exactly the derivative of the relaxation (``sech^2``; ngc-learn
    3.2's ``d_spike_fx`` has ``sech``, which ``ngclearn_sech=True`` reproduces, with
    the relaxation whose derivative that is).
    """
    make = functools.partial(SecantLIF, ngclearn_sech=ngclearn_sech)
    defaults = {"c1": c1, "c2": c2, "omit_scale": True}
    surr_defaults = {"c1": c1, "c2": c2, "omit_scale": False}
    return _builder(make, defaults, get_surr_fx, surr_defaults=surr_defaults)
