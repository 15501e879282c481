"""Test videos made with PyAV: any container, sound longer or shorter than the picture, variable
frame rate, interlaced, rotated, 10-bit. Real footage is never needed."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

CODECS = {  # container suffix: (video codec, pixel format, sound codec) as digitised files often have them
    ".mp4": ("libx264", "yuv420p", "aac"),
    ".mov": ("libx264", "yuv420p", "pcm_s16le"),
    ".mkv": ("libx264", "yuv420p", "flac"),
    ".webm": ("libvpx", "yuv420p", "libopus"),
    ".ts": ("mpeg2video", "yuv420p", "mp2"),
    ".avi": ("mpeg4", "yuv420p", "libmp3lame"),
}
RATE = 48000


def pictures(n: int, size: tuple[int, int], seed: int = 0, *, interlaced: bool = False) -> list[np.ndarray]:
    """Gray frames: a bright square moving over noise.

    Interlaced: a smooth texture panning 4 pixels a frame, whose odd lines are recorded half a
    frame later than its even lines, as a tape camera records them (comb lines on every edge).
    ``pictures(..., interlaced=False)`` with the same seed is then the same pan, progressive.
    """
    frames = []
    for i in range(n):
        frame = scene(i, n, size, seed, pan=interlaced)
        if interlaced:
            frame[1::2] = scene(i + 0.5, n, size, seed, pan=True)[1::2]
        frames.append(frame)
    return frames


def scene(t: float, n: int, size: tuple[int, int], seed: int = 0, *, pan: bool = False) -> np.ndarray:
    """What the camera sees at time ``t`` (in frames): see ``pictures``."""
    w, h = size
    rng = np.random.default_rng(seed)
    if pan:
        texture = cv2.GaussianBlur(rng.uniform(0, 255, (h, w + 4 * n + 8)).astype(np.float32), (0, 0), 2)
        texture = cv2.normalize(texture, None, 30, 220, cv2.NORM_MINMAX).astype(np.uint8)
        return texture[:, round(4 * t): round(4 * t) + w].copy()
    frame = rng.integers(40, 200, (h, w), dtype=np.uint8)
    x = int(5 + 3 * t) % max(1, w - 12)
    frame[h // 5: h // 5 + 10, x: x + 10] = 250
    return frame


def make_video(path: str | Path, *, n: int = 12, size: tuple[int, int] = (64, 48), fps: float = 12,
               times: list[float] | None = None, audio: float | None = None, codecs: tuple | None = None,
               interlaced: bool = False, rotation: int = 0, pix_fmt: str | None = None, faststart: bool = True,
               sample_aspect: Fraction | None = None, seed: int = 0, gop: int | None = None,
               layout: str = "stereo", rate: int = 48000) -> Path:
    """Write a test video and return its path.

    ``audio``: seconds of a 440 Hz tone (None: no sound), in ``layout`` ("mono", "5.1"...) at
    ``rate`` samples a second; ``codecs``: (video codec, pixel format, sound codec), the
    container's usual ones by default (``CODECS``); ``times``: each frame's time in
    seconds (variable rate); ``rotation``: display rotation in degrees, as phones store it;
    ``sample_aspect``: the shape of a pixel (16/15: PAL DVD 4:3); ``gop``: frames from one
    keyframe to the next (where seeking can land), the encoder's default otherwise.
    """
    path = Path(path)
    vcodec, default_pix, acodec = codecs or CODECS[path.suffix]
    frames = pictures(n, size, seed, interlaced=interlaced)
    options = {"movflags": "+faststart"} if faststart and path.suffix in (".mp4", ".mov") else {}
    with av.open(str(path), "w", options=options) as out:
        video = out.add_stream(vcodec, rate=Fraction(fps).limit_denominator(1001))
        video.width, video.height = size
        video.pix_fmt = pix_fmt or default_pix
        codec_options = {"qp": "0"} if vcodec == "libx264" else {}
        if gop:
            video.codec_context.gop_size = gop
        if interlaced:
            video.codec_context.flags |= (av.codec.context.Flags.interlaced_dct
                                          | av.codec.context.Flags.interlaced_me)
            if vcodec == "libx264":
                codec_options["x264-params"] = "interlaced=1:tff=1"
        video.options = codec_options
        time_base = Fraction(1, 1000) if times is not None else Fraction(1, round(fps)) if fps == round(fps) \
            else 1 / Fraction(fps).limit_denominator(1001)
        video.time_base = video.codec_context.time_base = time_base
        if rotation:
            video.set_display_rotation(rotation)
        if sample_aspect:
            video.codec_context.sample_aspect_ratio = sample_aspect
        sound = None
        if audio:
            sound = out.add_stream(acodec, rate=rate)
            sound.layout = layout
        for i, picture in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(picture, format="gray")
            frame.pts = round(times[i] / time_base) if times is not None else i
            frame.time_base = time_base
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            _tone(out, sound, audio, layout, rate)
    return path


def _tone(out, sound, seconds: float, layout: str = "stereo", rate: int = RATE) -> None:
    fmt = sound.codec_context.format
    step = sound.codec_context.frame_size or 1024
    channels = len(av.AudioLayout(layout).channels)
    total = round(seconds * rate)
    for first in range(0, total, step):
        k = min(step, total - first)
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(first, first + k) / rate)
        if fmt.is_planar:
            samples = np.tile(tone, (channels, 1))
        else:
            samples = np.repeat(tone, channels)[np.newaxis]
        if fmt.name.startswith("u8"):
            samples = samples * 127 + 128
        elif fmt.name.startswith("s16"):
            samples = samples * 32767
        elif fmt.name.startswith("s32"):
            samples = samples * (2**31 - 1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples.astype(_dtype(fmt.name))),
                                           format=fmt.name, layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, first, Fraction(1, rate)
        out.mux(sound.encode(frame))
    out.mux(sound.encode(None))


def _dtype(name: str) -> type:
    return {"u8": np.uint8, "s16": np.int16, "s32": np.int32, "flt": np.float32, "dbl": np.float64}[name.rstrip("p")]


def decoded(path: str | Path) -> list[tuple[float, np.ndarray]]:
    """Every frame of a video as (seconds from the first frame, gray image), decoded independently of helpers."""
    with av.open(str(path)) as container:
        frames = [(float(f.time), f.to_ndarray(format="gray")) for f in container.decode(video=0)]
    return [(t - frames[0][0], img) for t, img in frames]


def same_frames(a: str | Path, b: str | Path) -> bool:
    """Two videos decode to the same pictures (every sample, colour included) at the same times."""
    def frames(path):
        with av.open(str(path)) as container:
            found = [(f.time, f.to_ndarray()) for f in container.decode(video=0)]
        return [(round(t - found[0][0], 6), img) for t, img in found]

    one, two = frames(a), frames(b)
    return len(one) == len(two) and all(ta == tb and np.array_equal(fa, fb) for (ta, fa), (tb, fb) in zip(one, two))


def same_segments(a: Path, b: Path) -> bool:
    """Two frames folders hold the same segments: the same names, byte for byte (x264 is deterministic
    with ``helpers.media.encode.X264_PARAMS``)."""
    one, two = sorted(a.glob("segment_*.mp4")), sorted(b.glob("segment_*.mp4"))
    return [p.name for p in one] == [p.name for p in two] and all(x.read_bytes() == y.read_bytes()
                                                                 for x, y in zip(one, two))
