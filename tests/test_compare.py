"""Comparison helpers: colourfulness, wipe, side by side."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers.photo.compare import colourfulness, jpeg_bytes, shrink_to_fit, side_by_side, wipe


def test_colourfulness_is_zero_for_grey_and_grows_with_colour():
    gray = np.tile(np.arange(256, dtype=np.uint8), (10, 1))
    assert colourfulness(gray) == pytest.approx(0, abs=1e-6)
    pale = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    pale[:, :, 2] = np.clip(pale[:, :, 2].astype(int) + 20, 0, 255)
    vivid = np.zeros((10, 256, 3), np.uint8)
    vivid[:, :128] = (0, 0, 255)
    vivid[:, 128:] = (255, 0, 0)
    assert 0 < colourfulness(pale) < colourfulness(vivid)


def test_colourfulness_of_pure_red_matches_the_formula():
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 2] = 255
    # rg = 255, yb = 127.5, no spread: M = 0.3 * hypot(255, 127.5)
    assert colourfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-5)


def test_wipe_puts_before_left_and_after_right():
    before = np.zeros((20, 100), np.uint8)
    after = np.full((20, 100, 3), 200, np.uint8)
    out = wipe(before, after, 0.3)
    assert out.shape == (20, 100, 3)
    assert (out[:, :28] == 0).all() and (out[:, 31:] == 200).all()
    assert (out[:, 29:31] == 255).all()  # the boundary line
    assert (wipe(before, after, 0.0)[:, 2:] == 200).all()
    assert (wipe(before, after, 1.0)[:, :98] == 0).all()
    with pytest.raises(ValueError, match="one size"):
        wipe(before, after[:10], 0.5)


def test_side_by_side_and_shrink():
    a = np.zeros((100, 50), np.uint8)
    b = np.zeros((50, 50, 3), np.uint8)
    out = side_by_side([a, b], gap=4)
    assert out.shape == (100, 50 + 4 + 100, 3)
    assert shrink_to_fit(np.zeros((1000, 500)), 200).shape == (200, 100)
    assert shrink_to_fit(np.zeros((10, 5)), 200).shape == (10, 5)


def test_jpeg_bytes_decode_back():
    img = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    data = jpeg_bytes(img)
    assert data[:2] == b"\xff\xd8"
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape == (30, 40, 3)
