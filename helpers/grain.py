"""Film grain, reduced before colouring: each pixel averaged with where it is in the frames around it.

Grain is new in every frame, the picture is not: follow each pixel along the optical flow into the
``RADIUS`` frames before and after (``helpers.motion``'s DIS flow and ``warp``), move those frames
onto this one and average them, and the grain shrinks like noise does (five frames: to
``1 / sqrt(5)``), while the picture stays sharp. Where the flow is wrong (a hand that moved too
fast, something hidden behind a door that opened) a moved neighbour disagrees with the frame beyond
what grain explains: it gets less weight, down to none, so nothing leaves a ghost. A light
edge-preserving spatial pass (a bilateral filter scaled to the grain the average left) takes the
rest. The grain's level is measured on each frame, from its differences with its moved neighbours
(``grain_variance``), so a clean frame is changed by no more than its own tiny noise, and
``strength`` is in units of that level.

``Degraining`` does it on a stream of frames (``RADIUS`` frames of context each side; a frame next
to a scene cut uses only its own side; the flow of the next frames computed meanwhile in a background
thread, or handed on by dust in a chain: ``helpers.motion.PairFlows``). To be taught in notebook 05_restoration.

Why not ``cv2.fastNlMeansDenoisingMulti`` (non-local means over 5 frames, a 21 x 21 search): on the
sample clip with grain of 4, 8 and 16 gray levels (``bench.restoration``) it scored 0.9 to 1.5 dB
more than this filter, at 45-55 times its time (about 0.45 s against 9 ms a 480 x 320 frame on 2
cores): more than a minute for 7 seconds of film. It also needs the grain's level given, and it averages across
scene cuts. Following the flow gets most of its gain at the speed of a video filter.

References: E. Dubois and S. Sabri, "Noise reduction in image sequences using motion-compensated
temporal filtering", IEEE Trans. Communications 32(7), 1984; A. Kokaram, "Motion Picture
Restoration", Springer, 1998 (motion-compensated 3D filters for film). The weights are those of
the non-local means (Buades, Coll and Morel, CVPR 2005) with a single candidate per frame: the one
the flow points to.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from .background import ahead
from .motion import FlowFrame, PairFlows, flow_frames, warp

STRENGTH = 1.0
"""Default strength: remove the grain at the level measured on the frame (2 treats it as twice as
grainy: smoother, more risk of smearing fine detail; 0.5 is gentler; 0 changes nothing)."""
RADIUS = 2
"""Frames each side averaged (five in all): 1 dB more than three frames on the sample clip, for 15 %
more time (the flow is computed once per pair of frames; the second step is followed along it)."""
PATCH = 5
"""Side (pixels) of the square over which a moved neighbour's disagreement is measured: one grain
clump is 2-3 pixels, a patch of 3 judged by too few of them (1 dB less)."""
TOLERANCE = 2.0
"""Disagreement beyond the grain's, in units of the grain's variance, that lowers a neighbour's
weight to 1/e: 1 left 0.3-0.5 dB of grain more; 4 gained at most 0.2 dB more and let a little more of
a moving edge into the place it left (``tests/test_grain.py``)."""
SPATIAL = 2.0
"""The bilateral filter's range, in units of the grain left after the average: it smooths what
differs by less, keeps edges that differ by more (+0.4 dB at grain 4, +1.4 dB at 16)."""
SPATIAL_DIAMETER, SPATIAL_SIGMA = 5, 1.0
"""The bilateral filter's neighbourhood (pixels) and the spread of its spatial weights: one grain clump."""
HISTORY = 1000
"""Frames whose measured grain ``Degraining.grain`` keeps (the memory stays bounded on long films)."""
SAMPLE_STEP = 4
"""Every fourth pixel, each way, measures the grain and the fade: ample for a median, 16x cheaper."""
FLOWS_AHEAD = 2
"""Frames whose flow the background thread may compute ahead of the frames being averaged."""


