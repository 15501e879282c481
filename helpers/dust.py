"""Dust and dirt on old film, removed before colouring: specks that are in one frame only.

A speck of dust or a blot of dirt sits on one frame of the film, so it is in no frame around it.
Move the frames before and after onto this one along the optical flow (``helpers.motion``): where
this frame differs strongly from both, in the same direction (darker than both, or lighter),
while the two agree with each other, the picture was not there a frame before or after: a speck.
Those pixels take the mean of the two moved neighbours (``speck_mask`` finds them). A real thing that
appears for one frame only, or moves faster than the flow can follow, looks the same: so only
small blobs count (``MAX_SPECK_SHARE`` of the frame), and the first and last frames, and frames
at a scene cut, are left alone.

The flow comes from ``helpers.motion.PairFlows``: DIS computes each frame's flow back, and the flow
forward is the next frame's flow back inverted (one DIS a frame, not two; on the sample clip with dust
4, 16 and 64, ``bench.restoration``, as good or better than a DIS forward: 59.5, 49.0, 38.0 dB against
58.6, 48.6, 37.9). The frame before is moved onto this one whole; a speck differs from it by more than
``SPECK_CONTRAST``, so the frame after is moved (and its flow inverted) only at those pixels, a few
hundredths of the frame (``neighbours_moved``, ``moved_at``). The flow, the moves and the specks each
run in a thread of their own (OpenCV lets go of Python's lock while it works, so both cores work).

``Dusting`` does it on a stream of frames (one frame of context each side). To be taught in
notebook 05_restoration.

Reference: the "spike detection index" of A. Kokaram, "Motion Picture Restoration", Springer,
1998, chapter 6, here on flow-compensated neighbours with a size limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from .background import ahead
from .motion import FlowFrame, PairFlows, flow_frames, full_size_maps, inverse_at, sample, warp

SPECK_CONTRAST = 30
"""Gray levels a speck differs from both moved neighbours, at least (film grain stays below)."""
NEIGHBOURS_AGREE = 15
"""Gray levels within which the two moved neighbours must agree where a speck is found."""
MAX_SPECK_SHARE = 0.002
"""Largest speck, as a share of the frame's pixels (600 pixels of 640 x 480): larger blobs are
things that moved, not dust."""
MAX_SPECK_PIXELS = 80
"""... but at least this many pixels (a blob of about 10 pixels across), however small the frame."""
FLOWS_AHEAD = 2
"""Frames whose flow the background thread may compute ahead of the frame being cleaned."""


def speck_mask(gray: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the pixels of ``gray`` that are dust, given its neighbours moved onto it.

    Parameters
    ----------
    gray, before, after : (H, W) uint8 ndarray
        The frame, and the frames before and after it moved along the flow onto it.
    """
    return _small_blobs(_spikes(gray, before, after), gray.size)


