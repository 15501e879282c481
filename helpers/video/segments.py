"""Segments: a colourised video kept as short H.264 files, so a run resumes and a film fits on disk.

``colorize_video`` (``helpers.video``) cuts a video into segments of a few seconds on a fixed
grid (``segment_cells``): frames 1-100, 101-200... Each segment is encoded on its own, as
``segment_000101-000200.mp4`` in the frames folder, and gets that name only when it is
complete (``SegmentWriter``: a temporary name, then a rename). A killed run loses at most the
segment it was encoding; the next run checks the segments it finds (``read_segment``: decoded,
frame count and times) and computes only the missing ones. At the end ``join_segments`` copies
their packets, unchanged, into one video with the source's sound, and checks the result.

Why this works:

* Every segment starts with an IDR frame (a fresh encoder), so it decodes on its own and the
  joined stream decodes exactly as its segments do: nothing is encoded twice.
* x264 is deterministic for fixed settings (``X264_OPTIONS``, threads included, and MB-tree off:
  ``helpers.media.encode.X264_PARAMS``), and a segment's frames do not depend on who computed it or
  on what was computed before (the grid is fixed, fast mode, smoothing and restoration start
  afresh at each segment), so a run in one go, a rerun after kills and a Dask cluster all give
  the same bytes.
* ``stitchable=1`` keeps x264's stream headers the same in every segment, so one header serves
  the joined video.
* Disk: an H.264 segment of 640 x 480 is about 1/50 of the same frames as PNG.

A segment's frames keep their source timestamps: the file counts them from 0 (so the segment
plays on its own) and its metadata holds the source time of its first frame.

Introduced in notebook 03_video (why the tool works in segments).
"""

from __future__ import annotations

import math
import os
import re
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..common.files import atomic_path, new_part
from ..media.av_compat import fraction
from ..media.encode import add_h264_stream, even_sides, frame_durations, output_format, yuv_frame
from ..media.probe import DEFAULT_FPS, VideoError, open_video
from ..media.sound import Soundtrack, Written
from ..media.video_check import Reassembly, check_video

SEGMENT_SECONDS = 4
"""A segment is about this long: a kill loses at most that much work, and a 10-second clip still
spreads over a few Dask workers. (Each segment starts with an IDR frame, about 1 % more bytes.)"""
SEGMENT_PATTERN = "segment_{:06d}-{:06d}.mp4"
"""Its first and last frame numbers (1 = the video's first frame): sorted listings are in order."""
_SEGMENT_NAME = re.compile(r"segment_(\d{6,})-(\d{6,})\.mp4")
X264_THREADS = 4
"""x264's frame threads, fixed: its output depends on the thread count, and must not depend on the
machine (a cluster of unlike machines gives the same segments)."""
X264_OPTIONS = {"x264-params": "stitchable=1"}
"""x264's settings for every segment, on top of ``helpers.media.encode.add_h264_stream``'s (CRF, preset)."""
ENCODE_AHEAD = 3
"""Frames waiting for the encoder thread at most: enough to smooth out x264's uneven pace."""
FIRST_PTS = "colorize_first_pts"
"""Metadata key of a segment: the source timestamp of its first frame."""
TIME_BASE = "colorize_time_base"
"""Metadata key of a segment: the unit of the source's timestamps."""


# --------------------------------------------------------------------------- the grid
def segment_length(fps: float, keyframe_interval: int | None = None) -> int:
    """Frames per segment: about ``SEGMENT_SECONDS``, in whole keyframe intervals for fast mode (so a
    segment starts on a grid keyframe and needs nothing from the segment before it).

    Example: ``segment_length(25.0)`` is 100; ``segment_length(25.0, 32)`` is 96.
    """
    frames = max(1, round(SEGMENT_SECONDS * (fps if fps > 0 and math.isfinite(fps) else DEFAULT_FPS)))
    if keyframe_interval:
        frames = keyframe_interval * max(1, round(frames / keyframe_interval))
    return frames


def segment_cells(start: int, stop: int, length: int) -> list[range]:
    """The grid's cells (frames ``n * length .. (n + 1) * length - 1``) that cover ``start .. stop - 1``,
    clipped to it: a preview of a few frames gets segments of its own.

    Example: ``segment_cells(150, 320, 100)`` is ``[range(150, 200), range(200, 300), range(300, 320)]``.
    """
    cells, cell = [], start - start % length
    while cell < stop:
        cells.append(range(max(cell, start), min(cell + length, stop)))
        cell += length
    return cells


def segment_path(folder: str | os.PathLike, cell: range) -> Path:
    """Where the segment of frames ``cell`` (0-based indexes) is kept."""
    return Path(folder) / SEGMENT_PATTERN.format(cell.start + 1, cell.stop)


def segment_cell(path: str | os.PathLike) -> range | None:
    """The frames (0-based) a segment's name says it holds; None for another name."""
    match = _SEGMENT_NAME.fullmatch(Path(path).name)
    return range(int(match[1]) - 1, int(match[2])) if match and 0 < int(match[1]) <= int(match[2]) else None


