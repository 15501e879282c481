"""Video files in and out with PyAV: FFmpeg's own libraries, inside Python.

Why not ``cv2.VideoCapture``? On the files people really have it goes wrong quietly: its frame
count is the file's duration x frame rate (and the duration includes the sound), it hides each
frame's timestamp (variable-rate phone video loses sync), and it decodes interlaced tape
captures to black frames. PyAV gives every frame with its presentation time, reports damage as
an error, deinterlaces through FFmpeg's filters, and writes H.264 with the original sound.

* ``probe_video`` tells what a video is: size, rotation, interlacing, frame rates, sound streams.
* ``read_frames`` decodes frames in a background thread: ``Frame(index, pts, time, image)``.
* ``write_video`` encodes frames at the times you give (so variable rate stays variable) and
  copies or re-encodes every sound stream, cut to the picture's length.
* ``check_video`` decodes nothing: it reads the written file's packets and compares frame
  count, frame times and duration with what was meant to be written.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import av.logging
import cv2
import numpy as np

DEFAULT_FPS = 25.0
"""Used when a video's frame rate is missing or nonsense (0 or NaN): the PAL film/TV rate."""
DEINTERLACE = ("auto", "on", "off")
"""``auto``: deinterlace when the video says it is interlaced; ``on``: every frame; ``off``: never."""
CONTAINERS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov"}
"""Output suffixes and their FFmpeg formats. MP4 plays in browsers; MKV holds any sound codec."""
BROWSER_AUDIO = {"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"}
"""Sound codecs copied as they are into MP4; others (PCM, MP2, Vorbis...) are re-encoded to AAC."""
CRF = 18
"""x264 quality: 18 is close to visually lossless (lower: bigger files; 23 is x264's default)."""
PRESET = "veryfast"
"""x264 speed: about twice as fast as the default "medium" at a similar size on 640 x 480 frames."""


class VideoError(ValueError):
    """A video that cannot be read, or frames that do not make a video."""


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
def _open(path: Path):
    """``av.open`` with errors for people."""
    if not path.is_file():
        raise FileNotFoundError(f"No such video file: {path}" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise VideoError(f"Could not read {path} as a video: the file is not a video, is damaged or truncated "
                         f"(FFmpeg: {exc.strerror or exc}).") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path} has no picture (is it a sound file?).")
    return container


def _rate(value, fallback: float) -> float:
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
    with _open(path) as container, _Errors():  # FFmpeg's complaints about packets before the first keyframe
        stream = container.streams.video[0]
        decoded = _decoded(container, stream, path)
        first = next(decoded, None)
        decoded.close()
        if first is None:
            raise VideoError(f"{path} has a video stream but no frame could be decoded: the file is damaged.")
        ctx = stream.codec_context
        base_fps = _rate(stream.guessed_rate or stream.base_rate, DEFAULT_FPS)
        fps = _rate(stream.average_rate, base_fps)
        duration = float(stream.duration * stream.time_base) if stream.duration else (
            container.duration / av.time_base if container.duration else None)
        estimate = stream.frames or (round(duration * fps) if duration else 0)
        rotation = round(first.rotation or 0) % 360
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        interlaced = bool(first.interlaced_frame) or ctx.field_order not in (0, 1)  # 0 unknown, 1 progressive
        audio = tuple(
            AudioInfo(a.index, a.codec_context.codec.canonical_name, a.codec_context.sample_rate or 0,
                      a.codec_context.layout.nb_channels, float(a.duration * a.time_base) if a.duration else None)
            for a in container.streams.audio)
        return VideoInfo(path=path, width=width, height=height, fps=fps, base_fps=base_fps,
                         frames_estimate=int(estimate), duration=duration, rotation=rotation, interlaced=interlaced,
                         codec=ctx.name, pixel_format=first.format.name,
                         sample_aspect=Fraction(stream.sample_aspect_ratio or 1) if stream.sample_aspect_ratio
                         else Fraction(1), time_base=Fraction(stream.time_base), audio=audio)


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


def _frames(path: Path, deinterlace: str, notes: list[str]) -> Iterator[tuple[av.VideoFrame, Fraction, int]]:
    """(frame, its time base, index) in display order, deinterlaced if asked.

    Errors FFmpeg logs but steps over go to ``notes``; errors after the last frame (a
    truncated file: "File ended prematurely") raise ``DecodeError``.
    """
    with _open(path) as container, _Errors() as errors:
        stream = container.streams.video[0]
        # FFmpeg's default slice threading, not "AUTO" (frame threading): with frame threads a damaged
        # packet is only logged, and decoding a frame takes ~1/100 of the network's time anyway
        time_base = Fraction(stream.time_base)
        index = 0
        filter_ = None

        def out_of(frame: av.VideoFrame | None):
            nonlocal index
            for out in filter_(frame) if filter_ else (() if frame is None else (frame,)):
                yield out, Fraction(out.time_base) if out.time_base else time_base, index
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


