"""Does the colour flicker? Temporal stability of a colourised video, and a gentle fix.

The network colours every frame on its own, so a coat can be redder in one frame than in the
next. There is no ground truth, but there is motion: optical flow on the GRAY input frames
(``helpers.media.motion``) tells where each pixel of the previous frame went, so the previous
colourised frame can be warped onto this one. Where the flow can be trusted, a stable
colourisation has the same a, b there.
Frames are streamed one at a time, so memory does not grow with the video.

Introduced in notebook 03_video.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..lab.colour_space import bgr_to_lab, lab_to_bgr
from ..media.motion import WORK_SIDE, OpticalFlow, is_scene_cut, shrink, small_gray, to_gray, warp

DEFAULT_STRENGTH = 0.6
"""Share of the previous, motion-compensated ab that ``TemporalSmoother`` keeps."""
HIST_BINS = 32
"""Bins per axis of the 2-D ab histogram, 8 units of a or b each: coarse enough to ignore noise."""


class _GrayStream:
    """Follows the gray input of one video: checks and shrinks each frame, finds the motion back to the previous one."""

    def __init__(self, work_side: int) -> None:
        self.work_side = work_side
        self.flow = OpticalFlow()
        self._prev: np.ndarray | None = None
        self.shape: tuple[int, int] | None = None

    def step(self, gray: np.ndarray, img_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Check and shrink one frame; returns it and the previous small frame (None at the start)."""
        gray = to_gray(gray)
        if gray.dtype != np.uint8 or img_bgr.dtype != np.uint8 or img_bgr.shape != (*gray.shape, 3):
            raise ValueError(f"Expected a gray (H, W) and a colourised (H, W, 3) uint8 frame of one size, got "
                             f"{gray.shape} {gray.dtype} and {img_bgr.shape} {img_bgr.dtype}.")
        if self.shape not in (None, gray.shape):
            raise ValueError(f"The frame size changed from {self.shape} to {gray.shape}: use one object per video.")
        self.shape = gray.shape
        small = small_gray(gray, self.work_side)
        prev, self._prev = self._prev, small
        return small, prev


def _ab(img_bgr: np.ndarray) -> np.ndarray:
    return bgr_to_lab(img_bgr)[:, :, 1:]


@dataclass(frozen=True)
class FrameFlicker:
    """How much one frame's colour changed since the previous frame (see ``FlickerMeter``).

    ``frame``: index in the video, 0-based. ``warped_ab_change``: mean sqrt(Δa² + Δb²) (Lab
    units) to the previous frame warped onto this one, over trusted pixels (all if none is).
    ``hist_distance``: Bhattacharyya distance of the ab histograms, 0 same colours .. 1 none
    in common. ``occluded_share``: 0..1 of pixels left out. ``scene_cut``: a new shot starts
    here; ``FlickerMeter.summary`` leaves such frames out.
    """

    frame: int
    warped_ab_change: float
    hist_distance: float
    occluded_share: float
    scene_cut: bool


def _ab_histogram(ab: np.ndarray) -> np.ndarray:
    return cv2.calcHist([ab], [0, 1], None, [HIST_BINS, HIST_BINS], [-128, 128, -128, 128])


