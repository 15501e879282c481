"""Film grain, reduced before colouring: each pixel averaged with where it is in the frames around it.

Grain is new in every frame, the picture is not: follow each pixel along the optical flow into the
``RADIUS`` frame before and after (``helpers.media.motion``'s DIS flow), move those frames onto this one
and average them, and the grain shrinks like noise does (three frames: to ``1 / sqrt(3)``), while
the picture stays sharp. Where the flow is wrong (a hand that moved too fast, something hidden
behind a door that opened) a moved neighbour disagrees with the frame beyond what grain explains:
it gets less weight, down to none, so nothing leaves a ghost. A light edge-preserving spatial pass
(a blur whose change is limited to the grain the average left) takes the rest. The grain's level is
measured on each frame, from its differences with its moved neighbours (``grain_variance``), so a
clean frame is changed by no more than its own tiny noise, and ``strength`` is in units of that level.

``Degraining`` does it on a stream of frames (``RADIUS`` frames of context each side; a frame next
to a scene cut uses only its own side). It is built to keep up with FFmpeg's ``hqdn3d`` on 2 cores
(``bench.restoration``): a background thread computes the flow (``helpers.media.motion.PairFlows``, or
dust's in a chain), moves the neighbours (``move``: whole pixels, along 16-bit maps) and takes the
frame from them (``difference``), while the caller's thread weighs them (``agreement``, one weight per
4 x 4 block) and averages (a third thread, for the flow alone, made it slower: Python's lock).
To be taught in notebook 05_restoration.

Measured on the sample clip with grain of 4, 8 and 16 gray levels (``bench.restoration``, 2 cores):
41.3 / 36.6 / 31.9 dB, 4.3 to 6.9 dB above the grainy clip and 2.6 to 6.8 above ``hqdn3d``, at 0.98
to 1.13 times its speed (a quiet 2-core Xeon; the same under load, where this filter's two threads get
about one core: it uses 1.2 times ``hqdn3d``'s processor time).
The filter this one replaced (two frames each side, bilinear moves, a weight for every pixel's 5 x 5
patch, a bilateral filter) scored 0.4 to 1.1 dB more, at 0.22 to 0.25 times ``hqdn3d``'s speed
alike. ``cv2.fastNlMeansDenoisingMulti`` (non-local means over 5 frames, a 21 x 21 search) scores
about 2 dB more (1.7 to 2.6), at about 0.45 s a 480 x 320 frame (250 times this filter's time); it
also needs the grain's level given, and it averages across scene cuts.

References: E. Dubois and S. Sabri, "Noise reduction in image sequences using motion-compensated
temporal filtering", IEEE Trans. Communications 32(7), 1984; A. Kokaram, "Motion Picture
Restoration", Springer, 1998 (motion-compensated 3D filters for film). The weights are those of
the non-local means (Buades, Coll and Morel, CVPR 2005) with a single candidate per frame: the one
the flow points to. The limited blur is the "limiter" of video denoisers (a change clipped to the
noise level), in the spirit of J.-S. Lee's sigma filter (CVGIP 24, 1983).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from ..common.background import ahead
from ..common.reused import reused
from ..media.motion import FlowFrame, PairFlows, flow_frames, pixel_positions, warp

STRENGTH = 1.0
"""Default strength: remove the grain at the level measured on the frame (2 treats it as twice as
grainy: smoother, more risk of smearing fine detail; 0.5 is gentler; 0 changes nothing)."""
RADIUS = 1
"""Frames each side averaged (three in all): 2 (five) removes 0.5 / 1.0 / 1.3 dB more grain (at 4 / 8 / 16) for
1.6 times the time, which would put this step behind ``hqdn3d``'s speed."""
FLOW_SIDE = 120
"""Longest side (pixels) of the flow this step computes when it has none handed on (``PairFlows``; in a chain
it follows ``helpers.restoration.dust``'s, at ``motion.PAIR_FLOW_SIDE``): at 240, 0.06 dB more for 1.5 times the time;
the weights catch where a coarse flow misses."""
BLOCK_HALVINGS = 2
"""A moved neighbour's disagreement is the mean squared difference over blocks of ``2 ** 2 = 4`` pixels
each way (halved twice by area), about the 5 x 5 patch it was measured on for every pixel before (as good,
at a sixth of the work): blocks of 2 judge by too few grain clumps (0.4-0.9 dB less); blocks of 8 gain
0.1-0.2 dB but leave twice the ghost behind a moving edge (``tests/test_grain.py``)."""
TOLERANCE = 2.0
"""Disagreement beyond the grain's, in units of the grain's variance, that lowers a neighbour's
weight to 1/e: 1 left 0.6-0.8 dB of grain more; 4 gained at most 0.16 dB more and let a little more of
a moving edge into the place it left (``tests/test_grain.py``)."""
LEVELS = 16
"""Entries of the weight table (``weight_table``) per grain variance: steps of 1/16 of it, the last of
the 256 (16 times the grain's variance, a weight of exp(-7.5)) standing for all beyond, as 0."""
LIMIT = 0.8
"""How far the spatial pass may change a pixel, in units of the grain the average left (rounded to whole gray
levels): 0.6 and 1.0 did 0.1-0.4 dB worse (1.0 lets more of an edge move at grain 4, 0.6 smooths too little at 16)."""
BLUR_SIDE = 5
"""Side (pixels) of the spatial pass's box blur, about two grain clumps: 0.2-0.8 dB more than 3 (grain 4 to 16);
as good as a 5 x 5 Gaussian (spread 1.5) at a third of its time."""
HISTORY = 1000
"""Frames whose measured grain ``Degraining.grain`` keeps (the memory stays bounded on long films)."""
SAMPLE_STEP = 8
"""Every eighth pixel, each way, measures the grain (2 400 samples a neighbour at 480 x 320): ample for a median,
64x cheaper; every fourth measured the same (within 0.01 dB) for 6 % more time in all."""
MOVED_AHEAD = 2
"""Frames the background thread may move ahead of the frames being averaged."""
MAD_TO_STD = 1.4826
"""Turns a median absolute deviation into a standard deviation, for normal noise."""
_SQUARE_3 = np.ones((3, 3), np.uint8)