_END = object()
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


def read_frames(video: str | os.PathLike | VideoInfo, *, start: int = 0, max_frames: int | None = None,
                deinterlace: str = "auto", buffer: int = 8, notes: list[str] | None = None) -> Iterator[Frame]:
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

    Yields
    ------
    Frame
        ``(index, pts, time, image)``; ``image`` ``(H, W, 3)`` uint8 BGR, upright.

    Raises
    ------
    DecodeError
        After the last good frame, when the file is damaged or truncated; ``index`` says where.
    """
    if deinterlace not in DEINTERLACE:
        raise ValueError(f"deinterlace must be one of {', '.join(DEINTERLACE)}, got {deinterlace!r}.")
    info = probe_video(video)
    rotate = {0: None, 90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180,
              270: cv2.ROTATE_90_CLOCKWISE}.get(info.rotation)
    width, height = (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height)
    stop_at = math.inf if max_frames is None else start + max_frames
    frames: queue.Queue = queue.Queue(maxsize=buffer)
    stop = threading.Event()

    def decode() -> None:
        last_pts = None
        decoded = _frames(info.path, deinterlace, notes if notes is not None else [])
        try:
            for frame, time_base, index in decoded:
                if stop.is_set() or index >= stop_at:
                    break
                pts = frame.pts if frame.pts is not None else frame.dts
                pts = round(pts * time_base / info.time_base) if pts is not None else None
                if pts is None or (last_pts is not None and pts <= last_pts):  # missing or repeated timestamps
                    pts = 0 if last_pts is None else last_pts + max(1, round(1 / (info.fps * info.time_base)))
                last_pts = pts
                if index < start:
                    continue
                image = _to_bgr(frame, width, height)
                if rotate is not None:
                    image = cv2.rotate(image, rotate)
                frames.put(Frame(index, pts, float(pts * info.time_base), image))
        except Exception as exc:  # noqa: BLE001 - handed to the reading side
            frames.put(exc)
        finally:
            decoded.close()
            frames.put(_END)

    thread = threading.Thread(target=decode, daemon=True)
    thread.start()
    try:
        while (item := frames.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock the decoder if the consumer stopped early
            try:
                frames.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


# --------------------------------------------------------------------------- writing
def output_format(path: str | os.PathLike) -> str:
    """FFmpeg's format name for an output path; VideoError for a suffix with no known container."""
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        raise VideoError(f"Cannot write a video named {Path(path).name}: use one of "
                         f"{', '.join(CONTAINERS)} (.mp4 plays in browsers; .mkv keeps any sound as it is).")
    return CONTAINERS[suffix]


