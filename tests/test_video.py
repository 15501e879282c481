"""Video: probing, resumable per-frame colourisation, reassembly with sound, damaged input."""

from __future__ import annotations

import json
import subprocess
import warnings

import cv2
import numpy as np
import pytest

import helpers
from helpers import video
from helpers.video import VideoError, colorize_frames, colorize_video, frame_path, frames_to_video, probe_video

FFMPEG = video.ffmpeg_exe()


def make_video(path, n=12, size=(64, 48), fps=12, audio=True, seed=0):
    """A small gray H.264 video: a bright square moving over noise, optionally with a 440 Hz tone."""
    w, h = size
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 200, (h, w), dtype=np.uint8)
    cmd = [FFMPEG, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{w}x{h}",
           "-framerate", str(fps), "-i", "-"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={n / fps}", "-c:a", "aac"]
    # yuv444p: odd sizes are allowed, so tests can feed odd dimensions
    # +faststart puts the index first, so a truncated file still opens (test_video_broken_part_way)
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv444p", "-qp", "0", "-movflags", "+faststart", str(path)]
    frames = []
    for i in range(n):
        frame = background.copy()
        frame[10:20, 5 + 3 * i: 15 + 3 * i] = 250
        frames.append(frame)
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


@pytest.fixture
def net(tiny_model):
    return helpers.load_model(model_dir=tiny_model)


@pytest.fixture
def clip(tmp_path):
    return make_video(tmp_path / "clip.mp4")


def read_all(frames_dir):
    return {p.name: cv2.imread(str(p)) for p in sorted(frames_dir.glob("frame_*.png"))}


def test_probe(clip, tmp_path):
    info = probe_video(clip)
    assert (info.width, info.height, info.frame_count, info.fps, info.has_audio) == (64, 48, 12, 12.0, True)
    assert info.duration == pytest.approx(1.0)
    silent = probe_video(make_video(tmp_path / "silent.mp4", audio=False))
    assert not silent.has_audio


def test_probe_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        probe_video(tmp_path / "nope.mp4")
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(VideoError, match="not a video"):
        probe_video(tmp_path / "text.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError):
        probe_video(tmp_path / "empty.mp4")
    with pytest.raises(FileNotFoundError, match="folder"):
        probe_video(tmp_path)


def test_zero_fps_falls_back_with_a_warning(clip, monkeypatch):
    real = cv2.VideoCapture

    class NoFps:
        """A capture whose file claims a frame rate of NaN."""

        def __init__(self, *args):
            self._cap = real(*args)

        def get(self, prop):
            return float("nan") if prop == cv2.CAP_PROP_FPS else self._cap.get(prop)

        def __getattr__(self, name):
            return getattr(self._cap, name)

    monkeypatch.setattr(cv2, "VideoCapture", NoFps)
    with pytest.warns(UserWarning, match="frame rate"):
        assert probe_video(clip).fps == video.DEFAULT_FPS


def test_frames_are_colourised_at_full_resolution_in_order(clip, net, tmp_path):
    report = colorize_frames(clip, net, frames_dir=tmp_path / "new" / "frames", progress=False)
    names = sorted(p.name for p in (tmp_path / "new" / "frames").glob("frame_*.png"))
    assert names == [f"frame_{i:06d}.png" for i in range(1, 13)]
    assert report.computed == 12 and report.reused == 0 and report.new_frames == list(range(1, 13))
    first = cv2.imread(str(frame_path(report.frames_dir, 1)))
    assert first.shape == (48, 64, 3)
    # frame k is the colourisation of the video's k-th frame
    frames = [f for _, f in video.read_frames(clip)]
    np.testing.assert_array_equal(cv2.imread(str(frame_path(report.frames_dir, 5))), helpers.colorize(frames[4], net))


class StopButtonError(Exception):
    pass


def test_interrupted_run_resumes_and_matches_an_uninterrupted_one(clip, net, tmp_path, monkeypatch):
    full = colorize_frames(clip, net, frames_dir=tmp_path / "full", progress=False)
    calls = []
    real = video.colorize

    def colorize_then_stop(*args, **kwargs):
        if len(calls) == 5:
            raise StopButtonError  # like pressing the stop button during frame 6
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(video, "colorize", colorize_then_stop)
    with pytest.raises(StopButtonError):
        colorize_frames(clip, net, frames_dir=tmp_path / "resumed", progress=False)
    assert len(list((tmp_path / "resumed").glob("frame_*.png"))) == 5
    monkeypatch.setattr(video, "colorize", real)
    again = colorize_frames(clip, net, frames_dir=tmp_path / "resumed", progress=False)
    assert (again.reused, again.computed) == (5, 7)
    assert again.new_frames == list(range(6, 13))  # each missing frame once, in order
    full_frames, resumed_frames = read_all(full.frames_dir), read_all(again.frames_dir)
    assert full_frames.keys() == resumed_frames.keys()
    for name in full_frames:
        np.testing.assert_array_equal(full_frames[name], resumed_frames[name])
    assert not list((tmp_path / "resumed").glob("*.part"))


def test_damaged_frame_is_detected_and_redone(clip, net, tmp_path):
    frames_dir = tmp_path / "f"
    colorize_frames(clip, net, frames_dir=frames_dir, progress=False)
    good = frame_path(frames_dir, 4).read_bytes()
    frame_path(frames_dir, 4).write_bytes(good[: len(good) // 3])
    frame_path(frames_dir, 7).unlink()
    report = colorize_frames(clip, net, frames_dir=frames_dir, progress=False)
    assert report.new_frames == [4, 7] and report.redone == 1
    assert frame_path(frames_dir, 4).read_bytes() == good


def test_other_settings_never_mix_with_old_frames(clip, net, tmp_path):
    frames_dir = tmp_path / "f"
    colorize_frames(clip, net, frames_dir=frames_dir, progress=False, max_frames=3)
    before = frame_path(frames_dir, 1).read_bytes()
    with pytest.raises(VideoError, match="other settings"):
        colorize_frames(clip, net, frames_dir=frames_dir, progress=False, temperature=1.0)
    assert frame_path(frames_dir, 1).read_bytes() == before  # nothing lost by refusing
    other = make_video(tmp_path / "other.mp4", seed=1)
    with pytest.raises(VideoError, match="another video"):
        colorize_frames(other, net, frames_dir=frames_dir, progress=False, temperature=helpers.DEFAULT_TEMPERATURE)
    report = colorize_frames(clip, net, frames_dir=frames_dir, progress=False, temperature=1.0, restart=True)
    assert report.computed == 12 and report.reused == 0
    assert json.loads((frames_dir / "manifest.json").read_text())["settings"]["temperature"] == 1.0


def test_preview_then_full_run(clip, net, tmp_path):
    frames_dir = tmp_path / "f"
    preview = colorize_frames(clip, net, frames_dir=frames_dir, progress=False, start=2, max_frames=3)
    assert preview.new_frames == [3, 4, 5] and preview.first == 3
    full = colorize_frames(clip, net, frames_dir=frames_dir, progress=False)
    assert full.reused == 3 and full.computed == 9


def test_reassembled_video_keeps_frames_duration_and_sound(clip, net, tmp_path):
    report = colorize_video(clip, net, out=tmp_path / "out" / "clip_color.mp4", frames_dir=tmp_path / "f",
                            progress=False)
    out = report.output
    assert (out.frame_count, out.fps, out.has_audio) == (12, 12.0, True)
    assert out.duration == pytest.approx(report.source.duration)
    assert (out.width, out.height) == (64, 48)
    # H.264 yuv420p, fast start (the index, "moov", before the data, "mdat")
    data = (tmp_path / "out" / "clip_color.mp4").read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")
    log = subprocess.run([FFMPEG, "-hide_banner", "-i", str(report.video)], capture_output=True, text=True).stderr
    assert "h264" in log and "yuv420p" in log
    # the frames stay on disk
    assert len(list((tmp_path / "f").glob("frame_*.png"))) == 12
    # and the video shows them: compare frame 6 (lossy H.264, so roughly)
    cap = cv2.VideoCapture(str(report.video))
    for _ in range(6):
        ok, shown = cap.read()
    cap.release()
    expected = cv2.imread(str(frame_path(tmp_path / "f", 6)))
    gray = [cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(int) for img in (shown, expected)]
    assert np.abs(gray[0] - gray[1]).mean() < 3  # brightness is stored at full resolution


def test_video_without_sound(net, tmp_path):
    silent = make_video(tmp_path / "silent.mp4", audio=False)
    report = colorize_video(silent, net, out=tmp_path / "silent_color.mp4", frames_dir=tmp_path / "f",
                            progress=False)
    assert report.output.frame_count == 12 and not report.output.has_audio


def test_odd_dimensions(net, tmp_path):
    odd = make_video(tmp_path / "odd.mp4", size=(63, 47))
    report = colorize_video(odd, net, out=tmp_path / "odd_color.mp4", frames_dir=tmp_path / "f", progress=False)
    assert cv2.imread(str(frame_path(tmp_path / "f", 1))).shape == (47, 63, 3)  # frames keep the size
    assert (report.output.width, report.output.height) == (64, 48)  # the video is padded to even
    assert report.output.frame_count == 12


def test_video_broken_part_way(net, tmp_path):
    clip = make_video(tmp_path / "long.mp4", n=40, audio=False)
    data = clip.read_bytes()
    broken = tmp_path / "broken.mp4"
    # keep the header and the start of the data: decoding stops early
    broken.write_bytes(data[: int(len(data) * 0.8)])
    with pytest.warns(UserWarning, match="stopped after frame"):
        report = colorize_frames(broken, net, frames_dir=tmp_path / "f", progress=False)
    assert 0 < report.done < 40
    assert report.decode_error and f"{report.done} frames before it are kept" in report.decode_error
    assert len(list((tmp_path / "f").glob("frame_*.png"))) == report.done


def test_gap_in_frames_is_refused(clip, net, tmp_path):
    colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False)
    frame_path(tmp_path / "f", 5).unlink()
    with pytest.raises(VideoError, match="missing.*: 5"):
        frames_to_video(tmp_path / "f", tmp_path / "x.mp4", fps=12, progress=False)
    assert not list(tmp_path.glob("*.mp4")) or [p.name for p in tmp_path.glob("*.mp4")] == ["clip.mp4"]


def test_without_ffmpeg_falls_back_to_opencv(clip, net, tmp_path, monkeypatch):
    colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False)
    monkeypatch.setattr(video, "ffmpeg_exe", lambda: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = frames_to_video(tmp_path / "f", tmp_path / "fallback.mp4", fps=12, progress=False)
    assert any("WITHOUT sound" in str(w.message) for w in caught)
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    cap.release()


def test_reader_stops_cleanly_when_the_consumer_stops(clip):
    frames = video.read_frames(clip, buffer=2)
    first = next(frames)
    frames.close()  # the decoding thread must not hang
    assert first[0] == 0 and first[1].shape == (48, 64, 3)


def test_cli_video(clip, tiny_model, tmp_path, monkeypatch, capsys):
    from helpers.__main__ import main

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    out = tmp_path / "videos" / "result.mp4"
    args = ["video", str(clip), "--out", str(out), "--frames-dir", str(tmp_path / "f")]
    assert main([*args, "--max-frames", "4"]) == 0
    assert probe_video(out).frame_count == 4
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "4 reused" in printed and "8 computed" in printed and "with sound" in printed
    assert probe_video(out).frame_count == 12
    assert main([*args, "--temperature", "1.0"]) == 1  # other settings: refused, nothing lost
    assert "--restart" in capsys.readouterr().err
    assert main(["video", str(tmp_path / "missing.mp4")]) == 1
    assert "No such video file" in capsys.readouterr().err


def test_smoothing_lowers_flicker_keeps_colour_and_frames(clip, net, tmp_path):
    frames = colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False)
    before_frames = read_all(frames.frames_dir)
    smooth_dir = video.smooth_frames(clip, frames.frames_dir, progress=False)
    assert smooth_dir == tmp_path / "f_smooth"
    assert read_all(frames.frames_dir).keys() == before_frames.keys()  # the originals are untouched
    for name, img in read_all(frames.frames_dir).items():
        np.testing.assert_array_equal(img, before_frames[name])
    per_frame, raw = video.measure_flicker(clip, frames.frames_dir)
    _, smooth = video.measure_flicker(clip, smooth_dir)
    assert [f.frame for f in per_frame] == list(range(2, 13))
    assert smooth["mean_warped_ab_change"] < 0.8 * raw["mean_warped_ab_change"]
    assert smooth["mean_chroma"] == pytest.approx(raw["mean_chroma"], rel=0.15)
    with pytest.raises(ValueError, match="differ"):
        video.smooth_frames(clip, frames.frames_dir, out_dir=frames.frames_dir, progress=False)


def test_cli_video_smooth(clip, tiny_model, tmp_path, monkeypatch):
    from helpers.__main__ import main

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    out = tmp_path / "smooth.mp4"
    assert main(["video", str(clip), "--out", str(out), "--frames-dir", str(tmp_path / "f"), "--smooth"]) == 0
    assert probe_video(out).frame_count == 12 and (tmp_path / "f_smooth").is_dir()


def test_frames_of_another_model_never_mix(clip, net, tmp_path):
    colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, max_frames=2, model="stand-in")
    with pytest.raises(VideoError, match="settings"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, model="real weights")


def test_fast_mode_runs_the_network_on_keyframes_only(net, tmp_path):
    clip = make_video(tmp_path / "long.mp4", n=30, audio=False)
    report = colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, mode="fast", keyframe_interval=8)
    assert report.computed == 30 and report.done == 30
    assert 4 <= report.network_passes < 30  # frames 0, 8, 16, 24, the last, and any early keyframes
    exact = colorize_frames(clip, net, frames_dir=tmp_path / "e", progress=False)
    assert exact.network_passes == 30
    # keyframes are the network's own result: frame 9 (index 8) equals exact mode's
    np.testing.assert_array_equal(cv2.imread(str(frame_path(tmp_path / "f", 9))),
                                  cv2.imread(str(frame_path(tmp_path / "e", 9))))


