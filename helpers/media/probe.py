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
  adds the source's sound (``helpers.media.sound``); ``helpers.media.video_check`` checks the result.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.logging

from .av_compat import field_order, fraction, open_input

DEFAULT_FPS = 25.0
"""Used when a video's frame rate is missing or nonsense (0 or NaN): the PAL film/TV rate."""
DEINTERLACE = ("auto", "on", "off")
"""``auto``: deinterlace when the video says it is interlaced; ``on``: every frame; ``off``: never."""


class VideoError(ValueError):
    """A video that cannot be read, or frames that do not make a video."""


class SeekError(VideoError):
    """Seeking did not land where ``frame_times`` said: decode from the first frame instead."""


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
    with open_video(path) as container, FFmpegErrors():  # FFmpeg's complaints about packets before the first keyframe
        stream = container.streams.video[0]
        decoded = decoded_frames(container, stream, path)
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


class FFmpegErrors:
    """FFmpeg's error messages while decoding: it also logs damage that it steps over."""

    def __init__(self) -> None:
        av.logging.set_level(av.logging.ERROR)  # PyAV leaves FFmpeg silent by default
        self._capture = av.logging.Capture(local=False)  # decoder threads log too
        self._seen = 0

    def __enter__(self) -> FFmpegErrors:
        self._logs = self._capture.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._capture.__exit__(*exc)

    def new(self) -> list[str]:
        """Error messages logged since the last call."""
        fresh = self._logs[self._seen:]
        self._seen += len(fresh)
        return [f"{name}: {text.strip()}" for level, name, text in fresh if level <= av.logging.ERROR]


def decoded_frames(container, stream, path: Path, errors: FFmpegErrors | None = None) -> Iterator[av.VideoFrame]:
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
