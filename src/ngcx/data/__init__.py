"""Data: the embedded digits and natural images, a mini-batch loader, IDX (MNIST-format)
files, patches.

Nothing here downloads anything: :func:`load_digits` reads the 8x8 digits and
:func:`load_natural_images` two greyscale photographs shipped in the package, and
:func:`load_idx` / :func:`load_mnist` read IDX files the user already has.
"""

from ._digits import load_digits as load_digits, train_test_split as train_test_split
from ._idx import load_idx as load_idx, load_mnist as load_mnist, save_idx as save_idx
from ._loader import DataLoader as DataLoader
from ._natural import (
    load_natural_images as load_natural_images,
    sample_patches as sample_patches,
    whiten_images as whiten_images,
)
from ._patches import (
    Create_Patches as Create_Patches,
    PatchGenerator as PatchGenerator,
    generate_pacthify_patch_set as generate_pacthify_patch_set,
    generate_patch_set as generate_patch_set,
    generate_patchify_patch_set as generate_patchify_patch_set,
    patch_with_overlap as patch_with_overlap,
    patch_with_stride as patch_with_stride,
)


__all__ = [
    "Create_Patches",
    "DataLoader",
    "PatchGenerator",
    "generate_pacthify_patch_set",
    "generate_patch_set",
    "generate_patchify_patch_set",
    "load_digits",
    "load_idx",
    "load_mnist",
    "load_natural_images",
    "patch_with_overlap",
    "patch_with_stride",
    "sample_patches",
    "save_idx",
    "train_test_split",
    "whiten_images",
]
