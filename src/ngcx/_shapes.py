"""Shape helpers shared by the cells and synapses."""

from jaxtyping import Array


def left_pad_rank(x: Array, ndim: int) -> Array:
    """``x`` with leading axes of size 1 up to rank `ndim`, ready to broadcast against an
    array of that rank (allowed under ``jax_numpy_rank_promotion="raise"``).

    Prefer it to ``jnp.broadcast_to(x, y.shape)`` before adding to ``y``: the transpose of
    an explicit broadcast is a reduction XLA fuses less well (measured: 10% of a spiking
    network's backward pass on CPU)."""
    return x.reshape((1,) * (ndim - x.ndim) + x.shape)