def segment_files(folder: str | os.PathLike) -> dict[range, Path]:
    """The segment files in ``folder``, by the frames their names say they hold (not yet checked)."""
    return {cell: path for path in Path(folder).glob("segment_*.mp4") if (cell := segment_cell(path))}


@dataclass(frozen=True)
class Plan:
    """Which segments a run reuses and which it computes (``plan_segments``)."""

    reuse: list[range]
    compute: list[range]
    """Segments to compute, in order; with ``open_end`` the last one goes on to the video's end."""
    open_end: bool


def plan_segments(start: int, stop: float, length: int, present: Iterable[range], *,
                  frame_count: int | None = None, known: int = 0) -> Plan:
    """What to do for frames ``start .. stop - 1`` (``stop`` may be ``math.inf``: to the video's end),
    given the segments ``present`` in the folder (checked). A pure decision, so it is tested alone.

    ``frame_count``: the video's true length, once a run has decoded to its end; a segment shorter
    than its grid cell is reused only when it ends there (or at a finite ``stop``). ``known``: a
    guess at the length (frame table or header) to cut the rest into segments; the last one is
    computed to the video's end.

    Example: ``plan_segments(0, math.inf, 100, [range(0, 100)], known=250)`` reuses
    ``range(0, 100)``, computes ``range(100, 200)`` and ``range(200, 250)``, with ``open_end``.
    """
    present = set(present)
    if frame_count is not None:
        stop = min(stop, frame_count)
    open_end = not math.isfinite(stop)
    end = int(stop) if not open_end else max([known, start + 1, *(c.stop for c in present)])
    reuse, compute = [], []
    for cell in segment_cells(start, end, length):
        # a cell cut short by a guess at the length is not the video's end: another run may have
        # stopped there (a preview); computed to the video's end, so a segment never depends on history
        certain = cell.stop % length == 0 or not open_end
        (reuse if cell in present and certain else compute).append(cell)
    if open_end and (not compute or compute[-1].stop < end):
        compute.append(range(end, end + length))  # does the video go on after the last segment?
    return Plan(reuse, compute, open_end)


