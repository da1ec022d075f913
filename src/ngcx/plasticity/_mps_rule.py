r"""The local learning rule of ngc-learn's ``MPSSynapse`` (its ``evolve``)."""

from __future__ import annotations

from typing import Any

from jaxtyping import Array, Float

from .._params import param
from ..synapses import MPSSynapse
from ._rules import AbstractRule


__all__ = ["MPSHebbian"]


class MPSHebbian(AbstractRule):
    r"""The local rule of an MPS (tensor-train) synapse (ngc-learn's
    ``MPSSynapse.evolve``): each core moves along the correlation of the activity on its
    two sides, the other core carrying the signal,

    $$\Delta G_1 = a b\,\text{pre}^\top(\text{post}\,G_2^\top), \qquad
    \Delta G_2 = a b\,(\text{pre}\,G_1)^\top \text{post}, \qquad
    \Delta b = b \sum \text{post},$$

    both from the present cores (:meth:`ngcx.synapses.MPSSynapse.contract`), summed over
    the batch, with ``pre_wght`` $a$ and ``post_wght`` $b$. With ``post`` the error
    $e = t - \text{pre}\,G_1 G_2$ it is the negative gradient of
    $\tfrac12\lVert t - \text{pre}\,G_1 G_2\rVert^2$ with respect to the cores (tested
    against autodiff), so a step ``G += eta * dG`` (ngc-learn's ``evolve(eta)``) lowers
    that reconstruction error for a small enough `eta`.

    The result is an :class:`~ngcx.synapses.MPSSynapse` of updates (``resist_scale``
    zero): apply it with ``eqx.apply_updates(syn, jax.tree.map(lambda u: eta * u, upd))``
    or any optax chain over ``eqx.filter(syn, eqx.is_inexact_array)`` (e.g.
    ``ngcx.plasticity.hebbian(eta)``). :func:`ngcx.plasticity.apply_updates` only moves
    fields named ``weights``/``biases`` and leaves an MPS synapse unchanged.

    **Differences from ngc-learn:** ``pre_wght``, ``post_wght`` and the bias update are
    ngcx's additions (ngc-learn's MPS synapse has no biases); the defaults give its
    update.
    """

    pre_wght: Float[Array, ""]
    post_wght: Float[Array, ""]

    def __init__(self, pre_wght: Any = 1.0, post_wght: Any = 1.0):
        """**Arguments:** `pre_wght`, `post_wght`: scales of the pre- and postsynaptic
        factors (finite scalars; leaves)."""
        self.pre_wght = param(pre_wght, "pre_wght")
        self.post_wght = param(post_wght, "post_wght")

    def __call__(self, synapse: MPSSynapse, pre: Any, post: Any) -> MPSSynapse:  # type: ignore[override]
        """**Arguments:** `synapse`, an :class:`~ngcx.synapses.MPSSynapse`; `pre`, `post`:
        activity of shapes ``(*batch, n_in)`` and ``(*batch, n_out)``. **Returns:** the
        updates, shaped like `synapse`."""
        if not isinstance(synapse, MPSSynapse):
            raise TypeError(
                f"`synapse` must be an ngcx.synapses.MPSSynapse, got {type(synapse).__name__}."
            )
        dcores = synapse.contract((self.pre_wght * self.post_wght) * pre, post)
        db = None if synapse.biases is None else self.post_wght * synapse.bias_contract(post)
        return synapse.updates(dcores, db)
