"""Video on the files people really have: every common container with sound longer or shorter than the
picture, variable frame rate, interlaced tape, phone rotation, 10-bit, damaged files, and output safety."""

from __future__ import annotations

import os

import av
import cv2
import numpy as np
import pytest

from helpers import video
from helpers.cli import main
from helpers.media import probe as video_io
from helpers.media import sound as sound_module
from helpers.media import video_check
from helpers.video import VideoError, colorize_video, frame_path
from tests.videos import CODECS, decoded, make_video, pictures, scene

FPS = 12


@pytest.fixture
def model_env(tiny_model, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))


def L_of(img_bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("sound", [None, "equal", "longer", "shorter"])
@pytest.mark.parametrize("suffix", list(CODECS))
def test_every_container_and_sound_length(suffix, sound, model_env, tmp_path, capsys):
    seconds = {None: None, "equal": 1.0, "longer": 1.6, "shorter": 0.6}[sound]
    clip = make_video(tmp_path / f"clip{suffix}", audio=seconds)
    out = tmp_path / "out.mp4"
    code = main(["video", str(clip), "--out", str(out), "--frames-dir", str(tmp_path / "f")])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "damaged" not in printed.out + printed.err and "stopped" not in printed.out + printed.err
    source, result = decoded(clip), decoded(out)
    assert len(result) == len(source) == 12  # every frame, and no more
    np.testing.assert_allclose([t for t, _ in result], [t for t, _ in source], atol=0.5 / FPS)
    for (_, gray_in), (_, gray_out) in zip(source, result):
        assert correlation(gray_in, gray_out) > 0.95  # each frame is its own source frame
    times = video_check.stream_times(out)
    picture_end = source[-1][0] + 1 / FPS  # (this AVI muxer leaves a gap after the first frame: kept as it is)
    assert times.video_end == pytest.approx(picture_end, abs=0.5 / FPS)
    if seconds is None:
        assert times.audio_ends == []
    else:
        # the sound ends with the picture, or where the source's sound ends if that is earlier
        assert times.audio_ends[0] == pytest.approx(min(seconds, picture_end), abs=1 / FPS)


def test_sound_is_copied_when_mp4_can_hold_it_else_encoded(net, tmp_path):
    for suffix, codec in ((".mkv", "flac"), (".ts", "aac"), (".mov", "aac"), (".avi", "mp3")):
        clip = make_video(tmp_path / f"clip{suffix}", audio=1.0)
        report = colorize_video(clip, net, out=tmp_path / f"{suffix[1:]}.mp4", frames_dir=tmp_path / suffix[1:],
                                progress=False)
        assert [a.codec for a in video_io.probe_video(report.video).audio] == [codec], suffix
        assert ("re-encoded to AAC" in str(report)) == (codec == "aac")


@pytest.mark.parametrize("suffix, acodec, layout, rate", [
    (".avi", "pcm_s16le", "stereo", 48000),   # a tape-capture card: AVI stores PCM without a channel layout
    (".avi", "pcm_u8", "mono", 11025),        # an old capture at 8 bits
    (".avi", "pcm_s24le", "5.1", 48000),      # many channels: mixed down to stereo
    (".avi", "adpcm_ima_wav", "stereo", 22050),
    (".avi", "mp2", "stereo", 44100),
    (".mkv", "pcm_s32le", "stereo", 192000),  # a studio capture, at a rate AAC does not take
    (".mkv", "ac3", "5.1", 48000),            # copied as it is
    (".mov", "pcm_s16be", "mono", 32000),       # QuickTime: big-endian PCM
    (".mkv", "libmp3lame", "stereo", 44100),    # MP3: copied into MP4
    (".mkv", "libopus", "stereo", 48000),       # Opus (WebM, phones): copied
    (".mkv", "flac", "mono", 96000),            # FLAC at a high rate: copied
])
def test_sound_of_every_kind_comes_through(suffix, acodec, layout, rate, net, tmp_path):
    vcodec = "mpeg4" if suffix == ".avi" else "libx264"
    clip = make_video(tmp_path / f"tape{suffix}", n=12, audio=1.0, codecs=(vcodec, "yuv420p", acodec), layout=layout,
                      rate=rate)
    report = colorize_video(clip, net, out=tmp_path / "tape.mp4", frames_dir=tmp_path / "f", progress=False)
    [sound] = video_io.probe_video(report.video).audio
    codec = {"libmp3lame": "mp3", "libopus": "opus"}.get(acodec, acodec)  # the encoder's name -> the codec's
    copied = codec in sound_module.BROWSER_AUDIO
    assert sound.codec == (codec if copied else "aac")
    assert sound.channels == (6 if copied and layout == "5.1" else 1 if layout == "mono" else 2)
    times = video_check.stream_times(report.video)
    assert times.audio_ends[0] == pytest.approx(1.0, abs=1 / FPS)  # all of the sound, in time with the picture
    with av.open(str(report.video)) as container:  # and it is sound, not silence
        samples = np.concatenate([frame.to_ndarray().ravel() for frame in container.decode(audio=0)])
    assert np.abs(samples).max() > 0.1


def test_mkv_output_keeps_any_sound_as_it_is(net, tmp_path):
    clip = make_video(tmp_path / "tape.ts", audio=1.0)  # MP2 sound: MP4 would need AAC
    report = colorize_video(clip, net, out=tmp_path / "tape.mkv", frames_dir=tmp_path / "f", progress=False)
    assert [a.codec for a in video_io.probe_video(report.video).audio] == ["mp2"]


def test_variable_frame_rate_keeps_every_frame_time(net, tmp_path):
    times = [0, 0.1, 0.15, 0.4, 0.45, 0.5, 0.9, 1.0, 1.05, 1.1, 1.5, 1.6]
    clip = make_video(tmp_path / "phone.mp4", times=times, audio=1.7)
    info = video_io.probe_video(clip)
    assert info.variable_rate
    report = colorize_video(clip, net, out=tmp_path / "out.mp4", frames_dir=tmp_path / "f", progress=False)
    np.testing.assert_allclose(video_check.stream_times(report.video).frame_times, times, atol=0.002)
    # the picture ends 0.1 s (the last step) after the last frame: the sound is cut there
    assert video_check.stream_times(report.video).video_end == pytest.approx(1.7, abs=0.002)
    assert video_check.stream_times(report.video).audio_ends[0] == pytest.approx(1.7, abs=0.03)
    assert "checked out.mp4: 12 frames" in str(report)


def test_interlaced_tape_is_deinterlaced_not_black(net, tmp_path):
    for suffix in (".ts", ".mp4"):  # MPEG-2 as on DVDs, interlaced H.264 as from camcorders
        clip = make_video(tmp_path / f"tape{suffix}", size=(128, 96), interlaced=True)
        assert video_io.probe_video(clip).interlaced
        report = colorize_video(clip, net, out=tmp_path / f"tape{suffix}.mp4", frames_dir=tmp_path / suffix[1:],
                                progress=False, keep_frames=True)
        assert report.frames.deinterlaced and "deinterlaced" in str(report)
        woven = pictures(12, (128, 96), interlaced=True)  # both fields in one frame, as stored
        for number in (1, 6, 12):
            frame = L_of(cv2.imread(str(frame_path(report.frames.frames_dir, number))))
            assert frame.mean() > 40  # never black
            # the whole picture is the scene at the time of one of its two fields (which one: the field order)
            seen = [scene(number - 1 + half, 12, (128, 96), pan=True) for half in (0, 0.5)]
            assert max(correlation(frame, picture) for picture in seen) > 0.95
            # the comb lines of the woven picture are gone
            comb = [np.abs(np.diff(img.astype(np.float64), axis=0)).mean() for img in (woven[number - 1], frame)]
            assert comb[1] < 0.8 * comb[0]


def test_deinterlace_off_keeps_the_fields(net, tmp_path):
    clip = make_video(tmp_path / "tape.ts", size=(128, 96), interlaced=True)
    report = video.colorize_frames(clip, net, frames_dir=tmp_path / "f", deinterlace="off", progress=False)
    assert not report.deinterlaced
    with pytest.raises(ValueError, match="deinterlace"):
        video.colorize_frames(clip, net, frames_dir=tmp_path / "g", deinterlace="maybe", progress=False)


def test_rotated_phone_video_comes_out_upright(net, tmp_path):
    clip = make_video(tmp_path / "phone.mp4", size=(64, 48), rotation=90)
    info = video_io.probe_video(clip)
    assert (info.width, info.height, info.rotation) == (48, 64, 90)
    report = colorize_video(clip, net, out=tmp_path / "out.mp4", frames_dir=tmp_path / "f", progress=False,
                            keep_frames=True)
    out = video_io.probe_video(report.video)
    assert (out.width, out.height, out.rotation) == (48, 64, 0)
    upright = np.rot90(pictures(12, (64, 48))[0])  # what a player shows: turned 90 degrees counter-clockwise
    assert correlation(L_of(cv2.imread(str(frame_path(tmp_path / "f", 1)))), upright.astype(np.float64)) > 0.95


def test_pixel_aspect_of_dvd_footage_is_kept(net, tmp_path):
    from fractions import Fraction

    clip = make_video(tmp_path / "dvd.mkv", size=(64, 48), sample_aspect=Fraction(16, 15))
    assert video_io.probe_video(clip).sample_aspect == Fraction(16, 15)
    report = colorize_video(clip, net, out=tmp_path / "out.mp4", frames_dir=tmp_path / "f", progress=False)
    assert video_io.probe_video(report.video).sample_aspect == Fraction(16, 15)


def test_ten_bit_video(net, tmp_path):
    clip = make_video(tmp_path / "ten.mp4", pix_fmt="yuv420p10le")
    assert video_io.probe_video(clip).pixel_format == "yuv420p10le"
    report = colorize_video(clip, net, out=tmp_path / "out.mp4", frames_dir=tmp_path / "f", progress=False,
                            keep_frames=True)
    frame = cv2.imread(str(frame_path(tmp_path / "f", 3)))
    assert frame.dtype == np.uint8 and correlation(L_of(frame), pictures(12, (64, 48))[2].astype(np.float64)) > 0.95
    assert report.written.frames == 12


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_truncated_file_keeps_the_frames_before_the_damage(suffix, net, tmp_path):
    clip = make_video(tmp_path / f"long{suffix}", n=40)
    data = clip.read_bytes()
    broken = tmp_path / f"broken{suffix}"
    broken.write_bytes(data[: int(len(data) * 0.8)])
    with pytest.warns(UserWarning, match="Decoding stopped at frame"):
        report = video.colorize_frames(broken, net, frames_dir=tmp_path / "f", progress=False)
    assert 0 < report.done < 40
    assert f"stopped at frame {report.done + 1}" in report.decode_error and "kept" in report.decode_error
    assert sorted(p.name for p in (tmp_path / "f").glob("frame_*.png")) == \
        [f"frame_{i:06d}.png" for i in range(1, report.done + 1)]
    # and the frames that are there become a video
    written = video.frames_to_video(tmp_path / "f", tmp_path / "partial.mp4", progress=False)
    assert written.frames == report.done


def test_cli_says_where_a_damaged_video_stopped(model_env, tmp_path, capsys):
    clip = make_video(tmp_path / "long.mp4", n=40)
    data = clip.read_bytes()
    clip.write_bytes(data[: int(len(data) * 0.8)])
    assert main(["video", str(clip), "--out", str(tmp_path / "o.mp4"), "--frames-dir", str(tmp_path / "f")]) == 1
    assert "Decoding stopped at frame" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"not a video at all", bytes(range(256)) * 40])
