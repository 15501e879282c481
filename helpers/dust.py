"""Dust and dirt on old film, removed before colouring: specks that are in one frame only.

A speck of dust or a blot of dirt sits on one frame of the film, so it is in no frame around it.
Move the frames before and after onto this one along the optical flow (``helpers.motion``): where
this frame differs strongly from both, in the same direction (darker than both, or lighter),
while the two agree with each other, the picture was not there a frame before or after: a speck.
Those pixels take the mean of the two moved neighbours (``speck_mask`` finds them). A real thing that
appears for one frame only, or moves faster than the flow can follow, looks the same: so only
small blobs count (``MAX_SPECK_SHARE`` of the frame), and the first and last frames, and frames
at a scene cut, are left alone.

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

from .motion import OpticalFlow, is_scene_cut, small_gray, to_gray, warp

SPECK_CONTRAST = 30
"""Gray levels a speck differs from both moved neighbours, at least (film grain stays below)."""
NEIGHBOURS_AGREE = 15
"""Gray levels within which the two moved neighbours must agree where a speck is found."""
MAX_SPECK_SHARE = 0.002
"""Largest speck, as a share of the frame's pixels (600 pixels of 640 x 480): larger blobs are
things that moved, not dust."""
MAX_SPECK_PIXELS = 80
"""... but at least this many pixels (a blob of about 10 pixels across), however small the frame."""
FLOW_SIDE = 240
"""Longest side (pixels) at which the flow to the neighbours is computed: on the sample clip with
dust added, 240 finds the specks as well as ``motion.WORK_SIDE`` (320) does, within 1.2 dB, in
about 60% of the time (DIS costs what its pixels do)."""


def speck_mask(gray: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the pixels of ``gray`` that are dust, given its neighbours moved onto it.

    Parameters
    ----------
    gray, before, after : (H, W) uint8 ndarray
        The frame, and the frames before and after it moved along the flow onto it.
    """
    g, b, a = (x.astype(np.int16) for x in (gray, before, after))
    darker = (b - g > SPECK_CONTRAST) & (a - g > SPECK_CONTRAST)
    lighter = (g - b > SPECK_CONTRAST) & (g - a > SPECK_CONTRAST)
    mask = ((darker | lighter) & (np.abs(b - a) < NEIGHBOURS_AGREE)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    largest = max(MAX_SPECK_SHARE * gray.size, MAX_SPECK_PIXELS)
    small = np.zeros(count, bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] <= largest
    mask = small[labels].astype(np.uint8)
    return cv2.dilate(mask, np.ones((3, 3), np.uint8)) > 0  # a speck's soft edge too


class Dusting:
    """Remove dust and dirt from a stream of frames (see the module's docstring).

    Example
    -------
    ``for index, frame in Dusting().run(enumerate(frames)): ...``
    """

    def __init__(self) -> None:
        self._flow = OpticalFlow()
        self.specks = 0
        """Pixels filled so far."""

    def run(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` in, ``(index, frame without dust)`` out, in order, one frame behind;
        frames uint8, gray or BGR (a gray frame in BGR stays gray)."""
        previous = waiting = None  # the frame before, and the frame to clean next: _Seen each
        for index, frame in frames:
            gray = to_gray(frame)
            seen = _Seen(index, frame, gray, small_gray(gray, FLOW_SIDE))
            if waiting is not None:
                # one flow computation per pair of frames, both ways: the new frame's motion back into
                # the waiting one (its "before", later), and the waiting one's forward into it ("after")
                seen.cut = is_scene_cut(waiting.small, seen.small)
                if not seen.cut:
                    seen.before_maps, waiting.after_maps = self._flow.maps_both_ways(waiting.small, seen.small)
                yield waiting.index, self._clean(previous, waiting, seen)
            previous, waiting = waiting, seen
        if waiting is not None:
            yield waiting.index, waiting.frame  # the last frame: nothing after it

    def _clean(self, before: _Seen | None, here: _Seen, after: _Seen) -> np.ndarray:
        """``here``'s frame without its specks; as it is at the first frame and at a scene cut."""
        if before is None or here.cut or after.cut:
            return here.frame
        moved = [_moved(here.gray.shape, other.gray, maps)
                 for other, maps in ((before, here.before_maps), (after, here.after_maps))]
        mask = speck_mask(here.gray, *moved)
        if not mask.any():
            return here.frame
        self.specks += int(mask.sum())
        fill = ((moved[0].astype(np.uint16) + moved[1]) // 2).astype(np.uint8)
        out = here.frame.copy()
        out[mask] = fill[mask][:, np.newaxis] if out.ndim == 3 else fill[mask]
        return out


@dataclass
class _Seen:
    """A frame as ``Dusting`` keeps it: the frame, its gray and its small gray, and its motion to its neighbours."""

    index: int
    frame: np.ndarray
    gray: np.ndarray
    small: np.ndarray
    cut: bool = False
    """A scene cut between the frame before and this one."""
    before_maps: np.ndarray | None = None
    after_maps: np.ndarray | None = None


def _moved(shape: tuple[int, int], other_gray: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """``other_gray`` (full size) moved along ``maps`` (at the flow's size) onto a frame of ``shape``."""
    h, w = shape
    sh, sw = maps.shape[:2]
    full = cv2.resize(maps, (w, h), interpolation=cv2.INTER_LINEAR)
    full += 0.5  # pixel centres: position x at the small size is (x + 0.5) * scale - 0.5 at full size
    full[..., 0] *= w / sw
    full[..., 1] *= h / sh
    full -= 0.5
    return warp(other_gray, full)