class FlickerMeter:
    """Measure colour flicker frame by frame, without ground truth: ``update`` once per frame,
    in order, then ``summary``. ``work_side``: see ``helpers.media.motion.WORK_SIDE``."""

    def __init__(self, *, work_side: int = WORK_SIDE) -> None:
        self._stream = _GrayStream(work_side)
        self._prev_ab: np.ndarray | None = None
        self._prev_hist: np.ndarray | None = None
        self._count = self._cuts = self._steady = 0
        self._sums = {"chroma": 0.0, "change": 0.0, "hist": 0.0}  # running sums: constant memory

    def update(self, gray: np.ndarray, img_bgr: np.ndarray) -> FrameFlicker | None:
        """Add one frame: ``gray`` (H, W) uint8, the input, and ``img_bgr`` (H, W, 3) uint8, its
        colourisation. Returns its ``FrameFlicker``, or None for the very first frame."""
        small, prev = self._stream.step(gray, img_bgr)
        ab = _ab(shrink(img_bgr, small.shape[::-1]))
        hist = _ab_histogram(ab)
        self._sums["chroma"] += float(np.hypot(ab[..., 0], ab[..., 1]).mean())
        self._count += 1
        result = None
        if prev is not None:
            maps, valid = self._stream.flow.back(prev, small)
            change = np.linalg.norm(ab - warp(self._prev_ab, maps), axis=2)
            result = FrameFlicker(
                frame=self._count - 1,
                warped_ab_change=float(change[valid].mean() if valid.any() else change.mean()),
                hist_distance=cv2.compareHist(self._prev_hist, hist, cv2.HISTCMP_BHATTACHARYYA),
                occluded_share=float(1 - valid.mean()),
                scene_cut=is_scene_cut(prev, small),
            )
            if result.scene_cut:
                self._cuts += 1
            else:
                self._steady += 1
                self._sums["change"] += result.warped_ab_change
                self._sums["hist"] += result.hist_distance
        self._prev_ab, self._prev_hist = ab, hist
        return result

    def summary(self) -> dict[str, float | int]:
        """``frames`` and ``cuts`` (counts); ``mean_warped_ab_change`` and ``mean_hist_distance``
        over frames that are not cuts (NaN if none); ``mean_chroma``, mean sqrt(a² + b²) of all
        frames (0 for gray: shows whether smoothing washed the colours out)."""
        def mean(key: str, count: int) -> float:
            return self._sums[key] / count if count else float("nan")

        return {"frames": self._count, "cuts": self._cuts,
                "mean_warped_ab_change": mean("change", self._steady),
                "mean_hist_distance": mean("hist", self._steady),
                "mean_chroma": mean("chroma", self._count)}


class TemporalSmoother:
    """Calm flickering colours: blend each frame's ab with the previous result, following the motion.

    Call it once per frame, in order: ``img_bgr = smoother(gray, img_bgr)`` with ``gray``
    (H, W) uint8 the input (the flow is computed on it) and ``img_bgr`` (H, W, 3) uint8 its
    colourisation. Returns ``(H, W, 3)`` uint8: the same L, smoothed a and b.

    Parameters
    ----------
    strength : float
        ``s`` in ``ab_out = (1 - s) ab + s warp(previous ab_out)``, 0 (off) .. below 1.
    work_side : int
        Longest side in pixels at which flow and smoothing run (see ``helpers.media.motion.WORK_SIDE``).

    Notes
    -----
    - ``s = 0.6`` remembers about ``1 / (1 - s) = 2.5`` frames (0.1 s at 24 fps): a real change
      of colour shows within a few frames, while independent frame-to-frame jitter shrinks
      about 3x (the change between frames is scaled by ``(1 - s) / sqrt(1 + s) = 0.32``).
    - Where the flow is not trusted (occluded, new at the border) the frame's own ab is kept,
      and at a scene cut the memory is cleared and the frame returned as it is.
    - The smoothing runs at the working size; only the CHANGE it makes to ab is enlarged to the
      full frame, so the frame's own ab detail and its full-resolution L stay. Colours pushed
      outside the sRGB gamut are clipped by the conversion to BGR, which can alter L slightly.
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH, *, work_side: int = WORK_SIDE) -> None:
        if not 0 <= strength < 1:
            raise ValueError(f"strength must be at least 0 and below 1 (0.6 is a good start), got {strength}.")
        self.strength = strength
        self._stream = _GrayStream(work_side)
        self._ab_out: np.ndarray | None = None

    def __call__(self, gray: np.ndarray, img_bgr: np.ndarray) -> np.ndarray:
        """Smooth one frame (see the class docstring for shapes and types)."""
        small, prev = self._stream.step(gray, img_bgr)
        ab = _ab(shrink(img_bgr, small.shape[::-1]))
        if prev is None or is_scene_cut(prev, small):
            self._ab_out = ab
            return img_bgr.copy()
        maps, valid = self._stream.flow.back(prev, small)
        blended = (1 - self.strength) * ab + self.strength * warp(self._ab_out, maps)
        self._ab_out = np.where(valid[..., None], blended, ab)
        lab = bgr_to_lab(img_bgr)
        change = cv2.resize(self._ab_out - ab, img_bgr.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        return lab_to_bgr(lab[:, :, 0], lab[:, :, 1:] + change)
