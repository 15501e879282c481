"""Frame rate: new frames made between two frames along the optical flow, a video brought to a new
rate, and old footage's duplicated frames recognised. To be taught in notebook 05_restoration.

A frame at time ``t`` between two frames (0 = the one before, 1 = the one after) is made by
motion-compensated interpolation (``between``):

1. the optical flow both ways between the two (``helpers.media.motion``, DIS, once per pair);
2. each frame moved to time ``t`` by backward warping: the pixel at ``x`` at time ``t`` is read
   from each frame where it was. That move is not measured (no frame exists at ``t``); with steady
   motion it is a share of the flow: ``-t * forward(x)`` into the frame before if the pixel at ``x``
   at time ``t`` is the one at ``x`` in the frame before, ``t * back(x)`` if it is the one at ``x``
   in the frame after (``forward``, ``back``: the flow of the frame before into the one after, and
   back). Where the flow is smooth the two agree; each is right near its own frame, so they are
   mixed by nearness in time (Super SloMo's approximation). At a moving edge they disagree;
3. the two blended, each weighted by its nearness in time, and by whether it can be trusted: the
   forward-backward check of the flow (``motion.consistent``) tells which pixels of one frame are
   hidden in the other (covered, or just come into view); the pixel at time ``t`` is hidden in the
   frame before where its place in the frame after is, and there the frame after is used (and
   the other way round);
4. at a scene cut there is no motion to follow: the nearer frame is given as it is, never a blend
   of two shots (a ghost).

``Resampler`` brings a stream of frames with their times (variable frame rate allowed) to a new
regular rate, or multiplies its rate (``2x``); it holds two frames and one flow pair at a time.
The decisions are pure functions: ``output_times``, ``pair_position``.

Old footage (``find_duplicates``): film shot at 16-18 frames/s and stored at 25 by repeating
frames has near-identical consecutive frames in a regular pattern; the content tells. Film shot at
16-18 frames/s and stored at 24 with every frame once plays too fast, and nothing in the pictures
says so: only the user knows (``slowed_times``).

Limits: DIS (preset "fast", at ``FLOW_SIDE``) loses a small thing that moves more than about 5 %
of the frame's width between the two frames; it then comes out close to a blend of the two.

References: the mixed backward warps and visibility-weighted blend are those of H. Jiang et al.,
"Super SloMo", CVPR 2018 (eq. 1-2), without its networks; evaluation on held-out frames as in
S. Baker et al., "A Database and Evaluation Methodology for Optical Flow", IJCV 2011.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import cv2
import numpy as np

from ..media.motion import OpticalFlow, full_size_maps, is_scene_cut, pixel_positions, small_gray, to_gray, warp

FLOW_SIDE = 256
"""Longest side (pixels) at which the flow of a pair is computed (``helpers.media.motion.small_gray``).
Measured on the sample clip halved and doubled back: 320 (``motion.WORK_SIDE``) gives 0.3 dB more
for 1.35x the time, 192 0.5 dB less; the maps are enlarged to the frame's size for each frame made."""
SNAP = 0.02
"""Share of an input interval within which an output time takes the input frame as it is: a pan
of 20 pixels a frame moves 0.4 pixel in that time, and timestamps rounded by the container stay
exact frames."""
DOUBT = 0.05
"""Weight left to a side where the flow check fails: where both fail, the blend is by time alone."""
TRUST_BLUR = 5
"""Side (pixels, at the flow's size) of the box that softens the trust masks: no seam where the
weights switch."""


class PairMotion(NamedTuple):
    """The motion between a frame ``before`` and a frame ``after``, at the flow's size ``(h, w)``
    (``helpers.media.motion.small_gray``): small, so a pair held costs little, and enlarged for each frame made."""

    cut: bool
    """A scene cut between the two: the other fields are None."""
    to_before: np.ndarray | None = None
    """``(h, w, 2)`` float32: where the pixel of ``after`` at (x, y) is in ``before``, minus (x, y)."""
    to_after: np.ndarray | None = None
    """``(h, w, 2)`` float32: where the pixel of ``before`` at (x, y) is in ``after``, minus (x, y)."""
    seen_before: np.ndarray | None = None
    """``(h, w)`` float32 0..1: the pixel of ``after`` is also in ``before`` (the flow check passes)."""
    seen_after: np.ndarray | None = None
    """``(h, w)`` float32 0..1: the pixel of ``before`` is also in ``after``."""


def pair_motion(before: np.ndarray, after: np.ndarray, flow: OpticalFlow | None = None) -> PairMotion:
    """The flow both ways between two frames (uint8, gray or BGR, one size), once for any ``t``.

    Example: ``between(a, b, 0.5, pair_motion(a, b))``.
    """
    return _pair_motion(_small(before), _small(after), flow or OpticalFlow())


