"""Video: the resumable pipeline (frames folder, manifest, lock, resume, reassembly, smoothing, fast mode)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

import helpers
from helpers import video
from helpers.common.files import FolderInUseError, FolderLock
from helpers.media import probe as video_io
from helpers.media import video_check
from helpers.video import (
    VideoError,
    colorize_frames,
    colorize_video,
    frame_path,
    frames,
    frames_to_video,
    one_pass,
    probe_video,
)
from tests.videos import decoded, make_video, same_frames

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def clip(tmp_path):
    return make_video(tmp_path / "clip.mp4", audio=1.0)


def read_all(frames_dir):
    return {p.name: p.read_bytes() for p in sorted(frames_dir.glob("frame_*.png"))}


def segments_of(frames_dir):
    """The segment files of a frames folder, name -> bytes."""
    return {p.name: p.read_bytes() for p in sorted(frames_dir.glob("segment_*.mp4"))}


def computed_and_reused(printed):
    """(frames computed, frames reused) as the report of ``colorize_video`` says them."""
    found = re.search(r"segments in .*: \d+ computed \((\d+) frames, \d+ network passes\), \d+ reused \((\d+) frames\)",
                      printed)
    assert found, printed
    return int(found[1]), int(found[2])


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_probe(clip, tmp_path):
    info = probe_video(clip)
    assert (info.width, info.height, info.fps, info.has_audio, info.rotation, info.interlaced) == \
        (64, 48, 12.0, True, 0, False)
    assert info.frames_estimate == 12 and info.duration == pytest.approx(1.0)
    assert [(a.codec, a.channels, a.sample_rate) for a in info.audio] == [("aac", 2, 48000)]
    assert not probe_video(make_video(tmp_path / "silent.mp4")).has_audio
    assert "12 fps" in info.describe() and "aac" in info.describe()


def test_probe_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        probe_video(tmp_path / "nope.mp4")
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(VideoError, match="not a video"):
        probe_video(tmp_path / "text.mp4")
    with pytest.raises(FileNotFoundError, match="folder"):
        probe_video(tmp_path)


def test_frames_are_colourised_at_full_resolution_in_order_with_their_times(clip, net, tmp_path):
    report = colorize_frames(clip, net, frames_dir=tmp_path / "new" / "frames", progress=False)
    names = sorted(p.name for p in (tmp_path / "new" / "frames").glob("frame_*.png"))
    assert names == [f"frame_{i:06d}.png" for i in range(1, 13)]
    assert report.computed == 12 and report.reused == 0 and report.new_frames == list(range(1, 13))
    frames = list(video.read_frames(clip))
    assert [f.index for f in frames] == list(range(12)) and frames[0].image.shape == (48, 64, 3)
    # frame k is the colourisation of the video's k-th frame
    np.testing.assert_array_equal(cv2.imread(str(frame_path(report.frames_dir, 5))),
                                  helpers.colorize(frames[4].image, net))
    manifest = json.loads((report.frames_dir / "manifest.json").read_text())
    assert manifest["frame_count"] == 12
    assert [p * video_io.Fraction(manifest["time_base"]) for p in manifest["pts"]] == \
        pytest.approx([f.time for f in frames])


class StopButtonError(Exception):
    pass


def test_interrupted_run_resumes_and_matches_an_uninterrupted_one(clip, net, tmp_path, monkeypatch):
    full = colorize_frames(clip, net, frames_dir=tmp_path / "full", progress=False)
    calls = []
    real = one_pass.colorize

    def colorize_then_stop(*args, **kwargs):
        if len(calls) == 5:
            raise StopButtonError  # like pressing the stop button during frame 6
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(one_pass, "colorize", colorize_then_stop)
    with pytest.raises(StopButtonError):
        colorize_frames(clip, net, frames_dir=tmp_path / "resumed", progress=False)
    assert len(list((tmp_path / "resumed").glob("frame_*.png"))) == 5
    monkeypatch.setattr(one_pass, "colorize", real)
    again = colorize_frames(clip, net, frames_dir=tmp_path / "resumed", progress=False)
    assert (again.reused, again.computed) == (5, 7)
    assert again.new_frames == list(range(6, 13))  # each missing frame once, in order
    assert read_all(full.frames_dir) == read_all(again.frames_dir)
    assert not leftovers(tmp_path / "resumed")


@pytest.mark.parametrize("run", [colorize_frames, colorize_video])
def test_a_resumed_runs_bar_counts_the_speed_of_new_frames_only(run, net, tmp_path, monkeypatch):
    """Notebook 03 invites ■ and a rerun: its bar once showed 1,265 frames/s (the reused frames counted as new)."""
    from tqdm import tqdm

    clip = make_video(tmp_path / "clip.mp4", n=50, fps=10)  # segments of 40 frames, then 10
    run(clip, net, frames_dir=tmp_path / "f", progress=False, max_frames=40)
    bars = []

    class Recorded(tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    def slow_colorize(*args, **kwargs):
        time.sleep(0.05)  # about 20 frames/s at most
        return helpers.colorize(*args, **kwargs)

    monkeypatch.setattr(frames, "tqdm", Recorded)
    monkeypatch.setattr(one_pass, "colorize", slow_colorize)
    run(clip, net, frames_dir=tmp_path / "f", progress=True, mode="exact")
    bar = next(bar for bar in bars if getattr(bar, "desc", "") == clip.name)
    assert (bar.initial, bar.n) == (40, 50)
    shown = re.search(r"([\d.]+)frame/s", bar.format_meter(**bar.format_dict))
    assert shown and 0 < float(shown[1]) < 25, bar  # not 40 frames in no time


def test_damaged_frame_is_detected_and_redone(clip, net, tmp_path):
    frames_dir = tmp_path / "f"
    colorize_frames(clip, net, frames_dir=frames_dir, progress=False)
    good = frame_path(frames_dir, 4).read_bytes()
    frame_path(frames_dir, 4).write_bytes(good[: len(good) // 3])
    frame_path(frames_dir, 7).unlink()
    frame_path(frames_dir, 9).write_bytes(b"")
    report = colorize_frames(clip, net, frames_dir=frames_dir, progress=False)
    assert report.new_frames == [4, 7, 9] and report.redone == 2
    assert frame_path(frames_dir, 4).read_bytes() == good


def test_other_settings_never_mix_with_old_frames(clip, net, tmp_path):
    frames_dir = tmp_path / "f"
    colorize_frames(clip, net, frames_dir=frames_dir, progress=False, max_frames=3)
    before = frame_path(frames_dir, 1).read_bytes()
    with pytest.raises(VideoError, match="other settings.*temperature"):
        colorize_frames(clip, net, frames_dir=frames_dir, progress=False, temperature=1.0)
    assert frame_path(frames_dir, 1).read_bytes() == before  # nothing lost by refusing
    other = make_video(tmp_path / "other.mp4", seed=1)
    with pytest.raises(VideoError, match="another video"):
        colorize_frames(other, net, frames_dir=frames_dir, progress=False, temperature=helpers.DEFAULT_TEMPERATURE)
    with pytest.raises(VideoError, match="deinterlace"):
        colorize_frames(clip, net, frames_dir=frames_dir, progress=False, temperature=helpers.DEFAULT_TEMPERATURE,
                        deinterlace="on")
    report = colorize_frames(clip, net, frames_dir=frames_dir, progress=False, temperature=1.0, restart=True)
    assert report.computed == 12 and report.reused == 0
    assert json.loads((frames_dir / "manifest.json").read_text())["settings"]["temperature"] == 1.0


def test_frames_of_another_model_never_mix(clip, net, tmp_path):
    colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, max_frames=2, model="stand-in")
    with pytest.raises(VideoError, match="settings"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, model="real weights")


def test_frames_without_a_manifest_are_not_touched(clip, net, tmp_path):
    (tmp_path / "f").mkdir()
    frame_path(tmp_path / "f", 1).write_bytes(b"someone else's")
    for restart in (False, True):
        with pytest.raises(VideoError, match="without a manifest.json"):
            colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, restart=restart)
    assert frame_path(tmp_path / "f", 1).read_bytes() == b"someone else's"


def test_damaged_manifest_gives_a_clear_error_and_restart_recovers(clip, net, tmp_path, tiny_model, monkeypatch,
                                                                   capsys):
    from helpers.cli import main

    reference = colorize_video(clip, net, out=tmp_path / "ref.mp4", frames_dir=tmp_path / "ref", progress=False)
    colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, max_frames=4)
    (tmp_path / "f" / "manifest.json").write_text('{"version": 2, "video": {"sou')  # half written
    with pytest.raises(VideoError, match="damaged.*--restart"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False)
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    # OpenCV's network, as ``net`` is: --backend auto may choose bf16 on a CPU that has it, other colours
    args = ["video", str(clip), "--out", str(tmp_path / "o.mp4"), "--frames-dir", str(tmp_path / "f"), "--backend",
            "opencv"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "manifest.json is damaged" in err and "--restart" in err and "Traceback" not in err
    assert main([*args, "--restart"]) == 0
    assert not read_all(tmp_path / "f")  # the old frames are gone, and the new segments are the reference's
    assert segments_of(tmp_path / "f") == segments_of(reference.frames.frames_dir) != {}


def test_old_manifest_version_is_refused_then_restarted(clip, net, tmp_path):
    colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, max_frames=2)
    manifest = json.loads((tmp_path / "f" / "manifest.json").read_text())
    (tmp_path / "f" / "manifest.json").write_text(json.dumps({"source": manifest["video"]["source"],
                                                              "settings": manifest["settings"]}))
    with pytest.raises(VideoError, match="older version"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False)
    assert colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, restart=True).computed == 12


def test_preview_then_full_run(clip, net, tmp_path):
    frames_dir = tmp_path / "f"
    preview = colorize_frames(clip, net, frames_dir=frames_dir, progress=False, start=2, max_frames=3)
    assert preview.new_frames == [3, 4, 5] and preview.first == 3
    full = colorize_frames(clip, net, frames_dir=frames_dir, progress=False)
    assert full.reused == 3 and full.computed == 9


def test_reassembled_video_keeps_frames_times_and_sound(clip, net, tmp_path):
    report = colorize_video(clip, net, out=tmp_path / "out" / "clip_color.mp4", frames_dir=tmp_path / "f",
                            progress=False)
    out = probe_video(report.video)
    assert (out.fps, out.has_audio, out.width, out.height, out.codec) == (12.0, True, 64, 48, "h264")
    assert out.pixel_format == "yuv420p"
    times = video_check.stream_times(report.video)
    assert times.frame_times == pytest.approx([i / 12 for i in range(12)], abs=1e-3)
    assert times.video_end == pytest.approx(1.0, abs=1e-3)
    assert "checked clip_color.mp4: 12 frames" in str(report)
    # fast start: the index ("moov") before the data ("mdat")
    data = report.video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")
    # no frame was written as an image: the folder holds the encoded segment and the manifest
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [".lock", "manifest.json", "segment_000001-000012.mp4"]
    # and the video shows the colourised frames: compare frame 6 (lossy H.264, so roughly)
    shown = list(video.read_frames(report.video))[5].image
    expected = helpers.colorize(list(video.read_frames(clip))[5].image, net)
    gray = [cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(int) for img in (shown, expected)]
    assert np.abs(gray[0] - gray[1]).mean() < 3  # brightness is stored at full resolution


def test_a_preview_from_the_middle_gets_the_sound_of_its_frames(net, tmp_path):
    clip = make_video(tmp_path / "long.mp4", n=36, audio=3.0)
    colorize_frames(clip, net, frames_dir=tmp_path / "f", start=12, max_frames=12, progress=False)
    written = frames_to_video(tmp_path / "f", tmp_path / "part.mp4", progress=False)
    times = video_check.stream_times(written.path)
    assert written.frames == 12 and times.frame_times[0] == 0 and times.video_end == pytest.approx(1.0, abs=1e-3)
    assert times.audio_ends[0] == pytest.approx(1.0, abs=0.05)


def test_start_past_the_end_says_so(clip, net, tmp_path):
    with pytest.raises(VideoError, match="ends before frame 51: there is nothing to colourise"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", start=50, progress=False)


def test_transport_stream_cut_in_the_middle_starts_at_its_first_keyframe(net, tmp_path):
    whole = make_video(tmp_path / "whole.ts", n=60, size=(128, 96), audio=5.0)
    data = whole.read_bytes()
    cut = tmp_path / "cut.ts"
    cut.write_bytes(data[len(data) // 3 // 188 * 188:])  # as a recording that starts late: mid-GOP
    report = colorize_video(cut, net, out=tmp_path / "cut.mp4", frames_dir=tmp_path / "f", progress=False)
    assert 20 <= report.written.frames < 60 and not report.frames.decode_error
    assert video_check.stream_times(report.video).audio_ends[0] == pytest.approx(report.written.duration, abs=0.1)


def test_odd_dimensions(net, tmp_path):
    odd = make_video(tmp_path / "odd.mkv", size=(63, 47), codecs=("libx264", "yuv444p", "flac"))
    report = colorize_video(odd, net, out=tmp_path / "odd_color.mp4", frames_dir=tmp_path / "f", progress=False,
                            keep_frames=True)
    assert cv2.imread(str(frame_path(tmp_path / "f", 1))).shape == (47, 63, 3)  # frames keep the size
    out = probe_video(report.video)
    assert (out.width, out.height) == (64, 48)  # the video is padded to even
    assert report.written.frames == 12


def test_gap_in_frames_is_refused(clip, net, tmp_path):
    colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False)
    frame_path(tmp_path / "f", 5).unlink()
    with pytest.raises(VideoError, match="missing.*: 5"):
        frames_to_video(tmp_path / "f", tmp_path / "x.mp4", progress=False)
    assert not (tmp_path / "x.mp4").exists() and not leftovers(tmp_path)


def test_reader_stops_cleanly_when_the_consumer_stops(clip):
    frames = video.read_frames(clip, buffer=2)
    first = next(frames)
    frames.close()  # the decoding thread must not hang
    assert first.index == 0 and first.image.shape == (48, 64, 3)


def test_cli_video(clip, tiny_model, tmp_path, monkeypatch, capsys):
    from helpers.cli import main

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    out = tmp_path / "videos" / "result.mp4"
    args = ["video", str(clip), "--out", str(out), "--frames-dir", str(tmp_path / "f")]
    assert main([*args, "--max-frames", "4"]) == 0
    assert len(video_check.stream_times(out).frame_times) == 4
    capsys.readouterr()
    assert main(args) == 0
    printed = capsys.readouterr().out
    # the preview's segment is not the grid's first (frames 1-12): computed again, so that a segment is
    # the same whatever ran before; the preview's is deleted
    assert computed_and_reused(printed) == (12, 0) and "checked result.mp4: 12 frames" in printed
    assert len(video_check.stream_times(out).frame_times) == 12
    assert list(segments_of(tmp_path / "f")) == ["segment_000001-000012.mp4"]
    assert main(args) == 0
    assert computed_and_reused(capsys.readouterr().out) == (0, 12)
    assert main([*args, "--temperature", "1.0"]) == 1  # other settings: refused, nothing lost
    assert "--restart" in capsys.readouterr().err
    assert main(["video", str(tmp_path / "missing.mp4")]) == 1
    assert "No such video file" in capsys.readouterr().err


def test_smoothing_lowers_flicker_keeps_colour_and_frames(clip, net, tmp_path):
    frames = colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False)
    before_frames = read_all(frames.frames_dir)
    smooth_dir = video.smooth_frames(frames.frames_dir, progress=False)
    assert smooth_dir == tmp_path / "f_smooth"
    assert read_all(frames.frames_dir) == before_frames  # the originals are untouched
    per_frame, raw = video.measure_flicker(frames.frames_dir)
    _, smooth = video.measure_flicker(smooth_dir)
    assert [f.frame for f in per_frame] == list(range(2, 13))
    assert smooth["mean_warped_ab_change"] < 0.8 * raw["mean_warped_ab_change"]
    assert smooth["mean_chroma"] == pytest.approx(raw["mean_chroma"], rel=0.15)
    with pytest.raises(ValueError, match="differ"):
        video.smooth_frames(frames.frames_dir, out_dir=frames.frames_dir, progress=False)
    written = frames_to_video(smooth_dir, tmp_path / "smooth.mp4", progress=False)  # times and sound come along
    assert written.frames == 12 and video_check.stream_times(written.path).audio_ends


def test_cli_video_smooth(clip, tiny_model, tmp_path, monkeypatch):
    from helpers.cli import main

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    out = tmp_path / "smooth.mp4"
    assert main(["video", str(clip), "--out", str(out), "--frames-dir", str(tmp_path / "f"), "--smooth"]) == 0
    assert len(video_check.stream_times(out).frame_times) == 12
    assert video.read_manifest(tmp_path / "f")["settings"]["smooth"] == 0.6  # smoothed in the same pass


# --------------------------------------------------------------------------- fast mode
def test_fast_mode_runs_the_network_on_keyframes_only(net, tmp_path):
    clip = make_video(tmp_path / "long.mp4", n=30)
    report = colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, mode="fast", keyframe_interval=8)
    assert report.computed == 30 and report.done == 30
    assert 4 <= report.network_passes < 30  # frames 0, 8, 16, 24, the last, and any early keyframes
    exact = colorize_frames(clip, net, frames_dir=tmp_path / "e", progress=False)
    assert exact.network_passes == 30
    # keyframes are the network's own result: frame 9 (index 8) equals exact mode's
    assert frame_path(tmp_path / "f", 9).read_bytes() == frame_path(tmp_path / "e", 9).read_bytes()
    # the length is learnt by decoding: a second run finds nothing to do and runs no network
    again = colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, mode="fast", keyframe_interval=8)
    assert (again.reused, again.computed, again.network_passes) == (30, 0, 0)


def test_fast_mode_resumes_to_the_same_result(net, tmp_path, monkeypatch):
    clip = make_video(tmp_path / "long.mp4", n=30)
    whole = colorize_frames(clip, net, frames_dir=tmp_path / "whole", progress=False, mode="fast")
    real = one_pass.network_predictor

    def stopping_predictor(*args, **kwargs):
        predict = real(*args, **kwargs)
        calls = []

        def predict_then_stop(L):
            if len(calls) == 2:
                raise StopButtonError
            calls.append(1)
            return predict(L)

        return predict_then_stop

    monkeypatch.setattr(one_pass, "network_predictor", stopping_predictor)
    with pytest.raises(StopButtonError):
        colorize_frames(clip, net, frames_dir=tmp_path / "resumed", progress=False, mode="fast")
    partial = len(list((tmp_path / "resumed").glob("frame_*.png")))
    assert 0 < partial < 30
    monkeypatch.setattr(one_pass, "network_predictor", real)
    again = colorize_frames(clip, net, frames_dir=tmp_path / "resumed", progress=False, mode="fast")
    assert again.reused == partial and again.computed == 30 - partial
    assert read_all(tmp_path / "resumed") == read_all(whole.frames_dir)


def test_fast_mode_preview_then_full_equals_a_full_run(net, tmp_path):
    clip = make_video(tmp_path / "long.mp4", n=30)
    whole = colorize_frames(clip, net, frames_dir=tmp_path / "whole", progress=False, mode="fast")
    colorize_frames(clip, net, frames_dir=tmp_path / "p", progress=False, mode="fast", start=5, max_frames=7)
    assert sorted(read_all(tmp_path / "p")) == [f"frame_{i:06d}.png" for i in range(6, 13)]
    colorize_frames(clip, net, frames_dir=tmp_path / "p", progress=False, mode="fast")
    assert read_all(tmp_path / "p") == read_all(whole.frames_dir)


def test_fast_and_exact_frames_never_mix(clip, net, tmp_path):
    colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, max_frames=3)
    with pytest.raises(VideoError, match="settings"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, mode="fast")
    with pytest.raises(ValueError, match="mode"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, mode="quick")
    with pytest.raises(ValueError, match="keyframe_interval >= 1"):
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False, mode="fast", keyframe_interval=0)


def test_cli_video_fast(tiny_model, tmp_path, monkeypatch, capsys):
    from helpers.cli import main

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    clip = make_video(tmp_path / "long.mp4", n=30, audio=2.5)
    out = tmp_path / "fast.mp4"
    assert main(["video", str(clip), "--out", str(out), "--frames-dir", str(tmp_path / "f"), "--mode", "fast",
                 "--keyframe-interval", "10"]) == 0
    assert len(video_check.stream_times(out).frame_times) == 30
    printed = capsys.readouterr().out
    passes = int(re.search(r"(\d+) network passes", printed)[1])
    assert 3 <= passes < 30


# --------------------------------------------------------------------------- one run per frames folder
def _cli(tiny_model, *args):
    """``python -m helpers video`` on the tiny model, run by OpenCV as the ``net`` fixture is (the
    frames are compared with its); tests/test_auto_backend.py covers the default ``--backend auto``."""
    env = {**os.environ, "COLORIZE_MODEL_DIR": str(tiny_model)}
    return subprocess.Popen([sys.executable, "-m", "helpers", "video", "--backend", "opencv", *map(str, args)],
                            cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.005)


def test_a_second_run_on_a_busy_folder_touches_nothing(clip, net, tiny_model, tmp_path):
    frames_dir = tmp_path / "f"
    colorize_frames(clip, net, frames_dir=frames_dir, progress=False, max_frames=4)
    before = {p.name: p.read_bytes() for p in frames_dir.iterdir() if p.name != ".lock"}
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from helpers.common.files import FolderLock\n"
                               f"with FolderLock({str(frames_dir)!r}):\n print('held', flush=True)\n"
                               " sys.stdin.readline()"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for extra in ([], ["--restart"], ["--temperature", "1.0", "--restart"], ["--mode", "fast"]):
            run = _cli(tiny_model, clip, "--frames-dir", frames_dir, "--out", tmp_path / "o.mp4", *extra)
            out, err = run.communicate(timeout=60)
            assert run.returncode == 1 and f"in use by process {holder.pid}" in err
        with pytest.raises(FolderInUseError):
            colorize_frames(clip, net, frames_dir=frames_dir, progress=False, restart=True)
    finally:
        holder.kill()
        holder.wait()
    assert {p.name: p.read_bytes() for p in frames_dir.iterdir() if p.name != ".lock"} == before
    assert not (tmp_path / "o.mp4").exists()


def _encoding(frames_dir):
    """A run is encoding a segment in ``frames_dir`` (its temporary file is there)."""
    return any(frames_dir.glob(".segment_*.part"))


def test_two_real_runs_at_once_never_mix(net, tiny_model, tmp_path):
    clip = make_video(tmp_path / "long.mp4", n=48, size=(320, 240))
    reference = colorize_video(clip, net, out=tmp_path / "ref.mp4", frames_dir=tmp_path / "ref", progress=False)
    frames_dir = tmp_path / "f"
    first = _cli(tiny_model, clip, "--frames-dir", frames_dir, "--out", tmp_path / "a.mp4")
    _wait_for(lambda: _encoding(frames_dir))
    # The first run is paused while it holds the folder, so the second finds it busy however slowly it
    # starts (on a slow machine the first could otherwise finish before the second has imported helpers).
    first.send_signal(signal.SIGSTOP)
    try:
        second = _cli(tiny_model, clip, "--frames-dir", frames_dir, "--out", tmp_path / "b.mp4", "--temperature",
                      "1.0", "--restart")
        _, err = second.communicate(timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 1 and "in use by process" in err
    assert first.wait(timeout=120) == 0
    assert segments_of(frames_dir) == segments_of(reference.frames.frames_dir)
    assert not (tmp_path / "b.mp4").exists()


LONG = {"n": 144, "size": (320, 240), "audio": 12.0}
"""Three segments of 48 frames (4 s at 12 fps)."""


@pytest.mark.parametrize("kill_at", ["first segment", "second segment", "writing the video"])
def test_killed_run_resumes_to_identical_frames(kill_at, net, tiny_model, tmp_path):
    clip = make_video(tmp_path / "long.mp4", **LONG)
    reference = colorize_video(clip, net, out=tmp_path / "ref.mp4", frames_dir=tmp_path / "ref", progress=False)
    frames_dir, out = tmp_path / "f", tmp_path / "out" / "long_color.mp4"
    run = _cli(tiny_model, clip, "--frames-dir", frames_dir, "--out", out)
    if kill_at == "writing the video":
        _wait_for(lambda: out.parent.is_dir() and any(out.parent.iterdir()))
    else:
        done = {"first segment": 0, "second segment": 1}[kill_at]
        _wait_for(lambda: len(segments_of(frames_dir)) == done and _encoding(frames_dir))
    run.send_signal(signal.SIGKILL)
    run.wait()
    kept = sum(48 for _ in frames_dir.glob("segment_*.mp4"))
    again = _cli(tiny_model, clip, "--frames-dir", frames_dir, "--out", out)
    printed, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert computed_and_reused(printed) == (144 - kept, kept)  # each segment exactly once
    assert segments_of(frames_dir) == segments_of(reference.frames.frames_dir)
    assert not leftovers(frames_dir) and not leftovers(out.parent)
    assert same_frames(out, reference.video)


def test_fast_mode_killed_twice_resumes_to_identical_frames(net, tiny_model, tmp_path):
    clip = make_video(tmp_path / "long.mp4", **LONG)
    args = ("--mode", "fast", "--keyframe-interval", "8")
    reference = colorize_video(clip, net, out=tmp_path / "ref.mp4", frames_dir=tmp_path / "ref", progress=False,
                               mode="fast", keyframe_interval=8)
    frames_dir, out = tmp_path / "f", tmp_path / "out" / "long_color.mp4"
    for done in (0, 1):  # killed while encoding the first segment, then the second
        run = _cli(tiny_model, clip, *args, "--frames-dir", frames_dir, "--out", out)
        _wait_for(lambda done=done: len(segments_of(frames_dir)) == done and _encoding(frames_dir))
        run.send_signal(signal.SIGKILL)
        run.wait()
    again = _cli(tiny_model, clip, *args, "--frames-dir", frames_dir, "--out", out)
    printed, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert computed_and_reused(printed) == (96, 48)
    assert segments_of(frames_dir) == segments_of(reference.frames.frames_dir)
    source_times = [t for t, _ in decoded(clip)]
    assert video_check.stream_times(out).frame_times == pytest.approx(source_times, abs=1e-3)
    assert same_frames(out, reference.video)


def test_ctrl_c_says_where_it_stopped_in_one_line(tiny_model, tmp_path):
    clip = make_video(tmp_path / "long.mp4", **LONG)
    frames_dir = tmp_path / "f"
    run = _cli(tiny_model, clip, "--frames-dir", frames_dir, "--out", tmp_path / "o.mp4")
    _wait_for(lambda: len(segments_of(frames_dir)) == 1 and _encoding(frames_dir))
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130 and "Traceback" not in err
    stopped = re.search(r"stopped at frame (\d+); run the same command to resume", err)
    assert stopped and 49 <= int(stopped[1]) <= 144, err
    # the second segment may finish between the wait and the signal: then it is kept too, never a part of it
    kept, cells = list(segments_of(frames_dir)), ["segment_000001-000048.mp4", "segment_000049-000096.mp4"]
    assert not leftovers(frames_dir) and kept in (cells[:1], cells) and len(kept) <= (int(stopped[1]) - 1) // 48


def test_ctrl_c_in_a_notebook_shows_one_line_not_a_traceback(clip, net, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(one_pass, "colorize", interrupted)
    with pytest.raises(KeyboardInterrupt) as stop:
        colorize_video(clip, net, out=tmp_path / "o.mp4", frames_dir=tmp_path / "f", progress=False)
    assert stop.value._render_traceback_() == ["Stopped: stopped at frame 1; run the same command to resume "
                                               "(the finished segments are kept)"]


def test_stop_while_writing_frames_as_images_is_one_line_too(clip, net, tmp_path, monkeypatch):
    """Notebook 03, section 3 invites pressing stop: one line, and the frames written so far stay."""
    real, calls = one_pass.colorize, []

    def stopped_at_the_fourth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(one_pass, "colorize", stopped_at_the_fourth)
    with pytest.raises(KeyboardInterrupt) as stop:
        colorize_frames(clip, net, frames_dir=tmp_path / "f", progress=False)
    assert stop.value._render_traceback_() == ["Stopped: stopped at frame 4; run the same command to resume "
                                               "(the frames written are kept)"]
    assert sorted(p.name for p in (tmp_path / "f").glob("frame_*.png")) == [f"frame_00000{n}.png" for n in (1, 2, 3)]


def test_exact_then_fast_live_side_by_side_and_a_replaced_video_is_said(tiny_model, tmp_path):
    """The README's two examples one after the other, as a newcomer types them: no --restart needed."""
    clip = make_video(tmp_path / "film.mp4", n=24, size=(96, 64), audio=2.0)
    env = {**os.environ, "COLORIZE_MODEL_DIR": str(tiny_model), "COLORIZE_OUTPUT_DIR": str(tmp_path / "results")}
    outputs = []
    for mode in ("exact", "fast", "exact"):
        run = subprocess.run([sys.executable, "-m", "helpers", "video", str(clip), "--backend", "opencv", "--mode",
                              mode], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    folders = sorted(p.name for p in (tmp_path / "results" / "colorized_frames" / "film").iterdir())
    assert len(folders) == 2 and folders[0].startswith("exact_T0.38373_224px_") and folders[1].startswith("fast-K")
    assert [computed_and_reused(printed) for printed in outputs] == [(24, 0), (24, 0), (0, 24)]
    assert "replaced the video of an earlier run" not in outputs[0]
    assert "replaced the video of an earlier run" in outputs[1] and "replaced the video of an earlier run" in outputs[2]


def test_restart_says_what_it_deletes(clip, net, tmp_path):
    colorize_video(clip, net, out=tmp_path / "a.mp4", frames_dir=tmp_path / "f", progress=False)
    report = colorize_video(clip, net, out=tmp_path / "b.mp4", frames_dir=tmp_path / "f", progress=False,
                            temperature=1.0, restart=True)
    assert report.frames.deleted == 12 and "restart: deleted 12 frames of other settings" in str(report)


def test_temporary_files_of_dead_runs_are_removed(clip, net, tmp_path):
    frames_dir = tmp_path / "f"
    colorize_frames(clip, net, frames_dir=frames_dir, progress=False, max_frames=2)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = frames_dir / f".frame_000003.png.{int(dead.stdout)}-0badc0de.part"
    stale.write_bytes(b"half a frame")
    colorize_frames(clip, net, frames_dir=frames_dir, progress=False)
    assert not stale.exists() and not leftovers(frames_dir)


def test_lock_is_reentrant_within_one_run(clip, net, tmp_path):
    with video.frames_folder_lock(tmp_path / "f"):
        colorize_video(clip, net, out=tmp_path / "o.mp4", frames_dir=tmp_path / "f", progress=False)
    with FolderLock(tmp_path / "f"):  # and released afterwards
        pass


def test_the_temperature_is_the_runs_own_not_what_the_network_was_left_at(net, clip, tmp_path):
    """A shared network (a notebook's, after a slider) may be left at any temperature: a run colours,
    and records, the temperature it is given (the paper's 0.38 when none is)."""
    helpers.set_temperature(net, 1.0)
    report = colorize_frames(clip, net, frames_dir=tmp_path / "f", temperature=0.5, max_frames=3, progress=False)
    first = list(video.read_frames(clip))[0].image
    np.testing.assert_array_equal(cv2.imread(str(frame_path(report.frames_dir, 1))),
                                  helpers.colorize(first, net, temperature=0.5))
    assert json.loads((report.frames_dir / "manifest.json").read_text())["settings"]["temperature"] == 0.5
    helpers.set_temperature(net, 1.0)
    plain = colorize_frames(clip, net, frames_dir=tmp_path / "g", max_frames=1, progress=False)
    np.testing.assert_array_equal(cv2.imread(str(frame_path(plain.frames_dir, 1))),
                                  helpers.colorize(first, net, temperature=helpers.DEFAULT_TEMPERATURE))
