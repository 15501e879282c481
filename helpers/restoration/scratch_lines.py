"""Vertical lines in one frame of old film: found by contrast, lifted from their sides (notebook 05_restoration).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

OPENING_WIDTH = 11
"""Width (pixels) of the horizontal opening and closing: whatever is narrower is a line candidate.
Twice the widest scratch, so a 5-pixel line is taken out whole."""


ROW_BLOCKS = 12
"""Bands of rows in which the profile is averaged (27 rows each at 320 high): long enough for
grain and texture to average out, short enough to say where along the height a line is."""


FLANK = (4, 9)
"""Columns either side of a column (nearest, farthest) whose mean is its background in a band:
beyond the edge of a 5-pixel line."""


BAND_CONTRAST = 4.0
"""Gray levels a line stands out of its background in a band, at least; faint scratches are 10."""


MIN_EXTENT = 0.6
"""Share of the bands a line must be in: a scratch runs through most of the height."""


MAX_WIDTH = 7
"""Widest run of line columns (pixels): a scratch is at most 5 wide, plus its soft edges."""


WIDTH_LEVEL = 0.25
"""Columns of a line: those whose contrast is at least this share of its peak's."""


ROW_SHARE = 0.4
"""Share of a line's contrast in its bands that a row must have to be filled (see ``line_rows``)."""


ROW_SMOOTH = 9
"""Rows over which that contrast is averaged: grain and texture even out, a line's end stays sharp."""


ALONG_LINE = 31
"""Rows along a line over which its excess light is averaged (see ``lift_line``): the picture's
texture averages out, a scratch's slow changes of strength do not."""


BURNT = 4
"""Gray levels from black or white within which a scratched pixel has nothing of the picture left."""


EDGE = FLANK[1] + 1
"""Columns at either side of the frame where no line is looked for (its background would be outside)."""


class Line(NamedTuple):
    """A thin vertical line found in one frame."""

    x: float
    """Its centre, in pixels (sub-pixel)."""
    sign: int
    """+1 lighter than the picture, -1 darker."""
    left: int
    right: int
    """Its columns: ``left <= x < right``."""
    bands: np.ndarray
    """``(ROW_BLOCKS,)`` bool: the bands of rows it is in."""
    contrast: float
    """Gray levels it stands out by, averaged over its bands, at its peak."""


def line_contrast(gray: np.ndarray, bands: int = ROW_BLOCKS) -> np.ndarray:
    """``(bands, W)`` float32: how much each column of ``gray`` (``(H, W)`` uint8) stands out of the
    columns beside it, per band of rows, in gray levels: positive where a thin light line is, negative
    where a thin dark one is, about 0 on smooth picture, on step edges and on even texture.

    Example: a frame of one value gives all zeros.
    """
    element = np.ones((1, OPENING_WIDTH), np.uint8)
    light = cv2.subtract(gray, cv2.morphologyEx(gray, cv2.MORPH_OPEN, element))
    dark = cv2.subtract(cv2.morphologyEx(gray, cv2.MORPH_CLOSE, element), gray)
    thin = cv2.subtract(light, dark, dtype=cv2.CV_16S)
    edges = _band_edges(bands, gray.shape[0])
    profile = (np.add.reduceat(thin, edges[:-1], axis=0, dtype=np.int32) / np.diff(edges)[:, np.newaxis])
    profile = profile.astype(np.float32)
    near, far = FLANK
    flanks = np.zeros(2 * far + 1, np.float32)
    flanks[:far - near + 1] = flanks[far + near:] = 1 / (2 * (far - near + 1))
    return profile - cv2.filter2D(profile, -1, flanks[np.newaxis, :], borderType=cv2.BORDER_REFLECT)


def find_lines(contrast: np.ndarray) -> list[Line]:
    """The thin vertical lines in a frame, from its ``line_contrast`` ``(bands, W)``.

    A line: columns where the contrast, of one sign, is at least ``BAND_CONTRAST`` in at least
    ``MIN_EXTENT`` of the bands (a column counts a band where it or a column beside it does: a line
    may slant), in a run at most ``MAX_WIDTH`` wide, away from the frame's sides (``EDGE``).

    Example: ``find_lines(np.zeros((12, 64), np.float32))`` is ``[]``.
    """
    lines = []
    w = contrast.shape[1]
    for sign in (1, -1):
        signed = sign * contrast
        hits = cv2.dilate((signed >= BAND_CONTRAST).astype(np.uint8), np.ones((1, 3), np.uint8))
        strong = np.zeros(w + 2, np.int8)  # padded so that every run has a start and an end
        strong[1:-1] = hits.mean(axis=0) >= MIN_EXTENT
        starts, ends = np.flatnonzero(np.diff(strong) == 1), np.flatnonzero(np.diff(strong) == -1)
        for a, b in zip(starts, ends):
            if b - a <= MAX_WIDTH and a >= EDGE and b <= w - EDGE:
                line = _line(signed, sign, a, b, hits[:, a:b].any(axis=1))
                if line is not None:
                    lines.append(line)
    return lines