def test_fast_mode_resumes_to_the_same_result(net, tmp_path, monkeypatch):
    clip = make_video(tmp_path / "long.mp4", n=30, audio=False)
    whole = colorize_frames(clip, net, frames_dir=tmp_path / "whole", progress=False, mode="fast")
    real = video.network_predictor

    def stopping_predictor(*args, **kwargs):
        predict = real(*args, **kwargs)
        calls = []

        def predict_then_stop(L):
            if len(calls) == 2:
                raise StopButtonError
            calls.append(1)
            return predict(L)

        return predict_then_stop

    monkeypatch.setattr(video, "network_predictor", stopping_predictor)
    with pytest.raises(StopButtonError):
        colorize_frames(clip, net, frames_dir=tmp_path / "resumed", progress=False, mode="fast")
    partial = len(list((tmp_path / "resumed").glob("frame_*.png")))
    assert 0 < partial < 30
    monkeypatch.setattr(video, "network_predictor", real)
    again = colorize_frames(clip, net, frames_dir=tmp_path / "resumed", progress=False, mode="fast")
    assert again.reused == partial and again.computed == 30 - partial
    assert read_all(tmp_path / "resumed").keys() == read_all(whole.frames_dir).keys()
    for name, img in read_all(whole.frames_dir).items():
        np.testing.assert_array_equal(read_all(tmp_path / "resumed")[name], img)


