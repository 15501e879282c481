"""Vertical scratches on old film, removed before colouring: thin lines that stay put while the picture moves.

Grit dragged along the film by a projector cuts a line into every frame that passes it: a thin
(1-5 pixels) light or dark vertical line through most of the height, at nearly the same x for many
frames, wandering a few pixels as the film weaves in the gate. Frame by frame, what is thin across
(the frame less its horizontal opening, or its closing less the frame, ``OPENING_WIDTH`` wide) is
averaged over bands of rows (``ROW_BLOCKS``) less the same a few columns either side
(``line_contrast``); a line is a narrow peak there in most bands (``MIN_EXTENT``, ``MAX_WIDTH``:
``find_lines``). A vertical step edge (a building) is no peak at all.

A thin pole in the picture is one too; time tells: the pole moves with the picture, the scratch
stays in the frame. Each line is followed into the frames up to ``RADIUS`` either side (never
across a scene cut), and the picture's sideways motion measured in upright strips (phase
correlation of the frames with their lines taken out, so the lines do not pull it to zero). A
scratch is found in ``MIN_FOUND`` of them where it was, not where the picture took it
(``is_scratch``). It is taken out in the rows where it is (``line_rows``) by subtracting its excess
over the straight line between the pixels either side, averaged along the line (``lift_line``): a
scratch adds the same light all along, so the picture under it stays.

Limits: where the picture does not move sideways (a locked-off camera, the middle of a zoom)
nothing tells a scratch from a thin upright thing, so only lines through nearly the whole height
are taken there (``STILL_EXTENT``). Left: a scratch moving more than ``MATCH`` pixels a frame, one
wider than ``MAX_WIDTH``, two within a few pixels (one run too wide), one shorter than
``MIN_EXTENT`` of the height or in fewer than ``MIN_FOUND`` neighbours; a slanted one only while
it stays in its run of columns. A panning lattice (a tower, a fence) can alias with itself (on the
sample clip 2 frames change, above 70 dB). Pixel sizes suit frames up to about 720 wide.

``Descratching`` does it on a stream of frames (``RADIUS`` frames of context each side). To be
taught in notebook 05_restoration.

References: A. Kokaram, "Motion Picture Restoration", Springer, 1998, chapter 7 (line scratches:
detection from vertically averaged, horizontally filtered profiles); L. Joyeux, O. Buisson,
B. Besserer, S. Boukir, "Detection and removal of line scratches in motion picture films", CVPR
1999 (scratches tracked over time, which is what tells them from the scene).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..media.motion import CUT_THUMB_SIDE, is_scene_cut, small_gray, to_gray
from .scratch_lines import (
    EDGE,
    FLANK,
    MAX_WIDTH,
    ROW_BLOCKS,
    Line,
    bridged,
    find_lines,
    lift_line,
    line_contrast,
    line_rows,
)

STILL_EXTENT = 0.9
"""... where the picture does not move sideways: then only lines through nearly all of it."""
MIN_HEIGHT, MIN_WIDTH = 2 * ROW_BLOCKS, 2 * EDGE + MAX_WIDTH
"""Smallest frame looked at: two rows a row block, a line with its background each side; a smaller
(icon-sized) video passes as it is."""
RADIUS = 5
"""Frames each side in which a line is looked for (11 in all, about half a second at 24 frames/s):
long enough for a slow pan or zoom to move the picture a pixel or two."""
MIN_FOUND = 4
"""Of those, how many must show the line where it was (fewer at a shot's ends: as many as there are)."""
MATCH = 1.0
"""Pixels a line may be from where it was in the next frame, and still be the same line ..."""
DRIFT = 0.3
"""... plus this many pixels for each frame it was missing from: a scratch weaves slowly."""
MOVED = 1.0
"""Pixels the picture must have moved sideways for a line that stayed to count as held in the frame ..."""
HELD_MARGIN = 0.5
"""... and pixels it must be nearer to where it was than to where the picture went (the motion is
measured to a few tenths of a pixel)."""
SHIFT_SIDE = 240
"""Width (pixels) at which the picture's sideways motion is measured."""
STRIPS = 7
"""Strips in which it is measured (each a quarter of the width, half overlapping)."""
MIN_RESPONSE = 0.1
"""Phase correlation's peak below which a strip's motion is not believed."""


def is_scratch(line: Line, others: Sequence[tuple[int, list[Line], float]]) -> bool:
    """Whether ``line`` is a scratch, given the lines of the other frames of its shot nearby.

    ``others``: for each other frame within ``RADIUS`` in this shot, outwards on each side, how
    many frames away it is (negative before), its lines, and how far (pixels) the picture moved
    sideways from this frame to it where the line is.

    Notes
    -----
    The line is followed outwards on each side, frame by frame: in each frame, the line of the same
    sign nearest where it was last found, within ``MATCH`` pixels (plus ``DRIFT`` for a frame it was
    missing from; after two missing frames it is lost on that side). Each time it is found, it is
    **moved** if the picture moved (``MOVED``) and a line is where the picture went, nearer to
    there than to where it was (the line is part of the picture: whatever is near where it was
    may be the next post of a fence); **held** if it is ``HELD_MARGIN`` nearer where it was than
    where the picture went; **still** if the picture did not move. A scratch: held or still in
    ``MIN_FOUND`` frames (or in all there are), held more often than moved, and, if never held,
    through ``STILL_EXTENT`` of the height.
    """
    held = still = moved = 0
    side, last, x = 0, 0, line.x  # the side followed, how far away it was last found, and where
    for step, lines, shift in others:
        sign = (step > 0) - (step < 0)  # (NumPy's sign of a Python number costs more than this)
        if sign != side:
            side, last, x = sign, 0, line.x
        if abs(step) - abs(last) > 2:
            continue  # lost on this side
        here = _nearest(line, lines, x, MATCH + DRIFT * (abs(step - last) - 1))
        if here is None:
            continue
        last, x = step, here.x
        there = _nearest(line, lines, line.x + shift, MATCH + DRIFT * abs(step))
        if abs(shift) >= MOVED and there is not None and abs(there.x - line.x - shift) < abs(there.x - line.x):
            moved += 1
        elif abs(shift) < MOVED:
            still += 1
        elif abs(here.x - line.x) + HELD_MARGIN <= abs(here.x - line.x - shift):
            held += 1
    needed = min(MIN_FOUND, len(others))
    persistent = needed > 0 and held + still >= needed
    return bool(persistent and (held > moved or (held == moved == 0 and line.bands.mean() >= STILL_EXTENT)))


def _nearest(line: Line, lines: Sequence[Line], x: float, reach: float) -> Line | None:
    """The line of ``lines`` with ``line``'s sign nearest ``x``, if within ``reach`` pixels."""
    nearest, distance = None, reach
    for other in lines:  # a plain loop: called for every line and nearby frame, it is most of this step's Python
        if other.sign == line.sign:
            away = abs(other.x - x)
            if away < distance or (nearest is None and away == distance):  # the first of equals, as min() gives
                nearest, distance = other, away
    return nearest


def sideways_shifts(before: np.ndarray, after: np.ndarray, strips: int = STRIPS) -> np.ndarray:
    """``(strips,)`` float: pixels the picture moved right from ``before`` to ``after`` (small float32
    gray frames of one size), in each of ``strips`` overlapping upright strips, a quarter as wide as the
    frame, evenly spaced from the left to the right side (``strip_centres``).

    Locally because a zoom moves the left of the picture left and the right right. A strip with too
    little picture to go on (phase correlation's peak below ``MIN_RESPONSE``: sky, a black frame)
    takes the whole frame's motion.

    Example: a frame and itself rolled 3 columns right give about 3.0 in every strip.
    """
    h, w = before.shape
    width = max(w // 4, 8)
    starts = np.rint(np.linspace(0, w - width, strips)).astype(int)
    shifts = [_shift(before[:, a:a + width], after[:, a:a + width]) for a in starts]
    if min(response for _, response in shifts) >= MIN_RESPONSE:
        return np.array([dx for dx, _ in shifts])
    whole, response = _shift(before, after)
    whole = whole if response >= MIN_RESPONSE else 0.0
    return np.array([dx if response >= MIN_RESPONSE else whole for dx, response in shifts])


def strip_centres(width: int, strips: int = STRIPS) -> np.ndarray:
    """``(strips,)`` float: the centres of ``sideways_shifts``' strips, in a frame ``width`` wide."""
    strip = max(width // 4, 8)
    return np.linspace(0, width - strip, strips) + (strip - 1) / 2


def _shift(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """Phase correlation's sideways shift and its peak's height (0..1)."""
    window = _hanning(before.shape)
    (dx, _), response = cv2.phaseCorrelate(np.ascontiguousarray(before), np.ascontiguousarray(after), window)
    return float(dx), float(response)


@lru_cache(maxsize=4)
def _hanning(shape: tuple[int, int]) -> np.ndarray:
    """Phase correlation's window for frames of ``shape`` (made once: shared, not to be changed)."""
    return cv2.createHanningWindow(shape[::-1], cv2.CV_32F)


@dataclass
class _Seen:
    """A frame as ``Descratching`` keeps it."""

    index: int
    frame: np.ndarray
    gray: np.ndarray
    lines: list[Line]
    thumbnail: np.ndarray
    small: np.ndarray  # gray with its lines taken out, at SHIFT_SIDE, float32: for the sideways motion
    cut: bool = False  # a scene cut between the frame before and this one
    shifts: np.ndarray | None = None
    """Pixels the picture moved right from the frame before to this one, in each strip (full size)."""


class Descratching:
    """Remove vertical scratches from a stream of frames (see the module's docstring).

    Example: ``for index, frame in Descratching().run(enumerate(frames)): ...``
    """

    def __init__(self) -> None:
        self.scratches = 0
        """Lines filled so far (one per frame it is filled in)."""

    def run(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` in, ``(index, frame without scratches)`` out, in order, ``RADIUS`` frames
        behind; frames uint8, gray or BGR (a gray frame in BGR stays gray)."""
        window: list[_Seen] = []  # at most RADIUS frames already given out, then the ones to come
        given = 0  # how many of ``window`` are given out
        for index, frame in frames:
            if frame.shape[0] < MIN_HEIGHT or frame.shape[1] < MIN_WIDTH:  # an icon-sized video: as it is
                yield index, frame
                continue
            window.append(self._see(index, frame, window[-1] if window else None))
            while len(window) - given > RADIUS:
                yield self._give(window, given)
                given += 1
                if given > RADIUS:
                    window.pop(0)
                    given -= 1
        for position in range(given, len(window)):
            yield self._give(window, position)

    def _see(self, index: int, frame: np.ndarray, before: _Seen | None) -> _Seen:
        gray = to_gray(frame)
        lines = find_lines(line_contrast(gray))
        seen = _Seen(index, frame, gray, lines, small_gray(gray, CUT_THUMB_SIDE),
                     small_gray(bridged(gray, lines), SHIFT_SIDE).astype(np.float32))
        if before is not None:
            seen.cut = is_scene_cut(before.thumbnail, seen.thumbnail)
            if not seen.cut:
                seen.shifts = sideways_shifts(before.small, seen.small) * (gray.shape[1] / seen.small.shape[1])
        return seen

    def _give(self, window: list[_Seen], position: int) -> tuple[int, np.ndarray]:
        """The frame at ``position`` in ``window`` with its scratches filled."""
        here = window[position]
        if not here.lines:
            return here.index, here.frame
        nearby, shifts = [], 0.0  # (frames away, their lines, the picture's motion to them in each strip)
        for j in range(position + 1, min(position + RADIUS + 1, len(window))):  # after it, until a cut
            if window[j].cut:
                break
            shifts = shifts + window[j].shifts
            nearby.append((j - position, window[j].lines, shifts))
        shifts = 0.0
        for j in range(position - 1, max(position - RADIUS - 1, -1), -1):  # before it, until a cut
            if window[j + 1].cut:
                break
            shifts = shifts - window[j + 1].shifts
            nearby.append((j - position, window[j].lines, shifts))
        small_width = here.small.shape[1]
        centres = strip_centres(small_width) * (here.frame.shape[1] / small_width)
        xs = [line.x for line in here.lines]
        # each nearby frame's motion where each line is, and its lines of each sign (all a line is matched with)
        nearby = [(step, {sign: [other for other in lines if other.sign == sign] for sign in (1, -1)},
                   np.interp(xs, centres, moved).tolist()) for step, lines, moved in nearby]
        scratches = [line for k, line in enumerate(here.lines) if is_scratch(
            line, [(step, signed[line.sign], moved[k]) for step, signed, moved in nearby])]
        if not scratches:
            return here.index, here.frame
        out, filled = here.frame.copy(), []
        for line in sorted(scratches, key=lambda line: -line.contrast):
            # a dark scratch makes the picture beside it a light line (and a light one a dark line)
            if not any(line.left < other.right + FLANK[0] and other.left < line.right + FLANK[0]
                       for other in filled):
                lift_line(out, here.gray, line, line_rows(here.gray, line))
                filled.append(line)
        self.scratches += len(filled)
        return here.index, out