class Degraining:
    """Reduce film grain in a stream of frames (see the module's docstring).

    Example
    -------
    ``for index, frame in Degraining(strength=1.5).run(enumerate(frames)): ...``
    """

    def __init__(self, strength: float = STRENGTH, radius: int = RADIUS, flows: PairFlows | None = None) -> None:
        if strength < 0 or radius < 0:
            raise ValueError(f"strength and radius must be 0 or more, got {strength} and {radius}.")
        self.strength, self.radius = strength, radius
        self._flows = flows or PairFlows()
        """The flow between consecutive frames: shared with the steps before this one in a chain
        (``helpers.restoration``), by default its own."""
        self._identity: np.ndarray | None = None
        self.grain: deque[float] = deque(maxlen=HISTORY)
        """The grain measured on each frame with a neighbour (standard deviation, gray levels), the last ``HISTORY``."""

    def run(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` in, ``(index, frame with less grain)`` out, in order, ``radius`` frames
        behind; frames uint8, gray or BGR (a gray frame in BGR stays gray)."""
        if self.strength == 0 or self.radius == 0:
            yield from frames
            return
        window: list[FlowFrame] = []
        for seen in ahead(flow_frames(frames, self._flows), FLOWS_AHEAD):
            window.append(seen)
            if len(window) > self.radius:
                centre = len(window) - 1 - self.radius
                yield window[centre].index, self._clean(window, centre)
                del window[:max(0, centre + 1 - self.radius)]  # keep ``radius`` frames before the next centre
        for centre in range(max(0, len(window) - self.radius), len(window)):
            yield window[centre].index, self._clean(window, centre)

    def _clean(self, window: list[FlowFrame], centre: int) -> np.ndarray:
        """The frame ``window[centre]`` averaged with its moved neighbours, weighted by their agreement."""
        here = window[centre]
        neighbours = self._neighbours(window, centre)
        if not neighbours:
            return here.frame
        gray = here.gray.astype(np.float32)
        differences = [difference(moved, gray) for moved, _ in neighbours]
        variance = grain_variance([d for d, (_, distance) in zip(differences, neighbours) if distance == 1])
        self.grain.append(float(np.sqrt(variance / 2)))
        # the mean of the frame and its weighted neighbours, written as the frame plus a weighted mean of
        # the differences: the moved neighbours themselves are never needed
        change, weights = np.zeros_like(gray), np.ones_like(gray)
        for d in differences:
            weight = agreement(d, variance * self.strength ** 2)
            cv2.accumulateProduct(d, weight, change)
            cv2.accumulate(weight, weights)
        out = cv2.add(gray, cv2.divide(change, weights), dtype=cv2.CV_8U)
        # the grain left: each frame's is half the variance of a difference; the mean of n of them has 1/n of it
        left = self.strength * float(np.sqrt(variance / 2 / weights.mean()))
        out = cv2.bilateralFilter(out, SPATIAL_DIAMETER, SPATIAL * left, SPATIAL_SIGMA)
        return _with_gray(here.frame, here.gray, out)

    def _neighbours(self, window: list[FlowFrame], centre: int) -> list[tuple[np.ndarray, int]]:
        """The gray frames around ``window[centre]``, at most ``radius`` each side and never across a cut,
        moved onto it (uint8, full size), each with its distance in frames."""
        here = window[centre]
        h, w = here.small.shape
        if self._identity is None or self._identity.shape[:2] != (h, w):
            self._identity = np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
        out = []
        for step, name in ((-1, "back"), (1, "forward")):
            position, j = self._identity, centre
            for distance in range(1, self.radius + 1):
                flow = getattr(window[j], name)
                if flow is None:  # a cut, or the stream's end
                    break
                position = position + (flow if distance == 1 else warp(flow, position))  # one step further along
                j += step
                out.append((warp(window[j].gray, full_size(position, here.gray.shape)), distance))
        return out


def full_size(maps: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``maps`` ``(h, w, 2)`` float32 positions at the flow's size, as positions on a frame of ``shape`` ``(H, W)``."""
    h, w = shape
    sx, sy = w / maps.shape[1], h / maps.shape[0]
    # pixel centres: position x at the small size is (x + 0.5) * scale - 0.5 at full size
    full = cv2.add(cv2.multiply(maps, (sx, sy, 0, 0)), (sx / 2 - 0.5, sy / 2 - 0.5, 0, 0))
    return cv2.resize(full, (w, h), interpolation=cv2.INTER_LINEAR)


def difference(moved: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """``moved - gray`` (float32), ``moved`` (uint8) first given the mean and spread of ``gray`` (float32): a fade
    or flicker between the frames taken out (one gain and one offset, as in ``helpers.deflicker``), so that
    what is left is grain and motion."""
    (mean_a,), (spread_a,) = cv2.meanStdDev(moved[::SAMPLE_STEP, ::SAMPLE_STEP])
    (mean_b,), (spread_b,) = cv2.meanStdDev(gray[::SAMPLE_STEP, ::SAMPLE_STEP])
    gain = float(spread_b[0] / max(spread_a[0], 1e-6))
    return cv2.addWeighted(moved, gain, gray, -1, float(mean_b[0] - gain * mean_a[0]), dtype=cv2.CV_32F)


def grain_variance(differences: list[np.ndarray]) -> float:
    """The variance of a frame minus its moved neighbours where they are aligned and differ by grain only,
    0 if there are none: from the median absolute deviation (robust to the pixels the flow got wrong,
    and to a fade or flicker that moves all the differences at once), 1.4826 being the factor that turns
    it into a standard deviation for normal noise."""
    if not differences:
        return 0.0
    samples = np.concatenate([d[::SAMPLE_STEP, ::SAMPLE_STEP].ravel() for d in differences])
    spread = 1.4826 * float(np.median(np.abs(samples - np.median(samples))))
    return spread * spread


def agreement(difference: np.ndarray, variance: float) -> np.ndarray:
    """``(H, W)`` float32 weights in (0, 1] of a moved neighbour: 1 where its mean squared difference over a
    ``PATCH`` square is within ``variance`` (grain), falling where it is larger (the flow is wrong there):
    ``exp(-(patch / variance - 1) / TOLERANCE)``."""
    patch = cv2.blur(cv2.multiply(difference, difference), (PATCH, PATCH))  # 1.6x faster than sqrBoxFilter
    scale = 1 / (TOLERANCE * max(variance, 1e-6))
    exponent = np.minimum(cv2.addWeighted(patch, -scale, patch, 0, 1 / TOLERANCE), 0)
    return cv2.exp(exponent)


def _with_gray(frame: np.ndarray, gray: np.ndarray, new_gray: np.ndarray) -> np.ndarray:
    """``frame`` with its gray changed from ``gray`` to ``new_gray`` (both uint8): the change added to B, G and R,
    so a gray frame in BGR stays gray (only the lightness reaches the colouriser anyway)."""
    if frame.ndim == 2:
        return new_gray
    change = cv2.subtract(new_gray, gray, dtype=cv2.CV_16S)
    return cv2.add(frame, cv2.merge([change] * 3), dtype=cv2.CV_8U)