@dataclass
class Moved:
    """A frame of the stream (``FlowFrame``) with its neighbours moved onto it."""

    seen: FlowFrame
    neighbours: list[tuple[np.ndarray, int]] = field(default_factory=list)
    """``(difference, distance)``: a neighbour's gray moved onto this frame, minus this frame's (``difference``:
    ``(H, W)`` float32, in the thread that moves them, so that the two threads share the work), and how many
    frames away it is."""
    ahead: np.ndarray | None = None
    """``(h, w, 2)`` float32 at the flow's size: how far this frame's pixels move to reach the latest frame
    (while its neighbours after it are being moved)."""


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
        self._flows = flows or PairFlows(side=FLOW_SIDE)
        """The flow between consecutive frames: shared with the steps before this one in a chain
        (``helpers.restoration``), by default its own."""
        self.grain: deque[float] = deque(maxlen=HISTORY)
        """The grain measured on each frame with a neighbour (standard deviation, gray levels), the last ``HISTORY``."""

    def run(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` in, ``(index, frame with less grain)`` out, in order, ``radius`` frames
        behind; frames uint8, gray or BGR (a gray frame in BGR stays gray)."""
        if self.strength == 0 or self.radius == 0:
            yield from frames
            return
        waiting: deque[Moved] = deque()
        for item in ahead(moved_neighbours(flow_frames(frames, self._flows), self.radius), MOVED_AHEAD):
            waiting.append(item)
            if len(waiting) > self.radius:  # its neighbours after it are in
                yield self._clean(waiting.popleft())
        while waiting:
            yield self._clean(waiting.popleft())

    def _clean(self, item: Moved) -> tuple[int, np.ndarray]:
        """``(index, the frame averaged with its moved neighbours, weighted by their agreement)``."""
        here = item.seen
        if not item.neighbours:
            return here.index, here.frame
        differences = [d for d, _ in item.neighbours]
        variance = grain_variance([d for d, distance in item.neighbours if distance == 1])
        self.grain.append(float(np.sqrt(variance / 2)))
        weights = [agreement(d, variance * self.strength ** 2) for d in differences]
        out, frames = average(here.gray, differences, weights)
        # the grain left: each frame's is half the variance of a difference; the mean of n of them has 1/n of it
        out = limited_blur(out, LIMIT * self.strength * float(np.sqrt(variance / 2 / frames)))
        return here.index, _with_gray(here.frame, here.gray, out)


def moved_neighbours(frames: Iterable[FlowFrame], radius: int) -> Iterator[Moved]:
    """Each frame of ``frames`` (in order) as a ``Moved``, whose neighbours at most ``radius`` frames before it
    are moved onto it when it comes, and those after it as they come (never across a cut): complete once the
    ``radius`` frames after it have come. The flow is followed one step further for each frame of distance.

    Example: ``for item in moved_neighbours(flow_frames(enumerate(frames), PairFlows()), 1): ...``"""
    recent: list[Moved] = []  # the last ``radius`` frames of this shot
    for seen in frames:
        here = Moved(seen)
        if seen.back is None:  # a cut, or the first frame
            recent = []
        identity = pixel_positions(seen.small.shape)
        shift, step = None, seen
        for distance, earlier in enumerate(reversed(recent), 1):
            shift = step.back if shift is None else shift + warp(step.back, identity + shift)
            moved = move(earlier.seen.gray, shift)
            here.neighbours.append((difference(moved, seen.gray, earlier.seen.small, seen.small), distance))
            step = earlier.seen
        last = recent[-1].seen.forward if recent else None  # the frame before this one into this one
        for distance, earlier in enumerate(reversed(recent), 1):
            earlier.ahead = last if distance == 1 else earlier.ahead + warp(last, identity + earlier.ahead)
            moved = move(seen.gray, earlier.ahead)
            earlier.neighbours.append((difference(moved, earlier.seen.gray, seen.small, earlier.seen.small), distance))
        recent = (recent + [here])[-radius:]
        yield here


def move(gray: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``gray`` ``(H, W)`` uint8 moved along ``shift``, ``(h, w, 2)`` float32 displacements at the flow's
    size: ``out[y, x] = gray[y + dy, x + dx]``, the displacement of the flow's pixel over ``(x, y)``, in
    whole pixels (uint8, ``(H, W)``; positions outside take the nearest edge pixel).

    Whole pixels and a shift constant over each flow pixel: 2.5x faster than bilinear over smoothly
    interpolated positions, and 0.2 dB less grain removed (the bilinear blend smooths the neighbour's grain).

    Example: ``move(next_gray, frame.forward)`` is the next frame moved onto this one."""
    h, w = gray.shape
    scale = (w / shift.shape[1], h / shift.shape[0], 0, 0)
    steps, maps = reused("grain.steps", (h, w, 2), np.int16), reused("grain.maps", (h, w, 2), np.int16)
    steps = cv2.resize(cv2.multiply(shift, scale, dtype=cv2.CV_16S), (w, h), dst=steps,
                       interpolation=cv2.INTER_NEAREST)
    return cv2.remap(gray, cv2.add(_pixels((h, w)), steps, dst=maps), None, cv2.INTER_NEAREST,
                     borderMode=cv2.BORDER_REPLICATE)


def difference(moved: np.ndarray, gray: np.ndarray, moved_small: np.ndarray, small: np.ndarray) -> np.ndarray:
    """``moved - gray`` (``(H, W)`` float32) of two uint8 frames, ``moved`` first given the mean and spread of
    ``gray``, both measured on the frames as the flow saw them (``moved_small``, ``small``): a fade or flicker
    between the frames taken out (one gain and one offset, as in ``restoration.deflicker``), so that what is left
    is grain and motion.

    Example: ``difference(move(prev.gray, here.back), here.gray, prev.small, here.small)``."""
    (mean_a,), (spread_a,) = cv2.meanStdDev(moved_small)
    (mean_b,), (spread_b,) = cv2.meanStdDev(small)
    gain = float(spread_b[0] / max(spread_a[0], 1e-6))
    return cv2.addWeighted(moved, gain, gray, -1, float(mean_b[0] - gain * mean_a[0]), dtype=cv2.CV_32F)


def grain_variance(differences: list[np.ndarray]) -> float:
    """The variance of a frame minus its moved neighbours where they are aligned and differ by grain only,
    0 if there are none: from the median absolute deviation (robust to the pixels the flow got wrong,
    and to a fade or flicker that moves all the differences at once), ``MAD_TO_STD`` turning it into a
    standard deviation. The medians by ``np.partition`` (the upper middle value): 5x faster than ``np.median``.

    Example: ``grain = np.sqrt(grain_variance([before, after]) / 2)`` (each frame's grain: half the variance)."""
    if not differences:
        return 0.0
    samples = np.concatenate([d[::SAMPLE_STEP, ::SAMPLE_STEP].ravel() for d in differences])
    middle = len(samples) // 2
    centre = np.partition(samples, middle)[middle]
    spread = MAD_TO_STD * float(np.partition(np.abs(samples - centre), middle)[middle])
    return spread * spread


def agreement(difference: np.ndarray, variance: float) -> np.ndarray:
    """``(H / 4, W / 4)`` float32 weights in [0, 1] of a moved neighbour, one per 4 x 4 block (``BLOCK_HALVINGS``):
    1 where its mean squared ``difference`` (``(H, W)`` float32) over the block is within ``variance`` (grain),
    falling where it is larger (the flow is wrong there): ``exp(-(patch / variance - 1) / TOLERANCE)``, read
    from ``weight_table``.

    A block's mean, as a patch's, judges by more than one grain clump (2-3 pixels); on blocks, 6x less work.
    Each block's weight is then no more than its 8 neighbours' (``cv2.erode``).

    Example: ``agreement(d, grain_variance([d]))`` is about 1 wherever ``d`` is grain only."""
    patch = cv2.multiply(difference, difference, dst=reused("grain.patch", difference.shape, np.float32))
    for _ in range(BLOCK_HALVINGS):  # by two at a time: OpenCV's fast path (4x faster than by 4 at once)
        h, w = patch.shape
        patch = cv2.resize(patch, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    index = cv2.convertScaleAbs(patch, alpha=LEVELS / max(variance, 1e-6))  # rounded, 255 beyond
    # each block's weight no more than its neighbours': the weights are blended up to full size, and a block
    # where the flow is wrong must not let the next one's weight spill into it (a ghost at a moving edge)
    return cv2.erode(cv2.LUT(index, weight_table()), _SQUARE_3)


@lru_cache(maxsize=1)
def weight_table() -> np.ndarray:
    """``(256,)`` float32: ``agreement``'s weight for a disagreement of ``i / LEVELS`` times the grain's variance;
    0 for the last entry, which stands for all beyond (shared: not to be changed)."""
    ratio = np.arange(256, dtype=np.float32) / LEVELS
    table = np.exp(np.minimum(0, (1 - ratio) / TOLERANCE)).astype(np.float32)
    table[-1] = 0
    return table


def average(gray: np.ndarray, differences: list[np.ndarray], weights: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """``gray`` ``(H, W)`` uint8 averaged with its moved neighbours, weighted: the frame plus a weighted mean of
    the ``differences`` (the moved neighbours themselves are never needed), its own weight 1; the ``weights``
    (``agreement``'s, on blocks) are made shares there and blended up to full size. Also, the mean number
    of frames averaged (1 to 1 + the neighbours).

    Example: ``out, frames = average(gray, ds, [agreement(d, variance) for d in ds])``."""
    h, w = gray.shape
    total = sum(weights[1:], weights[0] + 1)
    change = None
    share = reused("grain.share", (h, w), np.float32)
    for d, weight in zip(differences, weights):
        share = cv2.resize(cv2.divide(weight, total), (w, h), dst=share, interpolation=cv2.INTER_LINEAR)
        if change is None:
            change = cv2.multiply(share, d, dst=reused("grain.change", (h, w), np.float32))
        else:
            cv2.accumulateProduct(share, d, change)
    return cv2.add(gray, change, dtype=cv2.CV_8U), cv2.mean(total)[0]


def limited_blur(gray: np.ndarray, limit: float) -> np.ndarray:
    """``gray`` ``(H, W)`` uint8 blurred (a ``BLUR_SIDE`` box), each pixel changed by at most ``limit`` gray
    levels (uint8 ``(H, W)``): grain (smaller than the limit) is smoothed, an edge (larger) moves by the limit only.

    The bilateral filter it replaced (5 pixels, a range of twice the grain left) did 0.2 / 0.4 / 0.9 dB worse
    after this average (grain 4 / 8 / 16), at 4.7 times its time (0.33 ms against 0.07 a 480 x 320 frame).

    Example: ``limited_blur(frame, 3)`` smooths what differs by less than 3 gray levels."""
    smooth = cv2.blur(gray, (BLUR_SIDE, BLUR_SIDE))
    # whole gray levels, cut by a threshold: ``cv2.min`` with a number turns a 1 x 1 frame into 4 x 1
    limit = float(round(limit))
    up = cv2.threshold(cv2.subtract(smooth, gray), limit, 0, cv2.THRESH_TRUNC)[1]  # uint8: 0 where the blur is darker
    down = cv2.threshold(cv2.subtract(gray, smooth), limit, 0, cv2.THRESH_TRUNC)[1]
    return cv2.subtract(cv2.add(gray, up), down)


@lru_cache(maxsize=4)
def _pixels(shape: tuple[int, int]) -> np.ndarray:
    """``(H, W, 2)`` int16: each pixel's own (x, y), ``cv2.remap``'s whole-pixel maps (shared: not to be changed)."""
    h, w = shape
    return np.dstack(np.meshgrid(np.arange(w, dtype=np.int16), np.arange(h, dtype=np.int16)))


def _with_gray(frame: np.ndarray, gray: np.ndarray, new_gray: np.ndarray) -> np.ndarray:
    """``frame`` with its gray changed from ``gray`` to ``new_gray`` (both uint8): the change added to B, G and R,
    so a gray frame in BGR stays gray (only the lightness reaches the colouriser anyway)."""
    if frame.ndim == 2:
        return new_gray
    change = cv2.subtract(new_gray, gray, dtype=cv2.CV_16S)
    return cv2.add(frame, cv2.merge([change] * 3), dtype=cv2.CV_8U)
