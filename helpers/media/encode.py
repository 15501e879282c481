"""Video written with PyAV: H.264 frames at their source's times, then muxed (notebook 03_video).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import av.logging
import cv2
import numpy as np

from .probe import VideoError
from .sound import Soundtrack, Written

CONTAINERS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov"}
"""Output suffixes and their FFmpeg formats. MP4 plays in browsers; MKV holds any sound codec."""


CRF = 20
"""x264 quality (lower: bigger files; 23 is x264's default). With MB-tree off (``X264_PARAMS``), 20
gives what 18 gives with it, close to visually lossless: on the sample clip with smooth colour,
415 kB and 40.7 dB PSNR against 383 kB and 40.9 dB."""


X264_PARAMS = "mbtree=0"
"""x264's MB-tree off: with it, x264's vector code reads a few bytes of memory it never set, so now
and then two encodes of the same frames differ, by up to 13 levels in a few frames of a tiny clip.
Without it the same frames always give the same bytes: a resumed run, a Dask cluster and a
rerun make identical segments, and a test can compare them exactly."""


PRESET = "veryfast"
"""x264 speed: about twice as fast as the default "medium" at a similar size on 640 x 480 frames."""


# --------------------------------------------------------------------------- writing
def frame_durations(pts: Sequence[int], fps: float, time_base: Fraction) -> list[int]:
    """How long each frame is shown: until the next one; the last one as long as the one before it
    (or ``1 / fps`` for a single frame).

    Example: ``frame_durations([0, 2, 3], 25, Fraction(1, 50))`` is ``[2, 1, 1]``.
    """
    steps = [b - a for a, b in zip(pts, pts[1:])]
    return steps + [steps[-1] if steps else max(1, round(1 / (fps * time_base)))]


def output_format(path: str | os.PathLike) -> str:
    """FFmpeg's format name for an output path; VideoError for a suffix with no known container."""
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        raise VideoError(f"Cannot write a video named {Path(path).name}: use one of "
                         f"{', '.join(CONTAINERS)} (.mp4 plays in browsers; .mkv keeps any sound as it is).")
    return CONTAINERS[suffix]


def even_sides(img: np.ndarray) -> np.ndarray:
    """Pad to even width and height by repeating the last row/column: yuv420p needs even sizes."""
    h, w = img.shape[:2]
    return cv2.copyMakeBorder(img, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE) if (h % 2 or w % 2) else img


def add_h264_stream(output, width: int, height: int, *, fps: float, time_base: Fraction,
                    sample_aspect: Fraction = Fraction(1), b_frames: bool = True, options: dict | None = None,
                    threads: int | None = None):
    """An H.264 stream in ``output`` (a PyAV output container) for ``yuv_frame``s of ``width`` x ``height``
    (even), with this project's x264 settings (``CRF``, ``PRESET``, ``X264_PARAMS``, and ``options`` on
    top, their ``x264-params`` added to ``X264_PARAMS``); ``threads``:
    x264's thread count, None for its own choice (it depends on the machine)."""
    options = dict(options or {})
    params = ":".join(p for p in (X264_PARAMS, options.pop("x264-params", "")) if p)
    stream = output.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001),
                               options={"crf": str(CRF), "preset": PRESET, **({} if b_frames else {"bf": "0"}),
                                        **options, "x264-params": params})
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p"
    # x264's frame threads, as the ffmpeg program uses: PyAV's default (slices) is 15 % slower
    stream.thread_type = "FRAME"
    if threads is not None:
        stream.codec_context.thread_count = threads
    stream.time_base = stream.codec_context.time_base = time_base
    stream.codec_context.sample_aspect_ratio = sample_aspect
    # the frames are converted with the BT.601 matrix, limited range: say so, or players
    # guess BT.709 for HD and shift the colours
    ctx = stream.codec_context
    ctx.colorspace = ctx.color_primaries = ctx.color_trc = 6  # SMPTE 170M = BT.601 (525 lines)
    ctx.color_range = 1  # limited ("TV") range
    return stream