def _line(signed: np.ndarray, sign: int, a: int, b: int, bands: np.ndarray) -> Line | None:
    """The line in the run of columns ``[a, b)`` of ``signed`` contrast (its sign made positive);
    None if the run stands out in too few bands once they are averaged."""
    profile = signed[bands, a:b].mean(axis=0)
    peak = int(np.argmax(profile))
    if profile[peak] < BAND_CONTRAST:
        return None
    keep = profile >= WIDTH_LEVEL * profile[peak]
    left = peak - int(np.argmin(keep[peak::-1])) + 1 if not keep[:peak + 1].all() else 0
    right = peak + int(np.argmin(keep[peak:])) if not keep[peak:].all() else b - a
    weights = np.clip(profile[left:right], 0, None)
    x = a + float(np.dot(weights, np.arange(left, right)) / max(weights.sum(), 1e-6))
    return Line(x, sign, a + left, a + right, bands, float(profile[peak]))


def band_rows(bands: np.ndarray, height: int) -> np.ndarray:
    """``(height,)`` bool: the rows of the bands that are True in ``bands`` ``(ROW_BLOCKS,)``."""
    return np.repeat(bands, np.diff(_band_edges(len(bands), height)))


def _band_edges(bands: int, height: int) -> np.ndarray:
    """``(bands + 1,)`` int: the first row of each band, then ``height``."""
    return np.rint(np.linspace(0, height, bands + 1)).astype(int)


def line_rows(gray: np.ndarray, line: Line) -> np.ndarray:
    """``(H,)`` bool: the rows of ``gray`` ``(H, W)`` uint8 where ``line`` is.

    Its bands say roughly; row by row, the line is where its columns stand out of the straight line
    between the pixels either side of it (averaged over ``ROW_SMOOTH`` rows) by at least
    ``ROW_SHARE`` of what they do in its bands: so a line that ends in the middle of a band is
    filled to its end, and no further. Looked for in its bands and the band beyond either end.
    """
    before, after = line.left - 1, line.right
    sides = (gray[:, before].astype(np.float32) + gray[:, after]) / 2
    above = line.sign * (gray[:, line.left:line.right].mean(axis=1, dtype=np.float32) - sides)
    above = cv2.blur(above[:, np.newaxis], (1, ROW_SMOOTH))[:, 0]
    inside = band_rows(line.bands, gray.shape[0])
    reach = band_rows(np.convolve(line.bands, np.ones(3), mode="same") > 0, gray.shape[0])
    return reach & (above >= ROW_SHARE * np.median(above[inside]))


def lift_line(img: np.ndarray, gray: np.ndarray, line: Line, rows: np.ndarray) -> None:
    """Take ``line`` out of ``img`` (``(H, W)`` or ``(H, W, 3)`` uint8, changed in place) in ``rows``
    (``(H,)`` bool) by subtracting it: what its columns have more than the straight line between the
    pixels either side (measured on ``gray``, the frame's ``(H, W)`` uint8 gray), averaged along the
    line over ``ALONG_LINE`` rows.

    A scratch adds (or takes away) about the same light all along its length while the picture under
    it changes from row to row, so the average along the line is the scratch and the picture under
    it stays: better than filling the columns with that straight line, where the picture has
    texture. Where the scratch burnt the picture out (``BURNT`` levels from black or white), nothing
    is left to keep: those pixels take the straight line.

    Example: ``lift_line(frame, gray, line, line_rows(gray, line))``.
    """
    ys = np.flatnonzero(rows)
    sides = _between_sides(gray, line)
    columns = gray[:, line.left:line.right].astype(np.float32)
    excess = cv2.blur(columns - sides, (1, ALONG_LINE))[ys]
    burnt = (columns[ys] <= BURNT) | (columns[ys] >= 255 - BURNT)
    change = np.where(burnt, sides[ys] - columns[ys], -excess)  # the same for B, G and R: gray stays gray
    change = change[..., np.newaxis] if img.ndim == 3 else change
    img[ys, line.left:line.right] = np.clip(np.rint(img[ys, line.left:line.right] + change), 0, 255).astype(np.uint8)


def bridged(gray: np.ndarray, lines: Sequence[Line]) -> np.ndarray:
    """``gray`` ``(H, W)`` uint8 with the columns of each of ``lines`` replaced, all the way down, by the
    straight line between the pixels either side: a copy in which no line, scratch or not, holds the
    picture's measured motion back (``sideways_shifts``). Rougher than ``lift_line``, and 8x faster,
    which is all that measuring the motion needs.

    Example: ``sideways_shifts(small_gray(bridged(a, lines_a), SHIFT_SIDE), ...)``."""
    out = gray.copy()
    for line in lines:
        out[:, line.left:line.right] = _between_sides(gray, line)
    return out


def _between_sides(gray: np.ndarray, line: Line) -> np.ndarray:
    """``(H, line.right - line.left)`` float32: the straight line, row by row, between the pixels either side
    of ``line``'s columns in ``gray`` (``(H, W)`` uint8), which are kept."""
    before, after = line.left - 1, line.right
    share = ((np.arange(line.left, line.right) - before) / (after - before)).astype(np.float32)
    return gray[:, before, np.newaxis].astype(np.float32) * (1 - share) + gray[:, after, np.newaxis] * share
