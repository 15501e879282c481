"""Restoration of one old photo before colouring (``photo --restore``): dust, scratches and grain.

A photo has no frame before or after it, so a defect is found from its shape alone, on the gray
lightness (clean lightness gives cleaner colour):

1. **dust** (``speck_mask``): small blobs much darker or lighter than everything on a ring
   around them (a grayscale erosion or dilation by a ring, larger than any speck), and small;
2. **scratches** (``line_mask``): scratches, hairs and creases are thin lines. Along a line, the
   picture is lighter (or darker) than at the same distance on BOTH sides of it, and those sides
   look like the background further out: that difference, averaged over a short segment at each
   of ``ANGLES`` directions (``line_contrast``), is large on a line and averages away on texture.
   Lines long and thin enough count;
3. the mask (``defect_mask``) is filled with ``cv2.inpaint`` (``fill``);
4. **grain** (``reduce_grain``): the grain's strength is measured (``grain_sigma``) and
   ``cv2.fastNlMeansDenoising`` run at a multiple of it, so a clean photo is hardly touched.

``restore_photo`` does it all and returns the mask, so the user can see what was filled
(``helpers.restoration.photo_restore_files`` does it to the pictures of image files and writes the mask beside
the result). To be taught in notebook 05_restoration.

Limits: what is found is what *looks* like a defect. A real small light or dark blob (a button,
a distant lamp, a star) as contrasted as dust, or a real thin line as contrasted as a scratch (a
wire against the sky, a twig, the highlight on a chrome tube), is filled too; fainter real detail
is kept because the thresholds are high, so faint scratches and dust are kept too. Wide defects
(tears, stains, missing corners) are not looked for.

References: morphological top-hat and black-hat, J. Serra, "Image Analysis and Mathematical
Morphology", 1982; line detection by oriented differences, e.g. the scratch detectors of
A. Kokaram, "Motion Picture Restoration", Springer, 1998, chapter 8; inpainting, A. Telea, "An
image inpainting technique based on the fast marching method", J. Graphics Tools 9(1), 2004;
grain, A. Buades, B. Coll, J.-M. Morel, "A non-local algorithm for image denoising", CVPR 2005.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import cv2
import numpy as np

from .steps import checked_steps

PHOTO_STEPS = ("dust", "scratches", "grain")
"""The restoration steps of a photo, in the order they run; ``photo --restore`` alone runs them all."""

REFERENCE_SIDE = 512
"""Shorter side, in pixels, of the photo the sizes below are given for; a larger scan has larger
specks and wider scratches in pixels, so the sizes grow with its shorter side (never shrink)."""

SPECK_RING = 6
"""Radius (pixels) of the ring a speck must be darker (or lighter) than all of: beyond the largest
speck (9 px across), near enough that the ring is the speck's own background."""
RING_WIDTH = 2
"""Width (pixels) of that ring: a whole number of pixels wide all round, with no gaps on diagonals."""
SPECK_CONTRAST = 50
"""Gray levels (of 255) a speck differs from the nearest shade on its ring, at least: the buttons
of a coat, a distant lamp, a highlight are real small blobs too, and most are fainter than dust."""
SPECK_EXTEND = 0.5
"""A speck extends to its neighbours that reach this share of ``SPECK_CONTRAST`` (hysteresis)."""
MAX_SPECK_AREA = 100
"""Largest speck, in pixels (a disk of about 11 px across): larger blobs are things in the picture."""