def yuv_frame(img_bgr: np.ndarray, pts: int, time_base: Fraction) -> av.VideoFrame:
    """``(H, W, 3)`` uint8 BGR (even H and W) as a ``yuv420p`` frame shown at ``pts`` (units of ``time_base``)."""
    # OpenCV's BGR -> YUV 4:2:0 (BT.601, limited range) is several times faster than FFmpeg's swscale
    frame = av.VideoFrame.from_ndarray(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
    frame.pts, frame.time_base = pts, time_base
    return frame


def write_video(
    path: str | os.PathLike,
    frames: Iterable[tuple[int, int, np.ndarray]],
    *,
    time_base: Fraction,
    fps: float,
    sample_aspect: Fraction = Fraction(1),
    audio_from: str | os.PathLike | None = None,
    audio_start: float = 0.0,
    audio_end: float | None = None,
    container: str | None = None,
    variable_rate: bool = False,
) -> Written:
    """Encode frames as H.264 at the given times, with the sound of ``audio_from``.

    Parameters
    ----------
    path : path
        The file to write; its suffix picks the container (``CONTAINERS``). Written in place:
        write to a temporary name and rename (``helpers.common.files.atomic_path``) for safety.
    frames : iterable of (pts, duration, img_bgr)
        ``pts`` and ``duration`` in units of ``time_base``, counted from the output's start
        (the first frame's ``pts`` is normally 0); ``img_bgr`` ``(H, W, 3)`` uint8, all one size.
    time_base : Fraction
        Unit of the timestamps: the source's, so frame times are kept exactly.
    fps : float
        Average rate, a hint for the encoder's rate control.
    sample_aspect : Fraction
        Pixel shape, kept from the source so players show the right aspect.
    audio_from : path, optional
        The source video: each of its sound streams is copied (when the container can hold
        its codec) or re-encoded to AAC.
    audio_start, audio_end : float
        Seconds of the source's sound that go with the frames (``audio_end``: the picture's end).
    container : str, optional
        FFmpeg's format name; by default from ``path``'s suffix (``output_format``).
    variable_rate : bool
        The frames are not evenly spaced: encode without B-frames (see Notes).

    Returns
    -------
    Written
        Notes on the sound for people (streams re-encoded, streams that could not be kept)
        and where each sound stream ends, for ``helpers.media.video_check.check_video``.

    Notes
    -----
    ``yuv420p`` (what browsers decode) needs even width and height, so odd frames get one
    repeated row or column. ``movflags=+faststart`` puts the MP4 index first, so playback in a
    browser starts before the download ends. See ``CRF`` and ``PRESET`` for the x264 settings.
    MP4 stores how long each frame lasts in decoding order; with B-frames (stored out of
    display order) and uneven frame times, the last frame's length comes out wrong, so
    variable-rate video is encoded without them (about 10 % larger).
    """
    fmt = container or output_format(path)
    options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
    written = Written()  # no sound asked for
    with av.open(str(path), "w", format=fmt, options=options) as output:
        stream = None
        audio = None
        durations: dict[int, int] = {}
        end_pts = 0
        for pts, duration, img_bgr in frames:
            img_bgr = even_sides(img_bgr)
            if stream is None:
                stream = add_h264_stream(output, img_bgr.shape[1], img_bgr.shape[0], fps=fps, time_base=time_base,
                                         sample_aspect=sample_aspect, b_frames=not variable_rate)
                if audio_from is not None:
                    audio = Soundtrack(Path(audio_from), output, audio_start,
                                       math.inf if audio_end is None else audio_end)
            frame = yuv_frame(img_bgr, pts, time_base)
            durations[pts] = duration
            end_pts = pts + duration
            _mux_video(output, stream, stream.encode(frame), durations)
            if audio is not None:
                audio.until(audio_start + float(pts * time_base), output)
        if stream is None:
            raise VideoError("No frames to write.")
        _mux_video(output, stream, stream.encode(None), durations)
        if audio is not None:
            written = audio.finish(output, audio_start + float(end_pts * time_base) if audio_end is None else audio_end)
    return written


def _mux_video(output, stream, packets, durations: dict[int, int]) -> None:
    for packet in packets:
        packet.duration = durations.pop(packet.pts, packet.duration)
        output.mux(packet)
