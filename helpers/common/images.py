"""Read and write images safely, and bring any image array to one format.

``cv2.imread`` returns ``None`` for a wrong path, drops transparency and cannot open non-ASCII
paths on Windows; ``read_image`` raises a clear error instead and shows transparent parts over
white, as image viewers do (see ``helpers.common.image_files`` for animations, pages and transparency).
``to_float_bgr`` checks arrays before any maths: a wrong range or shape gives a ValueError that
says what was found, never a silently wrong picture.

Introduced in notebook 02_photo.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .files import write_bytes
from .image_files import IMAGE_EXTENSIONS, open_image_file, over_white

__all__ = ["IMAGE_EXTENSIONS", "check_image", "read_image", "to_float_bgr", "write_image"]

FLOAT_TOLERANCE = 1e-3
"""How far outside [0, 1] float values may be (rounding errors) before they count as a mistake."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as OpenCV stores it: gray ``(H, W)`` or BGR ``(H, W, 3)``.

    16-bit gray files stay ``uint16`` (16-bit colour files are read at 8 bits); transparent
    parts are shown over white, as image viewers show them; the EXIF orientation of phone
    photos is applied. Of an animation or a multi-page file, the first picture.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    ValueError
        The path is a folder, or the file is empty, damaged, truncated or not an image.
    """
    return next(open_image_file(path).pictures()).image


def write_image(path: str | os.PathLike, img: np.ndarray) -> Path:
    """Write ``img`` to ``path`` atomically (a temporary file, then a rename); the suffix picks the format.

    Parent folders are created; the file gets the permissions your umask gives new files.
    ``img`` is gray, BGR or BGRA (the alpha channel is kept by PNG, WebP and TIFF). Returns the path.
    """
    path = Path(path)
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", img)
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f"OpenCV cannot write {path.suffix!r} files; use one of {', '.join(IMAGE_EXTENSIONS)}.")
    return write_bytes(path, encoded.tobytes())


def check_image(image: np.ndarray) -> None:
    """Raise a ValueError that says what is wrong unless ``image`` is an image array we can use.

    Accepted: gray ``(H, W)`` or ``(H, W, 1)``, BGR ``(H, W, 3)``, BGRA ``(H, W, 4)``; ``uint8``
    (0..255), ``uint16`` (0..65535) or float with every value in [0, 1] (no NaN or infinity).
    """
    shape, dtype = image.shape, image.dtype
    layout = image.ndim == 2 or (image.ndim == 3 and shape[2] in (1, 3, 4))
    if not layout or 0 in shape:
        hint = ""
        if 0 in shape:
            hint = " It has no pixels."
        elif image.ndim == 3 and shape[0] in (1, 3, 4):
            hint = f" It looks channels-first; use image.transpose(1, 2, 0) to get {shape[1:] + shape[:1]}."
        elif image.ndim == 3 and shape[2] == 2:
            hint = " Two channels could be gray + alpha or the a, b of Lab: which one is ambiguous."
        elif image.ndim == 4:
            hint = " For several images, pass a list of them to colorize_batch."
        raise ValueError(f"Expected a gray (H, W), BGR (H, W, 3) or BGRA (H, W, 4) image, got an array of shape "
                         f"{shape}.{hint}")
    if dtype in (np.uint8, np.uint16):
        return
    if not np.issubdtype(dtype, np.floating):
        hint = ""
        if dtype == np.bool_:
            hint = " A mask? Use image.astype(np.uint8) * 255."
        elif np.issubdtype(dtype, np.integer) and 0 <= image.min() and image.max() <= 65535:
            target = "uint8" if image.max() <= 255 else "uint16"
            hint = f" Its values are {image.min()}..{image.max()}: use image.astype(np.{target})."
        raise ValueError(f"Unsupported image dtype {dtype}; use uint8 (0..255), uint16 (0..65535) or float in "
                         f"[0, 1].{hint}")
    finite = np.isfinite(image)
    if not finite.all():
        nan = int(np.isnan(image).sum())
        raise ValueError(f"The image holds {nan} NaN and {finite.size - finite.sum() - nan} infinite values; "
                         "every value must be a number in [0, 1]. Find where they come from (a division by "
                         "zero?) or replace them, e.g. np.nan_to_num(image).")
    low, high = float(image.min()), float(image.max())
    if low < -FLOAT_TOLERANCE or high > 1 + FLOAT_TOLERANCE:
        hint = ""
        if low >= 0 and high <= 255:
            hint = " If its values are 0..255, divide by 255 (or use image.astype(np.uint8))."
        elif low >= 0 and high <= 65535:
            hint = " If its values are 0..65535, divide by 65535."
        raise ValueError(f"Float images must hold values in [0, 1]; this one holds {low:.4g}..{high:.4g}.{hint} "
                         "To cut off values just outside, use np.clip(image, 0, 1).")


def to_float_bgr(image: np.ndarray) -> np.ndarray:
    """Any image array as BGR float32 in [0, 1].

    Parameters
    ----------
    image : ndarray
        Gray ``(H, W)`` or ``(H, W, 1)``, BGR ``(H, W, 3)`` or BGRA ``(H, W, 4)``; ``uint8``
        (0..255), ``uint16`` (0..65535) or float (0..1). Transparent parts of a BGRA image are
        shown over white, as image viewers show them.

    Returns
    -------
    img_bgr : (H, W, 3) float32 ndarray, values in [0, 1]

    Raises
    ------
    ValueError
        Another shape or dtype, float values outside [0, 1], NaN or infinity (see ``check_image``).

    Notes
    -----
    OpenCV's Lab conversion gives L in 0..100 and a, b in about -127..127 only for float
    input in [0, 1]; for uint8 input it rescales L to 0..255 and shifts a, b by 128.
    """
    image = np.asarray(image)
    check_image(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype == np.uint8:
        img = image.astype(np.float32) / 255
    elif image.dtype == np.uint16:
        img = image.astype(np.float32) / 65535
    else:  # float, checked to be within [0, 1] up to rounding
        img = np.clip(image, 0, 1).astype(np.float32)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return over_white(img[:, :, :3], img[:, :, 3])
    return np.ascontiguousarray(img)
