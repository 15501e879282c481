"""One pass over part of a video: decode, colour, encode; the loop a run and a Dask worker share.

A ``Job`` is a run of consecutive segments (``helpers.video.segments``) to compute: frames
``first .. stop - 1`` of a video with one ``Recipe`` (the settings that change the colours).
``run_job`` decodes those frames (``helpers.media.decode.read_frames``, in a background thread),
colours each one (``colorize``, or fast mode's ``KeyframePropagator``), smooths them if asked
(``TemporalSmoother``) and hands them to x264 (``SegmentWriter``), which encodes in threads of
its own: no frame is written as an image and read back, and the cores work at once.

Each segment's frames are made as if the video began at the segment: fast mode starts at the
grid keyframe of the segment's first frame, smoothing starts ``SMOOTH_CONTEXT`` frames before
it, restoration (``helpers.restoration``) decodes ``RESTORE_CONTEXT`` frames more each side. So
a segment is the same whether it was computed alone, after its neighbour in one run, or by
another process: the results never depend on how the work was cut.

Introduced in notebook 03_video (why the tool works in segments).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..common.images import write_image
from ..lab.temperature import DEFAULT_TEMPERATURE
from ..media.decode import Frame, read_frames
from ..media.probe import DecodeError, probe_video
from ..model.net import set_temperature
from ..photo.colorize import colorize
from ..restoration.steps import RESTORE_CONTEXT, restored
from .flicker import TemporalSmoother
from .frames_folder import frame_path
from .keyframes import KeyframePropagator, feed_range, network_predictor
from .segments import SegmentWriter, segment_path

SMOOTH_CONTEXT = 8
"""Frames smoothed before a segment starts, then dropped: the smoother's memory of them fades to
0.6 ** 8 = 2 % (the default strength), so a segment smoothed afresh matches a whole-video run
within a gray level or two, and does not depend on the segment before it."""
OPEN_END = 2**62
"""A stop for "to the video's end": a ``Job`` whose segments never end (``colorize_frames`` writes frames,
not segments) or whose frames go on to the video's end."""


@dataclass(frozen=True)
class Recipe:
    """What changes the colourised frames (``helpers.video.frame_settings`` records it)."""

    mode: str = "exact"
    """``"exact"``: the network on every frame; ``"fast"``: on keyframes, optical flow between."""
    size: int = 224
    temperature: float = DEFAULT_TEMPERATURE
    keyframe_interval: int = 32
    deinterlace: str = "auto"
    smooth: float = 0.0
    """``TemporalSmoother`` strength; 0: no smoothing."""
    restore: tuple[str, ...] = ()
    """``helpers.restoration`` steps run on the gray frames before colouring (``RESTORE_STEPS``)."""


@dataclass(frozen=True)
class Job:
    """Frames ``first .. stop - 1`` of ``video`` (``stop`` None: to the video's end), cut into segments
    of ``segment_frames`` on the video's grid."""

    video: str
    first: int
    stop: int | None
    segment_frames: int
    recipe: Recipe
    b_frames: bool = True
    """False for variable-rate video (see ``helpers.media.encode.write_video``)."""

    def cell_of(self, index: int) -> range:
        """The segment of the job that holds frame ``index`` (its stop is a guess at the video's end)."""
        length = self.segment_frames
        grid = index - index % length
        return range(max(grid, self.first), min(grid + length, self.stop or OPEN_END))

    def feed(self) -> range:
        """The frames to colour: the job's frames, after the context its recipe needs before them
        (and in fast mode up to the keyframe after them)."""
        stop = self.stop or OPEN_END
        context = SMOOTH_CONTEXT if self.recipe.smooth else 0
        begin = max(0, self.first - context)
        if self.recipe.mode == "fast":
            return feed_range(begin, stop, OPEN_END, self.recipe.keyframe_interval)
        return range(begin, stop)

    def decoding(self) -> range:
        """The frames to decode: ``feed``, and the restoration's context each side of it."""
        feed = self.feed()
        if not self.recipe.restore:
            return feed
        return range(max(0, feed.start - RESTORE_CONTEXT), feed.stop if feed.stop >= OPEN_END else
                     feed.stop + RESTORE_CONTEXT)


@dataclass
class JobResult:
    """What ``run_job`` did."""

    segments: list[range] = field(default_factory=list)
    """The segments written, in order (the last may be short: the video ended there)."""
    network_passes: int = 0
    end: int | None = None
    """The video's true length, when it ended inside the job (decoded, not from the header)."""
    decode_error: tuple[str, int] | None = None
    """(message, index of the first frame that could not be decoded): the frames before it are kept."""
    decode_notes: list[str] = field(default_factory=list)
    last_frame: int | None = None
    """The last frame (0-based) that came through: where an interrupted job stopped."""
    beyond_end: bool = False
    """The video ends before the job's first frame (its true length is not known from this job)."""
    seek_fallback: bool = False
    """On a Dask worker: seeking disagreed with the frame table, so the job decoded from the start."""


