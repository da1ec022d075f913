r"""Multi-block 2-D masks (ngc-learn's ``utils.masks.multiblock2d``, after I-JEPA).

An image of ``crop_size`` is a grid of ``crop_size // patch_size`` patches. For each mask
configuration, every sample gets ``num_blocks`` rectangular *prediction* blocks (area a
uniform fraction of the grid in ``spatial_scale``, aspect ratio uniform in
``aspect_ratio``; one block size per call, as in I-JEPA); the *context* (encoder) mask is
every other patch. Masks are returned as flat patch indices, truncated to the shortest
sample so the batch is rectangular (``max_keep`` caps the context length).

Randomness is explicit: the collator counts its calls and seeds NumPy's generator with
``(seed, call)``, so a run is reproducible and two collators with different seeds differ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


__all__ = ["MaskCollator"]


_CFG_KEYS = ("spatial_scale", "aspect_ratio", "num_blocks", "max_keep")


def _pair(value: Any, name: str) -> tuple[Any, Any]:
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and name in ("crop_size", "patch_size")
    ):
        return value, value
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a (min, max) / (h, w) pair, got {value!r}.") from None
    return a, b


def _int_pair(value: Any, name: str) -> tuple[int, int]:
    a, b = _pair(value, name)
    if any(isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1 for v in (a, b)):
        raise ValueError(f"`{name}` must be an int >= 1 or a pair (h, w) of them, got {value!r}.")
    return int(a), int(b)


class _MaskGenerator:
    def __init__(self, crop_size, patch_size, pred_mask_scale, aspect_ratio, npred, max_keep):
        self.height = crop_size[0] // patch_size[0]
        self.width = crop_size[1] // patch_size[1]
        if self.height < 1 or self.width < 1:
            raise ValueError(f"`crop_size` {crop_size} is smaller than `patch_size` {patch_size}.")
        if self.height * self.width < 2:
            raise ValueError(
                f"`crop_size` {crop_size} holds a single patch of `patch_size` {patch_size}: "
                "no room for both a context and a prediction block."
            )
        lo, hi = pred_mask_scale
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(
                f"`spatial_scale` must satisfy 0 < min <= max <= 1, got {pred_mask_scale}."
            )
        if not 0.0 < aspect_ratio[0] <= aspect_ratio[1]:
            raise ValueError(f"`aspect_ratio` must be a positive (min, max), got {aspect_ratio}.")
        if not isinstance(npred, int) or npred < 1:
            raise ValueError(f"`num_blocks` must be a positive int, got {npred!r}.")
        if max_keep is not None and (
            isinstance(max_keep, bool) or not isinstance(max_keep, int) or max_keep < 1
        ):
            raise ValueError(f"`max_keep` must be None or a positive int, got {max_keep!r}.")
        self.pred_mask_scale = pred_mask_scale
        self.aspect_ratio = aspect_ratio
        self.npred = npred
        self.max_keep = max_keep

    def block_size(self, rng: np.random.Generator) -> tuple[int, int]:
        lo, hi = self.pred_mask_scale
        keep = int(self.height * self.width * (lo + rng.random() * (hi - lo)))
        ar_lo, ar_hi = self.aspect_ratio
        ratio = ar_lo + rng.random() * (ar_hi - ar_lo)
        h = min(max(int(round(math.sqrt(keep * ratio))), 1), self.height)
        w = min(max(int(round(math.sqrt(keep / ratio))), 1), self.width)
        if h == self.height and w == self.width:
            # a block over the whole grid leaves no context (and no sample would ever be
            # accepted): shrink its longer side by one patch
            if h >= w:
                h -= 1
            else:
                w -= 1
        return h, w

    def __call__(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.block_size(rng)
        enc: list[np.ndarray] = []
        pred: list[np.ndarray] = []
        tries = 0
        while len(enc) < batch_size:
            tries += 1
            if tries > 1000 * batch_size:
                raise RuntimeError(
                    f"the {self.npred} prediction blocks of {h}x{w} patches cover the whole "
                    f"{self.height}x{self.width} grid in every sample drawn; lower "
                    "`num_blocks` or `spatial_scale`."
                )
            keep = np.ones((self.height, self.width), dtype=bool)
            for _ in range(self.npred):
                top = rng.integers(0, self.height - h + 1)
                left = rng.integers(0, self.width - w + 1)
                keep[top : top + h, left : left + w] = False
            flat = keep.ravel()
            if flat.any():  # resample a sample whose blocks cover everything
                enc.append(np.flatnonzero(flat))
                pred.append(np.flatnonzero(~flat))
        n_enc = min(len(e) for e in enc)
        if self.max_keep is not None:
            n_enc = min(n_enc, self.max_keep)
        n_pred = min(len(p) for p in pred)
        return np.stack([e[:n_enc] for e in enc]), np.stack([p[:n_pred] for p in pred])


class MaskCollator:
    """Multi-block mask sampler.

    **Arguments:** `cfgs_mask` a list of dicts with ``spatial_scale`` ``(min, max)``,
    ``aspect_ratio`` ``(min, max)``, ``num_blocks`` and optionally ``max_keep``;
    `crop_size` and `patch_size` ``(h, w)``; `seed`.

    ``collator(batch)`` (or an int batch size) returns ``(masks_enc, masks_pred)``: one
    ``(B, n_enc)`` and one ``(B, n_pred)`` index array per configuration.

    Domains (``ValueError`` naming the key otherwise): at least one configuration, each a
    mapping with only the keys above; ``0 < min <= max <= 1`` for ``spatial_scale``;
    ``0 < min <= max`` for ``aspect_ratio``; ``num_blocks`` and ``max_keep`` positive
    ints; `crop_size` and `patch_size` ints ``>= 1`` (or pairs) with at least two patches
    in the crop; the batch (size) at least 1. A block that would cover the whole grid is
    shrunk by one patch so that a context remains.
    """

    def __init__(
        self,
        cfgs_mask: Sequence[Mapping[str, Any]],
        crop_size: tuple[int, int] = (224, 224),
        patch_size: tuple[int, int] = (16, 16),
        seed: int = 0,
    ):
        crop = _int_pair(crop_size, "crop_size")
        patch = _int_pair(patch_size, "patch_size")
        if isinstance(cfgs_mask, Mapping) or not isinstance(cfgs_mask, Sequence) or not cfgs_mask:
            raise ValueError(f"`cfgs_mask` must be a non-empty list of dicts, got {cfgs_mask!r}.")
        for m in cfgs_mask:
            if not isinstance(m, Mapping):
                raise ValueError(f"`cfgs_mask` entries must be dicts, got {m!r}.")
            unknown = sorted(set(m) - set(_CFG_KEYS))
            if unknown:
                raise ValueError(
                    f"`cfgs_mask`: unknown key(s) {unknown}; known: {', '.join(_CFG_KEYS)}."
                )
        self.mask_generators = [
            _MaskGenerator(
                crop,
                patch,
                _pair(m.get("spatial_scale", (0.2, 0.8)), "spatial_scale"),
                _pair(m.get("aspect_ratio", (0.3, 3.0)), "aspect_ratio"),
                m.get("num_blocks", 1),
                m.get("max_keep"),
            )
            for m in cfgs_mask
        ]
        self.seed = int(seed)
        self._calls = -1

    def step(self) -> int:
        """Advance and return the call counter (the per-call seed)."""
        self._calls = (self._calls + 1) % 2**16
        return self._calls

    def __call__(self, batch: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        batch_size = batch if isinstance(batch, int) else len(batch)
        if batch_size < 1:
            raise ValueError(f"`batch` must hold at least one sample, got size {batch_size}.")
        rng = np.random.default_rng((self.seed, self.step()))
        out = [g(batch_size, rng) for g in self.mask_generators]
        return [e for e, _ in out], [p for _, p in out]