def _spikes(gray: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """uint8 255 where ``gray`` is darker (or lighter) than both moved neighbours by ``SPECK_CONTRAST``
    and they agree within ``NEIGHBOURS_AGREE``, else 0; any shape, all three alike, uint8."""
    return is_spike(gray, before, after).astype(np.uint8) * np.uint8(255)


def is_spike(gray: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """bool, the shape of the three (alike, uint8): ``gray`` darker (or lighter) than both ``before`` and
    ``after`` (the frames around it moved onto it) by more than ``SPECK_CONTRAST`` gray levels, while they
    agree within ``NEIGHBOURS_AGREE``: the rule for a speck, on whole frames or on some of their pixels.

    Example: ``is_spike(np.uint8([10]), np.uint8([90]), np.uint8([95]))`` is ``[True]``."""
    g, b, a = (x.astype(np.int16) for x in (gray, before, after))
    darker = np.minimum(b - g, a - g) > SPECK_CONTRAST
    lighter = np.minimum(g - b, g - a) > SPECK_CONTRAST
    return (darker | lighter) & (np.abs(b - a) < NEIGHBOURS_AGREE)


def _small_blobs(spikes: np.ndarray, pixels: int) -> np.ndarray:
    """``(H, W)`` bool: the blobs of ``spikes`` (uint8, nonzero where found) small enough to be specks, a pixel
    wider (a speck's soft edge). Labelled only if the pixels found could make a blob too large, and without
    OpenCV's statistics (ten times the labelling's time): the areas are counted at the found pixels."""
    largest = max(MAX_SPECK_SHARE * pixels, MAX_SPECK_PIXELS)
    found = cv2.findNonZero(spikes)
    if found is not None and len(found) > largest:
        count, labels = cv2.connectedComponents(spikes, connectivity=8)
        found = found.reshape(-1, 2)
        large = np.flatnonzero(np.bincount(labels[found[:, 1], found[:, 0]], minlength=count) > largest)
        if len(large):
            spikes = np.where(np.isin(labels, large), 0, spikes).astype(np.uint8)
    return cv2.dilate(spikes, np.ones((3, 3), np.uint8)) > 0


class Dusting:
    """Remove dust and dirt from a stream of frames (see the module's docstring).

    ``flows``: a ``PairFlows`` shared with the steps after this one (``helpers.restoration``); by default
    its own.

    Example
    -------
    ``for index, frame in Dusting().run(enumerate(frames)): ...``
    """

    def __init__(self, flows: PairFlows | None = None) -> None:
        self._flows = flows or PairFlows(forward=False)  # the flow forward is inverted only where it is needed
        self.specks = 0
        """Pixels filled so far."""

    def run(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` in, ``(index, frame without dust)`` out, in order, one frame behind;
        frames uint8, gray or BGR (a gray frame in BGR stays gray).

        Three stages, each in a thread of its own (OpenCV lets go of Python's lock, so both cores work):
        the flow of the next frames, their neighbours moved onto them (``Neighbours``), and the specks
        of this one found and filled."""
        flowing = ahead(flow_frames(frames, self._flows), FLOWS_AHEAD)
        for here, moved in ahead(neighbours_moved(flowing), FLOWS_AHEAD):
            yield here.index, here.frame if moved is None else self._clean(here, moved)

    def _clean(self, here: FlowFrame, moved: Neighbours) -> np.ndarray:
        """``here``'s frame without its specks, given its ``Neighbours``."""
        xs, ys = moved.points.T
        spikes = np.zeros_like(here.gray)
        at = is_spike(here.gray[ys, xs], moved.before[ys, xs], moved.after)
        spikes[ys[at], xs[at]] = 255
        found = cv2.findNonZero(_small_blobs(spikes, spikes.size).view(np.uint8))
        if found is None:
            return here.frame
        found = found.reshape(-1, 2)
        self.specks += len(found)
        xs, ys = found.T
        after = moved_at(moved.after_gray, moved.after_back, found)  # also at the specks' rims
        fill = ((moved.before[ys, xs].astype(np.uint16) + after) // 2).astype(np.uint8)
        out = here.frame.copy()
        out[ys, xs] = fill[:, np.newaxis] if out.ndim == 3 else fill
        return out


@dataclass
class Neighbours:
    """What finding a frame's specks needs of the frames around it (``neighbours_moved``)."""

    before: np.ndarray
    """``(H, W)`` uint8: the frame before, moved onto this one (``moved_onto``)."""
    points: np.ndarray
    """``(N, 2)`` int32 (x, y): the pixels that differ from ``before`` by more than ``SPECK_CONTRAST``,
    the only ones that can be specks (a few hundredths of the frame)."""
    after: np.ndarray
    """``(N,)`` uint8: the frame after, moved onto this one, at ``points`` only (``moved_at``)."""
    after_gray: np.ndarray
    after_back: np.ndarray
    """The frame after, and its flow back into this one: to move it onto more pixels (``moved_at``)."""


def neighbours_moved(frames: Iterable[FlowFrame]) -> Iterator[tuple[FlowFrame, Neighbours | None]]:
    """Each of ``frames`` (in order, one behind) with its ``Neighbours``, or None where dust is not looked
    for: the first and last frames, and each side of a scene cut (a speck is told from the picture by the
    frames around it). The frame before is moved onto it whole; the frame after only where a speck can be:
    a speck differs from both.

    Example: ``for here, moved in neighbours_moved(flow_frames(enumerate(frames), PairFlows())): ...``"""
    before = here = None
    for after in frames:
        if here is not None:
            if before is None or here.cut or after.cut:
                yield here, None
            else:
                before_here = moved_onto(before.gray, here.back)
                # (NumPy's comparison: OpenCV reads a frame of one pixel beside a number as a 4 x 1 array)
                found = cv2.findNonZero((cv2.absdiff(here.gray, before_here) > SPECK_CONTRAST).view(np.uint8))
                points = np.zeros((0, 2), np.int32) if found is None else found.reshape(-1, 2)
                yield here, Neighbours(before_here, points, moved_at(after.gray, after.back, points),
                                       after.gray, after.back)
        before, here = here, after
    if here is not None:
        yield here, None


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
