r"""ngc-learn's ``HebbianPatchedSynapse`` as a builder: a patched synapse, the Hebbian rule
and the learning options of ngc-learn's dense Hebbian synapse, bundled in a
:class:`~ngcx.plasticity.PlasticSynapse`."""

from __future__ import annotations

from typing import Any

from jaxtyping import ArrayLike

from .._custom_types import Key
from .._params import param
from ..initializers import Initializer
from ..synapses import PatchedSynapse
from ._compat import LearningOptions, PlasticSynapse
from ._rules import Hebbian


__all__ = ["HebbianPatchedSynapse"]


def HebbianPatchedSynapse(
    shape: tuple[int, int],
    n_sub_models: int = 1,
    stride_shape: tuple[int, int] = (0, 0),
    *,
    key: Key,
    eta: Any = 0.0,
    weight_init: Initializer | None = None,
    bias_init: Initializer | None = None,
    block_mask: ArrayLike | None = None,
    w_bound: Any = 1.0,
    is_nonnegative: bool = False,
    prior: tuple[Any, Any] | None = (None, 0.0),
    sign_value: Any = 1.0,
    optim_type: str = "sgd",
    pre_wght: Any = 1.0,
    post_wght: Any = 1.0,
    p_conn: Any = 1.0,
    resist_scale: Any = 1.0,
    use_bias: bool = False,
    momentum: Any = 0.9,
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``HebbianPatchedSynapse`` (its names and 3.2 defaults): a
    :class:`~ngcx.synapses.PatchedSynapse` (`shape`, `n_sub_models`, `stride_shape`,
    `weight_init`, `bias_init`, `p_conn`, `block_mask`, `resist_scale`), the
    :class:`~ngcx.plasticity.Hebbian` rule (`pre_wght`, `post_wght`) over its block-shaped
    contraction, and the chain of :func:`~ngcx.plasticity.hebbian`:

    $$\Delta W_k = -s\big(\big(a b\,\text{pre}_{I_k}^\top \text{post}_{J_k}\big)
    \odot (w_{\max} - \lvert W_k\rvert) - \lambda \rho'(W_k)\big) \odot M_k,$$

    ``sign = -sign_value`` (ngc-learn's optimisers descend along ``sign_value * dW``),
    the soft bound and the clip to $[-w_{\max}, w_{\max}]$ ($[0, w_{\max}]$ with
    `is_nonnegative`) when ``w_bound > 0``, the prior ``(name, lmbda)``, sgd, adam or
    Nesterov momentum (``"nag"``, `momentum`) at rate `eta`, and the connectivity mask $M$
    (patches, ``p_conn``, ``block_mask``) as a projection, so a missing connection stays 0.

    **Differences from ngc-learn:** ngc-learn updates only the weights that are non-zero
    at the time of the update (its stand-in for the patch mask), so a weight clipped to 0
    with `is_nonnegative` (or drawn as exactly 0) never changes again; here the fixed
    mask $M$ decides, and a weight at 0 may grow back. ngc-learn applies `block_mask` to
    the weights only after the first update; here it holds from the start (also in the
    forward map). With ``w_bound = 0``, `is_nonnegative` still keeps the weights
    $\ge 0$ (ngc-learn then ignores it). `batch_size` is not an argument; `use_bias`,
    `momentum` and `dtype` are ngcx's additions (biases exist, as in ngc-learn, when
    `bias_init` is given).
    """
    syn = PatchedSynapse(
        shape,
        n_sub_models,
        stride_shape,
        key=key,
        weight_init=weight_init,
        bias_init=bias_init,
        resist_scale=resist_scale,
        p_conn=p_conn,
        block_mask=block_mask,
        use_bias=use_bias,
        dtype=dtype,
    )
    if prior is not None and prior[0] is None:
        prior = None  # ngc-learn's (None, 0.): no prior
    options = LearningOptions(
        eta,
        optim_type,
        sign=-param(sign_value, "sign_value"),
        prior=prior,
        w_bound=w_bound,
        soft_bound=True,
        nonnegative=is_nonnegative,
        mask=syn.mask,
        momentum=momentum,
    )
    return PlasticSynapse(syn, Hebbian(pre_wght, post_wght), options)