def _small(frame: np.ndarray) -> np.ndarray:
    """A frame (uint8, gray or BGR) as the flow sees it: gray, ``FLOW_SIDE`` on its longest side."""
    return small_gray(to_gray(frame), FLOW_SIDE)


def _pair_motion(small_before: np.ndarray, small_after: np.ndarray, flow: OpticalFlow) -> PairMotion:
    """``pair_motion`` given the frames' ``small_gray``: a stream shrinks each frame once."""
    if is_scene_cut(small_before, small_after):
        return PairMotion(cut=True)
    back, forward = flow.both_ways(small_before, small_after)
    identity = flow.identity(small_after.shape)
    return PairMotion(False, back.maps - identity, forward.maps - identity, _soft(back.trusted), _soft(forward.trusted))


def _soft(trusted: np.ndarray) -> np.ndarray:
    """A bool trust mask as float32 weights 0..1, softened: no seam where the weights switch."""
    return cv2.blur(trusted.astype(np.float32), (TRUST_BLUR, TRUST_BLUR))


def between(before: np.ndarray, after: np.ndarray, t: float, motion: PairMotion | None = None) -> np.ndarray:
    """The frame at time ``t`` between ``before`` (t = 0) and ``after`` (t = 1), made along the flow.

    Parameters
    ----------
    before, after : (H, W) or (H, W, 3) uint8 ndarray
        Two consecutive frames, gray or BGR (a gray picture in BGR stays gray).
    t : float
        Time of the new frame, 0..1, as a share of the interval between the two.
    motion : PairMotion, optional
        ``pair_motion(before, after)``, computed here if not given: pass it to make several frames
        from one pair.

    Returns
    -------
    (H, W) or (H, W, 3) uint8 ndarray
        At a scene cut, the nearer frame itself (``before`` at ``t = 0.5``).

    Example: ``middle = between(frame_0, frame_1, 0.5)``.
    """
    if not 0 <= t <= 1:
        raise ValueError(f"t must be between 0 (the frame before) and 1 (the frame after), got {t}.")
    motion = motion or pair_motion(before, after)
    if motion.cut:
        return before if t < 0.5 or math.isclose(t, 0.5) else after
    identity = pixel_positions(motion.to_before.shape[:2])
    # the two estimates of each move (module docstring, step 2), the nearer frame's flow weighing more
    to_before = cv2.addWeighted(motion.to_after, -(1 - t) * t, motion.to_before, t * t, 0.0)
    to_after = cv2.addWeighted(motion.to_after, (1 - t) * (1 - t), motion.to_before, -t * (1 - t), 0.0)
    # the pixel at time t is seen in ``before`` if its place in ``after`` is, and the other way round
    weight_before = warp(motion.seen_before, cv2.add(to_after, identity))
    weight_after = warp(motion.seen_after, cv2.add(to_before, identity))
    weight_before += DOUBT
    weight_before *= 1 - t
    weight_after += DOUBT
    weight_after *= t
    size = (before.shape[1], before.shape[0])
    return cv2.blendLinear(warp(before, full_size_maps(to_before, size)), warp(after, full_size_maps(to_after, size)),
                           _enlarged(weight_before, size), _enlarged(weight_after, size))