class _Audio:
    """The sound streams of the source, copied or re-encoded into the output and cut to [start, end) seconds."""

    def __init__(self, source: Path, output, start: float, end: float) -> None:
        self.notes: list[str] = []
        self.start, self.end = start, end
        self.input = av.open(str(source), metadata_errors="ignore")
        self.streams = {}  # input stream index -> (output stream, resampler or None for copy)
        copyable = BROWSER_AUDIO if output.format.name == "mp4" else output.supported_codecs
        for stream in self.input.streams.audio:
            name = stream.codec_context.codec.canonical_name
            try:
                if name in copyable:
                    self.streams[stream.index] = (output.add_stream_from_template(stream), None)
                else:
                    layout = stream.layout.name if len(stream.layout.channels) <= 2 else "stereo"
                    rate = stream.codec_context.sample_rate or 48000
                    out = output.add_stream("aac", rate=rate, layout=layout)
                    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
                    self.streams[stream.index] = (out, resampler)
                    self.notes.append(f"sound stream {stream.index} ({name}) re-encoded to AAC: "
                                      f"{output.format.name.upper()} cannot hold {name} for browsers")
            except (av.FFmpegError, ValueError) as exc:
                self.notes.append(f"sound stream {stream.index} ({name}) could not be kept: {exc}")
        self.failed: set[int] = set()
        self.more_after_end = False
        self.ends = {index: 0.0 for index in self.streams}  # seconds of sound written per stream
        inputs = [s for s in self.input.streams.audio if s.index in self.streams]
        self._packets = self.input.demux(*inputs) if inputs else iter(())
        self._next = None

    def _pull(self):
        while self._next is None:
            try:
                packet = next(self._packets)
            except StopIteration:
                return None
            except av.FFmpegError as exc:
                self.notes.append(f"sound could not be read past this point ({exc}); the rest is silent")
                self._packets = iter(())
                return None
            if packet.stream.index in self.failed or packet.size == 0:
                continue
            self._next = packet
        return self._next

    def until(self, seconds: float, output) -> None:
        """Mux every sound packet that starts before ``seconds`` (source time)."""
        while (packet := self._pull()) is not None:
            pts = packet.pts if packet.pts is not None else packet.dts
            when = float(pts * packet.time_base) if pts is not None else None
            if when is not None and when >= min(seconds, self.end):
                self.more_after_end |= when >= self.end
                return
            self._next = None
            if when is None or when + float((packet.duration or 0) * packet.time_base) < self.start:
                continue  # before the first frame (a priming packet ending at the start is kept)
            self._mux(packet, output)

    def _mux(self, packet, output) -> None:
        index = packet.stream.index
        out, resampler = self.streams[index]
        shift = round(self.start / packet.time_base)
        if resampler is None:
            packet.pts = packet.pts - shift if packet.pts is not None else None
            packet.dts = packet.dts - shift if packet.dts is not None else None
            if packet.pts is not None:
                self.ends[index] = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            packet.stream = out
            output.mux(packet)
            return
        try:
            for frame in packet.decode():
                for piece in resampler.resample(frame):
                    piece = self._trim(piece, out.codec_context.sample_rate)
                    if piece is not None:
                        self.ends[index] = float(piece.time) + piece.samples / piece.sample_rate
                        output.mux(out.encode(piece))
        except av.FFmpegError as exc:
            self.failed.add(index)
            self.notes.append(f"sound stream {index} could not be decoded at {float(packet.pts * packet.time_base):.2f}"
                              f" s ({exc}); it stops there")

    def _trim(self, frame: av.AudioFrame, rate: int) -> av.AudioFrame | None:
        """The part of ``frame`` inside [start, end), with its time in samples from ``start``."""
        first = round((float(frame.time) - self.start) * rate) if frame.pts is not None else None
        if first is None:
            return None
        last = frame.samples if math.isinf(self.end) else round((self.end - self.start) * rate) - first
        cut_start, cut_end = max(0, -first), min(frame.samples, last)
        if cut_end <= cut_start:
            return None
        if (cut_start, cut_end) != (0, frame.samples):
            samples = frame.to_ndarray()[:, cut_start:cut_end]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format=frame.format.name,
                                               layout=frame.layout.name)
            frame.sample_rate = rate
        frame.pts, frame.time_base = first + cut_start, Fraction(1, rate)
        return frame

    def finish(self, output) -> None:
        self.until(math.inf, output)
        for index, (out, resampler) in self.streams.items():
            if resampler is not None and index not in self.failed:
                output.mux(out.encode(None))
        self.input.close()


def _even(img: np.ndarray) -> np.ndarray:
    """Pad to even width and height by repeating the last row/column: yuv420p needs even sizes."""
    h, w = img.shape[:2]
    return cv2.copyMakeBorder(img, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE) if (h % 2 or w % 2) else img


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
        and where each sound stream ends, for ``check_video``.

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
    written = Written()
    with av.open(str(path), "w", format=fmt, options=options) as output:
        stream = None
        audio = None
        durations: dict[int, int] = {}
        end_pts = 0
        for pts, duration, img_bgr in frames:
            img_bgr = _even(img_bgr)
            if stream is None:
                stream = output.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001),
                                           options={"crf": str(CRF), "preset": PRESET,
                                                    **({"bf": "0"} if variable_rate else {})})
                stream.width, stream.height = img_bgr.shape[1], img_bgr.shape[0]
                stream.pix_fmt = "yuv420p"
                # x264's frame threads, as the ffmpeg program uses: PyAV's default (slices) is 15 % slower
                stream.thread_type = "FRAME"
                stream.time_base = stream.codec_context.time_base = time_base
                stream.codec_context.sample_aspect_ratio = sample_aspect
                # the frames are converted with the BT.601 matrix, limited range: say so, or players
                # guess BT.709 for HD and shift the colours
                ctx = stream.codec_context
                ctx.colorspace = ctx.color_primaries = ctx.color_trc = 6  # SMPTE 170M = BT.601 (525 lines)
                ctx.color_range = 1  # limited ("TV") range
                if audio_from is not None:
                    audio = _Audio(Path(audio_from), output, audio_start,
                                   math.inf if audio_end is None else audio_end)
            # OpenCV's BGR -> YUV 4:2:0 (BT.601, limited range) is several times faster than FFmpeg's swscale
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
            frame.pts, frame.time_base = pts, time_base
            durations[pts] = duration
            end_pts = pts + duration
            _mux_video(output, stream, stream.encode(frame), durations)
            if audio is not None:
                audio.until(audio_start + float(pts * time_base), output)
        if stream is None:
            raise VideoError("No frames to write.")
        _mux_video(output, stream, stream.encode(None), durations)
        if audio is not None:
            audio.end = audio_end if audio_end is not None else audio_start + float(end_pts * time_base)
            audio.finish(output)
            written = Written(audio.notes, [end for index, end in sorted(audio.ends.items())
                                             if index not in audio.failed or end > 0], audio.more_after_end)
    return written


