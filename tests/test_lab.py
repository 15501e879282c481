"""helpers.lab: the sRGB gamut maths, the ab plane grid and the round-trip errors (notebook 01)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers.lab.colour_space import ab_plane, in_srgb_gamut, lab_to_srgb_unclipped, round_trip_errors


def rgb_to_lab(rgb) -> np.ndarray:
    """8-bit R, G, B triples -> Lab through OpenCV's float path."""
    rgb = np.asarray(rgb, dtype=np.float32).reshape(1, -1, 3) / 255
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[0]


def test_gray_is_in_gamut_and_vivid_purple_is_not():
    assert in_srgb_gamut(np.array([50, 0, 0], np.float32))
    assert not in_srgb_gamut(np.array([50, 100, -100], np.float32))
    assert not in_srgb_gamut(np.array([0, 10, 0], np.float32))  # black has no colour


def test_in_srgb_gamut_keeps_the_leading_shape():
    lab = np.zeros((2, 5, 3), np.float32)
    lab[..., 0] = 50
    lab[1, 2] = (50, 100, -100)
    mask = in_srgb_gamut(lab)
    assert mask.shape == (2, 5) and mask.dtype == bool
    assert mask.sum() == 9 and not mask[1, 2]


def test_every_colour_made_from_rgb_is_in_gamut_including_the_corners():
    corners = [(r, g, b) for r in (0, 255) for g in (0, 255) for b in (0, 255)]
    rgb = np.vstack([corners, np.random.default_rng(0).integers(0, 256, (20000, 3))])
    assert in_srgb_gamut(rgb_to_lab(rgb)).all()


def test_unclipped_conversion_matches_opencv_inside_and_leaves_range_outside():
    rgb = np.random.default_rng(1).integers(0, 256, (5000, 3))
    lab = rgb_to_lab(rgb)
    ours = lab_to_srgb_unclipped(lab) * 255
    opencv = cv2.cvtColor(lab[np.newaxis], cv2.COLOR_Lab2RGB)[0] * 255
    assert np.abs(ours - opencv).max() < 0.5
    assert np.abs(ours - rgb).max() < 2.0  # OpenCV's RGB->Lab is approximate to about a level
    purple = lab_to_srgb_unclipped(np.array([50, 100, -100], np.float32)) * 255
    assert purple[1] < -20 and purple[2] > 275  # G below 0, B above 255: clipping hides this


def test_ab_plane_puts_a_to_the_right_and_b_up():
    lab = ab_plane(40, size=8, ab_max=80)
    assert lab.shape == (8, 8, 3) and lab.dtype == np.float32
    assert np.all(lab[..., 0] == 40)
    assert np.all(np.diff(lab[..., 1], axis=1) > 0) and np.all(np.diff(lab[..., 1], axis=0) == 0)
    assert np.all(np.diff(lab[..., 2], axis=0) < 0) and np.all(np.diff(lab[..., 2], axis=1) == 0)
    assert lab[0, 0, 1] == pytest.approx(-70) and lab[0, 0, 2] == pytest.approx(70)  # pixel centres


def test_gamut_shape_changes_with_lightness():
    fractions = {L: in_srgb_gamut(ab_plane(L, size=64)).mean() for L in (2, 50, 95)}
    assert fractions[2] < 0.05 and fractions[95] < 0.12 and fractions[50] > 0.18
    yellow = (-10, 70)  # exists only when light: dark yellow is not a screen colour
    assert not in_srgb_gamut(np.array([30, *yellow], np.float32))
    assert in_srgb_gamut(np.array([90, *yellow], np.float32))


def test_round_trip_float_path_is_exact_to_a_level_and_uint8_path_is_worse():
    img_bgr = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    errors = round_trip_errors(img_bgr)
    float_max, float_mean = errors["float32"]
    uint8_max, uint8_mean = errors["uint8"]
    assert float_max <= 1 and float_mean < 0.02
    assert uint8_max >= 3 and uint8_mean > 10 * float_mean
    with pytest.raises(ValueError, match="uint8"):
        round_trip_errors(img_bgr.astype(np.float32) / 255)
