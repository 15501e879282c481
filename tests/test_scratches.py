"""Vertical scratches: added on purpose (restoration.defects), removed by restoration.scratches; thin upright
things of the picture (a pole that pans with the camera, an edge) and other shots are kept."""

from __future__ import annotations

import cv2
import numpy as np

from helpers.media.decode import read_frames
from helpers.paths import INPUT_IMAGES, INPUT_VIDEO
from helpers.restoration.defects import add_scratches
from helpers.restoration.scratch_lines import ROW_BLOCKS, Line, find_lines, line_contrast
from helpers.restoration.scratches import Descratching, is_scratch
from tests.test_deflicker import psnr, scene

SIZE = (160, 240)


def panned(name: str, n: int, speed: int = 1) -> list[np.ndarray]:
    """``n`` gray ``SIZE`` frames of a sample photo, the camera panning right ``speed`` pixels a frame."""
    h, w = SIZE
    photo = cv2.imread(str(INPUT_IMAGES / name), cv2.IMREAD_GRAYSCALE)
    scale = max(h / photo.shape[0], (w + speed * n) / photo.shape[1])
    photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return [photo[:h, speed * i:speed * i + w].copy() for i in range(n)]


def descratched(frames: list[np.ndarray]) -> list[np.ndarray]:
    out = list(Descratching().run(enumerate(frames)))
    assert [i for i, _ in out] == list(range(len(frames)))  # every frame, once, in order
    return [frame for _, frame in out]


def with_line(frames: list[np.ndarray], xs: list[int], value: int, width: int = 2) -> list[np.ndarray]:
    """Each frame with a full-height line ``width`` wide of ``value`` at its x of ``xs``."""
    out = []
    for frame, x in zip(frames, xs):
        frame = frame.copy()
        frame[:, x:x + width] = value
        out.append(frame)
    return out


def test_scratches_are_found_where_they_are_and_removed_by_more_than_3_db():
    clean = panned("astronaut.jpg", 24)
    scratched = list(add_scratches(clean, count=3, seed=2))  # apart: two within 5 pixels are one wide run, left
    out = descratched(scratched)
    before, after = psnr(scratched, clean), psnr(out, clean)
    assert after > before + 3, (before, after)
    truth = np.abs(np.array(scratched, np.int16) - np.array(clean)) > 2  # where the scratches show
    filled = np.array(out) != np.array(scratched)
    assert (truth & filled).sum() > 0.7 * truth.sum()  # most of them found ...
    assert (truth & filled).sum() > 0.5 * filled.sum()  # ... and the fill mostly on them


def test_a_thin_pole_that_pans_with_the_picture_is_kept():
    for speed in (1, 2):  # pixels a frame, with the picture
        frames = with_line(panned("cameraman.jpg", 24, speed), [200 - speed * i for i in range(24)], 250)
        assert all(any(abs(line.x - (200.5 - speed * i)) < 1 for line in find_lines(line_contrast(frame)))
                   for i, frame in enumerate(frames))  # a line in every frame: only time tells it from a scratch
        out = descratched(frames)
        assert psnr(out, frames) > 40
        assert all(np.array_equal(a, b) for a, b in zip(out, frames))  # not one pixel filled


def test_a_scratch_beside_a_panning_pole_goes_and_the_pole_stays():
    poled = with_line(panned("coffee.jpg", 24), [200 - i for i in range(24)], 250)
    scratched = with_line(poled, [60] * 24, 20)
    out = descratched(scratched)
    assert all(np.array_equal(a[:, 100:], b[:, 100:]) for a, b in zip(out, poled))  # the pole's half untouched
    assert psnr([f[:, :100] for f in out], [f[:, :100] for f in poled]) > psnr(
        [f[:, :100] for f in scratched], [f[:, :100] for f in poled]) + 3


def test_the_sample_clip_is_left_alone():
    clean = [frame.image for frame in read_frames(INPUT_VIDEO / "sample_clip.mp4")]  # towers, a rocket, a cup
    out = descratched(clean)
    assert min(cv2.PSNR(a, b) for a, b in zip(out, clean)) > 40
    generated = scene(35, n=16, size=SIZE)
    assert psnr(descratched(generated), generated) > 40


def test_a_line_is_never_followed_across_a_cut():
    first, second = scene(36, n=12, size=SIZE), scene(37, n=12, size=SIZE)[::-1]  # the second pans the other way
    scratched = with_line(first, [80] * 12, 30) + with_line(second[:2], [80] * 2, 30) + second[2:]
    out = descratched(scratched)
    assert psnr(out[:12], first) > psnr(scratched[:12], first) + 3  # shot 1's scratch, to its last frame
    assert all(np.array_equal(a, b) for a, b in zip(out[12:], scratched[12:]))  # 2 frames of shot 2: not a scratch


def test_gray_stays_gray_in_colour_frames():
    clean = [cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in scene(38, n=12, size=SIZE)]
    scratched = list(add_scratches(clean, count=2, seed=3))
    out = descratched(scratched)
    assert all(f.shape == clean[0].shape and np.array_equal(f[..., 0], f[..., 2]) for f in out)
    assert any(not np.array_equal(a, b) for a, b in zip(out, scratched))  # something was removed


def test_a_thin_line_is_found_and_a_step_edge_is_not():
    frame = np.full((120, 160), 100, np.uint8)
    frame[:, 100:] = 180  # the edge of a building
    frame[10:110, 40:43] = 60  # a dark line 3 wide, through most of the height
    (line,) = find_lines(line_contrast(frame))
    assert line.sign == -1 and line.left == 40 and line.right == 43 and abs(line.x - 41) < 0.5
    assert line.bands.mean() > 0.75


def test_a_scratch_stays_where_it_was_and_a_pole_goes_with_the_picture():
    def at(x: float) -> list[Line]:
        return [Line(x, 1, int(x) - 1, int(x) + 2, np.ones(ROW_BLOCKS, bool), 20.0)]

    line = at(50.0)[0]
    steps = [1, 2, 3, -1, -2, -3]
    assert is_scratch(line, [(k, at(50.0 + 0.1 * k), 1.5 * k) for k in steps])  # stayed, the picture moved
    assert not is_scratch(line, [(k, at(50.0 + 1.5 * k), 1.5 * k) for k in steps])  # went with the picture
    assert not is_scratch(line, [(k, [], 1.5 * k) for k in steps])  # in one frame only
    assert not is_scratch(line, [])  # a shot of one frame
    short = line._replace(bands=np.arange(ROW_BLOCKS) < 8)  # two thirds of the height
    assert not is_scratch(short, [(k, at(50.0), 0.0) for k in steps])  # a still picture: cannot tell
    assert is_scratch(line, [(k, at(50.0), 0.0) for k in steps])  # ... unless it runs through all of it
