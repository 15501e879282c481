"""Motion between video frames: dense optical flow on the gray input, and where it can be trusted.

Both video ideas that go beyond one frame at a time need to know where each pixel of one frame
is in the next: ``helpers.video.keyframes`` carries colour along it, ``helpers.video.flicker`` compares
colours along it. This module is that shared ground, computed on the GRAY input frames
(the network's colours play no part), at a reduced working size:

* ``small_gray`` and ``working_size``: a frame as the flow sees it, gray and at most ``WORK_SIDE`` wide;
* ``OpticalFlow``: OpenCV's DIS flow in both directions, each with its forward-backward trust mask;
* ``warp``: move an image (a colour channel, another flow, a mask) along the flow;
* ``is_scene_cut``: where there is no motion to follow, because a new shot starts.
* ``PairFlows``: the flow between consecutive frames computed once for several steps (restoration),
  and ``flow_frames``: a stream of frames, each with its flow to its neighbours.

Introduced in notebook 03_video (section 8, flicker); written out by hand in notebook 04_faster_video
(section 1).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import cv2
import numpy as np

WORK_SIDE = 320
"""Longest side (pixels) at which flow runs and colours are compared: ample for the network's
smooth ab (predicted at 56 x 56), and 4x cheaper than 640."""
CUT_THUMB_SIDE, CUT_CORRELATION = 12, 0.4
FLAT_STD, FLAT_CUT_DIFFERENCE = 4.0, 40.0
"""Thresholds of ``is_scene_cut``, explained in its Notes."""
MIN_FLOW_SIDE = 32
"""Smallest side DIS is given: OpenCV 5.1's DIS refuses frames under 12 pixels, and crashes the
whole process (a segmentation fault) on wide frames under 32 pixels high (measured: 24 x 100,
24 x 400; 32 x 8000 is fine). A smaller frame (an icon-sized clip, a banner shrunk to the working
size) is padded with its edge pixels for the flow, and the flow cropped back to its size."""


class Motion(NamedTuple):
    """Where each pixel of one frame is in another, and whether to believe it."""

    maps: np.ndarray
    """``(h, w, 2)`` float32: the pixel's position (x, y) in the other frame, for ``warp``."""
    trusted: np.ndarray
    """``(h, w)`` bool: the forward-backward check passed and the position is inside the frame."""


def working_size(shape: tuple[int, ...], work_side: int = WORK_SIDE) -> tuple[int, int]:
    """``(width, height)`` of a frame of ``shape`` shrunk to ``work_side`` on its longest side (never enlarged)."""
    h, w = shape[:2]
    scale = min(1.0, work_side / max(h, w))
    return max(1, round(w * scale)), max(1, round(h * scale))