ANGLES = 12
"""Directions at which lines are looked for (every 15 degrees): a segment ``LINE_SEGMENT`` long
that is 7.5 degrees off still lies within a pixel of the line."""
LINE_SEGMENT = 15
"""Length (pixels) of the segment over which the contrast of a line is averaged: long enough to
average texture away, short enough to follow a curling hair."""
LINE_SIDES = (2.0, 3.0)
"""Distances (pixels) from a line's centre to where its sides are measured, one after the other:
lines up to about 5 px wide are found (a crease's crack with its soft edges)."""
OUTER_SIDE = 1.75
"""The sides are also measured this many times a side distance out: a line is lighter (or darker)
than both distances, so a bar 4 or 5 px wide, whose near sides are on its own shoulders, is not."""
BACKGROUND_SIDE = 3.5
"""... and the background this many times a side distance out, which the outer sides must be like."""
BACKGROUND_WEIGHT = 1.0
"""How much the outer sides differing from the background further out counts against a line: a
bright tube with its shaded flanks, a dark rod with its highlights, are not lines here."""
SIDES_WEIGHT = 1.0
"""How much the two sides differing counts against a line: a line lies on its background, while
the bright edge of a thing against a darker one (a rim, a collar) has a different side each way."""
LINE_CONTRAST = 25
"""Gray levels a line's segment differs from both its sides, at least, where a line is seeded."""
LINE_EXTEND = 0.5
"""A seeded line extends along pixels that reach this share of ``LINE_CONTRAST`` (hysteresis, as
in Canny's edge detector): the faint ends of a scratch go with it."""
MIN_LINE_LENGTH = 60
"""Shortest line, in pixels: eyelashes, letters and the texture's own short strokes are shorter."""
MAX_LINE_WIDTH = 4.0
"""Widest line, in pixels: its area divided by its length."""

INPAINT_RADIUS = 3
"""Pixels around a hole that ``cv2.inpaint`` fills it from: holes here are at most a few pixels wide."""
INPAINT_METHOD = "INPAINT_TELEA"
"""OpenCV's name of the method (looked up when used: importing this module needs no working OpenCV).
Telea's fast marching: on these thin holes Navier-Stokes scores the same PSNR within 0.1 dB
(bench/photo_restore.py), and Telea's method is the shorter to explain: each hole pixel is a
weighted mean of the known pixels near it, filled from the hole's edge inwards."""

GRAIN_STRENGTH = 1.0
"""Default strength of grain reduction: the non-local means filter's ``h`` is this times the
measured grain (``grain_sigma``); 0 switches it off, 2 smooths harder (and loses fine texture)."""
MIN_GRAIN = 4.0
"""Grain (standard deviation, gray levels) below which a photo is left as it is: the sample photos,
clean, measure 0.9 to 3.4 (their fine texture counts as grain a little)."""
GRAIN_BLUR = 1.5
"""Blur (Gaussian sigma, pixels) that takes the grain away in ``grain_sigma``: grain is finer."""
NLM_TEMPLATE = 7
NLM_SEARCH = 21
"""Patch and search window of ``cv2.fastNlMeansDenoising``: OpenCV's recommended values."""

class RestoredPhoto(NamedTuple):
    """A photo restored by ``restore_photo``, and where it was filled."""

    image: np.ndarray
    """Like the input: same shape and dtype."""
    mask: np.ndarray
    """``(H, W)`` bool: the pixels filled by inpainting (dust and scratches); grain is everywhere."""


def check_photo_steps(steps: Sequence[str]) -> tuple[str, ...]:
    """``steps`` as a tuple in running order, or ValueError naming the steps there are."""
    return checked_steps(steps, PHOTO_STEPS, "photo restoration")


def restore_photo(image: np.ndarray, steps: Sequence[str] = PHOTO_STEPS, *,
                  grain_strength: float = GRAIN_STRENGTH) -> RestoredPhoto:
    """Remove dust and scratches from one photo, then reduce its grain.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) ndarray, uint8 or uint16
        Gray or BGR (a colour photo is searched on its gray, and filled in colour).
    steps : names from ``PHOTO_STEPS``
        Which steps to run (in their own order, whatever the order given).
    grain_strength : float
        See ``GRAIN_STRENGTH``.

    Returns
    -------
    RestoredPhoto
        The restored image and the mask of the pixels filled.

    Example: ``clean, mask = restore_photo(cv2.imread("scan.png", cv2.IMREAD_UNCHANGED))``
    """
    steps = check_photo_steps(steps)
    if image.dtype not in (np.uint8, np.uint16) or image.ndim not in (2, 3) or image.ndim == 3 and \
            image.shape[2] != 3:
        raise ValueError(f"restore_photo takes a gray (H, W) or BGR (H, W, 3) image of uint8 or uint16, got shape "
                         f"{image.shape} and dtype {image.dtype}.")
    mask = defect_mask(to_gray8(image), steps)
    out = fill(image, mask) if mask.any() else image.copy()
    if "grain" in steps:
        out = reduce_grain(out, grain_strength)
    return RestoredPhoto(out, mask)


