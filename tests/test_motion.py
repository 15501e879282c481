"""Optical flow, warping and the forward-backward trust check on pictures whose motion is known."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.media.motion import OpticalFlow, consistent, small_gray, to_gray, warp, working_size
from tests.conftest import textured

SHAPE = (120, 160)


def shifted_maps(dx: float, dy: float, shape=SHAPE) -> np.ndarray:
    """Maps that read every pixel from (x + dx, y + dy)."""
    return OpticalFlow().identity(shape) + np.float32([dx, dy])


def test_identity_maps_are_each_pixels_own_position():
    maps = OpticalFlow().identity((3, 4))
    assert maps.shape == (3, 4, 2) and maps.dtype == np.float32
    assert maps[2, 3].tolist() == [3, 2]  # (x, y)


def test_warp_of_a_known_shift():
    img = textured(*SHAPE, seed=0)
    out = warp(img, shifted_maps(3, -2))
    np.testing.assert_array_equal(out[2:, :-3], img[:-2, 3:])  # out[y, x] = img[y - 2, x + 3]
    assert not np.array_equal(out, img)


def test_warp_half_a_pixel_interpolates():
    img = np.float32([[0, 10, 20, 30]] * 3)
    out = warp(img, shifted_maps(0.5, 0, shape=img.shape))
    np.testing.assert_allclose(out[:, :3], [[5, 15, 25]] * 3)


def flows(forward_x: float, back_x: float, width: int = 30):
    """A 1-pixel-high frame moving ``forward_x`` px, whose flow back there is ``back_x``: (flow, back there, maps)."""
    flow, back = np.zeros((1, width, 2), np.float32), np.zeros((1, width, 2), np.float32)
    flow[..., 0], back[..., 0] = forward_x, back_x
    return flow, back, OpticalFlow().identity((1, width)) + flow


def test_consistency_tolerance_grows_with_the_motion():
    # a round trip 1 pixel short is refused when nothing moves (limit 0.5 squared pixels) ...
    assert not consistent(*flows(0, 1)).any()
    # ... and accepted for a 20-pixel motion (limit 0.01 (400 + 361) + 0.5 = 8.1 > 1), where it lands inside
    trusted = consistent(*flows(20, -19))
    assert trusted[0, :10].all() and not trusted[0, 10:].any()  # x + 20 > 29: outside the frame
    assert consistent(*flows(0.5, -0.5))[0, :-1].all()  # the last pixel lands at x = 29.5: outside
    assert not consistent(*flows(20, 0)).any()  # no way back at all


def test_flow_of_a_pan_is_found_and_trusted_where_it_stays_inside():
    prev = textured(*SHAPE, seed=0)
    gray = np.roll(prev, 5, axis=1)  # the picture moved 5 px right: gray[:, x] = prev[:, x - 5]
    flow = OpticalFlow()
    back, forward = flow.both_ways(prev, gray)
    moved = back.maps - flow.identity(SHAPE)
    inner = (slice(10, 110), slice(20, 150))
    assert np.median(moved[inner], axis=(0, 1)) == pytest.approx([-5, 0], abs=0.3)
    assert np.median((forward.maps - flow.identity(SHAPE))[inner], axis=(0, 1)) == pytest.approx([5, 0], abs=0.3)
    assert back.trusted.dtype == bool and back.trusted[inner].mean() > 0.95
    assert not back.trusted[:, :5].any()  # they came from outside prev
    assert not forward.trusted[:, -5:].any()  # they go outside gray
    np.testing.assert_array_equal(flow.back(prev, gray).trusted, back.trusted)


def test_trust_is_false_where_a_moving_object_uncovers_the_background():
    background = textured(*SHAPE, seed=0)
    square = textured(40, 40, seed=5, low=0, high=80)
    prev, gray = background.copy(), background.copy()
    prev[40:80, 40:80] = square
    gray[40:80, 56:96] = square  # moved 16 px right: in gray, x = 40..55 shows what prev had hidden
    trusted = OpticalFlow().back(prev, gray).trusted
    assert trusted[45:75, 42:54].mean() < 0.2
    assert trusted[5:30, 5:150].mean() > 0.95 and trusted[90:115, 5:150].mean() > 0.95  # still background


def test_working_size_shrinks_the_longest_side_and_never_enlarges():
    assert working_size((480, 640)) == (320, 240)
    assert working_size((640, 480, 3), 320) == (240, 320)
    assert working_size((100, 50)) == (50, 100)


def test_small_gray_of_a_colour_crop():
    frame = np.zeros((200, 700, 3), np.uint8)
    frame[..., 1] = 200  # green: gray 0.587 * 200
    crop = frame[:, 10:650]  # a view, not contiguous
    small = small_gray(to_gray(crop))
    assert small.shape == (100, 320) and small.flags.c_contiguous
    assert np.all(small == 117)


def test_frames_too_small_or_too_flat_for_dis_still_get_a_flow_of_their_size():
    flow = OpticalFlow()
    for shape in ((1, 1), (3, 200), (200, 3), (8, 8), (24, 400)):  # (24, 400) crashed DIS itself
        a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)  # texture: what made DIS crash
        back, forward = flow.both_ways(a, a)
        assert back.maps.shape == forward.maps.shape == (*shape, 2)
        assert np.allclose(back.maps, flow.identity(shape), atol=0.5)  # no motion found where there is none
