"""A video brought to a new frame rate (helpers.restoration.retime): decoded and checked frame by frame, with its
sound; old film's repeated frames dropped before new frames are made; the CLI's --fps and --interpolate."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from helpers.media.decode import read_frames
from helpers.media.encode import write_video
from helpers.media.probe import VideoError, probe_video
from helpers.media.video_check import stream_times
from helpers.restoration.retime import change_frame_rate, check_rate
from tests.test_deflicker import psnr
from tests.test_frame_rate import padded, pan
from tests.videos import make_video


def write_pan(path, frames: list[np.ndarray], fps: float, *, sound_from=None):
    """``frames`` (gray) as an H.264 video at ``fps``, with the sound of ``sound_from`` if given."""
    base = Fraction(1, 1200)  # a whole number of ticks a frame at 10, 12, 16 and 24 frames/s
    step = round(1200 / fps)
    write_video(path, ((k * step, step, cv2.cvtColor(f, cv2.COLOR_GRAY2BGR)) for k, f in enumerate(frames)),
                time_base=base, fps=fps, audio_from=sound_from)
    return path


def test_a_pan_at_12_frames_a_second_becomes_24_with_the_sound_and_its_length(tmp_path):
    sound = make_video(tmp_path / "tone.mp4", n=24, fps=12, audio=2.0)  # 2 s of a tone
    truth = pan(3, [k / 24 for k in range(48)])
    video = write_pan(tmp_path / "pan12.mp4", truth[::2], 12, sound_from=sound)
    done = change_frame_rate(video, tmp_path / "pan24.mp4", fps=24, progress=False)
    assert done.frames == 48 and done.made == 23 and done.repeats is None  # the last: after the last input frame
    out = [frame.image[..., 0] for frame in read_frames(done.path)]
    assert len(out) == 48
    times = stream_times(done.path)
    assert np.allclose(times.frame_times, [k / 24 for k in range(48)], atol=1e-3)
    assert abs(times.video_end - 2.0) < 1e-3 and len(times.audio_ends) == 1 and abs(times.audio_ends[0] - 2.0) < 0.06
    held_out = slice(1, 47, 2)  # the frames made between two kept ones (the last one is a repeat)
    repeated = [truth[k - 1] for k in range(1, 47, 2)]
    assert psnr(out[held_out], truth[held_out]) > psnr(repeated, truth[held_out]) + 6


def test_interpolate_doubles_the_frames_and_keeps_each_input_frame(tmp_path):
    frames = pan(4, [k / 10 for k in range(10)])
    video = write_pan(tmp_path / "pan10.mp4", frames, 10)
    done = change_frame_rate(video, tmp_path / "double.mp4", factor=2, progress=False)
    assert done.frames == 20 and done.fps == pytest.approx(20)
    before = [f.image for f in read_frames(video)]
    after = [f.image for f in read_frames(done.path)]
    assert all(psnr([a], [b]) > 40 for a, b in zip(after[::2], before))  # the input frames, re-encoded


def test_padded_old_film_loses_its_repeats_and_plays_smoothly(tmp_path):
    real = pan(5, [k / 16 for k in range(32)])  # 2 s of film shot at 16 frames/s
    shown, duplicate = padded(real, 16, 24, seed=1)  # transferred at 24 by repeating frames
    video = write_pan(tmp_path / "padded.mp4", shown, 24)
    done = change_frame_rate(video, tmp_path / "smooth.mp4", fps=24, progress=False)
    assert done.repeats is not None and sum(done.repeats.duplicate) == sum(duplicate)
    assert done.repeats.real_fps == pytest.approx(16, abs=0.5)
    out = [frame.image[..., 0] for frame in read_frames(done.path)]
    truth = pan(5, [k / 24 for k in range(len(out))])
    assert psnr(out, truth) > psnr(shown[:len(out)], truth) + 6  # no judder: each frame where the pan is
    kept = change_frame_rate(video, tmp_path / "as_is.mp4", fps=24, drop_repeats=False, progress=False)
    assert kept.repeats is None and kept.made == 0  # same rate, every frame on its time: nothing to make


def test_the_input_is_never_replaced_and_bad_rates_are_refused(tmp_path):
    video = make_video(tmp_path / "clip.mp4", n=6)
    size = video.stat().st_size
    with pytest.raises(VideoError, match="replace"):
        change_frame_rate(video, video, fps=24, progress=False)
    assert video.stat().st_size == size
    for fps, factor in ((None, None), (24, 2), (0, None), (1000, None), (None, 5)):
        with pytest.raises(ValueError):
            check_rate(fps, factor)
    assert probe_video(video).frames_estimate == 6


def test_the_command_line_colours_then_brings_the_video_to_the_new_rate(tiny_model, tmp_path, monkeypatch, capsys):
    from helpers.cli import main

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    clip = make_video(tmp_path / "clip.mp4", n=12, fps=12, audio=1.0)
    out = tmp_path / "out" / "clip_color.mp4"
    assert main(["video", str(clip), "--out", str(out), "--frames-dir", str(tmp_path / "f"), "--fps", "24",
                 "--backend", "opencv"]) == 0
    times = stream_times(out)
    assert len(times.frame_times) == 24 and abs(times.video_end - 1.0) < 1e-3 and times.audio_ends
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # the video at the source's rate is gone
    assert "24 frames at 24 frames/s" in capsys.readouterr().out
    assert main(["video", str(clip), "--out", str(tmp_path / "x2.mp4"), "--frames-dir", str(tmp_path / "f"),
                 "--interpolate", "2x", "--backend", "opencv"]) == 0  # the same segments, another rate
    assert len(stream_times(tmp_path / "x2.mp4").frame_times) == 24
    for bad in (["--fps", "0"], ["--interpolate", "5x"], ["--fps", "24", "--interpolate", "2x"], ["--fps", "abc"],
                ["--shot-at", "-16"]):
        with pytest.raises(SystemExit) as stop:
            main(["video", str(clip), *bad])
        assert stop.value.code == 2


def test_film_shot_at_16_and_stored_at_24_plays_at_its_real_speed_without_its_sound(tmp_path):
    film = pan(6, [j / 16 for j in range(24)])  # 24 frames the camera took at 16 a second
    sound = make_video(tmp_path / "tone.mp4", n=12, fps=12, audio=1.0)
    video = write_pan(tmp_path / "fast.mp4", film, 24, sound_from=sound)  # stored at 24: 1 s, too fast
    as_shot = change_frame_rate(video, tmp_path / "as_shot.mp4", shot_at=16, progress=False)
    times = stream_times(as_shot.path)
    assert as_shot.frames == 24 and as_shot.made == 0 and abs(times.video_end - 1.5) < 1e-3
    assert np.allclose(times.frame_times, [j / 16 for j in range(24)], atol=1e-3)
    assert not times.audio_ends and any("sound was left out" in note for note in as_shot.sound_notes)
    at_24 = change_frame_rate(video, tmp_path / "at_24.mp4", fps=24, shot_at=16, progress=False)
    out = [frame.image[..., 0] for frame in read_frames(at_24.path)]
    assert len(out) == 36 and at_24.made > 0
    truth = pan(6, [k / 24 for k in range(35)])  # the last frame repeats the last film frame
    assert psnr(out[:35], truth) > 35


@pytest.mark.parametrize("options", [{"fps": 24}, {"factor": 3}, {"fps": 25, "shot_at": 10}])
def test_a_one_frame_video_and_a_length_that_is_no_whole_number_of_frames(tmp_path, options):
    video = make_video(tmp_path / "one.mp4", n=1, fps=12)
    done = change_frame_rate(video, tmp_path / "out.mp4", progress=False, **options)  # checked as it is written
    assert done.frames == len(stream_times(done.path).frame_times) >= 1