def coloured_frames(job: Job, net, result: JobResult, *, times=None) -> Iterator[tuple[Frame, np.ndarray]]:
    """``(decoded frame, its colourisation (H, W, 3) uint8 BGR)`` for frames ``job.first .. job.stop - 1``.

    Decoding damage ends the stream early, as the video's end would, and goes to
    ``result.decode_error``; ``times`` (``media.decode.frame_times``) lets decoding start by seeking.
    """
    feed, decoding = job.feed(), job.decoding()
    count = None if decoding.stop >= OPEN_END else len(decoding)
    recipe = job.recipe
    seen = decoding.start

    def decoded() -> Iterator[Frame]:
        nonlocal seen
        try:
            for frame in read_frames(job.video, start=decoding.start, max_frames=count,
                                     deinterlace=recipe.deinterlace, notes=result.decode_notes, times=times):
                seen = frame.index + 1
                yield frame
        except DecodeError as exc:
            if times is not None:
                raise  # the caller decodes from the start instead: the same frames and message as one process
            result.decode_error = (str(exc), exc.index)

    set_temperature(net, recipe.temperature)
    source = decoded()
    if recipe.restore:  # restored with the context each side, then only the frames to colour go on
        source = (frame for frame in restored(source, recipe.restore) if feed.start <= frame.index < feed.stop)
    if recipe.mode == "fast":
        waiting: dict[int, Frame] = {}  # decoded frames until the propagator hands them out

        def kept(frames: Iterator[Frame]) -> Iterator[tuple[int, np.ndarray]]:
            for frame in frames:
                waiting[frame.index] = frame
                yield frame.index, frame.image

        propagator = KeyframePropagator(network_predictor(net, size=recipe.size),
                                        keyframe_interval=recipe.keyframe_interval)
        coloured = ((waiting.pop(index), img) for index, img, _ in propagator.run(kept(source)))
    else:
        propagator = None
        coloured = ((frame, colorize(frame.image, net, size=recipe.size)) for frame in source)
    stop = job.stop or OPEN_END
    if recipe.smooth:
        coloured = _smoothed(coloured, job, recipe.smooth)
    for frame, img in coloured:
        if propagator is None:
            result.network_passes += 1
        if job.first <= frame.index < stop:
            yield frame, img
    if propagator is not None:
        result.network_passes += propagator.network_calls
    if result.decode_error is not None:
        result.end = result.decode_error[1]
    elif seen == decoding.start > 0:
        result.beyond_end = True  # not one frame from decoding.start on: the video is shorter, by how much unknown
    elif count is None or seen < decoding.start + count:
        result.end = max(seen, job.first)  # the frames ended inside this job (or before it)


def _smoothed(coloured: Iterator[tuple[Frame, np.ndarray]], job: Job,
              strength: float) -> Iterator[tuple[Frame, np.ndarray]]:
    """Smooth the colour over time, afresh for each segment: a segment's smoother starts
    ``SMOOTH_CONTEXT`` frames before its first frame (or at the first frame fed) and serves it only."""
    smoothers: dict[int, TemporalSmoother] = {}  # segment start -> its smoother
    upcoming = job.first  # the first frame of the next segment whose smoother has not started
    for frame, img in coloured:
        while upcoming < (job.stop or OPEN_END) and frame.index >= upcoming - SMOOTH_CONTEXT:
            smoothers[upcoming] = TemporalSmoother(strength)
            upcoming = job.cell_of(upcoming).stop
        own = job.cell_of(frame.index).start if frame.index >= job.first else None
        for start in [s for s in smoothers if own is not None and s < own]:
            del smoothers[start]  # its segment is over
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        out = img
        for start, smoother in smoothers.items():
            smoothed = smoother(gray, img)
            out = smoothed if start == own else out
        yield frame, out


def run_job(job: Job, net, folder: Path, *, times=None, keep_frames: Path | None = None,
            on_frame: Callable[[int], None] | None = None,
            on_segment: Callable[[range], None] | None = None) -> JobResult:
    """Compute the segments of ``job`` into ``folder`` (see the module's docstring).

    Each segment gets its name only once complete; an interruption (Ctrl+C, a kill, an error)
    loses the segment in progress only. ``keep_frames``: a folder that also gets every frame as
    ``frame_000001.png`` (for retouching). ``on_frame(index)`` is called after each frame,
    ``on_segment(cell)`` after each segment that got its name.
    """
    info = probe_video(job.video)
    result = JobResult()
    writer = cell = None
    try:
        for frame, img in coloured_frames(job, net, result, times=times):
            if writer is None:
                cell = job.cell_of(frame.index)
                writer = SegmentWriter(segment_path(folder, cell), time_base=info.time_base, fps=info.fps,
                                       sample_aspect=info.shown_sample_aspect, b_frames=job.b_frames)
            writer.add(frame.pts, img)
            if keep_frames is not None:
                write_image(frame_path(keep_frames, frame.index + 1), img)
            result.last_frame = frame.index
            if frame.index == cell.stop - 1:
                writer.close()
                writer = None
                _finished(cell, result, on_segment)
            if on_frame is not None:
                on_frame(frame.index)
        if writer is not None:  # the video ended (or stopped at damage) inside this segment
            cell = range(cell.start, result.last_frame + 1)
            writer.close(segment_path(folder, cell))
            writer = None
            _finished(cell, result, on_segment)
    finally:
        if writer is not None:
            writer.abort()
    return result


def _finished(cell: range, result: JobResult, on_segment: Callable[[range], None] | None) -> None:
    result.segments.append(cell)
    if on_segment is not None:
        on_segment(cell)