def test_fast_mode_preview_then_full_equals_a_full_run(net, tmp_path):
    clip = make_video(tmp_path / "long.mp4", n=30, audio=False)
    whole = colorize_frames(clip, net, frames_dir=tmp_path / "whole", progress=False, mode="fast")
    colorize_frames(clip, net, frames_dir=tmp_path / "p", progress=False, mode="fast", start=5, max_frames=7)
    assert sorted(read_all(tmp_path / "p")) == [f"frame_{i:06d}.png" for i in range(6, 13)]
    colorize_frames(clip, net, frames_dir=tmp_path / "p", progress=False, mode="fast")
    for name, img in read_all(whole.frames_dir).items():
        np.testing.assert_array_equal(read_all(tmp_path / "p")[name], img)


def test_fast_and_exact_frames_never_mix(clip, net, tmp_path):
    colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, max_frames=3)
    with pytest.raises(VideoError, match="settings"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, mode="fast")
    with pytest.raises(ValueError, match="mode"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, mode="quick")


def test_cli_video_fast(tiny_model, tmp_path, monkeypatch, capsys):
    from helpers.__main__ import main

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    clip = make_video(tmp_path / "long.mp4", n=30)
    out = tmp_path / "fast.mp4"
    assert main(["video", str(clip), "--out", str(out), "--frames-dir", str(tmp_path / "f"), "--mode", "fast",
                 "--keyframe-interval", "10"]) == 0
    assert probe_video(out).frame_count == 30
    printed = capsys.readouterr().out
    passes = int(printed.split("computed (")[1].split(" network passes")[0])
    assert 3 <= passes < 30


def test_a_probed_video_is_not_probed_again(clip, net, tmp_path, monkeypatch):
    info = probe_video(clip)
    calls = []
    real = video._has_audio
    monkeypatch.setattr(video, "_has_audio", lambda path: calls.append(path) or real(path))
    report = colorize_video(info, net, out=tmp_path / "o.mp4", frames_dir=tmp_path / "f", progress=False)
    assert calls == [tmp_path / "o.mp4"]  # only the output is probed, to check it
    assert report.output.frame_count == 12
