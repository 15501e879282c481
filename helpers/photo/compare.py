"""Compare colourisations: before/after pictures and a colourfulness number.

Pure functions on arrays, used by the widgets and the gallery of notebook 02_photo.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..common.images import to_float_bgr


def as_bgr_uint8(image: np.ndarray) -> np.ndarray:
    """Any image (gray, BGR, BGRA, 16-bit, float) as ``(H, W, 3)`` uint8 BGR, for display."""
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return image
    return np.clip(to_float_bgr(image) * 255 + 0.5, 0, 255).astype(np.uint8)


def colourfulness(image: np.ndarray) -> float:
    """How colourful an image looks, as one number (Hasler and Süsstrunk, 2003).

    Parameters
    ----------
    image : ndarray
        Gray or BGR image (see ``to_float_bgr``).

    Returns
    -------
    float
        0 for a grey image; about 15 "slightly", 33 "moderately", 59 "quite", 82 "highly",
        109 "extremely colourful" on the authors' scale.

    Notes
    -----
    With opponent channels ``rg = R - G`` and ``yb = (R + G) / 2 - B`` on 0..255 values,
    ``M = sqrt(std_rg² + std_yb²) + 0.3 * sqrt(mean_rg² + mean_yb²)``. The 0.3 weight comes
    from the paper's fit to how people rated 84 images.
    """
    img_bgr = to_float_bgr(image) * 255
    b, g, r = img_bgr[:, :, 0], img_bgr[:, :, 1], img_bgr[:, :, 2]
    rg = r - g
    yb = (r + g) / 2 - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def wipe(before: np.ndarray, after: np.ndarray, position: float) -> np.ndarray:
    """One picture: ``before`` left of the boundary, ``after`` right of it.

    Parameters
    ----------
    before, after : ndarray
        Images of the same height and width (any kind ``as_bgr_uint8`` takes).
    position : float
        Where the boundary is, 0 (all ``after``) .. 1 (all ``before``).

    Returns
    -------
    img_bgr : (H, W, 3) uint8 ndarray
        With a thin white line on the boundary.
    """
    before, after = as_bgr_uint8(before), as_bgr_uint8(after)
    if before.shape != after.shape:
        raise ValueError(f"wipe needs two images of one size, got {before.shape[:2]} and {after.shape[:2]}.")
    width = before.shape[1]
    x = int(round(np.clip(position, 0, 1) * width))
    out = after.copy()
    out[:, :x] = before[:, :x]
    out[:, max(0, x - 1):x + 1] = 255
    return out


def side_by_side(images: Sequence[np.ndarray], height: int | None = None, gap: int = 8) -> np.ndarray:
    """Images scaled to one height and put next to each other with a white gap.

    Returns
    -------
    img_bgr : (height, W, 3) uint8 ndarray
    """
    images = [as_bgr_uint8(img) for img in images]
    height = height or max(img.shape[0] for img in images)
    parts = []
    for i, img in enumerate(images):
        scale = height / img.shape[0]
        width = max(1, round(img.shape[1] * scale))
        parts.append(cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR))
        if i < len(images) - 1:
            parts.append(np.full((height, gap, 3), 255, np.uint8))
    return np.hstack(parts)


def shrink_to_fit(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` made no larger than ``max_side`` pixels on its longer side (never enlarged)."""
    scale = max_side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def jpeg_bytes(image: np.ndarray, quality: int = 85) -> bytes:
    """Encode an image as JPEG bytes: what ``widgets.Image`` shows fastest."""
    ok, data = cv2.imencode(".jpg", as_bgr_uint8(image), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not encode the image as JPEG.")
    return data.tobytes()
