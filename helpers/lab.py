"""The Lab colour space: L is lightness, a and b are colour.

A black-and-white photo already holds L; the network only has to guess a and b. These
helpers convert with OpenCV on float images so the ranges are the textbook ones:
L in 0..100, a and b in about -127..127.

Introduced in notebook 01_lab_colour_space.
"""

from __future__ import annotations

import cv2
import numpy as np

from .images import to_float_bgr


def bgr_to_lab(image: np.ndarray) -> np.ndarray:
    """Convert any image (see ``to_float_bgr``) to Lab.

    Returns
    -------
    lab : (H, W, 3) float32 ndarray
        L in 0..100, a and b in about -127..127 (0 means grey).
    """
    return cv2.cvtColor(to_float_bgr(image), cv2.COLOR_BGR2Lab)


def lightness(image: np.ndarray) -> np.ndarray:
    """The L channel of any image: ``(H, W)`` float32, 0 (black) .. 100 (white).

    For a colour image this throws the colour away, which is what the network sees anyway:
    tinted or sepia prints colourise better as plain grey.
    """
    return bgr_to_lab(image)[:, :, 0]


def lab_to_bgr(L: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Join lightness and colour and convert to a displayable BGR image.

    Parameters
    ----------
    L : (H, W) float32 ndarray, 0..100
    ab : (H, W, 2) float32 ndarray, about -127..127

    Returns
    -------
    img_bgr : (H, W, 3) uint8 ndarray
        Colours outside the sRGB gamut are clipped; values are rounded, not truncated.
    """
    lab = cv2.merge([L.astype(np.float32), ab.astype(np.float32)])
    img_bgr = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR)
    return np.clip(img_bgr * 255 + 0.5, 0, 255).astype(np.uint8)
