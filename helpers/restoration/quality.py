"""How close a restored picture is to the clean truth: PSNR and SSIM, for frames and whole clips.

Restoration is measured, not judged by eye: add a defect on purpose to clean frames
(``helpers.restoration.defects``), restore, and compare with the clean frames. Two measures, both
"higher is better":

* ``psnr``: the peak signal-to-noise ratio, 10 log10(255² / mean squared error), in dB. Every
  pixel counts the same; +3 dB is half the squared error; identical pictures give infinity.
* ``ssim``: the structural similarity index of Wang et al., 0..1 (1 = identical), which compares
  local brightness, contrast and structure in a small Gaussian window, closer to what the eye sees:
  a slight overall brightening costs PSNR much more than SSIM.

Taught in notebook 05_restoration.

Reference: Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
error visibility to structural similarity", IEEE Trans. Image Processing 13(4), 2004.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

SSIM_SIGMA = 1.5
"""Standard deviation (pixels) of SSIM's Gaussian window, as in Wang et al. (an 11 x 11 window)."""
SSIM_WINDOW = 11
"""Side of SSIM's window, pixels."""
SSIM_K1, SSIM_K2 = 0.01, 0.03
"""Wang et al.'s constants: they keep SSIM stable where a window is flat (its mean or spread near 0)."""
PEAK = 255.0
"""The largest pixel value of 8-bit pictures."""
IDENTICAL_PSNR = 100.0
"""The PSNR (dB) that ``clip_psnr`` counts for an identical frame, so that one untouched frame does not
make a clip's mean infinite: above any real difference (rounding to 8 bits alone gives about 59 dB)."""


def psnr(image: np.ndarray, truth: np.ndarray) -> float:
    """PSNR of ``image`` against ``truth`` in dB; both uint8, one shape (gray or BGR); ``inf`` if identical.

    Example: ``psnr(np.full((2, 2), 10, np.uint8), np.full((2, 2), 11, np.uint8))`` is 48.13 (dB).
    """
    _same_shape(image, truth)
    error = np.mean((image.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(PEAK ** 2 / error))


def ssim(image: np.ndarray, truth: np.ndarray) -> float:
    """Mean SSIM of ``image`` against ``truth``: 1 if identical, lower the less alike (Wang et al. 2004).

    Both uint8, one shape; BGR pictures are compared on their gray. Windows are Gaussian
    (``SSIM_SIGMA``, ``SSIM_WINDOW``); at the borders the picture is mirrored.

    Example: ``ssim(img, img)`` is 1.0.
    """
    _same_shape(image, truth)
    x, y = (_gray(picture).astype(np.float64) for picture in (image, truth))
    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2

    def local_mean(values: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(values, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mean_x, mean_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mean_x ** 2
    var_y = local_mean(y * y) - mean_y ** 2
    cov = local_mean(x * y) - mean_x * mean_y
    index = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / ((mean_x ** 2 + mean_y ** 2 + c1) * (var_x + var_y + c2))
    return float(index.mean())


def clip_psnr(frames: Iterable[np.ndarray], truth: Iterable[np.ndarray]) -> float:
    """The mean of each frame's ``psnr`` against the frame of ``truth`` at its place (dB; identical frames
    count as ``IDENTICAL_PSNR``)."""
    values = [min(psnr(a, b), IDENTICAL_PSNR) for a, b in zip(frames, truth, strict=True)]
    return float(np.mean(values))


def clip_ssim(frames: Iterable[np.ndarray], truth: Iterable[np.ndarray]) -> float:
    """The mean of each frame's ``ssim`` against the frame of ``truth`` at its place."""
    return float(np.mean([ssim(a, b) for a, b in zip(frames, truth, strict=True)]))


def _gray(picture: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY) if picture.ndim == 3 else picture


def _same_shape(image: np.ndarray, truth: np.ndarray) -> None:
    if image.shape != truth.shape:
        raise ValueError(f"Pictures to compare must have one shape, got {image.shape} and {truth.shape}.")