# --------------------------------------------------------------------------- writing
class SegmentWriter:
    """Encode the frames of one segment into ``path``, which appears only once it is complete.

    ``add(pts, img_bgr)`` for each frame in order (``pts`` in the source's ``time_base``), then
    ``close()``; leaving a ``with`` block by an exception leaves no file. Frames are converted
    and handed to x264 in a background thread (``ENCODE_AHEAD`` at most waiting), and x264
    encodes in threads of its own (``X264_THREADS``), while Python colours the next frame.
    Do not change an image after handing it over.
    """

    def __init__(self, path: Path, *, time_base: Fraction, fps: float, sample_aspect: Fraction = Fraction(1),
                 b_frames: bool = True) -> None:
        self.path, self.time_base, self.fps = Path(path), time_base, fps
        self.sample_aspect, self.b_frames = sample_aspect, b_frames
        self.frames = 0
        self._tmp = new_part(self.path)
        self._output = av.open(str(self._tmp), "w", format="mp4", options={"movflags": "+use_metadata_tags"})
        self._stream = None
        self._first_pts = self._last_pts = None
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="x264")
        self._waiting: deque[Future] = deque()

    def add(self, pts: int, img_bgr: np.ndarray) -> None:
        """Encode one frame shown at ``pts`` (``(H, W, 3)`` uint8 BGR; odd sizes get a repeated edge)."""
        if self._stream is None:
            width, height = img_bgr.shape[1] + img_bgr.shape[1] % 2, img_bgr.shape[0] + img_bgr.shape[0] % 2
            self._stream = add_h264_stream(self._output, width, height, fps=self.fps, time_base=self.time_base,
                                           sample_aspect=self.sample_aspect, b_frames=self.b_frames,
                                           options=X264_OPTIONS, threads=X264_THREADS)
            self._first_pts = pts
            self._output.metadata.update({FIRST_PTS: str(pts), TIME_BASE: str(self.time_base)})
        if self._last_pts is not None and pts <= self._last_pts:
            raise VideoError(f"Frame times must increase: {pts} after {self._last_pts}.")
        self._waiting.append(self._encoder.submit(self._encode, pts - self._first_pts, img_bgr))
        while len(self._waiting) > ENCODE_AHEAD:
            self._waiting.popleft().result()  # an encoder error surfaces here
        self._last_pts = pts
        self.frames += 1

    def _encode(self, pts: int, img_bgr: np.ndarray) -> None:
        self._mux(self._stream.encode(yuv_frame(even_sides(img_bgr), pts, self.time_base)))

    def _mux(self, packets) -> None:
        for packet in packets:
            packet.duration = 0  # lengths are the joined video's business (join_segments sets them)
            self._output.mux(packet)

    def close(self, path: Path | None = None) -> Path:
        """Finish the file and give it its name: ``path`` if given (a segment cut short by the video's end)."""
        if self._stream is None:
            self.abort()
            raise VideoError("No frames to write.")
        try:
            while self._waiting:
                self._waiting.popleft().result()
            self._encoder.shutdown()
            self._mux(self._stream.encode(None))
            self._output.close()
            self.path = Path(path or self.path)
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Stop without a file: the temporary one is deleted."""
        for waiting in self._waiting:
            waiting.cancel()
        self._encoder.shutdown(wait=True)
        try:
            self._output.close()
        except (av.FFmpegError, ValueError, OSError):
            pass
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> SegmentWriter:
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is not None:
            self.abort()


# --------------------------------------------------------------------------- reading and checking
@dataclass(frozen=True)
class Segment:
    """A segment file, checked: which frames it holds and when each is shown."""

    path: Path
    cell: range
    """Its frames (0-based indexes in the video)."""
    pts: list[int]
    """Each frame's source timestamp, in the source's time base, in display order."""
    time_base: Fraction


def read_segment(path: str | os.PathLike, cell: range | None = None, *, decode: bool = True) -> Segment:
    """Open a segment file and check it: the frame count its name says, increasing times, and (with
    ``decode``) that every frame decodes. ``cell`` defaults to the frames its name says.

    Raises
    ------
    VideoError
        Damaged, truncated, or not what its name says: the caller computes it again.
    """
    path = Path(path)
    cell = cell if cell is not None else segment_cell(path)
    if cell is None:
        raise VideoError(f"{path.name} is not named like a segment ({SEGMENT_PATTERN}).")
    try:
        with open_video(path) as container:
            stream = container.streams.video[0]
            first = int(container.metadata[FIRST_PTS])
            time_base = Fraction(container.metadata[TIME_BASE])
            own_base = fraction(stream.time_base)
            if decode:
                times = [frame.pts for frame in container.decode(stream)]
            else:
                times = sorted(packet.pts for packet in container.demux(stream) if packet.size)
    except (KeyError, ValueError, ZeroDivisionError, av.FFmpegError) as exc:
        raise VideoError(f"{path.name} is damaged ({exc}).") from None
    if len(times) != len(cell) or None in times or any(b <= a for a, b in zip(times, times[1:])):
        raise VideoError(f"{path.name} holds {len(times)} frames with good times, its name says {len(cell)}.")
    return Segment(path, cell, [first + round(t * own_base / time_base) for t in times], time_base)


# --------------------------------------------------------------------------- joining
def join_segments(segments: Iterable[Segment], out_path: str | os.PathLike, *, fps: float,
                  audio_from: str | os.PathLike | None = None) -> Reassembly:
    """Copy the segments' packets, unchanged, into one video at ``out_path``, with every sound stream
    of ``audio_from`` (``helpers.media.sound``), then check it (``helpers.media.video_check``) before it gets its
    name. Times start at 0 with the first segment's first frame.

    ``segments`` must follow each other without a gap. ``out_path``'s suffix picks the container
    (``.mp4``, ``.mkv``, ``.mov``). ``fps``: the source's rate (for a single frame's length).
    """
    segments = list(segments)
    if not segments:
        raise VideoError("No frames to write.")
    for a, b in zip(segments, segments[1:]):
        if a.cell.stop != b.cell.start:
            raise VideoError(f"Frames {a.cell.stop + 1} to {b.cell.start} are missing between {a.path.name} and "
                             f"{b.path.name}: run the colourisation again to fill them in.")
    out_path = Path(out_path)
    fmt = output_format(out_path)
    time_base = segments[0].time_base
    pts = [p for segment in segments for p in segment.pts]
    zero = pts[0]
    durations = dict(zip(pts, frame_durations(pts, fps, time_base)))
    span = pts[-1] + durations[pts[-1]] - zero
    start, end = float(zero * time_base), float((zero + span) * time_base)
    options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
    written = Written()
    with atomic_path(out_path) as tmp:
        with av.open(str(tmp), "w", format=fmt, options=options) as output:
            stream = sound = None
            for segment in segments:
                with open_video(segment.path) as source:
                    video = source.streams.video[0]
                    if stream is None:
                        stream = output.add_stream_from_template(video)
                        stream.time_base = time_base
                        if audio_from is not None:
                            sound = Soundtrack(Path(audio_from), output, start, end)
                    own_base = fraction(video.time_base)
                    shift = segment.pts[0] - zero
                    for packet in source.demux(video):
                        if not packet.size:
                            continue
                        packet.pts = round(packet.pts * own_base / time_base) + shift
                        packet.dts = round(packet.dts * own_base / time_base) + shift
                        packet.duration = durations.get(packet.pts + zero, 0)
                        packet.time_base, packet.stream = time_base, stream
                        output.mux(packet)
                        if sound is not None:
                            sound.until(start + float(packet.pts * time_base), output)
            if sound is not None:
                written = sound.finish(output, end)
        times = [float((p - zero) * time_base) for p in pts]
        check = check_video(tmp, times, float(span * time_base), written.audio_ends, name=out_path.name)
    if audio_from is not None and not written.audio_ends and not written.notes:
        written.notes.append("the source has no sound")
    return Reassembly(out_path, len(pts), float(span * time_base), check, written.notes)
