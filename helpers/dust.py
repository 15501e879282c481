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
58.6, 48.6, 37.9). A background thread computes the flow of the next frames meanwhile (OpenCV lets go
of Python's lock while it works, so the two cores work at once).

``Dusting`` does it on a stream of frames (one frame of context each side). To be taught in
notebook 05_restoration.

Reference: the "spike detection index" of A. Kokaram, "Motion Picture Restoration", Springer,
1998, chapter 6, here on flow-compensated neighbours with a size limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from .background import ahead
from .motion import FlowFrame, PairFlows, flow_frames, full_size_maps, warp

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
    and they agree within ``NEIGHBOURS_AGREE``, else 0; any shape, all three alike, uint8 (saturating
    differences: a negative one is 0, which is below the contrast anyway)."""
    darker = cv2.min(cv2.subtract(before, gray), cv2.subtract(after, gray))
    lighter = cv2.min(cv2.subtract(gray, before), cv2.subtract(gray, after))
    spike = cv2.compare(cv2.max(darker, lighter), SPECK_CONTRAST, cv2.CMP_GT)
    return cv2.bitwise_and(spike, cv2.compare(cv2.absdiff(before, after), NEIGHBOURS_AGREE, cv2.CMP_LT))


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
        self._flows = flows or PairFlows()
        self.specks = 0
        """Pixels filled so far."""

    def run(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` in, ``(index, frame without dust)`` out, in order, one frame behind;
        frames uint8, gray or BGR (a gray frame in BGR stays gray).

        Three stages, each in a thread of its own (OpenCV lets go of Python's lock, so both cores work):
        the flow of the next frames, their neighbours moved onto them (``neighbours_moved``), and the
        specks of this one found and filled."""
        flowing = ahead(flow_frames(frames, self._flows), FLOWS_AHEAD)
        for here, moved in ahead(neighbours_moved(flowing), FLOWS_AHEAD):
            yield here.index, here.frame if moved is None else self._clean(here, *moved)

    def _clean(self, here: FlowFrame, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """``here``'s frame without its specks, given the frames ``before`` and ``after`` it moved onto it."""
        found = cv2.findNonZero(speck_mask(here.gray, before, after).view(np.uint8))
        if found is None:
            return here.frame
        self.specks += len(found)
        xs, ys = found.reshape(-1, 2).T
        fill = ((before[ys, xs].astype(np.uint16) + after[ys, xs]) // 2).astype(np.uint8)
        out = here.frame.copy()
        out[ys, xs] = fill[:, np.newaxis] if out.ndim == 3 else fill
        return out


def neighbours_moved(frames: Iterable[FlowFrame]) -> Iterator[tuple[FlowFrame, tuple[np.ndarray, np.ndarray] | None]]:
    """Each of ``frames`` (in order, one behind) with the frames before and after it moved onto it
    (``moved_onto``), or None where dust is not looked for: the first and last frames, and each side of a
    scene cut (a speck is told from the picture by the frames around it).

    Example: ``for here, moved in neighbours_moved(flow_frames(enumerate(frames), PairFlows())): ...``"""
    before = here = None
    for after in frames:
        if here is not None:
            if before is None or here.cut or after.cut:
                yield here, None
            else:
                yield here, (moved_onto(before.gray, here.back), moved_onto(after.gray, here.forward))
        before, here = here, after
    if here is not None:
        yield here, None


def moved_onto(other_gray: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8: ``other_gray`` (full size) moved onto the frame along ``flow`` (``(h, w, 2)`` float32
    displacements at the flow's size), bilinear (``motion.full_size_maps``, ``motion.warp``).

    Example: ``before_here = moved_onto(before.gray, here.back)``."""
    return warp(other_gray, full_size_maps(flow, other_gray.shape[::-1]))
