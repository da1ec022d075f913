"""Type aliases shared across ngcx (jaxtyping shapes for the hot paths)."""

from typing import TypeAlias

from jaxtyping import ArrayLike, Float, PRNGKeyArray


#: A real scalar: a Python number or a 0-d floating array (possibly traced).
Scalar: TypeAlias = float | int | Float[ArrayLike, ""]

#: A numeric parameter as given to a constructor: a Python number or an array (a scalar
#: or one value per unit), possibly traced; stored as an array leaf.
ParamLike: TypeAlias = float | int | Float[ArrayLike, "..."]

#: A JAX PRNG key (new-style typed key or legacy ``uint32[2]``).
Key: TypeAlias = PRNGKeyArray

__all__ = ["Scalar", "Key", "ParamLike"]
