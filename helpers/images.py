"""Read and write images safely, and bring any image to one format.

``cv2.imread`` returns ``None`` for a wrong path and cannot open non-ASCII paths on Windows;
these helpers raise a clear error instead and read the bytes with NumPy first.

Introduced in notebook 02_photo.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .files import write_bytes

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as OpenCV stores it: gray ``(H, W)`` or BGR ``(H, W, 3)``.

    16-bit files stay ``uint16``; an alpha channel is dropped; the EXIF orientation of
    phone photos is applied.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    ValueError
        The path is a folder, or the file is not an image OpenCV can decode.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such image file: {path} (working directory: {Path.cwd()})")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an image file.")
    data = np.fromfile(path, dtype=np.uint8)  # works for any path, unlike cv2.imread
    # ANYDEPTH keeps 16-bit, ANYCOLOR keeps gray as gray; both drop alpha but apply EXIF rotation.
    img = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR) if data.size else None
    if img is None:
        raise ValueError(
            f"Could not read {path} as an image: the file is empty, damaged or not an image "
            f"(OpenCV reads {', '.join(IMAGE_EXTENSIONS)})."
        )
    return img


def write_image(path: str | os.PathLike, img: np.ndarray) -> Path:
    """Write ``img`` to ``path`` atomically (a temporary file, then a rename); the suffix picks the format.

    Parent folders are created; the file gets the permissions your umask gives new files.
    Returns the path.
    """
    path = Path(path)
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", img)
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f"OpenCV cannot write {path.suffix!r} files; use one of {', '.join(IMAGE_EXTENSIONS)}.")
    return write_bytes(path, encoded.tobytes())


def to_float_bgr(image: np.ndarray) -> np.ndarray:
    """Any image array as BGR float32 in [0, 1].

    Parameters
    ----------
    image : ndarray
        Gray ``(H, W)`` or ``(H, W, 1)``, BGR ``(H, W, 3)`` or BGRA ``(H, W, 4)`` (alpha is
        dropped); ``uint8`` (0..255), ``uint16`` (0..65535) or float (0..1).

    Returns
    -------
    img_bgr : (H, W, 3) float32 ndarray, values in [0, 1]

    Notes
    -----
    OpenCV's Lab conversion gives L in 0..100 and a, b in about -127..127 only for float
    input in [0, 1]; for uint8 input it rescales L to 0..255 and shifts a, b by 128.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)) or min(image.shape[:2]) < 1:
        raise ValueError(
            f"Expected a gray (H, W) or colour (H, W, 3|4) image, got an array of shape {image.shape}."
        )
    if image.dtype == np.uint8:
        img = image.astype(np.float32) / 255
    elif image.dtype == np.uint16:
        img = image.astype(np.float32) / 65535
    elif np.issubdtype(image.dtype, np.floating):
        img = np.clip(image, 0, 1).astype(np.float32)
    else:
        raise ValueError(f"Unsupported image dtype {image.dtype}; use uint8, uint16 or float in [0, 1].")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[:, :, :3])
