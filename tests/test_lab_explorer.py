"""The sRGB gamut maths of helpers.lab and the pictures and widgets of helpers.lab_explorer (notebook 01)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import lab_explorer as lx
from helpers.lab import ab_plane, in_srgb_gamut, lab_to_srgb_unclipped
from helpers.paths import INPUT_IMAGES


def decode_png(data: bytes) -> np.ndarray:
    """Back from PNG bytes to an ``(H, W, 3)`` uint8 RGB array (to check what a widget shows)."""
    img_bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img_bgr is None:
        raise ValueError("These bytes are not a PNG image OpenCV can decode.")
    return cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB)


RED_LAB = (53.24, 80.09, 67.20)  # sRGB (255, 0, 0) in CIE Lab, D65


def rgb_to_lab(rgb) -> np.ndarray:
    """8-bit R, G, B triples -> Lab through OpenCV's float path."""
    rgb = np.asarray(rgb, dtype=np.float32).reshape(1, -1, 3) / 255
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[0]


def pixel_at(img_rgb: np.ndarray, a: float, b: float) -> np.ndarray:
    x, y = lx.ab_to_pixel(a, b, size=img_rgb.shape[0])
    return img_rgb[int(round(float(y))), int(round(float(x)))].astype(int)


# --- helpers.lab: gamut ------------------------------------------------------------------------


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


def test_ab_to_pixel_inverts_ab_plane():
    lab = ab_plane(50, size=40, ab_max=100)
    for row, col in [(0, 0), (3, 37), (39, 20)]:
        x, y = lx.ab_to_pixel(lab[row, col, 1], lab[row, col, 2], size=40, ab_max=100)
        assert (float(x), float(y)) == pytest.approx((col, row), abs=1e-4)


# --- pictures ----------------------------------------------------------------------------------


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
    img_rgb = lx.render_ab_plane(L, size=256, axes=False, labels=False)
    assert img_rgb.shape == (256, 256, 3) and img_rgb.dtype == np.uint8
    pixel = pixel_at(img_rgb, a, b)
    assert check(pixel), pixel


def test_out_of_gamut_area_is_neutral_hatching():
    img_rgb = lx.render_ab_plane(50, size=256, axes=False, labels=False)
    corner = pixel_at(img_rgb, 120, 120)
    assert corner[0] == corner[1] == corner[2] and corner[0] in (lx.HATCH_LIGHT, lx.HATCH_DARK)
    outside = ~in_srgb_gamut(ab_plane(50, size=256))
    assert set(np.unique(img_rgb[outside])) == {lx.HATCH_LIGHT, lx.HATCH_DARK}
    centre = pixel_at(img_rgb, 0, 0)
    assert np.abs(centre - 119).max() <= 1  # Lab (50, 0, 0); pixel centres are half a unit off


def test_gamut_shape_changes_with_lightness():
    fractions = {L: in_srgb_gamut(ab_plane(L, size=64)).mean() for L in (2, 50, 95)}
    assert fractions[2] < 0.05 and fractions[95] < 0.12 and fractions[50] > 0.18
    yellow = (-10, 70)  # exists only when light: dark yellow is not a screen colour
    assert not in_srgb_gamut(np.array([30, *yellow], np.float32))
    assert in_srgb_gamut(np.array([90, *yellow], np.float32))


def test_bins_are_drawn_as_rings_only_where_displayable(bins):
    plain = lx.render_ab_plane(50, size=256, axes=False, labels=False)
    with_bins = lx.render_ab_plane(50, size=256, bins=bins, axes=False, labels=False)
    inside = lx.bins_in_gamut(bins, 50)
    assert 0 < inside.sum() < len(bins)
    a, b = bins[inside][0]
    x, y = (int(round(float(v))) for v in lx.ab_to_pixel(a, b, size=256))
    ring = with_bins[y - 3: y + 4, x - 3: x + 4]
    assert ring.min() < 60  # a dark ring around the bin centre
    assert not np.array_equal(plain, with_bins)