@dataclass
class Written:
    """What ``write_video`` did with the sound."""

    notes: list[str] = field(default_factory=list)
    audio_ends: list[float] = field(default_factory=list)
    """Seconds of sound written per output sound stream."""
    audio_cut: bool = False
    """Some sound went on after the picture's end and was cut."""


def _mux_video(output, stream, packets, durations: dict[int, int]) -> None:
    for packet in packets:
        packet.duration = durations.pop(packet.pts, packet.duration)
        output.mux(packet)


# --------------------------------------------------------------------------- checking
@dataclass(frozen=True)
class StreamTimes:
    """What a written file holds, read from its packets (nothing is decoded)."""

    frame_times: list[float]
    """Seconds, in display order, from the file's start."""
    video_end: float
    audio_ends: list[float]
    """Where each sound stream ends, in seconds."""


def stream_times(path: str | os.PathLike) -> StreamTimes:
    """Frame times and stream ends of a video file, from its packets (fast: no decoding).

    Times are counted from the first frame: some containers (MKV) shift every stream by the
    same small amount (AAC's priming samples), which keeps the sound in sync.
    """
    with _open(Path(path)) as container:
        video = container.streams.video[0]
        times: list[float] = []
        ends = {s.index: 0.0 for s in container.streams.audio}
        video_end = 0.0
        for packet in container.demux(video, *container.streams.audio):
            if packet.pts is None:
                continue
            start = float(packet.pts * packet.time_base)
            end = start + float((packet.duration or 0) * packet.time_base)
            if packet.stream.index == video.index:
                times.append(start)
                video_end = max(video_end, end)
            else:
                ends[packet.stream.index] = max(ends[packet.stream.index], end)
    times.sort()
    zero = times[0] if times else 0.0
    return StreamTimes([t - zero for t in times], video_end - zero, [end - zero for end in ends.values()])


def check_video(path: str | os.PathLike, expected_times: Sequence[float], expected_end: float,
                audio_ends: Sequence[float] = (), *, name: str | None = None) -> str:
    """Compare a written video with what was meant: frame count, every frame's time, duration, sound.

    Parameters
    ----------
    expected_times : sequence of float
        Seconds from the start, one per frame.
    expected_end : float
        Where the picture ends (last frame's time + its duration).
    audio_ends : sequence of float
        Where each sound stream should end (at most the picture's end).
    name : str, optional
        The file's name in messages (``path`` may be a temporary name).

    Returns
    -------
    str
        A line for people saying what was checked.

    Raises
    ------
    VideoError
        Anything off by more than half a frame (sound: one frame plus one sound packet).
    """
    found = stream_times(path)
    name = name or Path(path).name
    if len(found.frame_times) != len(expected_times):
        raise VideoError(f"{name} has {len(found.frame_times)} frames, {len(expected_times)} were written: "
                         "please report this.")
    steps = np.diff([*expected_times, expected_end])
    half = 0.5 * float(steps.min()) if len(steps) else 0.0
    worst = float(np.abs(np.subtract(found.frame_times, expected_times)).max())
    if worst > half:
        raise VideoError(f"Frame times of {name} are off by up to {worst * 1000:.1f} ms (more than half a frame).")
    if abs(found.video_end - expected_end) > half:
        raise VideoError(f"{name} lasts {found.video_end:.3f} s instead of {expected_end:.3f} s.")
    for k, (got, want) in enumerate(zip(found.audio_ends, audio_ends)):
        if abs(got - want) > 2 * half + 0.05:  # sound comes in packets of about 20-60 ms
            raise VideoError(f"Sound stream {k + 1} of {name} ends at {got:.3f} s instead of {want:.3f} s.")
    return (f"checked {name}: {len(expected_times)} frames, each within {worst * 1000:.1f} ms of its source time, "
            f"{found.video_end:.2f} s" + (f", {len(found.audio_ends)} sound stream(s) ending within "
                                           f"{max(abs(g - w) for g, w in zip(found.audio_ends, audio_ends)) * 1000:.0f}"
                                           " ms of where they should" if found.audio_ends and audio_ends else ""))
