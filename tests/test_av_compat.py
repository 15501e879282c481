"""helpers.media.av_compat: the same answers from PyAV 17.1, 18.1 and 19 (rationals, metadata, field order)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import pytest

from helpers.media import probe as video_io
from helpers.media.av_compat import field_order, fraction, open_input
from tests.videos import make_video

AVRational = getattr(av, "AVRational", None)  # PyAV >= 18.1 has the class; 19 returns it for every rational
needs_avrational = pytest.mark.skipif(AVRational is None, reason="this PyAV has no av.AVRational")


@dataclass
class _Rational:
    """Any object with numerator and denominator, as FFmpeg's AVRational can be: 0/0 and 1/0 included."""

    numerator: int
    denominator: int


# --------------------------------------------------------------------------- plain values
@pytest.mark.parametrize("value, expected", [
    (None, None),
    (Fraction(16, 15), Fraction(16, 15)),
    (Fraction(-1, 2), Fraction(-1, 2)),
    (25, Fraction(25)),
    (Fraction(0), None),  # FFmpeg's "unknown": PyAV up to 18 said None
    (_Rational(30000, 1001), Fraction(30000, 1001)),
    (_Rational(60000, 2002), Fraction(30000, 1001)),
    (_Rational(0, 1), None),
    (_Rational(0, 0), None),
    (_Rational(1, 0), None),
    (_Rational(-1, 0), None),
])
def test_fraction_of_plain_values(value, expected):
    got = fraction(value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("value", [0.5, "1/25", float("nan")])
def test_fraction_refuses_what_is_not_exact(value):
    with pytest.raises(TypeError, match="rational"):
        fraction(value)


@needs_avrational
@pytest.mark.parametrize("num, den, expected", [
    (30000, 1001, Fraction(30000, 1001)),
    (1, 90000, Fraction(1, 90000)),
    (2, 4, Fraction(1, 2)),
    (0, 1, None),
    (0, 0, None),  # Fraction(AVRational(0, 0)) would be a Fraction with denominator 0
    (1, 0, None),
    (-1, 0, None),
])
def test_fraction_of_avrational(num, den, expected):
    got = fraction(AVRational(num, den))
    assert got == expected and type(got) is type(expected)


@needs_avrational
def test_what_fraction_gives_supports_what_avrational_does_not():
    got = fraction(AVRational(30000, 1001))
    assert round(got) == 30 and int(got) == 29 and got.limit_denominator(100) == Fraction(2997, 100)
    assert str(got) == "30000/1001" and Fraction(str(got)) == got  # the manifest's round trip


# --------------------------------------------------------------------------- real PyAV objects
def test_ntsc_rate_and_time_base_of_a_written_clip(tmp_path):
    clip = make_video(tmp_path / "ntsc.mp4", n=10, fps=30000 / 1001)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        rate, time_base = fraction(stream.average_rate), fraction(stream.time_base)
        packets = [p for p in container.demux(stream) if p.size]
        packet_base = fraction(packets[0].time_base)
        frames = [f for p in packets for f in p.decode()]
        frame_base = fraction(frames[0].time_base)
        duration = stream.duration
    assert len(frames) == 10
    assert type(rate) is Fraction and rate == Fraction(30000, 1001)  # exact, not 29.97
    assert type(time_base) is Fraction and time_base > 0
    assert packet_base == frame_base == time_base and type(packet_base) is type(frame_base) is Fraction
    assert duration * time_base == 10 / rate  # 10 frames of 1001/30000 s, exactly
    info = video_io.probe_video(clip)
    assert type(info.time_base) is Fraction and info.time_base == time_base
    assert info.fps == pytest.approx(30000 / 1001) and info.base_fps == pytest.approx(30000 / 1001)
    assert info.duration == pytest.approx(10 * 1001 / 30000)
    assert round(1 / (info.fps * info.time_base)) == round(Fraction(1001, 30000) / time_base)  # one frame's step


def test_missing_sample_aspect_is_square_pixels(tmp_path):
    clip = make_video(tmp_path / "plain.mkv")
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert fraction(stream.sample_aspect_ratio) is None  # None (PyAV <= 18) or AVRational(0, 1) (19)
        assert fraction(stream.codec_context.sample_aspect_ratio) is None
    assert video_io.probe_video(clip).sample_aspect == Fraction(1)


def test_dvd_sample_aspect_is_exact(tmp_path):
    clip = make_video(tmp_path / "dvd.mkv", sample_aspect=Fraction(16, 15))
    with av.open(str(clip)) as container:
        got = fraction(container.streams.video[0].sample_aspect_ratio)
    assert type(got) is Fraction and got == Fraction(16, 15)
    info = video_io.probe_video(clip)
    assert type(info.sample_aspect) is Fraction and 1 / info.sample_aspect == Fraction(15, 16)


def test_sound_stream_rationals(tmp_path):
    clip = make_video(tmp_path / "tone.mkv", audio=1.0)
    with av.open(str(clip)) as container:
        sound = container.streams.audio[0]
        time_base = fraction(sound.time_base)
        packet = next(p for p in container.demux(sound) if p.size)
        seconds = float(packet.pts * fraction(packet.time_base))
    assert type(time_base) is Fraction and time_base == Fraction(1, 1000)  # Matroska counts in milliseconds
    assert 0 <= seconds < 0.05
    assert video_io.probe_video(clip).audio[0].sample_rate == 48000


# --------------------------------------------------------------------------- opening and field order
def test_a_title_that_is_not_utf8_does_not_stop_the_open(tmp_path):
    """Old footage carries tags in Latin-1 or CP1251; PyAV <= 18 raises on them unless told not to."""
    clip = tmp_path / "old.mp4"
    with av.open(str(clip), "w") as out:  # a UTF-8 title, then made invalid UTF-8
        out.metadata["title"] = "TAG-\u03a9\u03a9-END"
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64), 100, np.uint8), format="gray")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = clip.read_bytes()
    assert data.count("\u03a9\u03a9".encode()) == 1
    clip.write_bytes(data.replace("\u03a9\u03a9".encode(), b"\xff\xfe\xe9\xe9"))  # same length: offsets stay
    with open_input(clip) as container:
        title = container.metadata.get("title", "")
        assert title.startswith("TAG-") and title.endswith("-END")
        assert len(list(container.decode(video=0))) == 3
    assert video_io.probe_video(clip).width == 64


def test_open_input_reports_ffmpeg_errors(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"not a video at all")
    with pytest.raises(av.FFmpegError):
        open_input(path)


def test_field_order(tmp_path):
    progressive = make_video(tmp_path / "p.mkv")
    interlaced = make_video(tmp_path / "i.mkv", interlaced=True)
    with av.open(str(progressive)) as container:
        ctx = container.streams.video[0].codec_context
        exposed = hasattr(ctx, "field_order")  # PyAV 18.1 and later
        assert field_order(ctx) == (1 if exposed else 0)
    with av.open(str(interlaced)) as container:
        assert field_order(container.streams.video[0].codec_context) == (2 if exposed else 0)  # top field first
    assert field_order(object()) == 0
    assert video_io.probe_video(interlaced).interlaced and not video_io.probe_video(progressive).interlaced
