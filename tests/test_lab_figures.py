"""helpers.lab.figures: notebook 01's matplotlib figures are labelled, legible in JupyterLab, and use the
bin symbols of the widgets."""

from __future__ import annotations

import io
import struct

import cv2
import numpy as np
import pytest
from matplotlib.text import Text

from helpers.lab import figures as lf
from helpers.lab import pictures as lp
from helpers.lab.ab_bins import annealed_mean, bins_in_gamut, bump_distribution
from helpers.paths import INPUT_IMAGES

OUTPUT_WIDTH = 800
"""CSS px of a JupyterLab output area on a laptop; a wider PNG is shrunk to fit it."""
MIN_TEXT_PX = 9
"""The smallest font size, in CSS px on screen, that a learner can still read."""


def coffee() -> np.ndarray:
    return cv2.imread(str(INPUT_IMAGES / "ground_truth" / "coffee.jpg"))


def distribution_figure(bins):
    probs = bump_distribution(bins, centres=[(10, 40), (-10, -40)], weights=[0.6, 0.4])
    marks = {"mean (T = 1)": annealed_mean(probs, bins, 1.0),
             "annealed mean (T = 0.38)": annealed_mean(probs, bins, 0.38),
             "mode (most likely bin)": bins[np.argmax(probs)]}
    return lf.plot_bin_distribution(bins, probs, L=65, marks=marks)


FIGURES = {
    "channels": lambda bins: lf.plot_channels(coffee()),
    "planes": lambda bins: lf.plot_ab_planes([25, 50, 75]),
    "planes with bins": lambda bins: lf.plot_ab_planes([25, 50, 75], bins=bins),
    "swatches": lambda bins: lf.plot_swatches({"orange-brown (p = 0.5)": (65, 10, 40), "their mean": (65, 0, 0)},
                                              title="the average of two plausible colours is neither of them"),
    "distribution": distribution_figure,
    "side by side": lambda bins: lf.plot_side_by_side({"original\n": coffee(), "two\nlines": coffee()}),
}


def shown_in_jupyterlab(fig) -> tuple[int, float]:
    """The PNG width IPython's inline display makes (bbox_inches="tight") and the scale JupyterLab shows it at."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    width = struct.unpack(">I", buffer.getvalue()[16:20])[0]
    return width, min(1.0, OUTPUT_WIDTH / width)


@pytest.mark.parametrize("name", FIGURES)
def test_every_text_of_every_figure_is_legible_at_jupyterlab_width(name, bins):
    fig = FIGURES[name](bins)
    width, scale = shown_in_jupyterlab(fig)
    assert width <= OUTPUT_WIDTH, f"{name}: {width} px wide, JupyterLab would shrink it"
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert texts
    smallest = min(texts, key=lambda t: t.get_fontsize())
    px = smallest.get_fontsize() * fig.dpi / 72 * scale
    assert px >= MIN_TEXT_PX, f"{name}: {smallest.get_text()!r} is {px:.1f} px on screen"


def test_legibility_check_catches_a_figure_too_wide_for_jupyterlab():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 3), dpi=100)
    fig.subplots().set_title("a title", fontsize=8)
    width, scale = shown_in_jupyterlab(fig)
    assert width > OUTPUT_WIDTH and 8 * fig.dpi / 72 * scale < MIN_TEXT_PX  # the old 14-inch figures failed


def test_plot_channels_labels_every_panel():
    fig = lf.plot_channels(coffee()[::4, ::4])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 8
    assert any(t.startswith("R (red)") for t in titles) and lp.A_LABEL in titles and lp.B_LABEL in titles


def bin_collections(ax):
    by_label = {c.get_label(): c for c in ax.collections}
    return by_label[lp.BIN_SHOWN.label], by_label[lp.BIN_HIDDEN.label]


def assert_figure_uses_the_bin_symbols(ax, bins, L):
    """The same symbols as the widgets (helpers.lab.pictures): filled dot and hollow ring, same colours."""
    inside = bins_in_gamut(bins, L)
    shown, hidden = bin_collections(ax)
    assert len(shown.get_offsets()) == inside.sum() and len(hidden.get_offsets()) == (~inside).sum()
    assert np.allclose(shown.get_facecolor()[:, :3], np.divide(lp.BIN_SHOWN.rgb, 255))
    assert np.all(shown.get_facecolor()[:, 3] == 1)  # filled
    face = hidden.get_facecolor()
    assert len(face) == 0 or np.all(face[:, 3] == 0)  # hollow
    assert np.allclose(hidden.get_edgecolor()[:, :3], np.divide(lp.BIN_HIDDEN.rgb, 255))


def test_plot_ab_planes_uses_the_widget_symbols_and_says_so_in_a_legend(bins):
    fig = lf.plot_ab_planes([25, 75], bins=bins)
    planes = [ax for ax in fig.axes if ax.get_title()]
    assert len(planes) == 2
    for ax, L in zip(planes, (25, 75)):
        assert ax.get_xlabel() == lp.A_LABEL
        assert f"{int(bins_in_gamut(bins, L).sum())} of {len(bins)} bins" in ax.get_title()
        assert_figure_uses_the_bin_symbols(ax, bins, L)
    assert planes[0].get_ylabel() == lp.B_LABEL
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert lp.BIN_SHOWN.label in legend and lp.BIN_HIDDEN.label in legend
    assert any("hatched" in t for t in legend)


def test_plot_ab_planes_without_bins_explains_the_hatching_only():
    fig = lf.plot_ab_planes([50])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(legend) == 1 and "hatched" in legend[0]


def test_distribution_figure_uses_the_same_bin_symbols_and_marks_its_swatches(bins):
    fig = distribution_figure(bins)
    ax_plane, ax_swatches = fig.axes[:2]
    assert_figure_uses_the_bin_symbols(ax_plane, bins, 65)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert lp.BIN_SHOWN.label in legend and lp.BIN_HIDDEN.label in legend
    assert any(t.startswith("mode (most likely bin): (a, b) = (+10, +40)") for t in legend)
    assert len(ax_swatches.collections) == 3  # each swatch carries its mark's symbol
    labels = [t.get_text() for t in ax_swatches.get_yticklabels()]
    assert labels[2].startswith("mode (most likely bin)\n(L, a, b) = (65, +10, +40)")


def test_lab_axis_colour_maps_run_green_to_red_and_blue_to_yellow():
    a_map, b_map = lf.lab_axis_cmap("a"), lf.lab_axis_cmap("b")
    assert a_map(0.0)[1] > a_map(0.0)[0] and a_map(1.0)[0] > a_map(1.0)[1]
    assert b_map(0.0)[2] > b_map(0.0)[0] and b_map(1.0)[0] > b_map(1.0)[2]
    with pytest.raises(ValueError):
        lf.lab_axis_cmap("L")
