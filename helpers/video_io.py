"""Video files in and out with PyAV: FFmpeg's own libraries, inside Python.

Why not ``cv2.VideoCapture``? On the files people really have it goes wrong quietly: its frame
count is the file's duration x frame rate (and the duration includes the sound), it hides each
frame's timestamp (variable-rate phone video loses sync), and it decodes interlaced tape
captures to black frames. PyAV gives every frame with its presentation time, reports damage as
an error, deinterlaces through FFmpeg's filters, and writes H.264 with the original sound.

* ``probe_video`` tells what a video is: size, rotation, interlacing, frame rates, sound streams.
* ``read_frames`` decodes frames in a background thread: ``Frame(index, pts, time, image)``.
  With ``frame_times`` it starts part way by seeking, checking every frame's time: what
  ``helpers.cluster`` workers do with their range of a long film.
* ``write_video`` encodes frames at the times you give (so variable rate stays variable) and
  adds the source's sound (``helpers.sound``); ``helpers.video_check`` checks the result.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import av.logging
import cv2
import numpy as np

from .av_compat import field_order, fraction, open_input
from .background import ahead
from .sound import Soundtrack, Written

DEFAULT_FPS = 25.0
"""Used when a video's frame rate is missing or nonsense (0 or NaN): the PAL film/TV rate."""
DEINTERLACE = ("auto", "on", "off")
"""``auto``: deinterlace when the video says it is interlaced; ``on``: every frame; ``off``: never."""
CONTAINERS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov"}
"""Output suffixes and their FFmpeg formats. MP4 plays in browsers; MKV holds any sound codec."""
SEEK_MARGIN = 4
"""Frames decoded (and dropped) before the first wanted one when starting by seeking: the
deinterlacer looks at the frames around each one, so they must be there as in a whole run."""
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


class VideoError(ValueError):
    """A video that cannot be read, or frames that do not make a video."""


class SeekError(VideoError):
    """Seeking did not land where ``frame_times`` said: decode from the first frame instead."""


class _LandedLateError(Exception):
    """Seeking landed after the frames needed before the range."""


class DecodeError(VideoError):
    """Decoding stopped part way; ``index`` is the number of frames decoded before it (0-based index of the
    first frame that could not be read)."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class AudioInfo:
    """One sound stream of a video."""

    index: int
    """The stream's number in the file (as ffprobe counts them)."""
    codec: str
    sample_rate: int
    channels: int
    duration: float | None
    """Seconds, as the file says (an estimate), or None if it does not say."""


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe_video`` finds out about a video file."""

    path: Path
    width: int
    """Width and height as the video is shown: after its rotation."""
    height: int
    fps: float
    """Average frame rate (frames / duration)."""
    base_fps: float
    """The rate the timestamps are based on; differs from ``fps`` in variable-rate video."""
    frames_estimate: int
    """Frame count from the file's header, or duration x fps: for progress bars only (often wrong)."""
    duration: float | None
    """Seconds of picture, as the header says (an estimate)."""
    rotation: int
    """Degrees counter-clockwise the picture must be turned to be upright (phones store 90, 180, 270)."""
    interlaced: bool
    """The video says its frames are interlaced (two half-pictures, 1/50 s apart, line by line)."""
    codec: str
    pixel_format: str
    sample_aspect: Fraction
    """Shape of a pixel (1 = square; DVD PAL 4:3 is 16/15): kept in the output."""
    time_base: Fraction
    """Unit of the frames' timestamps (``pts``), in seconds."""
    audio: tuple[AudioInfo, ...] = ()

    @property
    def shown_sample_aspect(self) -> Fraction:
        """``sample_aspect`` as the picture is shown: turned with it (phone video stored on its side)."""
        return 1 / self.sample_aspect if self.rotation in (90, 270) else self.sample_aspect

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    @property
    def variable_rate(self) -> bool:
        """True when the header's rates disagree: the frames are not evenly spaced in time."""
        return abs(self.fps - self.base_fps) > 0.01 * self.base_fps

    def describe(self) -> str:
        """One line for people."""
        parts = [f"{self.width} x {self.height}", f"{self.fps:.3g} fps" + (
            f" (variable; base {self.base_fps:.3g})" if self.variable_rate else "")]
        if self.duration:
            parts.append(f"{self.duration:.2f} s (about {self.frames_estimate} frames)")
        if self.interlaced:
            parts.append("interlaced")
        if self.rotation:
            parts.append(f"rotated {self.rotation}°")
        sound = ", ".join(f"{a.codec} {a.channels} ch" for a in self.audio)
        parts.append(f"sound: {sound}" if sound else "no sound")
        return f"{self.path.name}: " + ", ".join(parts)


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


