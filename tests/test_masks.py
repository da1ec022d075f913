import numpy as np
import pytest

from ngcx.masks import MaskCollator


def test_multiblock_masks_partition_the_grid_and_are_reproducible():
    cfgs = [
        {"spatial_scale": (0.15, 0.2), "aspect_ratio": (0.75, 1.5), "num_blocks": 4},
        {"spatial_scale": (0.6, 0.8), "aspect_ratio": (1.0, 1.0), "num_blocks": 1, "max_keep": 10},
    ]
    col = MaskCollator(cfgs, crop_size=(64, 64), patch_size=(8, 8), seed=3)
    enc, pred = col(np.zeros((5, 3)))
    assert len(enc) == len(pred) == 2
    for e, p in zip(enc, pred):
        assert e.shape[0] == p.shape[0] == 5
        for row_e, row_p in zip(e, p):
            assert not set(row_e) & set(row_p)
            assert row_e.max() < 64 and row_p.max() < 64
    assert enc[1].shape[1] <= 10
    again, _ = MaskCollator(cfgs, (64, 64), (8, 8), seed=3)(5)
    np.testing.assert_array_equal(again[0], enc[0])
    second, _ = col(5)
    assert second[0].shape != enc[0].shape or not np.array_equal(second[0], enc[0])


def test_mask_configuration_errors():
    with pytest.raises(ValueError, match="spatial_scale"):
        MaskCollator([{"spatial_scale": (0.0, 2.0)}], (32, 32), (8, 8))
    with pytest.raises(ValueError, match="crop_size"):
        MaskCollator([{}], (4, 4), (8, 8))
    with pytest.raises(ValueError, match="num_blocks"):
        MaskCollator([{"num_blocks": 0}], (32, 32), (8, 8))