def _enlarged(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` at ``size`` (width, height), bilinear; ``img`` itself if it has that size."""
    return img if img.shape[1::-1] == size else cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)


# --------------------------------------------------------------------------- a new frame rate
def output_count(first: float, end: float, fps: float) -> int:
    """How many frames at ``fps`` fill the time from ``first`` (the first frame's time, seconds) to
    ``end`` (when the last frame ends): 16 frames at 16 frames/s (``first=0, end=1``) make 24 at 24.

    A last frame starting within ``SNAP`` of an interval before ``end`` is not made (rounding).
    """
    if fps <= 0 or end < first:
        raise ValueError(f"Need a frame rate above 0 and an end after the start, got fps={fps}, {first}..{end}.")
    return max(1, math.ceil((end - first) * fps - SNAP))


def output_time(first: float, index: int, fps: float) -> float:
    """Time (seconds) of output frame ``index`` at ``fps``: from the first frame's time, never added up
    frame by frame (no drift)."""
    return first + index / fps


def output_times(first: float, end: float, fps: float) -> list[float]:
    """All output times at ``fps`` from ``first`` to ``end`` (see ``output_count``).

    Example: ``output_times(0, 1, 4)`` is ``[0.0, 0.25, 0.5, 0.75]``.
    """
    return [output_time(first, k, fps) for k in range(output_count(first, end, fps))]


def factor_times(before_time: float, after_time: float, factor: int) -> list[float]:
    """Output times from ``before_time`` (included) to ``after_time`` (excluded) when the rate is
    multiplied by ``factor``: evenly between each pair of input frames, so a variable rate stays variable.

    Example: ``factor_times(1.0, 1.5, 2)`` is ``[1.0, 1.25]``.
    """
    return [before_time + j / factor * (after_time - before_time) for j in range(factor)]


def pair_position(time: float, before_time: float, after_time: float) -> float:
    """``t`` of an output ``time`` between input frames at ``before_time`` and ``after_time`` (seconds):
    0..1, snapped to 0 or 1 within ``SNAP`` (then the input frame is used as it is).

    Example: ``pair_position(0.5, 0.4, 0.6)`` is 0.5; ``pair_position(0.401, 0.4, 0.6)`` is 0.0.
    """
    if after_time <= before_time:
        raise ValueError(f"Frame times must increase, got {before_time} then {after_time}.")
    t = min(1.0, max(0.0, (time - before_time) / (after_time - before_time)))
    return 0.0 if t < SNAP else 1.0 if t > 1 - SNAP else t


class Resampler:
    """A stream of frames brought to a new regular rate ``fps``, or its rate multiplied by ``factor``.

    Parameters
    ----------
    fps : float, optional
        Output frames per second, from the first frame's time (24, 25, 30, 50, 60 ...).
    factor : int, optional
        Instead: ``factor - 1`` new frames evenly between each pair (``2`` for ``--interpolate 2x``).
    end : float, optional
        When the video ends (seconds; the last frame's time plus its duration); if not given, the
        last frame lasts as long as the interval before it.

    Notes
    -----
    Holds two frames and their motion; the flow is computed once per pair of input frames, and
    only if a frame is made between them. After the last frame, up to ``end``, it is repeated.

    Example
    -------
    ``for time, frame in Resampler(fps=25).run(zip(times, frames)): ...``
    """

    def __init__(self, fps: float | None = None, factor: int | None = None, end: float | None = None) -> None:
        if (fps is None) == (factor is None) or (factor is not None and factor < 1) or (fps is not None and fps <= 0):
            raise ValueError(f"Give either fps (above 0) or factor (1 or more), got fps={fps}, factor={factor}.")
        self.fps, self.factor, self.end = fps, factor, end
        self._flow = OpticalFlow()
        self.made = 0
        """Frames made by interpolation so far (the others are input frames as they are)."""

    def run(self, frames: Iterable[tuple[float, np.ndarray]]) -> Iterator[tuple[float, np.ndarray]]:
        """``(time, frame)`` in (seconds, increasing; uint8 gray or BGR), ``(time, frame)`` out at the
        new times, in order, each as soon as the input frame after it is in."""
        before = None  # the input frame before: (time, frame, small gray)
        first = interval = None  # the first input frame's time; the last interval between input frames
        done = 0  # output frames given so far (at fps, the next one's index)
        for time, frame in frames:
            here = (time, frame, _small(frame))
            if before is None:
                first = time
            else:
                interval = time - before[0]
                times = self._times(before[0], time, first, done)
                done += len(times)
                yield from self._pair(before, here, times)
            before = here
        if before is None:
            return
        end = self.end if self.end is not None else before[0] + (interval or 0.0)
        if end <= before[0]:  # one frame and no end given: it stays one frame
            yield before[0], before[1]
            return
        if self.factor:
            last = factor_times(before[0], end, self.factor)
        else:
            last = [output_time(first, k, self.fps) for k in range(done, output_count(first, end, self.fps))]
        for time in last:
            yield time, before[1]

    def _times(self, before_time: float, after_time: float, first: float, done: int) -> list[float]:
        """Output times from ``before_time`` (included) to ``after_time`` (excluded); ``done`` made already."""
        if self.factor:
            return factor_times(before_time, after_time, self.factor)
        times = []
        while (time := output_time(first, done + len(times), self.fps)) < after_time:
            times.append(time)
        return times

    def _pair(self, before: tuple, after: tuple, times: Sequence[float]) -> Iterator[tuple[float, np.ndarray]]:
        """The output frames at ``times`` between two input frames, the flow computed at most once."""
        motion = None
        for time in times:
            t = pair_position(time, before[0], after[0])
            if t in (0.0, 1.0):
                yield time, (before if t == 0 else after)[1]
                continue
            if motion is None:
                motion = _pair_motion(before[2], after[2], self._flow)
            self.made += not motion.cut
            yield time, between(before[1], after[1], t, motion)


# --------------------------------------------------------------------------- old footage
DIFFERENCE_SIDE = 160
"""Longest side (pixels) of the thumbnails compared to find duplicates: grain and compression
noise average out, any real motion stays."""
DUPLICATE_LEVEL = 1.0
"""Mean gray-level difference (0..255) of two thumbnails below which they may be one frame shown twice:
a re-encoded repeat differs by a few tenths, a film frame from the next by several levels."""
DUPLICATE_SHARE = 0.2
"""... and only if that is below this share of the clip's typical difference (``TYPICAL_QUANTILE``):
in a still shot every frame differs from the next by noise alone, and none is a duplicate."""
TYPICAL_QUANTILE = 0.8
"""Quantile of the differences taken as the typical difference between two real frames: even when
two thirds of the frames are repeats (8 frames/s shown at 24) it is one between real frames."""
REGULAR_GAP = 2.5
"""The repeats form a regular pattern (a rate conversion) when no gap between two of them (or from
the clip's start to the first, or from the last to its end) is longer than this many times the
mean gap: a still moment in a film is one run in one place, not a pattern."""


class Duplicates(NamedTuple):
    """What ``find_duplicates`` found."""

    duplicate: list[bool]
    """One per frame: True where the frame repeats the one before it."""
    real_fps: float
    """Frames per second of the distinct frames: the rate the film was shot at, if ``regular``."""
    regular: bool
    """The repeats are spread through the clip in a pattern: a rate conversion by repeating frames."""


def frame_differences(frames: Iterable[np.ndarray]) -> list[float]:
    """Mean absolute gray-level difference (0..255) of each frame from the one before, on thumbnails
    ``DIFFERENCE_SIDE`` wide; ``len(frames) - 1`` values. Frames uint8, gray or BGR."""
    differences, previous = [], None
    for frame in frames:
        small = small_gray(to_gray(frame), DIFFERENCE_SIDE)
        if previous is not None:
            differences.append(float(cv2.absdiff(small, previous).mean()))
        previous = small
    return differences


def find_duplicates(differences: Sequence[float], fps: float) -> Duplicates:
    """The frames that repeat the one before, from ``frame_differences``, and the real rate.

    Example: 16 frames/s padded to 25 by repeating frames gives ``real_fps`` 16 and ``regular`` True.

    Notes
    -----
    Only what the pictures show: a frame repeated by the transfer looks the same as the one
    before (within ``DUPLICATE_LEVEL``, and much less than the clip's typical change). Film shot
    at 16-18 frames/s and stored at 24 with each frame once has no repeats: it plays too fast,
    and only the user can say so (``slowed_times``).
    """
    values = np.asarray(differences, np.float64)
    typical = float(np.quantile(values, TYPICAL_QUANTILE)) if values.size else 0.0
    repeats = (values < DUPLICATE_LEVEL) & (values < DUPLICATE_SHARE * typical)
    duplicate = [False] + repeats.tolist()
    where = np.flatnonzero(duplicate)
    gaps = np.diff([0, *where, len(duplicate)])  # from the clip's start, and to its end: the pattern spans it
    regular = bool(where.size > 1 and gaps.max() <= REGULAR_GAP * gaps.mean())
    return Duplicates(duplicate, fps * (len(duplicate) - where.size) / len(duplicate), regular)


def real_times(duplicate: Sequence[bool], first: float, real_fps: float) -> list[float]:
    """Times (seconds) for the distinct frames (``duplicate`` False) shown once each at ``real_fps``,
    from ``first``: evenly spaced, as the camera took them (the repeats had shifted them by up to
    one stored frame). Feed them with those frames to ``Resampler``.

    Example: ``real_times([False, True, False], 0.0, 12.5)`` is ``[0.0, 0.08]``.
    """
    count = sum(not d for d in duplicate)
    return [first + j / real_fps for j in range(count)]


def slowed_times(times: Sequence[float], speed: float) -> list[float]:
    """``times`` (seconds) played at ``speed`` (0.75: film shot at 18 frames/s stored at 24), from the first.

    Notes
    -----
    Silent film was shot at 16-18 frames/s (hand-cranked, so it varied) and is often stored at 24
    with each frame once: it plays a third too fast. The frames cannot tell, since a fast walk and
    a film played fast look alike: the user says it (``--speed``). The sound, if any was added
    later, no longer matches: it must be stretched or dropped.

    Example: ``slowed_times([0, 1 / 24, 2 / 24], 18 / 24)`` is ``[0, 1 / 18, 2 / 18]``.
    """
    if speed <= 0:
        raise ValueError(f"speed must be above 0 (1 = as stored, 0.75 = 18 frames/s stored at 24), got {speed}.")
    return [times[0] + (time - times[0]) / speed for time in times] if times else []
