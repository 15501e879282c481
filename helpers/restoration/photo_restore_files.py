"""Restoration of the pictures of image files (``photo --restore``), and the mask of what was filled,
written beside the result for the user to check. The restoring itself is ``helpers.restoration.photo_restore``;
to be taught in notebook 05_restoration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from ..common.image_files import Picture
from ..common.image_output import SOFTWARE, write_pictures
from .photo_restore import PHOTO_STEPS, fill, reduce_grain, restore_photo

EXIF_SOFTWARE = 0x0131
"""The EXIF tag where ``write_pictures`` marks its files (Software)."""
MASK_SUFFIX = "_restore-mask.png"
"""End of the name of the mask written beside a restored photo's result (white: filled)."""


def restore_picture(picture: Picture, steps: Sequence[str] = PHOTO_STEPS) -> tuple[Picture, np.ndarray]:
    """A picture of an image file (``helpers.common.image_files``) restored, and the mask filled.

    Its pixels under any transparency (``picture.under``) are filled with the same mask.
    Example: ``restored, mask = restore_picture(next(open_image_file(path).pictures()))``
    """
    image, mask = restore_photo(picture.image, steps)
    under = picture.under
    if under is not None:
        under = fill(under, mask) if mask.any() else under
        under = reduce_grain(under) if "grain" in steps else under
    return replace(picture, image=image, under=under), mask


def mask_path(result: str | Path) -> Path:
    """Where the mask of a restored result goes: beside it, ``<name>_restore-mask.png``.

    Example: ``mask_path("out/cat_color.jpg")`` is ``Path("out/cat_color_restore-mask.png")``.
    """
    result = Path(result)
    return result.with_name(result.stem + MASK_SUFFIX)


def write_mask(path: str | Path, masks: Sequence[np.ndarray]) -> Path:
    """Write the masks of a file's pictures as one PNG file, white where filled in any of them (the
    first picture's alone if their sizes differ), marked as this tool's, so not an input next time."""
    shapes = {mask.shape for mask in masks}
    union = np.logical_or.reduce(masks) if len(shapes) == 1 else masks[0]
    return write_pictures(path, [Picture(union.astype(np.uint8) * 255)])


def is_restore_mask(path: str | Path) -> bool:
    """True for a mask this tool wrote (``write_mask``): named ``..._restore-mask.png`` and marked
    ``common.image_output.SOFTWARE``, so that a later run over the folder does not take it for a photo."""
    path = Path(path)
    if not path.name.endswith(MASK_SUFFIX) or not path.is_file():
        return False
    try:
        with Image.open(path) as im:
            return SOFTWARE in str(im.getexif().get(EXIF_SOFTWARE, ""))
    except (OSError, ValueError, SyntaxError):
        return False
