"""The Lab colour space: L is lightness, a and b are colour.

A black-and-white photo already holds L; the network only has to guess a and b. These
helpers convert with OpenCV on float images so the ranges are the textbook ones:
L in 0..100, a and b in about -127..127.

Introduced in notebook 01_lab_colour_space.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..common.images import to_float_bgr


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


def lab_to_bgr(L: np.ndarray, ab: np.ndarray, *, scratch: np.ndarray | None = None) -> np.ndarray:
    """Join lightness and colour and convert to a displayable BGR image.

    Parameters
    ----------
    L : (H, W) float32 ndarray, 0..100
    ab : (H, W, 2) float32 ndarray, about -127..127
    scratch : (H, W, 3) float32 ndarray, optional
        Working memory, overwritten: pass the same one for every frame of a video. A new 12-byte
        a pixel array every frame costs page faults, about a tenth of fast mode's time.

    Returns
    -------
    img_bgr : (H, W, 3) uint8 ndarray
        Colours outside the sRGB gamut are clipped; values are rounded, not truncated.
    """
    lab = cv2.merge([L.astype(np.float32, copy=False), ab.astype(np.float32, copy=False)], dst=scratch)
    img_bgr = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR, dst=lab)  # pixel by pixel: in place is safe
    # in place: four times faster than building new arrays, which matters at video frame rates
    np.clip(img_bgr, 0, 1, out=img_bgr)
    img_bgr *= 255
    img_bgr += 0.5
    return img_bgr.astype(np.uint8)


# --- The sRGB gamut: which Lab colours a screen can show (notebook 01) -----------------------

# OpenCV's constants (modules/imgproc/src/color_lab.cpp), so the gamut drawn here matches what
# cv2.cvtColor displays: the D65 white point and the XYZ -> linear sRGB matrix.
_D65_WHITE = np.array([0.950456, 1.0, 1.088754], dtype=np.float32)
_XYZ_TO_LINEAR_RGB = np.array(
    [
        [3.240479, -1.53715, -0.498535],
        [-0.969256, 1.875991, 0.041556],
        [0.055648, -0.204043, 1.057311],
    ],
    dtype=np.float32,
)
GAMUT_TOLERANCE = 0.5 / 255
"""How far (0..1 scale) outside 0..1 a channel may be and still count as displayable: half an
8-bit level, so it still rounds to 0..255. It also absorbs float rounding (white gives 0.9999998)."""


def lab_to_srgb_unclipped(lab: np.ndarray) -> np.ndarray:
    """Convert Lab to sRGB WITHOUT clipping, so colours a screen cannot show stay visible.

    ``cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)`` clips every channel to 0..1, which hides whether a
    colour was displayable. This is the same formula (CIE Lab, D65 white, OpenCV's constants)
    in NumPy, stopping before the clip.

    Parameters
    ----------
    lab : (..., 3) float ndarray
        L in 0..100, a and b in about -127..127 (any shape whose last axis is L, a, b).

    Returns
    -------
    img_rgb : (..., 3) float32 ndarray
        R, G, B (in that order, not OpenCV's BGR) gamma-encoded like sRGB. Inside the gamut
        every value is in 0..1; outside, some value is below 0 or above 1.

    Notes
    -----
    - ``16 / 116``, ``500`` and ``200`` are the CIE Lab definition; below ``L = 8`` (where
      ``(L + 16) / 116`` reaches ``6 / 29``) the curve is linear, ``Y = L / 903.3``.
    - The sRGB gamma curve is ``12.92 x`` below ``0.0031308`` and ``1.055 x^(1/2.4) - 0.055``
      above; it is mirrored for negative values so out-of-gamut numbers stay meaningful.
    """
    lab = np.asarray(lab, dtype=np.float32)  # float32 is exact enough for 8-bit colours and twice as fast
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    fy = (L + 16.0) / 116.0
    f = np.stack([fy + a / 500.0, fy, fy - b / 200.0], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, (f - np.float32(16 / 116)) / np.float32(7.787))
    xyz[..., 1] = np.where(L > 8, fy**3, L / np.float32(903.3))
    linear_rgb = (xyz * _D65_WHITE) @ _XYZ_TO_LINEAR_RGB.T
    magnitude = np.abs(linear_rgb)
    encoded = np.where(
        magnitude <= 0.0031308,
        np.float32(12.92) * magnitude,
        np.float32(1.055) * np.power(magnitude, np.float32(1 / 2.4)) - np.float32(0.055),
    )
    return (np.sign(linear_rgb) * encoded).astype(np.float32)


def in_srgb_gamut(lab: np.ndarray, *, tolerance: float = GAMUT_TOLERANCE) -> np.ndarray:
    """Which Lab colours an ordinary (sRGB) screen can show without clipping.

    Parameters
    ----------
    lab : (..., 3) float ndarray
        L in 0..100, a and b in about -127..127.
    tolerance : float
        How far outside 0..1 a channel may be and still count as inside.

    Returns
    -------
    in_gamut : (...) bool ndarray
        True where R, G and B are all within ``-tolerance .. 1 + tolerance``.

    Notes
    -----
    The default tolerance ``GAMUT_TOLERANCE = 0.5 / 255`` is half an 8-bit level: such a channel
    still rounds to a valid value 0..255. It also absorbs float rounding, e.g. white
    (100, 0, 0) gives 0.9999998.
    """
    img_rgb = lab_to_srgb_unclipped(lab)
    return np.all((img_rgb >= -tolerance) & (img_rgb <= 1 + tolerance), axis=-1)


def ab_plane(L: float, *, size: int = 256, ab_max: float = 128.0) -> np.ndarray:
    """A square grid of every (a, b) pair at one lightness, laid out like a map.

    Parameters
    ----------
    L : float
        The lightness of the whole plane, 0..100.
    size : int
        Side of the grid in pixels.
    ab_max : float
        The grid spans a and b from ``-ab_max`` to ``+ab_max``.

    Returns
    -------
    lab : (size, size, 3) float32 ndarray
        ``lab[row, col] = (L, a, b)`` with a growing to the RIGHT (columns) and b growing UP
        (row 0 is the largest b), so ``+a`` (red) is on the right and ``+b`` (yellow) at the top.
        Each value is the centre of its pixel.

    Notes
    -----
    ``ab_max = 128`` covers OpenCV's whole a, b range (about -127..127); with ``size = 256``
    one pixel is one unit of a or b.
    """
    step = 2.0 * ab_max / size
    centres = -ab_max + (np.arange(size) + 0.5) * step
    a, b = np.meshgrid(centres, centres[::-1])
    lab = np.empty((size, size, 3), dtype=np.float32)
    lab[..., 0] = L
    lab[..., 1] = a
    lab[..., 2] = b
    return lab


# --- How exact the conversions are (notebook 01) ---------------------------------------------


def round_trip_errors(img_bgr: np.ndarray) -> dict[str, tuple[float, float]]:
    """How much an 8-bit photo changes on a trip BGR -> Lab -> BGR, the float way and the uint8 way.

    Parameters
    ----------
    img_bgr : (H, W, 3) uint8 ndarray

    Returns
    -------
    dict
        ``{"float32": (max, mean), "uint8": (max, mean)}``: absolute error in 8-bit levels
        (0..255) over all pixels and channels. ``"float32"`` converts via ``bgr_to_lab`` /
        ``lab_to_bgr`` (L 0..100); ``"uint8"`` hands the uint8 image straight to OpenCV, which
        stores Lab in 0..255 too and so rounds it.
    """
    img_bgr = np.asarray(img_bgr)
    if img_bgr.dtype != np.uint8 or img_bgr.ndim != 3 or img_bgr.shape[2] != 3:
        raise ValueError(f"Expected an (H, W, 3) uint8 BGR image, got {img_bgr.dtype} of shape {img_bgr.shape}.")
    lab = bgr_to_lab(img_bgr)
    back_float = lab_to_bgr(lab[:, :, 0], lab[:, :, 1:])
    lab_uint8 = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2Lab)
    back_uint8 = cv2.cvtColor(lab_uint8, cv2.COLOR_Lab2BGR)
    errors = {}
    for name, back in (("float32", back_float), ("uint8", back_uint8)):
        diff = np.abs(back.astype(np.int16) - img_bgr.astype(np.int16))
        errors[name] = (float(diff.max()), float(diff.mean()))
    return errors
