"""What a learner does first, as they would type it: colourise photos, then a video in exact and in fast
mode, with the command line. Every lane of .ci/run (each Python, each OpenCV) runs these, with notebooks 01
and 02 (tests/test_notebooks.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest

from helpers.common.images import read_image
from helpers.lab.colour_space import lightness
from helpers.media import video_check
from helpers.paths import INPUT_IMAGES, INPUT_VIDEO, REPO_ROOT

pytestmark = pytest.mark.smoke
CLIP = INPUT_VIDEO / "sample_clip.mp4"


def helpers_cli(tiny_model, *args, timeout=600) -> subprocess.CompletedProcess:
    """``python -m helpers ARGS`` with the default back end (auto), on the tiny model."""
    env = {**os.environ, "COLORIZE_MODEL_DIR": str(tiny_model)}
    result = subprocess.run([sys.executable, "-m", "helpers", *map(str, args)], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result


def test_photos_are_coloured_at_full_size_keeping_their_lightness(tiny_model, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea_cat.jpg", "cameraman.jpg"):
        shutil.copy(INPUT_IMAGES / name, photos / name)
    helpers_cli(tiny_model, "photo", photos, "--out", tmp_path / "out")
    for name in ("chelsea_cat", "cameraman"):
        gray = read_image(photos / f"{name}.jpg")
        colour = read_image(tmp_path / "out" / f"{name}_color.jpg")
        assert colour.shape == (*gray.shape[:2], 3)
        assert np.abs(colour.astype(int) - cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)[..., None]).max() > 10  # colour
        assert np.abs(lightness(colour) - lightness(gray)).mean() < 3  # the photo's own lightness (JPEG rounding)


def _frames(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [frame.to_ndarray(format="gray") for frame in container.decode(stream)], len(container.streams.audio)


@pytest.mark.parametrize("mode, frames", [("exact", 6), ("fast", 20)])
def test_the_sample_clip_is_coloured_in_one_video_with_its_sound(tiny_model, tmp_path, mode, frames):
    out = tmp_path / f"{mode}.mp4"
    helpers_cli(tiny_model, "video", CLIP, "--mode", mode, "--max-frames", frames, "--out", out,
                "--frames-dir", tmp_path / "frames")
    coloured, audio_streams = _frames(out)
    source, source_audio = _frames(CLIP)
    assert len(coloured) == frames and audio_streams == source_audio
    assert len(video_check.stream_times(out).frame_times) == frames
    for ours, theirs in zip(coloured, source):  # the same pictures, in order (H.264 at both ends)
        assert ours.shape == theirs.shape and np.abs(ours.astype(int) - theirs).mean() < 4


def test_old_film_restored_coloured_and_brought_to_30_frames_a_second(tiny_model, tmp_path):
    out = tmp_path / "restored.mp4"
    helpers_cli(tiny_model, "video", CLIP, "--mode", "fast", "--max-frames", 24, "--restore", "--fps", 30,
                "--out", out, "--frames-dir", tmp_path / "frames")
    times = video_check.stream_times(out)
    assert len(times.frame_times) == 30 and abs(times.video_end - 1.0) < 0.01 and len(times.audio_ends) == 1
    photo = tmp_path / "cameraman.jpg"
    shutil.copy(INPUT_IMAGES / "cameraman.jpg", photo)
    helpers_cli(tiny_model, "photo", photo, "--out", tmp_path / "photos", "--restore")
    assert read_image(tmp_path / "photos" / "cameraman_color.jpg").shape[:2] == read_image(photo).shape[:2]
    assert (tmp_path / "photos" / "cameraman_color_restore-mask.png").is_file()
