"""video --restore: the gray frames restored in the same pass, before colouring; the same segments
however the work is cut (each segment decodes the restoration's context on both sides)."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import cv2
import numpy as np
import pytest

from helpers import video
from helpers.media.decode import read_frames
from helpers.media.encode import write_video
from helpers.paths import REPO_ROOT
from helpers.restoration.defects import add_dust, add_flicker
from helpers.restoration.deflicker import frame_levels
from helpers.restoration.steps import RESTORE_STEPS, STEPS, check_steps, restored_images
from helpers.video import pipeline
from helpers.video.frames_folder import settings_name
from tests.test_deflicker import scene
from tests.videos import same_segments

FPS = 10  # segments of 4 s = 40 frames


@pytest.fixture
def flickering_clip(tmp_path):
    frames = [cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in add_flicker(scene(11, n=90, size=(48, 64)), 0.2, seed=5)]
    path = tmp_path / "old_film.mp4"
    write_video(path, ((i, 1, f) for i, f in enumerate(frames)), time_base=Fraction(1, FPS), fps=FPS)
    return path


def brightness_jitter(path) -> float:
    """How much the gray brightness jumps from frame to frame: the std of the frame-to-frame change."""
    means = [frame_levels(frame.image).mean for frame in read_frames(path)]
    return float(np.std(np.diff(means)))


def _colorize(clip, net, folder, **options):
    return video.colorize_video(clip, net, out=folder.with_suffix(".mp4"), frames_dir=folder, progress=False,
                                **options)


def test_restore_removes_the_flicker_before_colouring(flickering_clip, net, tmp_path):
    plain = _colorize(flickering_clip, net, tmp_path / "plain")
    restored = _colorize(flickering_clip, net, tmp_path / "restored", restore=["deflicker"])
    assert brightness_jitter(restored.video) < 0.35 * brightness_jitter(plain.video)
    assert restored.frames.computed == plain.frames.computed == 90
    assert video.read_manifest(tmp_path / "restored")["settings"]["restore"] == ["deflicker"]


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_restored_segments_do_not_depend_on_how_the_work_is_cut(mode, flickering_clip, net, tmp_path, monkeypatch):
    options = {"mode": mode, "keyframe_interval": 8, "restore": RESTORE_STEPS}
    _colorize(flickering_clip, net, tmp_path / "one", **options)
    jobs = pipeline._jobs
    monkeypatch.setattr(pipeline, "_jobs", lambda *a, **k: jobs(*a, **{**k, "one_per_segment": True}))  # as on Dask
    many = _colorize(flickering_clip, net, tmp_path / "many", **options)
    assert many.segments_computed == 3
    assert same_segments(tmp_path / "many", tmp_path / "one")


def test_the_settings_name_the_steps_and_unknown_ones_are_refused(flickering_clip, net, tmp_path):
    settings = video.frame_settings(net, restore=check_steps(["deflicker"]))
    assert settings["restore"] == ["deflicker"] and "_restore-deflicker_" in settings_name(settings)
    assert "restore" not in video.frame_settings(net)  # no restoration: the folders of earlier versions
    assert check_steps(["dust", "deflicker"]) == ("deflicker", "dust")  # always in the running order
    with pytest.raises(ValueError, match="the steps are deflicker, dust, scratches, grain"):
        _colorize(flickering_clip, net, tmp_path / "x", restore=["sharpen", "deflicker"])
    assert not (tmp_path / "x").exists()


def test_the_command_line_takes_restore_alone_or_with_steps(tmp_path, monkeypatch):
    run = subprocess.run([sys.executable, "-m", "helpers", "video", "x.mp4", "--restore", "sharpen"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "invalid choice: 'sharpen'" in run.stderr and "'dust'" in run.stderr
    from helpers.cli.parser import build_parser as _parser

    assert _parser().parse_args(["video", "x.mp4", "--restore"]).restore == []  # all steps
    assert _parser().parse_args(["video", "x.mp4"]).restore is None
    from helpers.cli.parser import files_before_restore as before

    # a file typed after --restore is a file, not a step: moved in front of it (photo: any number of them)
    assert before(["video", "--restore", "a.mp4", "--fps", "24"]) == ["video", "a.mp4", "--restore", "--fps", "24"]
    assert before(["photo", "--restore", "dust", "a.jpg", "b/"]) == ["photo", "a.jpg", "b/", "--restore", "dust"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scans").mkdir()  # a folder named without a dot or slash: it exists, so it is a file name too
    assert before(["photo", "--restore", "scans"]) == ["photo", "scans", "--restore"]
    (tmp_path / "dust").mkdir()  # ... but a step's name is the step
    assert before(["photo", "--restore", "dust", "scans"]) == ["photo", "scans", "--restore", "dust"]
    assert before(["video", "--restore", "dusst", "x.mp4"]) == ["video", "x.mp4", "--restore", "dusst"]  # a typo
    assert before(["video", "x.mp4", "--fps", "24.5"]) == ["video", "x.mp4", "--fps", "24.5"]  # only after --restore
    typed_first = subprocess.run([sys.executable, "-m", "helpers", "video", "--restore", "dust", "missing.mp4"],
                                 cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert typed_first.returncode != 0 and "missing.mp4" in typed_first.stdout + typed_first.stderr
    assert "invalid choice" not in typed_first.stderr  # read as the video, which then is not there
    assert RESTORE_STEPS == ("deflicker", "dust", "scratches", "grain")


def test_the_steps_in_threads_give_what_they_give_one_after_the_other():
    frames = list(add_dust(add_flicker(scene(12, n=24), 0.1, seed=1), seed=2))
    steps = ("deflicker", "dust", "scratches")  # no flow handed on: exactly the steps' own results
    one_by_one = enumerate(frames)
    for step in steps:
        one_by_one = STEPS[step]().run(one_by_one)
    threaded = list(restored_images(enumerate(frames), steps))
    assert [i for i, _ in threaded] == list(range(len(frames)))
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(threaded, one_by_one))
    everything = [list(restored_images(enumerate(frames), RESTORE_STEPS)) for _ in range(2)]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(*everything))  # dust's flow to grain: deterministic
