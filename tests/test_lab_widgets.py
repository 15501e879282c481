"""helpers.lab.widgets: the ab plane explorer and the Lab picker, and what notebook 01 says about them."""

from __future__ import annotations

import ast
import re

import cv2
import nbformat
import numpy as np
import pytest

from helpers.lab import pictures as lp
from helpers.lab import widgets as lw
from helpers.lab.ab_bins import bins_in_gamut
from helpers.lab.colour_space import ab_plane, in_srgb_gamut
from helpers.paths import NOTEBOOKS
from tests.test_lab_pictures import RED_LAB, assert_drawn_with_the_bin_symbols

pytestmark = pytest.mark.widgets
NOTEBOOK_01 = NOTEBOOKS / "01_lab_colour_space.ipynb"


def decode_png(data: bytes) -> np.ndarray:
    """Back from PNG bytes to an ``(H, W, 3)`` uint8 RGB array (to check what a widget shows)."""
    img_bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img_bgr is None:
        raise ValueError("These bytes are not a PNG image OpenCV can decode.")
    return cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB)


def test_png_round_trip_is_lossless():
    img_rgb = lp.render_ab_plane(60, size=64)
    assert np.array_equal(decode_png(lp.encode_png(img_rgb)), img_rgb)
    with pytest.raises(ValueError):
        decode_png(b"not a png")


# --- the picker ----------------------------------------------------------------------------


def on_the_step_grid(slider) -> bool:
    """What a browser does to a slider's value: snap it to min + k * step."""
    steps = (slider.value - slider.min) / slider.step
    return abs(steps - round(steps)) < 1e-6