# --------------------------------------------------------------------------- reading
def open_video(path: Path) -> av.container.InputContainer:
    """``av.open(path)`` for reading, with errors for people: FileNotFoundError, or VideoError when
    the file is not a video or has no picture."""
    if not path.is_file():
        raise FileNotFoundError(f"No such video file: {path}" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        container = open_input(path)
    except av.FFmpegError as exc:
        raise VideoError(f"Could not read {path} as a video: the file is not a video, is damaged or truncated "
                         f"(FFmpeg: {exc.strerror or exc}).") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path} has no picture (is it a sound file?).")
    return container


def _rate(value: Fraction | None, fallback: float) -> float:
    rate = float(value) if value else 0.0
    return rate if rate > 0 and math.isfinite(rate) else fallback


def probe_video(path: str | os.PathLike | VideoInfo) -> VideoInfo:
    """What a video file is: size, rotation, interlacing, frame rates, sound streams.

    Decodes the first frame, so a file that opens but cannot be decoded is caught here.
    Given a ``VideoInfo`` (a video probed already), returns it as it is.

    Raises
    ------
    FileNotFoundError
        No such file.
    VideoError
        Not a video, no picture, or its first frame cannot be decoded.

    Notes
    -----
    A frame rate of 0 or NaN (seen in some old digitised footage) becomes ``DEFAULT_FPS``;
    it only matters for estimates, since frames keep their own timestamps.
    """
    if isinstance(path, VideoInfo):
        return path
    path = Path(path)
    with open_video(path) as container, _Errors():  # FFmpeg's complaints about packets before the first keyframe
        stream = container.streams.video[0]
        decoded = _decoded(container, stream, path)
        first = next(decoded, None)
        decoded.close()
        if first is None:
            raise VideoError(f"{path} has a video stream but no frame could be decoded: the file is damaged.")
        ctx = stream.codec_context
        time_base = fraction(stream.time_base)
        if time_base is None:  # FFmpeg always sets one; a 0 would make every frame's time 0
            raise VideoError(f"{path} gives no unit for its frames' times (time base 0): the file is damaged.")
        base_fps = _rate(fraction(stream.guessed_rate) or fraction(stream.base_rate), DEFAULT_FPS)
        fps = _rate(fraction(stream.average_rate), base_fps)
        duration = float(stream.duration * time_base) if stream.duration else (
            container.duration / av.time_base if container.duration else None)
        estimate = stream.frames or (round(duration * fps) if duration else 0)
        rotation = round(first.rotation or 0) % 360
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        interlaced = bool(first.interlaced_frame) or field_order(ctx) not in (0, 1)  # 0 unknown, 1 progressive
        audio = tuple(
            AudioInfo(a.index, a.codec_context.codec.canonical_name, a.codec_context.sample_rate or 0,
                      a.codec_context.layout.nb_channels,
                      float(a.duration * fraction(a.time_base)) if a.duration else None)
            for a in container.streams.audio)
        return VideoInfo(path=path, width=width, height=height, fps=fps, base_fps=base_fps,
                         frames_estimate=int(estimate), duration=duration, rotation=rotation, interlaced=interlaced,
                         codec=ctx.name, pixel_format=first.format.name,
                         sample_aspect=fraction(stream.sample_aspect_ratio) or Fraction(1), time_base=time_base,
                         audio=audio)


class _Errors:
    """FFmpeg's error messages while decoding: it also logs damage that it steps over."""

    def __init__(self) -> None:
        av.logging.set_level(av.logging.ERROR)  # PyAV leaves FFmpeg silent by default
        self._capture = av.logging.Capture(local=False)  # decoder threads log too
        self._seen = 0

    def __enter__(self) -> _Errors:
        self._logs = self._capture.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._capture.__exit__(*exc)

    def new(self) -> list[str]:
        """Error messages logged since the last call."""
        fresh = self._logs[self._seen:]
        self._seen += len(fresh)
        return [f"{name}: {text.strip()}" for level, name, text in fresh if level <= av.logging.ERROR]


def _decoded(container, stream, path: Path, errors: _Errors | None = None) -> Iterator[av.VideoFrame]:
    """Decoded frames of ``stream``, decoder errors turned into ``DecodeError``."""
    count = 0
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                if frame.is_corrupt or frame.width == 0 or frame.height == 0:
                    raise DecodeError(f"frame {count + 1} of {path.name} is damaged (the decoder marks it corrupt)",
                                      count)
                count += 1
                yield frame
    except av.FFmpegError as exc:
        detail = "; ".join(errors.new()) if errors else ""
        raise DecodeError(f"FFmpeg could not decode {path.name} after frame {count}: {exc.strerror or exc}"
                          + (f" ({detail})" if detail else ""), count) from None


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
    with open_video(path) as container, _Errors() as errors:
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
            for frame in _decoded(container, stream, path, errors):
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
        with open_video(info.path) as container, _Errors():
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


def _even(img: np.ndarray) -> np.ndarray:
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
        write to a temporary name and rename (``helpers.files.atomic_path``) for safety.
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
        and where each sound stream ends, for ``helpers.video_check.check_video``.

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
            img_bgr = _even(img_bgr)
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
