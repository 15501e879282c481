"""Video frames decoded with PyAV: each with its presentation time, deinterlaced, from any frame on (notebook 03_video).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import av.logging
import cv2
import numpy as np

from ..common.background import ahead
from .av_compat import fraction
from .probe import DEINTERLACE, DecodeError, FFmpegErrors, SeekError, VideoInfo, decoded_frames, open_video, probe_video

SEEK_MARGIN = 4
"""Frames decoded (and dropped) before the first wanted one when starting by seeking: the
deinterlacer looks at the frames around each one, so they must be there as in a whole run."""


class _LandedLateError(Exception):
    """Seeking landed after the frames needed before the range."""


class Frame(NamedTuple):
    """One decoded frame."""

    index: int
    """0 for the video's first frame, in display order."""
    pts: int
    """Presentation time in units of the video's ``time_base``."""
    time: float
    """Presentation time in seconds."""
    image: np.ndarray
    """``(H, W, 3)`` uint8 BGR, upright (rotation applied), deinterlaced if asked."""


class _Deinterlacer:
    """FFmpeg's ``bwdif`` filter (yadif's successor): each interlaced frame becomes a full frame."""

    def __init__(self, stream, every_frame: bool) -> None:
        self.graph = av.filter.Graph()
        source = self.graph.add_buffer(template=stream)
        name = "bwdif" if "bwdif" in av.filter.filters_available else "yadif"
        # send_frame: one frame out per frame in (the rate stays); deint: which frames to touch
        deint = self.graph.add(name, f"mode=send_frame:parity=auto:deint={'all' if every_frame else 'interlaced'}")
        sink = self.graph.add("buffersink")
        source.link_to(deint)
        deint.link_to(sink)
        self.graph.configure()

    def __call__(self, frame: av.VideoFrame | None) -> Iterator[av.VideoFrame]:
        """Push a frame (None at the end) and yield what comes out."""
        self.graph.push(frame)
        while True:
            try:
                yield self.graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return


def _frames(path: Path, deinterlace: str, notes: list[str],
            seek: tuple[int, dict[int, int]] | None = None) -> Iterator[tuple[av.VideoFrame, Fraction, int]]:
    """(frame, its time base, index) in display order, deinterlaced if asked.

    Errors FFmpeg logs but steps over go to ``notes``; errors after the last frame (a
    truncated file: "File ended prematurely") raise ``DecodeError``. ``seek``: (a time to
    seek to, {frame time: index} from ``frame_times``): start at the keyframe before that
    time; the first frame's time gives its index (``SeekError`` if it is not in the table).
    """
    with open_video(path) as container, FFmpegErrors() as errors:
        stream = container.streams.video[0]
        # FFmpeg's default slice threading, not "AUTO" (frame threading): with frame threads a damaged
        # packet is only logged, and decoding a frame takes ~1/100 of the network's time anyway
        time_base = fraction(stream.time_base)
        index = 0
        filter_ = None
        if seek is not None:
            container.seek(seek[0], stream=stream, backward=True, any_frame=False)

        def out_of(frame: av.VideoFrame | None):
            nonlocal index, seek
            for out in filter_(frame) if filter_ else (() if frame is None else (frame,)):
                out_base = fraction(out.time_base) or time_base
                if seek is not None:  # the first frame after seeking: which one is it?
                    pts = None if out.pts is None else round(out.pts * out_base / time_base)
                    if pts not in seek[1]:
                        raise SeekError(f"seeking in {path.name} gave a frame at {pts} that frame_times does not "
                                        "list")
                    index, seek = seek[1][pts], None
                yield out, out_base, index
                index += 1

        try:
            for frame in decoded_frames(container, stream, path, errors):
                if filter_ is None and (deinterlace == "on" or (deinterlace == "auto" and frame.interlaced_frame)):
                    filter_ = _Deinterlacer(stream, every_frame=deinterlace == "on")
                messages = errors.new()
                if index > 0:  # before the first picture: frames before the first keyframe, nothing lost
                    notes.extend(f"near frame {index + 1}: {m}" for m in messages)
                yield from out_of(frame)
        except DecodeError as exc:
            yield from out_of(None)  # what the filter still holds came before the damage
            raise DecodeError(str(exc), index) from None
        yield from out_of(None)
        late = errors.new()
        if late:
            raise DecodeError(f"{path.name} ends early, after frame {index} (truncated or damaged): "
                              f"{'; '.join(late[:3])}", index)


_BT601 = {2, 5, 6}  # FFmpeg's colour spaces: unspecified, BT.470BG, SMPTE 170M


