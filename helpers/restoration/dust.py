"""Dust and dirt on old film, removed before colouring: specks that are in one frame only.

A speck of dust or a blot of dirt sits on one frame of the film, so it is in no frame around it.
Move the frames before and after onto this one: where this frame differs strongly from both, in the same
direction (darker than both, or lighter), while the two agree with each other, the picture was not there a
frame before or after: a speck. Those pixels take the mean of the two moved neighbours (``speck_mask`` finds
them). A real thing that appears for one frame only, or moves faster than the motion can follow, looks the
same: so only small blobs count (``MAX_SPECK_SHARE`` of the frame), and the first and last frames, and frames
at a scene cut, are left alone.

The frames are moved first by the camera's motion (``helpers.media.camera_motion``: a zoom and a pan a pair, from a
DIS flow at 120 pixels, and ``cv2.warpAffine``), which is all there is between most pairs of frames: where it
explains the pair (few pixels differ by more than ``SPECK_CONTRAST``, ``CAMERA_UNEXPLAINED``), both neighbours
are moved whole by it; a small thing moving on its own over the picture is then told from dust by being found a
step away in both neighbours (``moves_on_its_own``). Where it does not (a large thing moving on its own), the
dense flow moves them (``helpers.media.motion.PairFlows``: DIS computes each frame's flow back at 240 pixels; the flow
forward is the next frame's flow back inverted where it is needed: ``moved_at``). On the sample clip
(``bench.restoration``) the camera's motion explains every pair but the two scene cuts; with 4, 16 and 64 specks
a frame it scores 65.1, 54.2 and 39.5 dB against 60.3, 49.2 and 38.0 for the dense flow everywhere, and
FFmpeg's ``tmedian`` (no motion) 41.3, 40.3 and 36.9, at 1.08 to 1.51 times its speed (a 2-core Xeon).

``Dusting`` does it on a stream of frames (one frame of context each side). To be taught in notebook 05_restoration.

Reference: the "spike detection index" of A. Kokaram, "Motion Picture Restoration", Springer,
1998, chapter 6, here on motion-compensated neighbours with a size limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..media.camera_motion import camera_flow, camera_motion, camera_small, camera_warp
from ..media.motion import (
    CUT_THUMB_SIDE,
    OpticalFlow,
    PairFlows,
    full_size_maps,
    inverse_at,
    is_scene_cut,
    sample,
    small_gray,
    to_gray,
    warp,
)

SPECK_CONTRAST = 30
"""Gray levels a speck differs from both moved neighbours, at least (film grain stays below)."""
NEIGHBOURS_AGREE = 15
"""Gray levels within which the two moved neighbours must agree where a speck is found (at most twice
``SPECK_CONTRAST``: ``is_spike`` relies on it)."""
MAX_SPECK_SHARE = 0.002
"""Largest speck, as a share of the frame's pixels (600 pixels of 640 x 480): larger blobs are
things that moved, not dust."""
MAX_SPECK_PIXELS = 80
"""... but at least this many pixels (a blob of about 10 pixels across), however small the frame."""
CAMERA_UNEXPLAINED = 0.1
"""The camera's motion explains a pair of frames where the frame before, moved by it, differs from this one by more
than ``SPECK_CONTRAST`` at this share of the pixels at most (the sample clip: 3.5 % on average at 64 specks a frame,
over 70 % at its cuts); else the dense flow moves the neighbours (a large thing moving on its own)."""
MOVE_STEP, MOVE_REACH = 6, 12
"""Pixels: a speck's pixel whose level is in the frame before at ``-v`` and in the frame after at ``+v`` (within
``NEIGHBOURS_AGREE``, beyond the camera's motion), for a ``v`` on a grid of ``MOVE_STEP`` up to ``MOVE_REACH`` each
way, belongs to a thing moving on its own (a ball, a hand) at ``v`` a frame, not to dust (``moves_on_its_own``)."""
MOVES = np.stack(np.meshgrid(*[np.arange(-MOVE_REACH, MOVE_REACH + 1, MOVE_STEP, dtype=np.int32)] * 2),
                 axis=-1).reshape(-1, 1, 2)
"""``(K, 1, 2)`` int32: each ``v`` of that grid (x, y)."""
MOVER_MARGIN = 5
"""Pixels around a pixel of a thing moving on its own that are not dust either (``v``'s grid finds some, not all)."""
MOVER_AROUND = np.ones((2 * MOVER_MARGIN + 1,) * 2, np.uint8)
"""The square ``MOVER_MARGIN`` pixels each way around a pixel of a thing moving on its own (a dilation)."""
MOVE_SAMPLE = 8
"""Every ``MOVE_SAMPLE``-th pixel found to be a speck (in raster order) is tested for moving on its own
(``moves_on_its_own``), and ``MOVER_MARGIN`` covers the others: a thing large enough to matter has many."""
BLOCK = np.ones((2, 2), np.uint8)
"""2 x 2 pixels: a dilation by it, anchored at its first pixel, is 1 at a pixel whose block starting there has any
(``_may_hold_a_large_blob``)."""
NO_POINTS = np.zeros((0, 2), np.int32)
"""No pixels, as ``(N, 2)`` int32 (x, y) (shared: not to be changed)."""
NO_POINTS.flags.writeable = False


def speck_mask(gray: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the pixels of ``gray`` that are dust, given its neighbours moved onto it.

    Parameters
    ----------
    gray, before, after : (H, W) uint8 ndarray
        The frame, and the frames before and after it moved onto it.
    """
    return _small_blobs(is_spike(gray, before, after).view(np.uint8), gray.size).view(bool)


def is_spike(gray: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """bool, the shape of the three (alike, uint8): ``gray`` darker (or lighter) than both ``before`` and
    ``after`` (the frames around it moved onto it) by more than ``SPECK_CONTRAST`` gray levels, while they
    agree within ``NEIGHBOURS_AGREE``: the rule for a speck, on whole frames or on some of their pixels.

    Written as: ``gray`` differs from the nearer of the two by more than ``SPECK_CONTRAST`` (``cv2.absdiff``,
    without signed copies). The same rule: a level between two that agree within ``NEIGHBOURS_AGREE`` is within
    that of both, so one that differs from both by more than ``SPECK_CONTRAST`` (twice as much, at least) is
    darker than both, or lighter.

    Example: ``is_spike(np.uint8([10]), np.uint8([90]), np.uint8([95]))`` is ``[True]``."""
    if gray.size == 0:
        return np.zeros(gray.shape, bool)
    # 2-D: OpenCV reads a 1-D array of up to 4 values as one number; compared with NumPy for the same reason
    g, b, a = (np.atleast_2d(x) for x in (gray, before, after))
    nearer = cv2.min(cv2.absdiff(g, b), cv2.absdiff(g, a))
    return ((nearer > SPECK_CONTRAST) & (cv2.absdiff(b, a) < NEIGHBOURS_AGREE)).reshape(gray.shape)


def points_of(mask: np.ndarray) -> np.ndarray:
    """``(N, 2)`` int32 (x, y): the nonzero pixels of ``mask`` (``(H, W)`` uint8), in raster order."""
    found = cv2.findNonZero(mask)
    return NO_POINTS if found is None else found.reshape(-1, 2)


def _small_blobs(spikes: np.ndarray, pixels: int, found: np.ndarray | None = None) -> np.ndarray:
    """``(H, W)`` uint8, 1 or 0: the blobs of ``spikes`` (uint8, 1 where found) small enough to be specks, a pixel
    wider (a speck's soft edge). Labelled only if the pixels found could make a blob too large, and without
    OpenCV's statistics (ten times the labelling's time): the areas are counted at the found pixels
    (``found``, ``(N, 2)`` int (x, y), where the caller knows them; some may since have been cleared)."""
    largest = max(MAX_SPECK_SHARE * pixels, MAX_SPECK_PIXELS)
    found = points_of(spikes) if found is None else found
    if len(found) > largest and _may_hold_a_large_blob(spikes, found, largest):
        count, labels = cv2.connectedComponents(spikes, connectivity=8)
        xs, ys = found.T
        at = labels[ys, xs]
        large = np.bincount(at, minlength=count) > largest
        if large[1:].any():  # (label 0: not found)
            spikes = spikes.copy()
            drop = large[at] & (at > 0)
            spikes[ys[drop], xs[drop]] = 0  # the found pixels are all of the blobs': the rest of the frame is 0
    return cv2.dilate(spikes, np.ones((3, 3), np.uint8))


def _may_hold_a_large_blob(spikes: np.ndarray, found: np.ndarray, largest: float) -> bool:
    """Whether ``spikes`` (``(H, W)`` uint8, nonzero at ``found``, ``(N, 2)`` int (x, y)) may hold a blob of more
    than ``largest`` pixels: the blobs of its 2 x 2 blocks (any pixel found) hold more than that, and each blob of
    pixels lies in one blob of blocks (8-connected pixels are in 8-connected blocks). Labelling a quarter of the
    pixels saves most of the labelling where the specks are many and small (64 a frame: 0.03 against 0.09 ms)."""
    blocks = np.ascontiguousarray(cv2.dilate(spikes, BLOCK, anchor=(0, 0))[::2, ::2])
    count, labels = cv2.connectedComponents(blocks, connectivity=8)
    return bool((np.bincount(labels[found[:, 1] // 2, found[:, 0] // 2], minlength=count)[1:] > largest).any())


class Dusting:
    """Remove dust and dirt from a stream of frames (see the module's docstring).

    ``flows``: a ``PairFlows`` shared with the steps after this one (``helpers.restoration``): this step asks it
    for every pair, so that they follow the dense flow, and uses it where the camera's motion does not explain
    a frame, as it would its own (the output is the same with or without the steps after it).

    Example
    -------
    ``for index, frame in Dusting().run(enumerate(frames)): ...``
    """

    def __init__(self, flows: PairFlows | None = None) -> None:
        self._shared = flows
        self._flows = flows or PairFlows(forward=False)  # the flow forward is inverted only where it is needed
        self._camera = camera_flow()
        self.specks = 0
        """Pixels filled so far."""
        self.dense: list[int] = []
        """The frames whose neighbours the dense flow moved (the camera's motion did not explain them)."""

    def run(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` in, ``(index, frame without dust)`` out, in order, one frame behind;
        frames uint8, gray or BGR (a gray frame in BGR stays gray).

        In the caller's thread: the camera's motion and the neighbours moved onto each frame (``Neighbours``),
        then its specks found and filled. Threads of their own gave nothing on 2 cores (1.08 against 1.04 ms a
        frame at 64 specks; 5 % slower with the other restoration steps): much of the work is many short OpenCV
        calls, each handing Python's lock over between the threads."""
        moving = camera_frames(frames, self._camera, self._shared)
        for here, moved in neighbours_moved(moving, self._dense_back):
            yield here.index, here.frame if moved is None else self._clean(here, moved)

    def _dense_back(self, before: DustFrame, here: DustFrame) -> np.ndarray | None:
        """``here``'s dense flow back into ``before`` (``PairFlows``), computed once; None at a cut."""
        if not here.dense_asked:
            ask_dense(self._flows, before, here)
        return here.back

    def _clean(self, here: DustFrame, moved: Neighbours) -> np.ndarray:
        """``here``'s frame without its specks, given its ``Neighbours``."""
        if moved.after is None:
            self.dense.append(here.index)
            xs, ys = moved.points.T
            found = moved.points[is_spike(here.gray[ys, xs], moved.before[ys, xs], moved.after_points)]
            spikes = np.zeros_like(here.gray)
            spikes[found[:, 1], found[:, 0]] = 1
        else:  # whole frames: OpenCV's work, without Python's lock, rather than NumPy's on thousands of pixels
            spikes = is_spike(here.gray, moved.before, moved.after).view(np.uint8)
            found = points_of(spikes)
            tested = found[::MOVE_SAMPLE]
            moving = tested[moves_on_its_own(here.gray[tested[:, 1], tested[:, 0]], tested, moved.before,
                                             moved.after)]
            if len(moving):
                movers = np.zeros_like(spikes)
                movers[moving[:, 1], moving[:, 0]] = 1
                spikes = cv2.subtract(spikes, cv2.dilate(movers, MOVER_AROUND))  # (1 - 1 = 0, 0 - 1 = 0, 1 - 0 = 1)
        specks = _small_blobs(spikes, spikes.size, found)
        count = cv2.countNonZero(specks)
        if not count:
            return here.frame
        self.specks += count
        after = moved.after
        if after is None:  # the dense flow moved the frame after onto this one at some pixels only: those
            points = points_of(specks)
            after = moved.before.copy()
            after[points[:, 1], points[:, 0]] = moved.after_at(points)
        return filled(here.frame, specks, moved.before, after)


def filled(frame: np.ndarray, specks: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """A copy of ``frame`` (``(H, W)`` or ``(H, W, 3)`` uint8) with the pixels of ``specks`` (``(H, W)`` uint8,
    nonzero there) set to the mean of ``before`` and ``after`` (``(H, W)`` uint8: the frames around it moved onto
    it), gray (B = G = R): whole frames in three OpenCV calls, fewer than picking out thousands of pixels.

    Example: ``filled(gray, speck_mask(gray, before, after).view(np.uint8), before, after)``."""
    mean = cv2.addWeighted(before, 0.5, after, 0.5, 0)
    if frame.ndim == 3:
        mean = cv2.cvtColor(mean, cv2.COLOR_GRAY2BGR)
    return cv2.copyTo(mean, specks, frame.copy())


@dataclass
class DustFrame:
    """A frame of the stream with what finding its specks needs of it (``camera_frames``)."""

    index: int
    frame: np.ndarray
    gray: np.ndarray
    small: np.ndarray
    """Its gray as the camera's motion is measured on (``camera_motion.camera_small``)."""
    thumbnail: np.ndarray
    """... and at ``motion.CUT_THUMB_SIDE`` (``motion.is_scene_cut``)."""
    cut: bool = False
    """A scene cut between the frame before and this one."""
    camera: np.ndarray | None = None
    """``(2, 3)`` float32: this frame's pixel ``(x, y, 1)`` to its position in the frame before, as the camera
    moved (``camera_motion.camera_motion``)."""
    before_here: np.ndarray | None = None
    """``(H, W)`` uint8: the frame before, moved onto this one by the camera's motion (``camera_warp``)."""
    explained: bool = False
    """The camera's motion explains the picture between the frame before and this one (``CAMERA_UNEXPLAINED``)."""
    back: np.ndarray | None = None
    """The dense flow back into the frame before (``PairFlows``), once asked for (``dense_asked``)."""
    dense_asked: bool = False


def camera_frames(frames: Iterable[tuple[int, np.ndarray]], flow: OpticalFlow,
                  shared: PairFlows | None = None) -> Iterator[DustFrame]:
    """``(index, frame)`` in order, each as a ``DustFrame`` with the camera's motion back to the frame before: DIS
    on the frames' ``camera_small`` (``flow``, ``camera_flow``), a zoom and a pan fitted to it (``camera_motion``).
    With a ``shared`` ``PairFlows`` (a chain) the dense flow back too, for the steps after this one."""
    previous = None
    for index, frame in frames:
        gray = to_gray(frame)
        small = camera_small(gray)
        here = DustFrame(index, frame, gray, small, small_gray(small, CUT_THUMB_SIDE))
        if previous is not None:
            here.cut = is_scene_cut(previous.thumbnail, here.thumbnail)
            if not here.cut:
                here.camera = camera_motion(flow.calc(small, previous.small), small, previous.small, gray.shape[::-1])
            if shared is not None:
                ask_dense(shared, previous, here)
        yield here
        previous = here


def ask_dense(flows: PairFlows, before: DustFrame, here: DustFrame) -> None:
    """Set ``here``'s ``back`` (its dense flow back into ``before``, from ``flows``; None at a cut) and
    ``dense_asked``."""
    pair = flows.between(here.index, small_gray(before.gray, flows.side), small_gray(here.gray, flows.side))
    here.back, here.dense_asked = None if pair is None else pair[0], True


def moves_on_its_own(levels: np.ndarray, points: np.ndarray, before_here: np.ndarray,
                     after_here: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: the ``levels`` (``(N,)`` uint8) of this frame at ``points`` (``(N, 2)`` int (x, y)) are in
    the frame before at ``points - v`` and in the frame after at ``points + v`` (within ``NEIGHBOURS_AGREE``), for a
    ``v`` of the grid ``MOVE_STEP``, ``MOVE_REACH``: a thing that moved on its own by ``v`` a frame. The
    neighbours: ``(H, W)`` uint8, moved onto this frame by the camera's motion (their edges repeated beyond).

    Example: ``moves_on_its_own(gray[ys, xs], points, before_here, after_here)``."""
    reach = MOVE_REACH
    width = before_here.shape[1] + 2 * reach
    shifts = MOVES[..., 1] * width + MOVES[..., 0]  # (K, 1): v as a shift in the padded frames
    at = (points[:, 1] + reach) * width + points[:, 0] + reach  # (N,)
    levels = levels.astype(np.int16)
    found = None
    for moved, sign in ((before_here, -1), (after_here, 1)):
        padded = cv2.copyMakeBorder(moved, reach, reach, reach, reach, cv2.BORDER_REPLICATE).ravel()
        alike = np.abs(padded[at + sign * shifts] - levels) < NEIGHBOURS_AGREE  # (K, N)
        found = alike if found is None else found & alike
    return found.any(axis=0)


@dataclass
class Neighbours:
    """What finding a frame's specks needs of the frames around it (``neighbours_moved``)."""

    before: np.ndarray
    """``(H, W)`` uint8: the frame before, moved onto this one."""
    after: np.ndarray | None
    """``(H, W)`` uint8: the frame after, moved onto this one whole by the camera's motion; None where the dense
    flow moved the neighbours (then the fields below)."""
    points: np.ndarray | None = None
    """``(N, 2)`` int32 (x, y): where the dense flow moved them, the pixels that differ from ``before`` by more than
    ``SPECK_CONTRAST``, the only ones that can be specks (a few hundredths of the frame)."""
    after_points: np.ndarray | None = None
    """``(N,)`` uint8: the frame after, moved onto this one, at ``points`` only (``moved_at``)."""
    after_at: Callable[[np.ndarray], np.ndarray] | None = None
    """``(M, 2)`` int32 (x, y) to ``(M,)`` uint8: the frame after, moved onto this one at those pixels."""


def neighbours_moved(frames: Iterable[DustFrame], dense_back: Callable[[DustFrame, DustFrame], np.ndarray | None],
                     ) -> Iterator[tuple[DustFrame, Neighbours | None]]:
    """Each of ``frames`` (in order, one behind) with its ``Neighbours``, or None where dust is not looked
    for: the first and last frames, and each side of a scene cut (a speck is told from the picture by the
    frames around it). The camera's motion moves the neighbours where it explains both pairs, else the dense
    flow (``dense_back(before, here)``: ``here``'s flow back).

    Example: ``neighbours_moved(camera_frames(enumerate(frames), camera_flow()), Dusting()._dense_back)``."""
    before = here = None
    for after in frames:
        if after.camera is not None:
            camera_moved(here, after)
        if here is not None:
            cut = before is None or here.cut or after.cut
            yield here, None if cut else (by_camera(here, after) if here.explained and after.explained
                                          else by_flow(before, here, after, dense_back))
        before, here = here, after
    if here is not None:
        yield here, None


def camera_moved(previous: DustFrame, frame: DustFrame) -> None:
    """Set ``frame``'s ``before_here`` and ``explained``: the frame before (``previous``) moved onto it by the
    camera's motion, and whether they differ (by more than ``SPECK_CONTRAST``) at few enough pixels."""
    frame.before_here = camera_warp(previous.gray, frame.camera)
    frame.explained = cv2.countNonZero(differs(frame.gray, frame.before_here)) <= CAMERA_UNEXPLAINED * frame.gray.size


def differs(gray: np.ndarray, before_here: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8, 1 where ``gray`` differs from the frame before moved onto it (both ``(H, W)`` uint8) by
    more than ``SPECK_CONTRAST``, else 0: the only pixels that can be specks (a speck differs from both)."""
    # (NumPy's comparison: OpenCV reads a frame of one pixel beside a number as a 4 x 1 array)
    return (cv2.absdiff(gray, before_here) > SPECK_CONTRAST).view(np.uint8)


def by_camera(here: DustFrame, after: DustFrame) -> Neighbours:
    """``here``'s ``Neighbours`` moved by the camera's motion, both whole (``camera_warp``)."""
    return Neighbours(here.before_here, camera_warp(after.gray, cv2.invertAffineTransform(after.camera)))


def by_flow(before: DustFrame, here: DustFrame, after: DustFrame,
            dense_back: Callable[[DustFrame, DustFrame], np.ndarray | None]) -> Neighbours | None:
    """``here``'s ``Neighbours`` moved along the dense flow: the frame before whole (``moved_onto``), the frame
    after at some pixels only (``moved_at``); None where ``PairFlows`` saw a cut."""
    here_back, after_back = dense_back(before, here), dense_back(here, after)
    if here_back is None or after_back is None:
        return None
    before_here = moved_onto(before.gray, here_back)
    points = points_of(differs(here.gray, before_here))

    def after_at(points: np.ndarray) -> np.ndarray:
        return moved_at(after.gray, after_back, points)

    return Neighbours(before_here, None, points, after_at(points), after_at)


def moved_onto(other_gray: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8: ``other_gray`` (full size) moved onto the frame along ``flow`` (``(h, w, 2)`` float32
    displacements at the flow's size), bilinear (``motion.full_size_maps``, ``motion.warp``).

    Example: ``before_here = moved_onto(before.gray, here.back)``."""
    return warp(other_gray, full_size_maps(flow, other_gray.shape[::-1]))


def moved_at(other_gray: np.ndarray, back: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(N,)`` uint8: the frame after (``other_gray``, ``(H, W)`` uint8) moved onto this frame, at ``points``
    (``(N, 2)`` int (x, y)) only: along the inverse of ``back`` (the frame after's flow back into this one,
    ``(h, w, 2)`` float32 at the flow's size), found at those points (``motion.inverse_at``): what
    ``moved_onto(other_gray, inverse(back))`` gives there, to a fraction of a level.

    Example: ``after_here = moved_at(after.gray, after.back, np.int32([[10, 20]]))``."""
    h, w = other_gray.shape
    scale = np.float32([back.shape[1] / w, back.shape[0] / h])
    forward = inverse_at(back, (points.astype(np.float32) + 0.5) * scale - 0.5)  # the points at the flow's size
    return sample(other_gray, points + forward / scale)[:, 0]
