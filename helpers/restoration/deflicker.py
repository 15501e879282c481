"""Luminance flicker of old film, removed before colouring: each frame's brightness and contrast
brought to a smooth reference over time, shot by shot.

Old film flickers: every frame was exposed, developed or scanned a little differently, so the
whole picture jumps brighter and darker from frame to frame. Model a frame as a gain and an
offset on its clean self, ``frame = g * clean + o``. Its **levels**, the mean and the spread
(standard deviation) of its gray values, then follow ``g`` and ``o``. The scene's own levels
change slowly (a cloud, a fade, a pan into the shade); flicker changes them from one frame to
the next. So:

1. measure each frame's levels (``frame_levels``, on a thumbnail: fast, and dust does not count);
2. the reference: a straight line fitted to the levels of the frames around it, at most ``RADIUS``
   each side, never across a scene cut (``reference_levels``, pure). A line follows a steady fade
   exactly, to the clip's last frame, and averages the jitter away; where a shot starts to fade,
   the side that has not turned yet is used (a centred line would cut the corner);
3. move each frame's levels to its reference with one gain and offset (``match_levels``): a
   table of 256 values, the same for B, G and R, so gray stays gray.

``Deflicker`` does it on a stream of frames (it looks ``radius`` frames ahead). To be taught in
notebook 05_restoration.

References: the gain-offset model and the temporal-average reference are the classic approach
(e.g. P.M.B. van Roosmalen, "Restoration of archived film and video", PhD thesis, TU Delft, 1999,
chapter 3); FFmpeg's ``deflicker`` filter is the same idea without the cuts or the spread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import cv2
import numpy as np

from ..media.motion import CUT_THUMB_SIDE, is_scene_cut, small_gray, to_gray

RADIUS = 7
"""Frames each side of a frame that its reference line is fitted to (15 in all, about 0.6 s at 24
frames/s): long enough to average flicker away, short enough to follow a fade or a cloud."""
LEVELS_SIDE = 160
"""Longest side, in pixels, of the thumbnail whose levels are measured: specks of dust vanish
in it, and the levels of a 640 x 480 frame take 0.1 ms."""
SIDE_PREFERENCE = 4.0
"""How many times less scatter a one-sided window needs to be chosen over the centred one."""
MIN_SPREAD = 1.0
"""Spread (gray levels) below which a frame is treated as flat (a black frame): only its mean moves."""
MAX_GAIN = 4.0
"""Largest contrast change ``match_levels`` makes: a frame far outside its neighbours is a flash
or a defect, not flicker, and is moved at most this much."""


class Levels(NamedTuple):
    """A frame's brightness (mean gray value) and contrast (standard deviation), 0..255."""

    mean: float
    spread: float


def frame_levels(frame: np.ndarray) -> Levels:
    """The ``Levels`` of a frame, ``(H, W)`` or ``(H, W, 3)`` uint8, measured on a thumbnail.

    Example: ``frame_levels(np.full((48, 64), 100, np.uint8))`` is ``Levels(mean=100.0, spread=0.0)``.
    """
    return _levels(small_gray(to_gray(frame), LEVELS_SIDE))


def _levels(thumbnail: np.ndarray) -> Levels:
    mean, spread = cv2.meanStdDev(thumbnail)
    return Levels(float(mean[0, 0]), float(spread[0, 0]))


def reference_levels(levels: Sequence[Levels], cuts: Sequence[bool], radius: int = RADIUS) -> list[Levels]:
    """The smooth levels each frame should have: its shot's trend, a line fitted within ``radius``.

    Parameters
    ----------
    levels : sequence of Levels
        One per frame, in order.
    cuts : sequence of bool
        ``cuts[i]``: frame ``i`` starts a new shot (``cuts[0]`` is ignored).
    radius : int
        Frames each side to fit the line to; 0 gives the levels back unchanged.

    Returns
    -------
    list of Levels
        Per frame. Near a cut or an end the window is one-sided, which is what a shot's first and
        last frames have to go on; a line still follows a fade there.
    """
    if radius < 0:
        raise ValueError(f"radius must be 0 or more, got {radius}.")
    shots = _shots(cuts[:len(levels)])
    return [_reference(levels, shots, i, radius) for i in range(len(levels))]


def _shots(cuts: Sequence[bool]) -> list[int]:
    """Each frame's shot number, counting the cuts (``cuts[0]`` ignored)."""
    numbers, shot = [], 0
    for i, cut in enumerate(cuts):
        shot += bool(i and cut)
        numbers.append(shot)
    return numbers


