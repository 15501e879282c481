"""Going faster: run the network on a few keyframes and carry their colours along the motion.

In per-frame ("exact") mode the network colours every frame, about 0.4 s each on a laptop CPU.
Yet neighbouring frames of a shot show nearly the same picture. So here the network colours
only KEYFRAMES, and every frame between two keyframes gets its a, b from both of them, moved
along the motion of the gray input (``helpers.media.motion``: OpenCV's DIS flow) and blended by distance
in time. Each frame keeps its own full-resolution L; only ab is carried, at a reduced size.

Introduced in notebook 04_faster_video (section 2, keyframes and fast mode).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..common.background import ahead
from ..common.reused import reused
from ..lab.colour_space import lab_to_bgr, lightness
from ..media.motion import CUT_THUMB_SIDE, WORK_SIDE, OpticalFlow, is_scene_cut, small_gray, to_gray, warp
from ..model.net import DEFAULT_SIZE, ColorizationNet, network_input
from ..photo.colorize import predict_ab

KEYFRAME_INTERVAL = 32
"""K: at most K frames between keyframes (32: 1.3 s at 24 fps), a safety cap; the error measures
(``OCCLUSION_MAX``, ``RESIDUAL_MAX``) decide the rest. See ``KeyframePropagator``."""
OCCLUSION_MAX = 0.3
"""Share of pixels with no trusted path back to the last keyframe that forces a new one."""
RESIDUAL_MAX = 3.0
"""Mean L error (0..100 scale) of the last keyframe moved onto a frame that forces a new one."""
CUT_OCCLUSION_MAX = 0.1
"""The same as ``OCCLUSION_MAX`` for the last frame before a scene cut, which has no later keyframe."""
DUPLICATE_DIFF = 1.0
"""Mean gray difference (0..255) to the previous frame below which a frame is a duplicate."""
UNTRUSTED_WEIGHT = 0.01
"""Weight of ab that came along an untrusted path: used only where neither side is trusted."""
LOOK_AHEAD = 8
"""Frames whose motion a second thread measures ahead of the colouring (``_Look``)."""

PredictAB = Callable[[np.ndarray], np.ndarray]
"""``(N, H, W)`` float32 L, 0..100, at full resolution -> ``(N, h, w, 2)`` float32 ab at any size."""
Motion = tuple[np.ndarray, np.ndarray]
"""``helpers.media.motion.Motion`` with ``trusted`` as (h, w) float32, 1 or 0, so that it can be warped and
chained: ``maps`` (h, w, 2) float32, where each pixel is in another frame (x, y, for ``warp``)."""


@dataclass(frozen=True)
class FrameInfo:
    """How one output frame was made. ``kind``: "keyframe" (the network ran), "propagated" (ab
    carried from keyframes) or "duplicate" (the previous frame's ab); ``reason``: why, in words.
    ``occluded_share`` (0..1) and ``residual`` (L units): the path back to the last keyframe."""

    index: int
    kind: str
    reason: str
    occluded_share: float = 0.0
    residual: float = 0.0


@dataclass
class _Look:
    """What the propagator needs to know of a frame before any colour, from the gray inputs alone:
    measured in a second thread ahead of the colouring (``KeyframePropagator._looks``)."""

    index: int
    source: np.ndarray  # as ``_Frame.source``
    small: np.ndarray  # (h, w) uint8 gray at the work size
    thumbnail: np.ndarray  # ``small`` shrunk for ``is_scene_cut``
    duplicate: bool = False  # the same picture as the frame before
    cut: bool = False  # the first frame of a new shot (not the first frame)
    back: Motion | None = None  # this frame into the one before; None: first frame or cut
    forward: Motion | None = None  # the one before into this frame


@dataclass
class _Frame:
    """A frame on its way through: the input at full resolution, the rest at the work size."""

    index: int
    source: np.ndarray  # (H, W) gray if the input is gray (B = G = R), else the (H, W, 3) input: L at the end
    small: np.ndarray  # (h, w) uint8 gray
    info: FrameInfo
    ab: np.ndarray | None = None  # (h, w, 2) float32: keyframes' own; for others carried here
    maps: np.ndarray | None = None  # back to the last keyframe, until the next frame has chained it
    trusted: np.ndarray | None = None  # (h, w) float32: 1 where that path is trusted; None for a keyframe
    to_next: Motion | None = None  # into the next frame, for the backward pass
    ab_low: np.ndarray | None = None  # keyframes: the network's output, as per-frame mode uses it
    ab_and_lightness: np.ndarray | None = None  # keyframes: (h, w, 3) float32: ``ab``, then L of ``small``
    cut: bool = False  # keyframes: the first frame of a new shot


def network_predictor(net: ColorizationNet, *, size: int = DEFAULT_SIZE) -> PredictAB:
    """The real ``predict_ab`` for ``KeyframePropagator``: ``network_input`` then ``predict_ab`` on ``net``.

    It returns ab of ``(N, size / 4, size / 4, 2)`` exactly as ``colorize`` computes it, so a
    keyframe comes out identical to per-frame mode.
    """
    return lambda L_batch: predict_ab(net, np.stack([network_input(L, size) for L in L_batch]))


def feed_range(start: int, stop: int, frame_count: int, keyframe_interval: int = KEYFRAME_INTERVAL) -> range:
    """Frames to feed so that the outputs ``start .. stop - 1`` equal those of a whole-video run.

    From the grid keyframe at or before ``start`` (everything starts afresh there) to the grid
    keyframe at or after ``stop - 1`` (frames before a keyframe need it), or the video's end.
    Drop the outputs outside ``start .. stop - 1``.
    """
    k = keyframe_interval
    return range(start - start % k, min(frame_count, -(-(stop - 1) // k) * k + 1))


class KeyframePropagator:
    """Colour a video fast: the network on keyframes, optical flow in between (see ``run``).

    Parameters
    ----------
    predict_ab : callable
        ``(N, H, W)`` float32 L (0..100, full resolution) -> ``(N, h, w, 2)`` float32 ab, any
        size: ``network_predictor(net)``, another backend, or a test oracle.
    keyframe_interval : int
        K: every frame whose index is a multiple of K is a keyframe, so keyframes are at most K
        frames apart; the error measures add more where needed. 1 is per-frame mode.
    work_side : int
        Longest side in pixels of the flow and of the carried ab (``helpers.media.motion.WORK_SIDE``).
    occlusion_max, residual_max, cut_occlusion_max, duplicate_diff : float
        When propagation is unreliable, and when a frame repeats: see Notes.

    Notes
    -----
    - Keyframes: the first frame, every scene cut (``is_scene_cut``), the last frame, a frame
      whose path back to the last keyframe is unreliable, the last frame before a scene cut
      when more than ``CUT_OCCLUSION_MAX = 0.1`` of it is untrusted (see below), and at the
      latest each frame with ``index % K == 0`` (a GLOBAL grid, so a run started on a grid
      frame gives the same results as a whole-video run: ``feed_range``). Unreliable,
      measured on the gray input: more than ``OCCLUSION_MAX = 0.3`` of its pixels untrusted
      (hidden, or from outside the picture), or the keyframe's L moved onto it differs from
      its own L by more than ``RESIDUAL_MAX = 3`` on average, after removing the mean
      difference (so exposure flicker of old film does not count). On the validation clips
      good flow stays below 1.8 after 8 frames and 3.7 after 32 (the slow zoom into the
      coffee cup passes 3 after 21 frames); half the picture brightening by 4 gray levels a
      frame passes 3 after 4 frames. On the tests' fine synthetic texture DIS overestimates
      pans of 1 pixel a frame by 13%, and the residual sees that drift late.
    - So the picture decides how many passes are needed, and ``K = KEYFRAME_INTERVAL = 32``
      (1.3 s at 24 fps) is only a safety cap on drift that the measures cannot see (colours
      that change while the gray picture does not). On the validation clips
      (``python -m tools.validate_keyframes``: pans, zooms, cuts, a network that knows the
      truth) that takes 15 network passes for 160 frames where a keyframe every 8 frames took
      21, and carried colours err about as much as the network's own 56 x 56 output (mean
      |Δab| 2.37; 2.34 with a keyframe every 8 frames, 2.29 with the network on every frame);
      with a network whose guesses jitter from frame to frame the flicker drops 12x (7x with
      every 8 frames). ``RESIDUAL_MAX = 4`` saves one pass but errs 2.41. On a 300-frame slow
      zoom (``bench.video_speed.make_clip``) it takes 19 passes instead of 40.
    - A frame at time t between keyframes A and B blends ab from both, each moved along the
      chained frame-to-frame flows, weighted by ``(B - t)`` and ``(t - A)`` times the trust of
      the path (1, or ``UNTRUSTED_WEIGHT = 0.01``). Before a scene cut only A is used, so
      there what A does not show gets no trusted colour: hence the keyframe before a cut.
    - A frame whose mean gray difference to the previous one is below ``DUPLICATE_DIFF = 1``
      (repeated frames of digitised film, plus codec noise) takes the previous frame's ab. On
      the grid it is a keyframe all the same, to keep the grid global.
    - Memory: up to K frames wait for their next keyframe, each with its input (a gray frame,
      B = G = R, is kept as gray: a third of the size) and about 2.3 MB of work-size arrays.
      With K = 32 that is 75 MB more than per-frame mode at 640 x 480 and 110 MB at
      1920 x 1080 for gray input, 95 and 235 MB for colour input; K = 8 needs a quarter.
    """

    def __init__(self, predict_ab: PredictAB, *, keyframe_interval: int = KEYFRAME_INTERVAL,
                 work_side: int = WORK_SIDE, occlusion_max: float = OCCLUSION_MAX,
                 residual_max: float = RESIDUAL_MAX, cut_occlusion_max: float = CUT_OCCLUSION_MAX,
                 duplicate_diff: float = DUPLICATE_DIFF) -> None:
        if keyframe_interval < 1:
            raise ValueError(f"keyframe_interval must be at least 1 (the default, {KEYFRAME_INTERVAL}, is a good "
                             f"start), got {keyframe_interval}.")
        self.predict_ab, self.keyframe_interval, self.work_side = predict_ab, keyframe_interval, work_side
        self.occlusion_max, self.residual_max, self.duplicate_diff = occlusion_max, residual_max, duplicate_diff
        self.cut_occlusion_max = cut_occlusion_max
        self.network_calls = 0
        self._flow = OpticalFlow()
        self._L_of_gray = lightness(np.arange(256, dtype=np.uint8)[np.newaxis])[0]  # gray level -> L

    def run(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray, FrameInfo]]:
        """Colour a stream of frames; adds to ``network_calls``.

        Parameters
        ----------
        frames : iterable of (int, ndarray)
            ``(index, frame_bgr)`` in order, without gaps; ``index`` is the frame's number in the
            whole video (0 = its first frame); ``frame_bgr`` ``(H, W, 3)`` or gray ``(H, W)`` uint8.
            Frames are kept, not copied, until they come out: do not reuse their buffers.

        Yields
        ------
        (index, img_bgr, info)
            In input order. ``img_bgr`` ``(H, W, 3)`` uint8 has the frame's own L (up to 8-bit
            rounding); ``info`` is a ``FrameInfo``. A frame comes out once the next keyframe is
            in, at most K frames later.
        """
        key: _Frame | None = None  # the last keyframe
        waiting: list[_Frame] = []  # the frames since then
        last: _Frame | None = None
        for look in ahead(self._looks(frames), LOOK_AHEAD):  # the flow of the next frames meanwhile
            if last is None:
                new = self._keyframe(look.index, look.source, look.small, "first frame")
            else:
                new = self._next(look, last, key)
            if new.info.kind == "keyframe":
                if new.cut and waiting and waiting[-1].info.occluded_share > self.cut_occlusion_max:
                    end = waiting.pop()  # the shot's last frame: no keyframe after it could fill in what is new
                    end_key = self._keyframe(end.index, end.source, end.small, f"before the scene cut at {look.index}",
                                             occluded=end.info.occluded_share, residual=end.info.residual)
                    yield from self._release(key, waiting, end_key)
                    key, waiting = end_key, []
                yield from self._release(key, waiting, new)
                key, waiting = new, []
            else:
                waiting.append(new)
            last = new
        if waiting:  # the video ends between keyframes: its last frame becomes one
            end = waiting.pop()
            yield from self._release(key, waiting, self._keyframe(end.index, end.source, end.small, "last frame"))

    def _keyframe(self, index: int, source: np.ndarray, small: np.ndarray, reason: str, *, cut: bool = False,
                  occluded: float = 0.0, residual: float = 0.0) -> _Frame:
        ab_low = self.predict_ab(self._lightness(source)[np.newaxis])[0]
        self.network_calls += 1
        ab = cv2.resize(ab_low, small.shape[::-1], interpolation=cv2.INTER_LINEAR)
        info = FrameInfo(index, "keyframe", reason, occluded, residual)
        ab_and_lightness = cv2.merge([ab, cv2.LUT(small, self._L_of_gray)])  # warped as one
        return _Frame(index, source, small, info, ab=ab, ab_low=ab_low, ab_and_lightness=ab_and_lightness,
                      cut=cut)

    def _looks(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[_Look]:
        """Each frame as the propagator first sees it: gray, small, and its motion from the one before."""
        last: _Look | None = None
        for index, frame in frames:
            if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or frame.shape[2:] not in ((), (3,)):
                raise ValueError(f"Frame {index}: expected a (H, W, 3) or (H, W) uint8 image, "
                                 f"got {frame.shape} {frame.dtype}.")
            gray = to_gray(frame)
            # keep a truly gray frame (B = G = R, as decoded from a B&W video) as gray: a third of the memory
            source = gray if frame.ndim == 2 or _is_gray(frame, gray) else frame
            small = small_gray(gray, self.work_side)
            look = _Look(index, source, small, small_gray(small, CUT_THUMB_SIDE))  # thumbnail: made once, used twice
            if last is not None:
                if index != last.index + 1 or small.shape != last.small.shape:
                    raise ValueError(f"Frame {index} does not follow frame {last.index} at the same size: feed "
                                     "consecutive frames of one video (one run per video).")
                look.duplicate = cv2.absdiff(small, last.small).mean() < self.duplicate_diff
                if look.duplicate:
                    look.back = look.forward = (self._flow.identity(small.shape), np.ones(small.shape, np.float32))
                elif is_scene_cut(last.thumbnail, look.thumbnail):
                    look.cut = True
                else:
                    look.back, look.forward = self._flows(last.small, small)
            yield look
            last = look

    def _next(self, look: _Look, last: _Frame, key: _Frame) -> _Frame:
        """Make a keyframe of this frame, or carry the last keyframe's ab to it; link ``last`` to it."""
        index, source, small, duplicate = look.index, look.source, look.small, look.duplicate
        if look.cut:
            return self._keyframe(index, source, small, "scene cut", cut=True)
        back, last.to_next = look.back, look.forward
        if last is key:
            maps, trusted = back
        else:  # chained: keyframe <- last <- this frame
            maps, trusted = warp(last.maps, back[0]), (warp(last.trusted, back[0]) > 0.5) * back[1]
            last.maps = None  # no longer needed: less memory while frames wait
        occluded = float(1 - trusted.mean())
        carried = warp(key.ab_and_lightness, maps)  # one warp for both: the key's ab and, for the residual, its L
        residual = _residual(carried[..., 2] - cv2.LUT(small, self._L_of_gray), trusted)
        numbers = {"occluded": occluded, "residual": residual}
        if index % self.keyframe_interval == 0:
            return self._keyframe(index, source, small, f"every {self.keyframe_interval} frames", **numbers)
        if duplicate:  # its ab is the previous frame's: none of its own
            info = FrameInfo(index, "duplicate", f"same picture as frame {index - 1}", occluded, residual)
            return _Frame(index, source, small, info, maps=maps, trusted=trusted)
        if occluded > self.occlusion_max:
            return self._keyframe(index, source, small, f"occluded {occluded:.0%} > {self.occlusion_max:.0%}",
                                  **numbers)
        if residual > self.residual_max:
            return self._keyframe(index, source, small, f"L residual {residual:.2f} > {self.residual_max:g}",
                                  **numbers)
        info = FrameInfo(index, "propagated", "", occluded, residual)
        return _Frame(index, source, small, info, ab=carried[..., :2], maps=maps, trusted=trusted)

    def _flows(self, prev: np.ndarray, small: np.ndarray) -> tuple[Motion, Motion]:
        """Motion of ``small`` back into ``prev``, and of ``prev`` forward into ``small``."""
        back, forward = self._flow.both_ways(prev, small)
        return (back.maps, back.trusted.astype(np.float32)), (forward.maps, forward.trusted.astype(np.float32))

    def _release(self, key: _Frame | None, waiting: list[_Frame],
                 new: _Frame) -> Iterator[tuple[int, np.ndarray, FrameInfo]]:
        """Finish the frames between keyframes ``key`` and ``new``, then ``new``, and hand them out."""
        maps = trusted = None
        for f in reversed(waiting):  # backward pass: chain each frame's motion into ``new``
            if new.cut:
                f.info = dataclasses.replace(f.info, reason=f.info.reason or f"from frame {key.index} only: "
                                             f"a scene cut follows at {new.index}")
                continue
            step_maps, step_trusted = f.to_next
            maps = step_maps if maps is None else warp(maps, step_maps)
            trusted = step_trusted if trusted is None else (warp(trusted, step_maps) > 0.5) * step_trusted
            if f.ab is not None:  # not a duplicate
                f.ab = _blend(f.ab, (new.index - f.index) * (f.trusted + UNTRUSTED_WEIGHT),
                              warp(new.ab, maps), (f.index - key.index) * (trusted + UNTRUSTED_WEIGHT))
            f.info = dataclasses.replace(f.info, reason=f.info.reason or f"between frames {key.index} and {new.index}")
        ab = None if key is None else key.ab_low
        for f in waiting:
            ab = ab if f.info.kind == "duplicate" else f.ab
            yield f.index, self._finish(f.source, ab), f.info
        yield new.index, self._finish(new.source, new.ab_low, keyframe=True), new.info

    def _lightness(self, source: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``lightness`` of a ``_Frame.source``: 10x faster for gray, a table lookup (into ``out``)."""
        return cv2.LUT(source, self._L_of_gray, dst=out) if source.ndim == 2 else lightness(source)

    def _finish(self, source: np.ndarray, ab: np.ndarray, *, keyframe: bool = False) -> np.ndarray:
        """The output frame: the input's own full-resolution L with ``ab`` enlarged to its size.

        A keyframe goes through ``lab_to_bgr``, as in per-frame mode, so it comes out identical to
        it; the other frames turn 0..1 into 0..255 in one pass (rounded and clipped by OpenCV),
        1 ms a frame less than ``lab_to_bgr``'s four, where a value halfway between two levels
        may round the other way.
        """
        h, w = source.shape[:2]
        # the same arrays every frame (``helpers.common.reused``): new ones cost page faults, 10% of the time
        L = reused("keyframes.L", (h, w), np.float32)
        ab_full = reused("keyframes.ab", (h, w, 2), np.float32)
        lab = reused("keyframes.lab", (h, w, 3), np.float32)
        L = self._lightness(source, out=L)
        cv2.resize(ab, (w, h), dst=ab_full, interpolation=cv2.INTER_LINEAR)
        if keyframe:
            return lab_to_bgr(L, ab_full, scratch=lab)
        cv2.merge([L, ab_full], dst=lab)
        cv2.cvtColor(lab, cv2.COLOR_Lab2BGR, dst=lab)  # pixel by pixel: in place is safe
        return cv2.multiply(lab.reshape(h, -1), 255, dtype=cv2.CV_8U).reshape(h, w, 3)  # one channel: 255 for all


def _is_gray(frame_bgr: np.ndarray, gray: np.ndarray) -> bool:
    """Whether ``frame_bgr`` ``(H, W, 3)`` uint8 has B = G = R everywhere; ``gray`` is its ``to_gray``."""
    return cv2.norm(frame_bgr, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), cv2.NORM_INF) == 0


def _residual(error: np.ndarray, trusted: np.ndarray) -> float:
    """Mean absolute ``error`` ``(h, w)`` float32 where ``trusted`` ``(h, w)`` float32 is 1, after removing
    its mean there (exposure flicker); infinite where nothing is trusted.

    ``cv2.mean`` with a mask instead of picking the trusted pixels out first, 5x faster. (NumPy for the
    comparisons: OpenCV reads an array of one pixel beside a number as a 4 x 1 array.)
    """
    mask = (trusted > 0).view(np.uint8)
    if not mask.any():
        return float("inf")
    return cv2.mean(np.abs(error - np.float32(cv2.mean(error, mask)[0])), mask)[0]


def _blend(ab_1: np.ndarray, weight_1: np.ndarray, ab_2: np.ndarray, weight_2: np.ndarray) -> np.ndarray:
    """``(weight_1 ab_1 + weight_2 ab_2) / (weight_1 + weight_2)``: ab ``(h, w, 2)``, weights ``(h, w)``, float32.

    ``cv2.blendLinear`` does it in one pass (it adds 1e-5 to the sum of the weights, which are at
    least ``UNTRUSTED_WEIGHT``), 8x faster than the same in NumPy.
    """
    return cv2.blendLinear(ab_1, ab_2, weight_1, weight_2)