def test_picker_shows_red_then_follows_the_sliders():
    picker = lw.LabPicker(*RED_LAB, size=100)
    assert picker.colour.rgb == (255, 0, 0)
    assert "(255, 0, 0)" in picker.readout.value and "#ff0000" in picker.readout.value
    assert "inside" in picker.readout.value
    img_rgb = decode_png(picker.image.value)
    assert img_rgb.shape == (100, 2 * 100 + 100 // 16, 3)
    assert (int(picker.image.width), int(picker.image.height)) == (img_rgb.shape[1], img_rgb.shape[0])  # not stretched
    assert tuple(img_rgb[50, -50]) == (255, 0, 0)  # the swatch

    picker.a_slider.value = 0.0
    picker.b_slider.value = 0.0
    picker.L_slider.value = 50.0
    assert picker.colour.rgb == (119, 119, 119)
    assert tuple(decode_png(picker.image.value)[50, -50]) == (119, 119, 119)
    assert "(119, 119, 119)" in picker.readout.value


def test_picker_default_is_red_on_the_slider_steps_so_a_browser_keeps_it():
    picker = lw.LabPicker()
    sliders = (picker.L_slider, picker.a_slider, picker.b_slider)
    assert tuple(s.value for s in sliders) == RED_LAB
    assert all(on_the_step_grid(s) for s in sliders)
    assert picker.colour.in_gamut and picker.colour.rgb == (255, 0, 0)


def test_picker_rounds_its_start_to_the_step_and_describes_the_rounded_colour():
    picker = lw.LabPicker(53.237, 80.0904, 67.2011)
    sliders = (picker.L_slider, picker.a_slider, picker.b_slider)
    assert all(on_the_step_grid(s) for s in sliders)
    assert tuple(s.value for s in sliders) == RED_LAB
    assert picker.colour.lab == RED_LAB


def test_picker_flags_out_of_gamut_colours_with_a_hatched_frame():
    picker = lw.LabPicker(50, 100, -100, size=100)
    assert not picker.colour.in_gamut
    assert "outside" in picker.readout.value and "G would be -37" in picker.readout.value
    img_rgb = decode_png(picker.image.value)
    assert tuple(img_rgb[50, -50]) == picker.colour.rgb  # clipped colour in the middle
    frame = img_rgb[2, -50]
    assert frame[0] == frame[1] == frame[2] and frame[0] in (lp.HATCH_LIGHT, lp.HATCH_DARK)


def test_picker_marks_the_chosen_ab_on_the_plane():
    picker = lw.LabPicker(60, 0, 0, size=128)
    before = decode_png(picker.image.value)[:, :128]
    picker.a_slider.value = -60.0  # the ring moves to the left half
    after = decode_png(picker.image.value)[:, :128]
    changed = np.argwhere(np.any(before != after, axis=2))
    assert changed.size and changed[:, 1].min() < 64 - 20


def test_picker_goes_to_the_colours_the_notebook_suggests_in_one_click():
    """Reaching (50, 100, -100) once took typing into the number boxes, which the text never said."""
    picker = lw.LabPicker(60, 0, 0, size=64)
    redraws = []
    picker.image.observe(redraws.append, names="value")
    picker.go_to.value = lw.PICKER_COLOURS["vivid purple (50, 100, -100)"]
    assert (picker.L_slider.value, picker.a_slider.value, picker.b_slider.value) == (50, 100, -100)
    assert not picker.colour.in_gamut and "G would be -37" in picker.readout.value
    assert len(redraws) == 1  # one picture for three sliders
    picker.go_to.value = lw.PICKER_COLOURS["red, rounded (53, 80, 67)"]
    assert picker.colour.rgb == (254, 0, 0) and not picker.colour.in_gamut
    assert all(on_the_step_grid(s) for s in (picker.L_slider, picker.a_slider, picker.b_slider))
    assert all(int(s.layout.width.removesuffix("px")) >= 500 for s in (picker.L_slider, picker.a_slider))


def test_notebook_01_names_every_colour_of_the_go_to_list():
    text = markdown_of(nbformat.read(NOTEBOOK_01, as_version=4))
    for label in lw.PICKER_COLOURS:
        L, a, b = label[label.index("(") + 1:-1].split(", ")
        assert f"({L}, {a}, {b.replace('-', '−')})" in text, label


def markdown_of(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_notebook_01_says_what_its_picker_shows():
    """The text's start colour is the one the picker is created with, and its verdicts hold."""
    nb = nbformat.read(NOTEBOOK_01, as_version=4)
    text = markdown_of(nb)
    said = re.search(r"It starts at \(([\d.]+), ([\d.]+), ([\d.]+)\), which is exactly sRGB red, "
                     r"\((\d+), (\d+), (\d+)\), just inside the gamut", text)
    assert said, "notebook 01 no longer says where the picker starts"
    start = tuple(float(v) for v in said.groups()[:3])
    call = next(c.source for c in nb.cells if c.cell_type == "code" and "LabPicker(" in c.source)
    node = next(n for n in ast.walk(ast.parse(call))
                if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "LabPicker")
    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    picker = lw.LabPicker(**kwargs)
    shown = (picker.L_slider.value, picker.a_slider.value, picker.b_slider.value)
    assert shown == start and all(on_the_step_grid(s) for s in (picker.L_slider, picker.a_slider, picker.b_slider))
    assert picker.colour.rgb == tuple(int(v) for v in said.groups()[3:]) and picker.colour.in_gamut
    assert "inside" in picker.readout.value

    rounded = re.search(r"rounded to whole numbers,\s+\((\d+), (\d+), (\d+)\), the colour is already \*outside\*"
                        r" \(its green would have to be −(\d+)\)", text)
    assert rounded, "notebook 01 no longer explains why the sliders have steps of 0.01"
    colour = lp.describe_lab(*(float(v) for v in rounded.groups()[:3]))
    assert not colour.in_gamut and round(colour.out_of_range["G"]) == -int(rounded.group(4))
    assert f"steps of {lw.PICKER_STEP:g}" in text


# --- the ab plane explorer -------------------------------------------------------------------


def test_explorer_redraws_when_the_slider_moves(bins):
    explorer = lw.AbPlaneExplorer(bins, L=50, size=128)
    assert np.array_equal(decode_png(explorer.image.value), lp.render_ab_plane(50, size=128, bins=bins))
    assert "L = 50" in explorer.caption.value

    explorer.L_slider.value = 80
    assert np.array_equal(decode_png(explorer.image.value), lp.render_ab_plane(80, size=128, bins=bins))
    expected = int(bins_in_gamut(bins, 80).sum())
    assert "L = 80" in explorer.caption.value
    assert f"{expected} of the {len(bins)} bins" in explorer.caption.value
    assert expected != int(bins_in_gamut(bins, 50).sum())


def test_explorer_draws_and_explains_the_shared_bin_symbols(bins):
    explorer = lw.AbPlaneExplorer(bins, L=60, size=320)
    plain = lp.render_ab_plane(60, size=320)
    assert_drawn_with_the_bin_symbols(decode_png(explorer.image.value), plain, bins, 60)
    for symbol in (lp.BIN_SHOWN, lp.BIN_HIDDEN):
        assert symbol.label in explorer.caption.value
        assert "rgb({}, {}, {})".format(*symbol.rgb) in explorer.caption.value  # the glyph has its colour


def test_explorer_without_bins_and_without_continuous_update():
    explorer = lw.AbPlaneExplorer(L=20, size=64, continuous_update=False)
    assert explorer.L_slider.continuous_update is False
    assert "bins" not in explorer.caption.value and lp.BIN_SHOWN.label not in explorer.caption.value
    shown = float(explorer.caption.value.split("show ")[1].split("%")[0])
    assert shown == pytest.approx(100 * in_srgb_gamut(ab_plane(20, size=64)).mean(), abs=0.6)