def _to_bgr(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """``(height, width, 3)`` uint8 BGR: the first frame's size for all (a few broadcasts change size part way).

    The common case (8-bit 4:2:0, BT.601, limited range) is converted by OpenCV, about twice
    as fast as FFmpeg's swscale; everything else (10-bit, full range, BT.709...) by swscale.
    """
    if (frame.format.name == "yuv420p" and frame.colorspace in _BT601 and frame.color_range != 2
            and (frame.width, frame.height) == (width, height)):
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24", width=width, height=height)


def frame_times(video: str | os.PathLike | VideoInfo) -> list[int] | None:
    """Every frame's ``pts`` in display order, read from the packets without decoding (seconds per hour
    of video): the table that lets ``read_frames(times=...)`` start part way by seeking.

    ``None`` when the packets cannot serve: a time missing or repeated, or damage. The table is
    a guess until decoding confirms it, which ``read_frames`` does frame by frame.
    """
    info = probe_video(video)
    try:
        with open_video(info.path) as container, FFmpegErrors():
            stream = container.streams.video[0]
            pts = [packet.pts for packet in container.demux(stream) if packet.size]
    except av.FFmpegError:
        return None
    if not pts or None in pts or len(set(pts)) != len(pts):
        return None
    return sorted(pts)


def read_frames(video: str | os.PathLike | VideoInfo, *, start: int = 0, max_frames: int | None = None,
                deinterlace: str = "auto", buffer: int = 8, notes: list[str] | None = None,
                times: Sequence[int] | None = None) -> Iterator[Frame]:
    """Yield the frames of a video, decoded ahead by a background thread.

    Parameters
    ----------
    video : path or VideoInfo
    start, max_frames : int
        Only frames ``start .. start + max_frames - 1`` (0 = the first frame). Frames before
        ``start`` are decoded (exact, unlike seeking) but not converted.
    deinterlace : {"auto", "on", "off"}
        ``auto`` deinterlaces the frames the video marks as interlaced (``bwdif``).
    buffer : int
        At most this many decoded frames wait in memory, whatever the video's length.
    notes : list, optional
        Receives FFmpeg's messages about damage it stepped over (the frames may show it).
    times : sequence of int, optional
        Every frame's ``pts``, from ``frame_times``: start near ``start`` by seeking rather than
        decoding every frame before it (a worker's range of a long film). The frames are the
        same as without: each one's time is checked against ``times``, and ``SeekError`` says
        when they disagree (then read without ``times``).

    Yields
    ------
    Frame
        ``(index, pts, time, image)``; ``image`` ``(H, W, 3)`` uint8 BGR, upright.

    Raises
    ------
    DecodeError
        After the last good frame, when the file is damaged or truncated; ``index`` says where.
    SeekError
        With ``times`` only: the video is not where the table says.
    """
    if deinterlace not in DEINTERLACE:
        raise ValueError(f"deinterlace must be one of {', '.join(DEINTERLACE)}, got {deinterlace!r}.")
    info = probe_video(video)
    rotate = {0: None, 90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180,
              270: cv2.ROTATE_90_CLOCKWISE}.get(info.rotation)
    width, height = (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height)
    stop_at = math.inf if max_frames is None else start + max_frames

    position = {pts: i for i, pts in enumerate(times)} if times is not None else {}

    def upright() -> Iterator[Frame]:
        back = 0  # seeking can land after the time asked for (MPEG-TS): then ask for an earlier one
        while True:
            first = start - SEEK_MARGIN - back
            try:
                # past the table's end (a truncated file, a header that overstates): decode from the start
                seekable = times is not None and 0 < first < len(times)
                yield from upright_from((times[first], position) if seekable else None)
                return
            except _LandedLateError:
                back = 4 * back or 16

    def upright_from(seek: tuple[int, dict[int, int]] | None) -> Iterator[Frame]:
        last_pts = None
        decoded = _frames(info.path, deinterlace, notes if notes is not None else [], seek)
        try:
            for frame, time_base, index in decoded:
                if index >= stop_at:
                    break
                pts = frame.pts if frame.pts is not None else frame.dts
                pts = round(pts * time_base / info.time_base) if pts is not None else None
                if seek is not None and last_pts is None and index > start - SEEK_MARGIN:
                    raise _LandedLateError
                if seek is not None and index < len(times) and pts != times[index]:
                    raise SeekError(f"after seeking in {info.path.name}, frame {index + 1} is at {pts}, not at "
                                    f"{times[index]} as frame_times says")
                if pts is None or (last_pts is not None and pts <= last_pts):  # missing or repeated timestamps
                    pts = 0 if last_pts is None else last_pts + max(1, round(1 / (info.fps * info.time_base)))
                last_pts = pts
                if index < start:
                    continue
                image = _to_bgr(frame, width, height)
                if rotate is not None:
                    image = cv2.rotate(image, rotate)
                yield Frame(index, pts, float(pts * info.time_base), image)
        finally:
            decoded.close()

    yield from ahead(upright(), buffer)