def _reference(levels: Sequence[Levels], shots: Sequence[int], i: int, radius: int) -> Levels:
    """Frame ``i``'s levels as its shot's trend says: a straight line fitted to the frames within
    ``radius`` (plain Python: at most 2 x radius + 1 numbers, where NumPy's set-up would cost more).

    The centred window is used unless one side alone is clearly straighter (``SIDE_PREFERENCE``
    times less scatter): at the corner where a steady shot starts to fade, the side that has not
    turned yet follows the scene exactly, while the centred line would cut the corner.
    """
    n = len(levels)
    fits = []  # (scatter, levels at i) of the centred window, then the left and the right one
    for lo, hi in ((i - radius, i + radius), (i - radius, i), (i, i + radius)):
        frames = [j for j in range(max(0, lo), min(n - 1, hi) + 1) if shots[j] == shots[i]]
        if len(frames) < 3:  # a line through two points has no scatter to judge it by
            fits.append(None)
            continue
        mean, mean_scatter = _line_at(frames, [levels[j].mean for j in frames], i)
        spread, spread_scatter = _line_at(frames, [levels[j].spread for j in frames], i)
        fits.append((mean_scatter + spread_scatter, Levels(mean, max(spread, 0.0))))
    chosen = fits[0]
    for side in fits[1:]:
        if side is not None and (chosen is None or side[0] * SIDE_PREFERENCE < chosen[0]):
            chosen = side
    return levels[i] if chosen is None else chosen[1]  # a shot of one or two frames: nothing to go on


def _line_at(xs: Sequence[int], ys: Sequence[float], x: int) -> tuple[float, float]:
    """The least-squares line through ``(xs, ys)``, at ``x``; and its scatter (residual variance)."""
    m = len(xs)
    mx, my = sum(xs) / m, sum(ys) / m
    sxx = sum((a - mx) ** 2 for a in xs)
    slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sxx
    residual = sum((b - my - slope * (a - mx)) ** 2 for a, b in zip(xs, ys))
    return my + slope * (x - mx), residual / (m - 2)


def level_table(found: Levels, wanted: Levels) -> np.ndarray:
    """The 256-entry uint8 table that moves ``found`` levels to ``wanted``.

    Each gray value ``v`` becomes ``gain * (v - found.mean) + wanted.mean``, rounded and clipped to
    0..255, with ``gain = wanted.spread / found.spread`` (kept within ``1 / MAX_GAIN .. MAX_GAIN``).
    """
    if found.spread < MIN_SPREAD or wanted.spread < MIN_SPREAD:
        gain = 1.0  # a flat frame has no contrast to match
    else:
        gain = float(np.clip(wanted.spread / found.spread, 1 / MAX_GAIN, MAX_GAIN))
    values = gain * (np.arange(256, dtype=np.float32) - found.mean) + wanted.mean
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def match_levels(frame: np.ndarray, found: Levels, wanted: Levels) -> np.ndarray:
    """``frame`` (uint8, gray or BGR) with its levels moved from ``found`` to ``wanted``; a new array."""
    return cv2.LUT(frame, level_table(found, wanted))


class Deflicker:
    """Remove luminance flicker from a stream of frames (see the module's docstring).

    Parameters
    ----------
    radius : int
        Frames each side that the reference line is fitted to (``RADIUS``); a frame comes out once the
        ``radius`` frames after it are in (or the stream ended).

    Example
    -------
    ``for index, frame in Deflicker().run(enumerate(frames)): ...``
    """

    def __init__(self, radius: int = RADIUS) -> None:
        if radius < 1:
            raise ValueError(f"radius must be at least 1 (the default is {RADIUS}), got {radius}.")
        self.radius = radius

    def run(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` in, ``(index, deflickered frame)`` out, in order; frames uint8, gray or BGR."""
        window: deque[tuple[int, np.ndarray, Levels, bool]] = deque()  # (index, frame, levels, starts a shot)
        done: deque[tuple[Levels, bool]] = deque(maxlen=self.radius)  # the frames already out, for the look back
        previous = None
        for index, frame in frames:
            small = small_gray(to_gray(frame), LEVELS_SIDE)  # shrunk once, for the levels and the cut test
            thumbnail = small_gray(small, CUT_THUMB_SIDE)
            cut = previous is not None and is_scene_cut(previous, thumbnail)
            previous = thumbnail
            window.append((index, frame, _levels(small), cut))
            if len(window) > self.radius:
                yield self._release(window, done)
        while window:
            yield self._release(window, done)

    def _release(self, window: deque, done: deque) -> tuple[int, np.ndarray]:
        """Correct the oldest frame of ``window`` against the frames around it, and move it to ``done``."""
        before = list(done)
        levels = [lv for lv, _ in before] + [lv for _, _, lv, _ in window]
        cuts = [cut for _, cut in before] + [cut for *_, cut in window]
        wanted = _reference(levels, _shots(cuts), len(before), self.radius)
        index, frame, found, cut = window.popleft()
        done.append((found, cut))
        return index, match_levels(frame, found, wanted)
