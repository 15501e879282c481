"""helpers.lab.pictures: the NumPy pictures of the ab plane, the bin symbols and describe_lab (notebook 01)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.lab import pictures as lp
from helpers.lab.ab_bins import bins_in_gamut
from helpers.lab.colour_space import ab_plane, in_srgb_gamut

RED_LAB = (53.24, 80.09, 67.20)  # sRGB (255, 0, 0) in CIE Lab, D65


def pixel_at(img_rgb: np.ndarray, a: float, b: float) -> np.ndarray:
    x, y = lp.ab_to_pixel(a, b, size=img_rgb.shape[0])
    return img_rgb[int(round(float(y))), int(round(float(x)))].astype(int)


def test_ab_to_pixel_inverts_ab_plane():
    lab = ab_plane(50, size=40, ab_max=100)
    for row, col in [(0, 0), (3, 37), (39, 20)]:
        x, y = lp.ab_to_pixel(lab[row, col, 1], lab[row, col, 2], size=40, ab_max=100)
        assert (float(x), float(y)) == pytest.approx((col, row), abs=1e-4)


@pytest.mark.parametrize(
    ("L", "a", "b", "check"),
    [
        (50, 60, 0, lambda p: p[0] > p[1] + 80 and p[0] > p[2]),  # +a is red
        (60, -40, 30, lambda p: p[1] > max(p[0], p[2]) + 60),  # -a is green
        (90, -10, 60, lambda p: min(p[0], p[1]) > p[2] + 100),  # +b is yellow
        (40, 20, -60, lambda p: p[2] > max(p[0], p[1]) + 80),  # -b is blue
    ],
)
def test_ab_plane_picture_has_the_colours_where_the_axes_say(L, a, b, check):
    assert in_srgb_gamut(np.array([L, a, b], np.float32))
    img_rgb = lp.render_ab_plane(L, size=256, axes=False, labels=False)
    assert img_rgb.shape == (256, 256, 3) and img_rgb.dtype == np.uint8
    pixel = pixel_at(img_rgb, a, b)
    assert check(pixel), pixel


def test_out_of_gamut_area_is_neutral_hatching():
    img_rgb = lp.render_ab_plane(50, size=256, axes=False, labels=False)
    corner = pixel_at(img_rgb, 120, 120)
    assert corner[0] == corner[1] == corner[2] and corner[0] in (lp.HATCH_LIGHT, lp.HATCH_DARK)
    outside = ~in_srgb_gamut(ab_plane(50, size=256))
    assert set(np.unique(img_rgb[outside])) == {lp.HATCH_LIGHT, lp.HATCH_DARK}
    centre = pixel_at(img_rgb, 0, 0)
    assert np.abs(centre - 119).max() <= 1  # Lab (50, 0, 0); pixel centres are half a unit off


def test_hatch_is_two_grays():
    stripes = lp.hatch((16, 16))
    assert stripes.shape == (16, 16, 3)
    assert set(np.unique(stripes)) == {lp.HATCH_LIGHT, lp.HATCH_DARK}
    assert np.all(stripes[..., 0] == stripes[..., 2])


def test_bin_symbols_differ_in_shape_and_colour():
    assert lp.BIN_SHOWN.filled and not lp.BIN_HIDDEN.filled
    assert lp.BIN_SHOWN.rgb != lp.BIN_HIDDEN.rgb
    assert "dot" in lp.BIN_SHOWN.label and "ring" in lp.BIN_HIDDEN.label
    assert "can show" in lp.BIN_SHOWN.label and "cannot" in lp.BIN_HIDDEN.label


def assert_drawn_with_the_bin_symbols(img_rgb: np.ndarray, plain_rgb: np.ndarray, bins: np.ndarray, L: float) -> None:
    """Displayable bins are filled dots of BIN_SHOWN's colour; the others hollow rings of BIN_HIDDEN's.

    ``plain_rgb`` is the same picture drawn without bins: inside a hollow ring it shows through.
    """
    size = img_rgb.shape[0]
    radius = max(1, round(size * 3 / 320))
    inside = bins_in_gamut(bins, L)
    xs, ys = lp.ab_to_pixel(bins[:, 0], bins[:, 1], size=size)
    for x, y, ok in zip(np.rint(xs).astype(int), np.rint(ys).astype(int), inside):
        centre = tuple(int(v) for v in img_rgb[y, x])
        if ok:
            assert centre == lp.BIN_SHOWN.rgb  # filled
        else:
            assert centre == tuple(int(v) for v in plain_rgb[y, x])  # hollow
            ring = img_rgb[y - radius: y + radius + 1, x - radius: x + radius + 1].astype(int)
            closest = np.abs(ring - lp.BIN_HIDDEN.rgb).sum(axis=2).min()
            assert closest < 60, (x, y, closest)  # the ring has (about) BIN_HIDDEN's gray


def test_bins_are_drawn_with_the_shared_symbols(bins):
    for L in (25, 50, 75):
        plain = lp.render_ab_plane(L, size=320, axes=False, labels=False)
        img_rgb = lp.render_ab_plane(L, size=320, bins=bins, axes=False, labels=False)
        assert not np.array_equal(plain, img_rgb)
        assert_drawn_with_the_bin_symbols(img_rgb, plain, bins, L)


def test_describe_lab_knows_srgb_red_gray_and_an_impossible_purple():
    red = lp.describe_lab(*RED_LAB)
    assert red.rgb == (255, 0, 0) and red.hex == "#ff0000" and red.in_gamut and red.out_of_range == {}
    gray = lp.describe_lab(50, 0, 0)
    assert gray.rgb == (119, 119, 119) and gray.in_gamut
    purple = lp.describe_lab(50, 100, -100)
    assert not purple.in_gamut
    assert purple.rgb_unclipped[1] < 0 and purple.rgb[1] == 0 and purple.rgb[2] == 255
    assert set(purple.out_of_range) == {"G", "B"}


def test_red_rounded_to_whole_numbers_is_just_outside_the_gamut():
    """Why the picker's sliders need steps of 0.01: (53, 80, 67) would need G = -2."""
    rounded = lp.describe_lab(*(round(v) for v in RED_LAB))
    assert not rounded.in_gamut and round(rounded.out_of_range["G"]) == -2


def test_picker_picture_has_a_swatch_and_a_hatched_frame_when_outside():
    img_rgb = lp.render_picker(*RED_LAB, size=100)
    assert img_rgb.shape == (100, 2 * 100 + 100 // 16, 3)
    assert tuple(img_rgb[50, -50]) == (255, 0, 0)
    assert tuple(img_rgb[2, -50]) == (255, 0, 0)  # no frame: red is inside
    outside = lp.render_picker(50, 100, -100, size=100)
    frame = outside[2, -50]
    assert frame[0] == frame[1] == frame[2] and frame[0] in (lp.HATCH_LIGHT, lp.HATCH_DARK)


def test_png_encoding_gives_png_bytes():
    data = lp.encode_png(lp.render_ab_plane(60, size=64))
    assert data.startswith(b"\x89PNG")