def test_files_that_are_not_videos(content, net, tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError, match="fake.mp4"):
        video_io.probe_video(path)


def test_sound_file_is_not_a_video(tmp_path):
    import av

    path = tmp_path / "song.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024 * 2), np.float32), format="flt", layout="stereo")
        frame.sample_rate = 48000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(VideoError, match="no picture"):
        video_io.probe_video(path)


# --------------------------------------------------------------------------- output safety
def test_out_equal_to_the_input_is_refused_before_any_work(model_env, tmp_path, capsys):
    clip = make_video(tmp_path / "clip.mp4", audio=1.0)
    before = clip.read_bytes()
    link = tmp_path / "link.mp4"
    link.symlink_to(clip)
    for out in (clip, link, tmp_path / "." / "clip.mp4"):
        assert main(["video", str(clip), "--out", str(out), "--frames-dir", str(tmp_path / "f")]) == 1
        assert "is the input video" in capsys.readouterr().err
    assert main(["video", str(link), "--out", str(clip), "--frames-dir", str(tmp_path / "f")]) == 1
    assert clip.read_bytes() == before
    assert not (tmp_path / "f").exists()  # nothing was colourised


def test_out_folder_and_container_suffixes(model_env, tmp_path, capsys):
    clip = make_video(tmp_path / "clip.mp4")
    folder = tmp_path / "results"
    folder.mkdir()
    assert main(["video", str(clip), "--out", str(folder), "--frames-dir", str(tmp_path / "f")]) == 0
    assert (folder / "clip_color.mp4").is_file()
    assert main(["video", str(clip), "--out", f"{tmp_path / 'new'}/", "--frames-dir", str(tmp_path / "f")]) == 0
    assert (tmp_path / "new" / "clip_color.mp4").is_file()  # a name ending in / is a folder, made if needed
    for suffix in (".mkv", ".mov"):
        assert main(["video", str(clip), "--out", str(tmp_path / f"x{suffix}"), "--frames-dir",
                     str(tmp_path / "f")]) == 0
        assert video_io.probe_video(tmp_path / f"x{suffix}").codec == "h264"
    capsys.readouterr()
    for bad in ("x.avi", "x.gif", "noext"):
        assert main(["video", str(clip), "--out", str(tmp_path / bad), "--frames-dir", str(tmp_path / "g")]) == 1
        assert ".mp4, .mkv, .mov" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize("option", [["--max-frames", "0"], ["--start", "-1"], ["--keyframe-interval", "0"],
                                    ["--size", "100"], ["--size", "4096"], ["--max-frames", "ten"]])
def test_bad_numbers_are_refused_before_the_model_loads(option, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tmp_path / "no-model-here"))
    clip = make_video(tmp_path / "clip.mp4")
    with pytest.raises(SystemExit) as exit_:
        main(["video", str(clip), *option])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert option[0] in err and "model" not in err.lower()


def test_everything_written_honours_the_umask(net, tmp_path):
    old = os.umask(0o022)
    try:
        clip = make_video(tmp_path / "clip.mp4", audio=1.0)
        report = colorize_video(clip, net, out=tmp_path / "v" / "out.mp4", frames_dir=tmp_path / "f",
                                progress=False, smooth=True, keep_frames=True)
        smoothed = video.smooth_frames(tmp_path / "f", progress=False)
    finally:
        os.umask(old)
    written = [report.video, tmp_path / "f" / "manifest.json", frame_path(tmp_path / "f", 1),
               *(tmp_path / "f").glob("segment_*.mp4"), frame_path(smoothed, 1), smoothed / "manifest.json"]
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {"0o644"}