def test_png_round_trip_is_lossless():
    img_rgb = lx.render_ab_plane(60, size=64)
    assert np.array_equal(decode_png(lx.encode_png(img_rgb)), img_rgb)
    with pytest.raises(ValueError):
        decode_png(b"not a png")


def test_hatch_is_two_grays():
    stripes = lx.hatch((16, 16))
    assert stripes.shape == (16, 16, 3)
    assert set(np.unique(stripes)) == {lx.HATCH_LIGHT, lx.HATCH_DARK}
    assert np.all(stripes[..., 0] == stripes[..., 2])


# --- describe_lab and the picker ---------------------------------------------------------------


def test_describe_lab_knows_srgb_red_gray_and_an_impossible_purple():
    red = lx.describe_lab(*RED_LAB)
    assert red.rgb == (255, 0, 0) and red.hex == "#ff0000" and red.in_gamut
    gray = lx.describe_lab(50, 0, 0)
    assert gray.rgb == (119, 119, 119) and gray.in_gamut
    purple = lx.describe_lab(50, 100, -100)
    assert not purple.in_gamut
    assert purple.rgb_unclipped[1] < 0 and purple.rgb[1] == 0 and purple.rgb[2] == 255


def test_picker_shows_red_then_follows_the_sliders():
    picker = lx.LabPicker(*RED_LAB, size=100)
    assert picker.colour.rgb == (255, 0, 0)
    assert "(255, 0, 0)" in picker.readout.value and "#ff0000" in picker.readout.value
    assert "inside" in picker.readout.value
    img_rgb = decode_png(picker.image.value)
    assert img_rgb.shape == (100, 2 * 100 + 100 // 16, 3)
    assert tuple(img_rgb[50, -50]) == (255, 0, 0)  # the swatch

    picker.a_slider.value = 0.0
    picker.b_slider.value = 0.0
    picker.L_slider.value = 50.0
    assert picker.colour.rgb == (119, 119, 119)
    assert tuple(decode_png(picker.image.value)[50, -50]) == (119, 119, 119)
    assert "(119, 119, 119)" in picker.readout.value


def test_picker_flags_out_of_gamut_colours_with_a_hatched_frame():
    picker = lx.LabPicker(50, 100, -100, size=100)
    assert not picker.colour.in_gamut
    assert "outside" in picker.readout.value and "G would be" in picker.readout.value
    img_rgb = decode_png(picker.image.value)
    assert tuple(img_rgb[50, -50]) == picker.colour.rgb  # clipped colour in the middle
    frame = img_rgb[2, -50]
    assert frame[0] == frame[1] == frame[2] and frame[0] in (lx.HATCH_LIGHT, lx.HATCH_DARK)


def test_picker_marks_the_chosen_ab_on_the_plane():
    picker = lx.LabPicker(60, 0, 0, size=128)
    before = decode_png(picker.image.value)[:, :128]
    picker.a_slider.value = -60.0  # the ring moves to the left half
    after = decode_png(picker.image.value)[:, :128]
    changed = np.argwhere(np.any(before != after, axis=2))
    assert changed.size and changed[:, 1].min() < 64 - 20


# --- the ab plane explorer ---------------------------------------------------------------------


def test_explorer_redraws_when_the_slider_moves(bins):
    explorer = lx.AbPlaneExplorer(bins, L=50, size=128)
    assert np.array_equal(decode_png(explorer.image.value), lx.render_ab_plane(50, size=128, bins=bins))
    assert "L = 50" in explorer.caption.value

    explorer.L_slider.value = 80
    assert np.array_equal(decode_png(explorer.image.value), lx.render_ab_plane(80, size=128, bins=bins))
    expected = int(lx.bins_in_gamut(bins, 80).sum())
    assert "L = 80" in explorer.caption.value
    assert f"{expected} of the {len(bins)} bins" in explorer.caption.value
    assert expected != int(lx.bins_in_gamut(bins, 50).sum())


def test_explorer_without_bins_and_without_continuous_update():
    explorer = lx.AbPlaneExplorer(L=20, size=64, continuous_update=False)
    assert explorer.L_slider.continuous_update is False
    assert "bins" not in explorer.caption.value
    shown = float(explorer.caption.value.split("show ")[1].split("%")[0])
    assert shown == pytest.approx(100 * in_srgb_gamut(ab_plane(20, size=64)).mean(), abs=0.6)


# --- classification toy and round trip ---------------------------------------------------------


def test_mean_of_two_opposite_colours_is_gray_and_annealing_moves_to_the_mode(bins):
    bins = bins.astype(np.float64)
    orange, blue = bins[np.argmin(np.hypot(*(bins - (10, 40)).T))], bins[np.argmin(np.hypot(*(bins + (10, 40)).T))]
    probs = np.zeros(len(bins))
    probs[np.all(bins == orange, axis=1)] = 0.5
    probs[np.all(bins == blue, axis=1)] = 0.5
    assert np.allclose(lx.annealed_mean(probs, bins, temperature=1.0), (orange + blue) / 2)

    probs = lx.bump_distribution(bins, centres=[(10, 40), (-10, -40)], weights=[0.6, 0.4])
    assert probs.sum() == pytest.approx(1) and probs.min() >= 0
    near_orange = np.hypot(*(bins - (10, 40)).T) < 25
    assert probs[near_orange].sum() == pytest.approx(0.6, abs=0.01)
    mean = lx.annealed_mean(probs, bins, temperature=1.0)
    assert np.allclose(mean, probs @ bins)
    annealed = lx.annealed_mean(probs, bins, temperature=0.38)
    mode = lx.annealed_mean(probs, bins, temperature=0.01)
    assert np.allclose(mode, bins[np.argmax(probs)], atol=0.5)
    assert np.hypot(*mean) < np.hypot(*annealed) < np.hypot(*mode)  # more vivid as T falls


def test_annealed_mean_works_on_batches_and_rejects_bad_temperatures(bins):
    probs = np.full((4, 3, len(bins)), 1 / len(bins))
    assert lx.annealed_mean(probs, bins, temperature=0.38).shape == (4, 3, 2)
    with pytest.raises(ValueError, match="temperature"):
        lx.annealed_mean(probs, bins, temperature=0)


def test_round_trip_float_path_is_exact_to_a_level_and_uint8_path_is_worse():
    img_bgr = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    errors = lx.round_trip_errors(img_bgr)
    float_max, float_mean = errors["float32"]
    uint8_max, uint8_mean = errors["uint8"]
    assert float_max <= 1 and float_mean < 0.02
    assert uint8_max >= 3 and uint8_mean > 10 * float_mean
    with pytest.raises(ValueError, match="uint8"):
        lx.round_trip_errors(img_bgr.astype(np.float32) / 255)


# --- matplotlib figures ------------------------------------------------------------------------


def test_plot_channels_labels_every_panel():
    img_bgr = cv2.imread(str(INPUT_IMAGES / "ground_truth" / "coffee.jpg"))
    fig = lx.plot_channels(img_bgr[::4, ::4])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 8
    assert any(t.startswith("R (red)") for t in titles) and lx.A_LABEL in titles and lx.B_LABEL in titles


def test_plot_ab_planes_labels_axes_and_counts_bins(bins):
    fig = lx.plot_ab_planes([25, 75], bins=bins)
    planes = [ax for ax in fig.axes if ax.get_title()]
    assert len(planes) == 2
    for ax, L in zip(planes, (25, 75)):
        assert ax.get_xlabel() == lx.A_LABEL and ax.get_ylabel() == lx.B_LABEL
        assert f"{int(lx.bins_in_gamut(bins, L).sum())} of {len(bins)} bins" in ax.get_title()


def test_lab_axis_colour_maps_run_green_to_red_and_blue_to_yellow():
    a_map, b_map = lx.lab_axis_cmap("a"), lx.lab_axis_cmap("b")
    assert a_map(0.0)[1] > a_map(0.0)[0] and a_map(1.0)[0] > a_map(1.0)[1]
    assert b_map(0.0)[2] > b_map(0.0)[0] and b_map(1.0)[0] > b_map(1.0)[2]
    with pytest.raises(ValueError):
        lx.lab_axis_cmap("L")
