"""Film grain: added on purpose (restoration.defects.add_grain), reduced by restoration.grain; measured with PSNR
against the clean frames. A moving object must keep its edges (no ghost where it was a frame before),
a clean clip must stay as it is, and no frame may be blended with one across a scene cut."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers.restoration.defects import add_grain, grain_amplitude
from helpers.restoration.grain import RADIUS, Degraining
from tests.test_deflicker import psnr, scene

GRAIN = 10.0
"""Grain of the tests: about as strong as on a scan of a fast stock of the 1930s."""


def degrained(frames: list[np.ndarray], **options) -> list[np.ndarray]:
    out = list(Degraining(**options).run(enumerate(frames)))
    assert [i for i, _ in out] == list(range(len(frames)))  # every frame, once, in order
    return [frame for _, frame in out]


def with_square(frames: list[np.ndarray], speed: int = 5) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """``frames`` with a bright 14 x 14 square moving right ``speed`` px a frame; its top-left corners."""
    out, corners = [], []
    for i, background in enumerate(frames):
        frame = background.copy()
        x, y = 12 + speed * i, 40
        cv2.rectangle(frame, (x, y), (x + 13, y + 13), 250, -1)
        out.append(frame)
        corners.append((x, y))
    return out, corners


def test_grain_is_reduced_by_more_than_3_db():
    clean = scene(31, n=16)
    grainy = list(add_grain(clean, GRAIN, seed=1))
    before, after = psnr(grainy, clean), psnr(degrained(grainy), clean)
    assert after > before + 3, (before, after)


def test_a_stronger_setting_removes_more_and_zero_changes_nothing():
    clean = scene(32, n=10)
    grainy = list(add_grain(clean, GRAIN, seed=2))
    gentle, default = psnr(degrained(grainy, strength=0.5), clean), psnr(degrained(grainy), clean)
    assert psnr(grainy, clean) < gentle < default
    assert all(np.array_equal(a, b) for a, b in zip(degrained(grainy, strength=0), grainy))


def test_a_clean_clip_is_left_alone_even_where_something_moves():
    clean, _ = with_square(scene(33, n=12))
    out = degrained(clean)
    assert min(cv2.PSNR(a, b) for a, b in zip(out, clean)) > 40


def test_a_moving_object_keeps_its_edges_and_leaves_no_ghost():
    background = scene(34, n=12)
    clean, corners = with_square(background)
    grainy = list(add_grain(clean, GRAIN, seed=3))
    out = degrained(grainy)
    alone = degrained(list(add_grain(background, GRAIN, seed=3)))  # the same grain where the square is not
    for i in range(2, len(clean) - 2):  # where two frames each side are averaged
        x, y = corners[i]
        around = np.s_[y - 4:y + 18, x - 14:x + 28]  # the square, and where it was and will be two frames away
        error_in, error_out = (np.abs(f[around].astype(int) - clean[i][around]).mean() for f in (grainy[i], out[i]))
        assert error_out < error_in, (i, error_in, error_out)  # better there too, not smeared
        trail = np.s_[y:y + 14, x - 10:x]  # where the square was two frames before: background now
        ghost = out[i][trail].astype(int) - alone[i][trail]  # what the square left there (+25 if averaged in)
        assert abs(ghost.mean()) < 4, (i, ghost.mean())
        assert out[i][y + 2:y + 12, x + 2:x + 12].mean() > 240  # the square itself keeps its brightness


def test_no_frame_is_blended_across_a_cut():
    one, other = scene(35, n=8), scene(36, n=8, brightness=0.8)
    grainy = list(add_grain(one + other, GRAIN, seed=4))
    together = degrained(grainy)
    apart = degrained(grainy[:8]) + degrained(grainy[8:])  # each shot on its own: nothing else to blend
    assert all(np.array_equal(a, b) for a, b in zip(together, apart))


def test_each_frame_depends_only_on_the_frames_within_its_radius():
    grainy = list(add_grain(scene(40, n=9), GRAIN, seed=8))
    whole = degrained(grainy)
    for k in (RADIUS, 4, 8 - RADIUS):  # (what lets a video be restored in segments: helpers.restoration)
        assert np.array_equal(degrained(grainy[k - RADIUS:k + RADIUS + 1])[RADIUS], whole[k]), k


def test_short_streams_and_gray_in_colour_frames():
    assert degrained([]) == []
    single = scene(37, n=1)
    assert np.array_equal(degrained(single)[0], single[0])  # nothing to average with
    clean = [cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in scene(38, n=6)]
    out = degrained(list(add_grain(clean, GRAIN, seed=5)))
    assert all(f.shape == clean[0].shape and np.array_equal(f[..., 0], f[..., 2]) for f in out)
    assert psnr([f[..., 1] for f in out], [f[..., 1] for f in clean]) > psnr(
        [f[..., 1] for f in add_grain(clean, GRAIN, seed=5)], [f[..., 1] for f in clean])


def test_the_grain_level_is_measured():
    clean = scene(39, n=8)
    step = Degraining()
    degrained_frames = list(step.run(enumerate(add_grain(clean, GRAIN, seed=6))))
    assert len(degrained_frames) == len(step.grain) == 8
    assert 0.5 * GRAIN < np.median(step.grain) < 1.2 * GRAIN  # the moved neighbour is a little smoothed


def test_add_grain_is_reproducible_correlated_in_space_independent_in_time_and_stronger_in_midtones():
    flat = [np.full((64, 64), 128, np.uint8)] * 2
    a, b = (frame.astype(float) - 128 for frame in add_grain(flat, GRAIN, seed=7))
    assert np.array_equal(next(add_grain(flat, GRAIN, seed=7)), a.astype(np.uint8) + 128)  # same seed, same grain
    assert a.std() == pytest.approx(GRAIN, rel=0.1)
    assert np.corrcoef(a[:, 1:].ravel(), a[:, :-1].ravel())[0, 1] > 0.3  # clumps, not single pixels
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.1  # new grain in every frame
    dark = next(add_grain([np.full((64, 64), 20, np.uint8)], GRAIN, seed=7)).astype(float)
    assert dark.std() < 0.85 * a.std()
    assert grain_amplitude(np.array([[128]], np.uint8), GRAIN)[0, 0] == pytest.approx(GRAIN, rel=1e-3)
    with pytest.raises(ValueError, match="strength"):
        next(add_grain(flat, -1.0))