def shrink(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` resized to ``size`` ``(width, height)`` by area averaging; ``img`` itself if it has that size."""
    return img if img.shape[1::-1] == size else cv2.resize(img, size, interpolation=cv2.INTER_AREA)


@lru_cache(maxsize=8)
def pixel_positions(shape: tuple[int, int]) -> np.ndarray:
    """``(h, w, 2)`` float32: each pixel's own (x, y), the maps of no motion (shared: not to be changed).

    Example: ``warp(img, pixel_positions(img.shape[:2]) + flow)`` moves ``img`` along ``flow``."""
    h, w = shape
    positions = np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
    positions.flags.writeable = False
    return positions


def to_gray(frame: np.ndarray) -> np.ndarray:
    """``(H, W)`` contiguous gray of a ``(H, W, 3)`` BGR or ``(H, W)`` gray frame (DIS refuses views such as crops)."""
    frame = np.ascontiguousarray(frame)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame


def small_gray(gray: np.ndarray, work_side: int = WORK_SIDE) -> np.ndarray:
    """A gray ``(H, W)`` uint8 frame as the flow sees it: shrunk to ``working_size``."""
    return shrink(gray, working_size(gray.shape, work_side))


def warp(img: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """``img`` moved along ``maps`` (``Motion.maps``): ``out[y, x] = img[maps[y, x, 1], maps[y, x, 0]]``.

    Bilinear; positions outside ``img`` take its nearest edge pixel (``Motion.trusted`` is False there).
    """
    return cv2.remap(img, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


SAMPLES_A_ROW = 4096
"""Positions ``sample`` hands ``cv2.remap`` in one row (it takes fewer than 32 767 each way)."""


def sample(img: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``img`` at ``positions`` only, as ``warp`` would give it there: ``(N, 2)`` float32 (x, y) in, ``(N, C)``
    out (``img``'s dtype; bilinear, the nearest edge pixel outside). For a few scattered pixels, a
    whole-frame ``warp`` costs the frame's pixels. A grid of positions ``(h, w, 2)`` is ``warp`` itself.

    Example: ``sample(frame, np.float32([[10.5, 3.0]]))`` is the mean of ``frame[3, 10:12]``."""
    if positions.ndim == 3:
        return warp(img, positions)
    n = len(positions)
    if n == 0:
        return np.empty((0, img.shape[2] if img.ndim == 3 else 1), img.dtype)
    width = min(n, SAMPLES_A_ROW)
    rows = -(-n // width)
    maps = np.zeros((rows * width, 2), np.float32)
    maps[:n] = positions
    out = cv2.remap(img, maps.reshape(rows, width, 2), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(rows * width, -1)[:n]


def full_size_maps(displacement: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``warp`` maps ``(H, W, 2)`` float32 for a frame of ``size`` ``(W, H)``, from a ``(h, w, 2)`` float32
    displacement at the flow's (smaller) size: the displacement scaled to full-size pixels and enlarged
    (bilinear), plus each pixel's own position.

    Example: ``warp(before, full_size_maps(here_back, (640, 480)))`` is the frame before moved onto this one."""
    h, w = displacement.shape[:2]
    identity = pixel_positions((size[1], size[0]))
    if (w, h) == size:
        return cv2.add(displacement, identity)
    scaled = cv2.multiply(displacement, (size[0] / w, size[1] / h, 0, 0))  # one small pixel is size / (w, h) full ones
    full = cv2.resize(scaled, size, interpolation=cv2.INTER_LINEAR)
    return cv2.add(full, identity, dst=full)  # in place: a new full-size array costs more than the addition


def consistent(flow: np.ndarray, flow_back_there: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """Forward-backward check: ``(h, w)`` bool, True where going along ``flow`` and back comes home.

    Parameters
    ----------
    flow : (h, w, 2) float32 ndarray
        Displacement of each pixel into the other frame.
    flow_back_there : (h, w, 2) float32 ndarray
        The other frame's flow back, warped to where ``flow`` points (``warp(back, maps)``).
    maps : (h, w, 2) float32 ndarray
        Pixel positions plus ``flow``: where ``flow`` points.

    Notes
    -----
    Sundaram, Brox and Keutzer (ECCV 2010): the round trip must end within
    ``0.01 (|f|² + |b|²) + 0.5`` squared pixels of its start (a tolerance that grows with the
    motion, plus about 0.7 pixel), and the pixel must land inside the frame. Where it does not,
    the pixel was hidden in the other frame (occluded) or the flow is wrong.
    """
    h, w = maps.shape[:2]
    # squares on both channels at once, then x + y: no copies of the channels apart (cv2.split),
    # and 10x faster than NumPy sums over the last axis; the same sums in the same order
    error = flow + flow_back_there
    error *= error
    f2, b2 = flow * flow, flow_back_there * flow_back_there
    limit = (f2[..., 0] + f2[..., 1]) + (b2[..., 0] + b2[..., 1])
    limit *= 0.01
    limit += 0.5
    inside = cv2.inRange(maps, (0, 0), (w - 1, h - 1))  # 0 <= x <= w - 1 and 0 <= y <= h - 1
    return (error[..., 0] + error[..., 1] <= limit) & (inside > 0)


class OpticalFlow:
    """Dense optical flow between two gray frames of one size, with trust masks.

    Notes
    -----
    OpenCV's DIS flow (Kroeger et al., ECCV 2016), preset "fast": about 1-2 ms per 320 x 240
    pair. On the sample clip "ultrafast" leaves 3x more pixels untrusted and "medium" is 5x
    slower for little gain.
    """

    def __init__(self, refined: bool = True) -> None:
        """``refined=False``: DIS without its variational refinement, a coarser flow for a quarter of the time
        (``helpers.media.camera_motion`` fits one motion to it)."""
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        if not refined:
            self._dis.setVariationalRefinementIterations(0)

    def identity(self, shape: tuple[int, int]) -> np.ndarray:
        """``(h, w, 2)`` float32 maps of no motion: each pixel's own (x, y) (``pixel_positions``)."""
        return pixel_positions(tuple(shape))

    def _flows(self, prev: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        back = self.calc(gray, prev)  # gray(x) ~ prev(x + back(x))
        forward = self.calc(prev, gray)  # prev(y) ~ gray(y + forward(y))
        return back, forward, self.identity(gray.shape)

    def calc(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """DIS flow of ``first`` into ``second``, for frames of any size (``MIN_FLOW_SIDE``)."""
        h, w = first.shape
        if h >= MIN_FLOW_SIDE and w >= MIN_FLOW_SIDE:
            return self._dis.calc(first, second, None)
        grow = (0, max(0, MIN_FLOW_SIDE - h), 0, max(0, MIN_FLOW_SIDE - w))  # top, bottom, left, right
        padded = [cv2.copyMakeBorder(frame, *grow, cv2.BORDER_REPLICATE) for frame in (first, second)]
        return np.ascontiguousarray(self._dis.calc(*padded, None)[:h, :w])

    def back(self, prev: np.ndarray, gray: np.ndarray) -> Motion:
        """Where each pixel of ``gray`` was in ``prev``; both ``(h, w)`` uint8, one size."""
        back, forward, identity = self._flows(prev, gray)
        maps = identity + back
        return Motion(maps, consistent(back, warp(forward, maps), maps))

    def both_ways(self, prev: np.ndarray, gray: np.ndarray) -> tuple[Motion, Motion]:
        """``back`` (``gray`` into ``prev``), and the motion of ``prev`` forward into ``gray``."""
        back, forward, identity = self._flows(prev, gray)
        back_maps, forward_maps = identity + back, identity + forward
        return (Motion(back_maps, consistent(back, warp(forward, back_maps), back_maps)),
                Motion(forward_maps, consistent(forward, warp(back, forward_maps), forward_maps)))


def _thumbnail(gray: np.ndarray) -> np.ndarray:
    return small_gray(gray, CUT_THUMB_SIDE).astype(np.float32)


def is_scene_cut(prev_gray: np.ndarray, gray: np.ndarray) -> bool:
    """Whether two consecutive gray frames, ``(H, W)`` uint8 0..255, belong to different shots.

    Frames already shrunk to their thumbnails (``small_gray(gray, CUT_THUMB_SIDE)``) give the same
    answer, faster: a caller that keeps each frame's thumbnail shrinks every frame only once.

    Notes
    -----
    Both frames are shrunk to thumbnails ``CUT_THUMB_SIDE = 12`` pixels on their longest side and
    compared with the zero-mean normalised correlation (1 = same picture, about 0 = unrelated):
    a cut when it is below ``CUT_CORRELATION = 0.4``.

    - Correlation ignores brightness and contrast, so the exposure flicker of old film and fades
      are not cuts (a gray histogram would call them cuts: +12 gray levels drops the 64-bin
      histogram correlation of the astronaut photo from 1 to about 0).
    - One thumbnail pixel covers 1/12 of the frame, so motion is forgiven: on the sample photos a
      pan of 6% of the width per frame still correlates above 0.5, while any two different photos
      correlate below 0.35. A whip pan faster than that may be reported as a cut; two shots with
      the same layout (sky above, field below) may be missed.
    - A flat thumbnail (spread below ``FLAT_STD = 4`` gray levels: a black frame) has no picture
      to correlate; then a mean difference above ``FLAT_CUT_DIFFERENCE = 40`` levels is a cut.
    """
    if prev_gray.shape != gray.shape:
        raise ValueError(f"Frames of one video must have one size, got {prev_gray.shape} and {gray.shape}.")
    a, b = _thumbnail(prev_gray), _thumbnail(gray)
    (mean_a, spread_a), (mean_b, spread_b) = cv2.meanStdDev(a), cv2.meanStdDev(b)
    if min(spread_a[0, 0], spread_b[0, 0]) < FLAT_STD:
        return bool(abs(mean_a[0, 0] - mean_b[0, 0]) > FLAT_CUT_DIFFERENCE)
    # the zero-mean normalised correlation of two pictures of one size: template matching at one place
    return bool(cv2.matchTemplate(a, b, cv2.TM_CCOEFF_NORMED)[0, 0] < CUT_CORRELATION)


PAIR_FLOW_SIDE = 240
"""Longest side (pixels) at which ``PairFlows`` computes the flow for restoration (DIS costs what its
pixels do): on the sample clip, dust finds its specks as well as at ``WORK_SIDE`` (320), within 1.2 dB,
in about 60 % of the time; grain's weights catch where a coarse flow misses (320: +0.1 dB for 30 % more
time; 160: -0.1 dB)."""
KEPT_PAIRS = 64
"""Most pairs ``PairFlows`` keeps for the steps still to ask (300 kB each at 240 x 160): far more than the
frames between the first and the last step of a chain (``helpers.restoration``: about 20)."""


class PairFlows:
    """The flow both ways between consecutive frames of one stream, by the later frame's index: computed once
    for the steps of a chain that each follow the motion (``helpers.restoration``: dust, then grain).

    DIS computes the flow back; the flow forward is its ``inverse``, for half the time of a second DIS. On
    the sample clip (``bench.restoration``) dust found its specks as well or better that way (+0.1 to +1.2 dB)
    and grain removed as much (within 0.04 dB): a DIS forward is no more right than the inverse.

    The first step to ask for a pair computes it, on the frames it sees; the later steps get that result,
    so they follow the motion of the frames as the first step saw them. Each step must ask for every pair of
    the stream, in order: a pair is dropped once ``users`` steps have had it. Safe to share between threads.

    Example: ``flows = PairFlows(users=2)``, then ``Dusting(flows)`` and ``Degraining(flows=flows)``.
    """

    def __init__(self, users: int = 1, side: int = PAIR_FLOW_SIDE, forward: bool = True) -> None:
        self.users, self.side, self.forward = users, side, forward
        """How many steps ask for each pair; the longest side of the frames the flow is computed on; whether
        the whole flow forward is wanted (False: ``between`` gives ``(back, None)``, for a step that inverts
        the flow back only where it needs it: ``helpers.restoration.dust`` alone)."""
        self._flow = OpticalFlow()
        self._computing = threading.Lock()  # one DIS object: one computation at a time
        self._kept: dict[int, list] = {}  # index: [(back, forward) or None at a cut, steps that had it]
        self._keeping = threading.Lock()

    def between(self, index: int, prev: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``(back, forward)``, each ``(h, w, 2)`` float32 displacements: frame ``index`` (``gray``) into the frame
        before (``prev``) as ``OpticalFlow`` computes it, and that frame forward into this one (its ``inverse``);
        None at a scene cut (``is_scene_cut``). ``prev`` and ``gray``: ``(h, w)`` uint8, the frames as the flow
        sees them."""
        with self._keeping:
            entry = self._kept.get(index)
        if entry is None:
            with self._computing:
                cut = is_scene_cut(prev, gray)
                back = None if cut else self._flow.calc(gray, prev)
            flows = None if cut else (back, inverse(back) if self.forward else None)
            entry = [flows, 0]
            if self.users > 1:
                with self._keeping:
                    self._kept[index] = entry
                    while len(self._kept) > KEPT_PAIRS:  # a step that stopped asking: memory stays bounded
                        del self._kept[min(self._kept)]
        with self._keeping:
            entry[1] += 1
            if entry[1] >= self.users:
                self._kept.pop(index, None)
        return entry[0]


INVERSION_STEPS = 1
"""Fixed-point steps of ``inverse``: on the sample clip dust and grain scored the same with 1, 2 or 4 (within
0.03 dB), one taking 40 % less time; one step brings a zoom of 5 % to within 0.004 pixel, from 0.06 for
``-flow`` (``tests/test_dust.py``)."""


def inverse(flow: np.ndarray, steps: int = INVERSION_STEPS) -> np.ndarray:
    """The flow of the other frame back into this one, from ``flow`` (this one into the other): both ``(h, w, 2)``
    float32 displacements at one size (``inverse_at`` every pixel).

    Example: ``forward = inverse(back)``, with ``back`` a frame's flow into the one before."""
    return inverse_at(flow, pixel_positions(flow.shape[:2]), steps, flow_there=flow)


def inverse_at(flow: np.ndarray, positions: np.ndarray, steps: int = INVERSION_STEPS,
               flow_there: np.ndarray | None = None) -> np.ndarray:
    """``inverse(flow)`` at ``positions`` only: ``(N, 2)`` or a grid ``(h, w, 2)`` of float32 (x, y) at the flow's
    size, the result in their shape. The inverse ``f`` solves ``f(y) = -flow(y + f(y))``: starting from
    ``-flow``, ``steps`` fixed-point steps, each reading ``flow`` where the other frame's pixel lands (``sample``).
    ``flow_there``: ``flow`` at ``positions``, where the caller has it (at every pixel: ``flow`` itself).

    Example: ``inverse_at(back, np.float32([[10.0, 4.5]]))`` is the flow forward at one point."""
    found = np.negative(sample(flow, positions) if flow_there is None else flow_there)
    for _ in range(steps):
        found = np.negative(sample(flow, positions + found), out=found)
    return found


@dataclass
class FlowFrame:
    """A frame of a stream with its gray, its small gray and its flow to its neighbours (``flow_frames``)."""

    index: int
    frame: np.ndarray
    gray: np.ndarray
    small: np.ndarray
    cut: bool = False
    """A scene cut between the frame before and this one."""
    back: np.ndarray | None = None
    """``(h, w, 2)`` float32 at the flow's size: each pixel's displacement into the frame before."""
    forward: np.ndarray | None = None
    """... into the frame after (set when that frame comes in)."""


def flow_frames(frames: Iterable[tuple[int, np.ndarray]], flows: PairFlows) -> Iterator[FlowFrame]:
    """``(index, frame)`` in order, each as a ``FlowFrame`` with its flow back to the frame before, which in
    turn gets its flow ``forward``: one computation per pair of frames, both ways, at ``flows.side`` pixels
    (the restoration steps that follow the motion: ``helpers.restoration.dust``, ``helpers.restoration.grain``)."""
    previous = None
    for index, frame in frames:
        gray = to_gray(frame)
        here = FlowFrame(index, frame, gray, small_gray(gray, flows.side))
        if previous is not None:
            pair = flows.between(index, previous.small, here.small)
            here.cut = pair is None
            if pair is not None:  # set before ``here`` is handed over, so before ``previous`` is used
                here.back, previous.forward = pair
        yield here
        previous = here