def to_gray8(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8: the gray of a gray or BGR image, uint8 or uint16 (divided by 257)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return gray if gray.dtype == np.uint8 else cv2.convertScaleAbs(gray, alpha=1 / 257)


def scale_of(shape: tuple[int, ...]) -> float:
    """How much larger than at ``REFERENCE_SIDE`` defects are in a picture of ``shape``: at least 1."""
    return max(1.0, min(shape[:2]) / REFERENCE_SIDE)


def _odd(pixels: float) -> int:
    """The nearest odd whole number to ``pixels``, at least 3 (kernels have a centre)."""
    return max(3, int(round(pixels)) // 2 * 2 + 1)


def defect_mask(gray8: np.ndarray, steps: Sequence[str] = PHOTO_STEPS) -> np.ndarray:
    """``(H, W)`` bool: the pixels of ``gray8`` (uint8) to fill, for the steps among ``dust`` and ``scratches``."""
    mask = np.zeros(gray8.shape, bool)
    if "dust" in steps:
        mask |= speck_mask(gray8)
    if "scratches" in steps:
        mask |= line_mask(gray8)
    return mask


def speck_mask(gray8: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the specks of dust and dirt of one photo.

    Parameters
    ----------
    gray8 : (H, W) uint8 ndarray

    Notes
    -----
    A dark speck is darker than everything on a ring around it (``SPECK_RING`` pixels out, beyond
    the largest speck) by ``SPECK_CONTRAST``: the erosion of the picture by the ring is the
    darkest pixel of the ring around each pixel (a light speck: lighter than the ring's
    dilation). A pupil, a window among windows, a pebble among others has something as dark as
    itself on the ring; a speck on a plain or finely textured background has not. The speck
    extends to its pixels that reach ``SPECK_EXTEND`` of that; blobs of at most
    ``MAX_SPECK_AREA`` pixels count, grown by a pixel for their soft edges.

    Example: ``speck_mask(np.full((9, 9), 128, np.uint8)).any()`` is False.
    """
    scale = scale_of(gray8.shape)
    ring = _ring(int(round(SPECK_RING * scale)))
    values = gray8.astype(np.int16)
    darker = cv2.erode(gray8, ring, borderType=cv2.BORDER_REFLECT) - values
    lighter = values - cv2.dilate(gray8, ring, borderType=cv2.BORDER_REFLECT)
    largest = MAX_SPECK_AREA * scale ** 2
    found = np.zeros(gray8.shape, np.uint8)
    for contrast in (darker, lighter):
        found |= _seeded(contrast, SPECK_CONTRAST, SPECK_EXTEND,
                         lambda labels, stats, label: stats[label, cv2.CC_STAT_AREA] <= largest)
    return cv2.dilate(found, np.ones((3, 3), np.uint8)) > 0  # the speck's soft edge too


def _ring(radius: int) -> np.ndarray:
    """A structuring element: the pixels within ``RING_WIDTH / 2`` of a circle of ``radius``."""
    y, x = np.mgrid[-radius - 1:radius + 2, -radius - 1:radius + 2]
    return (np.abs(np.hypot(x, y) - radius) <= RING_WIDTH / 2).astype(np.uint8)


def _seeded(contrast: np.ndarray, seed: float, extend: float, keep) -> np.ndarray:
    """uint8 0/1: the 8-connected blobs of ``contrast > extend * seed`` that reach ``seed`` somewhere
    (hysteresis, as in Canny's edge detector) and pass ``keep(labels, stats, label)``, with the
    ``labels`` and ``stats`` of ``cv2.connectedComponentsWithStats``."""
    weak = (contrast > extend * seed).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    seeded = np.zeros(count, bool)
    seeded[np.unique(labels[contrast > seed])] = True
    seeded[0] = False
    chosen = np.zeros(count, np.uint8)
    chosen[[label for label in np.flatnonzero(seeded) if keep(labels, stats, label)]] = 1
    return chosen[labels]


@lru_cache(maxsize=8)
def _segments(length: int) -> tuple[tuple[float, np.ndarray], ...]:
    """``(angle, kernel)`` for each of ``ANGLES`` directions: the mean along a segment of ``length`` pixels."""
    kernels, c, shift = [], (length - 1) / 2, 4  # sub-pixel ends, 1/16 px
    for angle in np.arange(ANGLES) * np.pi / ANGLES:
        kernel = np.zeros((length, length), np.float32)
        dx, dy = c * np.cos(angle), c * np.sin(angle)
        ends = [tuple(int(round(v * (1 << shift))) for v in p) for p in ((c - dx, c - dy), (c + dx, c + dy))]
        cv2.line(kernel, ends[0], ends[1], 1.0, 1, cv2.LINE_AA, shift)
        kernels.append((float(angle), kernel / kernel.sum()))
    return tuple(kernels)


def _moved(values: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``values`` read ``(dx, dy)`` pixels away: ``out[y, x] = values[y + dy, x + dx]``, bilinear."""
    h, w = values.shape
    move = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(values, move, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def line_contrast(gray8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much lighter, and how much darker, each pixel's line is than both its sides.

    Parameters
    ----------
    gray8 : (H, W) uint8 ndarray

    Returns
    -------
    light, dark : (H, W) float32 ndarrays, gray levels >= 0
        At each pixel, the largest over ``ANGLES`` directions of: the mean of the segment of
        ``LINE_SEGMENT`` pixels through it, minus the largest (light) or the smallest (dark) of the
        same segment moved ``LINE_SIDES`` and ``OUTER_SIDE`` times that to either side, less how
        unlike each other the two sides are and how unlike the outer sides are the background
        (``BACKGROUND_SIDE``). An edge (dark one side, light the other) gives nothing, a thin
        line of either shade on a plain or textured background its contrast; texture averages
        away along the segment.

    Example: a white line 1 px wide across flat gray 100 gives ``light`` about 155 on the line.
    """
    scale = scale_of(gray8.shape)
    values = gray8.astype(np.float32)
    light, dark = np.zeros_like(values), np.zeros_like(values)
    for angle, kernel in _segments(_odd(LINE_SEGMENT * scale)):
        along = cv2.filter2D(values, -1, kernel, borderType=cv2.BORDER_REFLECT)
        for side in LINE_SIDES:
            nx, ny = -np.sin(angle) * side * scale, np.cos(angle) * side * scale  # across the segment
            near, far, background = ([_moved(along, k * nx, k * ny) for k in (factor, -factor)]
                                     for factor in (1, OUTER_SIDE, BACKGROUND_SIDE))
            sides = np.stack(near + far)
            # a line lies on its background: its two sides alike, and like what is further out (the
            # highlight of a chrome tube has dark flanks and grass beyond: not a line here)
            unlike = SIDES_WEIGHT * np.abs(near[0] - near[1]) + BACKGROUND_WEIGHT * (
                np.abs(far[0] - background[0]) + np.abs(far[1] - background[1]))
            np.maximum(light, along - sides.max(axis=0) - unlike, out=light)
            np.maximum(dark, sides.min(axis=0) - along - unlike, out=dark)
    return light, dark


def line_mask(gray8: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the scratches, hairs and creases of one photo ``gray8`` ((H, W) uint8): long thin
    lines of high contrast.

    ``line_contrast``, seeded above ``LINE_CONTRAST`` and extended to ``LINE_EXTEND`` of that;
    lines at least ``MIN_LINE_LENGTH`` long and at most ``MAX_LINE_WIDTH`` wide on average are
    kept, grown by a pixel.
    """
    scale = scale_of(gray8.shape)
    found = np.zeros(gray8.shape, np.uint8)
    for contrast in line_contrast(gray8):
        found |= _seeded(contrast, LINE_CONTRAST, LINE_EXTEND,
                         lambda labels, stats, label: _is_line(labels, stats, label, scale))
    return cv2.dilate(found, np.ones((3, 3), np.uint8)) > 0


def _is_line(labels: np.ndarray, stats: np.ndarray, label: int, scale: float) -> bool:
    """Whether the blob ``label`` of ``labels`` is long (``MIN_LINE_LENGTH``) and thin (``MAX_LINE_WIDTH``)."""
    x, y, w, h, area = stats[label]
    if max(w, h) < MIN_LINE_LENGTH * scale / np.sqrt(2):  # too short at any angle: no need to look closer
        return False
    length = max(cv2.minAreaRect(cv2.findNonZero((labels[y:y + h, x:x + w] == label).astype(np.uint8)))[1])
    return bool(length >= MIN_LINE_LENGTH * scale and area <= MAX_LINE_WIDTH * scale * length)


def fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` with the pixels of ``mask`` filled from around them (``cv2.inpaint``, ``INPAINT_METHOD``).

    Parameters
    ----------
    image : (H, W) or (H, W, 3) ndarray, uint8 or uint16
    mask : (H, W) bool ndarray

    Example: ``fill(gray, speck_mask(gray))``
    """
    holes, method = mask.astype(np.uint8), getattr(cv2, INPAINT_METHOD)
    if image.ndim == 2 or image.dtype == np.uint8:
        return cv2.inpaint(image, holes, INPAINT_RADIUS, method)
    # OpenCV inpaints 16-bit pictures one channel at a time
    return cv2.merge([cv2.inpaint(channel, holes, INPAINT_RADIUS, method) for channel in cv2.split(image)])


def grain_sigma(gray8: np.ndarray) -> float:
    """The grain of a photo: the standard deviation (gray levels) of its fine noise.

    Parameters
    ----------
    gray8 : (H, W) uint8 ndarray

    Notes
    -----
    The picture minus itself blurred (``GRAIN_BLUR``) is its fine detail: grain everywhere,
    texture and edges in places. The median absolute deviation of that (times 1.4826, which
    makes it the standard deviation of a normal law) counts the grain and not the edges and
    texture, as long as they are a minority of the pixels. Film grain clumps over a pixel or two,
    so the sharper Laplacian masks of noise estimators for digital sensors (e.g. J. Immerkaer,
    "Fast noise variance estimation", CVIU 64(2), 1996) see only a third of it.

    Example: ``grain_sigma(np.full((64, 64), 99, np.uint8))`` is 0.0.
    """
    values = gray8.astype(np.float32)
    detail = values - cv2.GaussianBlur(values, (0, 0), GRAIN_BLUR)
    return float(1.4826 * np.median(np.abs(detail - np.median(detail))))


def reduce_grain(image: np.ndarray, strength: float = GRAIN_STRENGTH) -> np.ndarray:
    """``image`` with its grain reduced by non-local means (``cv2.fastNlMeansDenoising``).

    Parameters
    ----------
    image : (H, W) or (H, W, 3) ndarray, uint8 or uint16
    strength : float
        ``h`` is ``strength`` times ``grain_sigma``; 0, or grain under ``MIN_GRAIN``, leaves the image as it is.

    Example: ``reduce_grain(scan, 1.5)``
    """
    if strength < 0:
        raise ValueError(f"The grain strength must be 0 (off) or more, got {strength}.")
    sigma = grain_sigma(to_gray8(image))
    if strength == 0 or sigma < MIN_GRAIN:
        return image.copy()
    h = float(strength * sigma)
    if image.dtype == np.uint16:  # 16-bit needs the L1 norm, and h in 16-bit levels
        channels = cv2.split(image) if image.ndim == 3 else [image]
        done = [cv2.fastNlMeansDenoising(c, h=[h * 257], templateWindowSize=NLM_TEMPLATE,
                                         searchWindowSize=NLM_SEARCH, normType=cv2.NORM_L1) for c in channels]
        return cv2.merge(done) if image.ndim == 3 else done[0]
    if image.ndim == 3:
        return cv2.fastNlMeansDenoisingColored(image, None, h, h, NLM_TEMPLATE, NLM_SEARCH)
    return cv2.fastNlMeansDenoising(image, None, h, NLM_TEMPLATE, NLM_SEARCH)
