"""The matplotlib figures of the Lab notebook: channels of a photo, ab planes with the bins, swatches.

Each function returns a ``matplotlib.figure.Figure`` without touching pyplot, so a figure is
shown exactly once (end a cell with ``fig``). Figures are at most ``FIGURE_WIDTH`` inches wide
at 100 dpi, the width of a JupyterLab output area on a laptop, so they are never shrunk there
and their smallest text (8 pt) is 11 px on screen. The bins use the symbols of
``helpers.lab.pictures`` (black dot: displayable, gray ring: not), as the widgets do.

Introduced in notebook 01_lab_colour_space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import matplotlib
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .ab_bins import bins_in_gamut
from .colour_space import bgr_to_lab, lab_to_bgr
from .pictures import (
    A_LABEL,
    AB_MAX,
    B_LABEL,
    BIN_HIDDEN,
    BIN_SHOWN,
    HATCH_DARK,
    HATCH_LIGHT,
    lab_to_rgb_uint8,
    render_ab_plane,
)

FIGURE_WIDTH = 7.8
"""Inches; at 100 dpi 780 px (790 with the margin matplotlib adds), within a JupyterLab output
area on a laptop screen (about 800 px), so the figure is shown at its real size."""
STYLE = {"figure.dpi": 100, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
         "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 9}
"""Text sizes in points: 8 pt at 100 dpi is 11 px, above the 9 px a learner can still read."""
DISC_AREA = 3000
"""Area in points² of a disc of probability 1 (``plot_bin_distribution``): a bin of probability 0.1 gets 300."""
MARKS = "XPDs^v"
"""Marker shapes of the colours marked on a plane (``plot_bin_distribution``), in order."""


def lab_axis_cmap(channel: str, *, L: float = 70.0, limit: float = 100.0) -> ListedColormap:
    """A colour map that walks along the a axis (b = 0) or the b axis (a = 0) at lightness ``L``.

    Parameters
    ----------
    channel : {"a", "b"}
    L : float
        Lightness of the colours, 0..100.
    limit : float
        The map runs from ``-limit`` to ``+limit``; use the same as ``vmin``/``vmax``.

    Notes
    -----
    ``L = 70`` is light enough that both ends (green and red, blue and yellow) are clearly
    coloured; colours the screen cannot show are clipped.
    """
    if channel not in ("a", "b"):
        raise ValueError(f"channel must be 'a' or 'b', got {channel!r}.")
    t = np.linspace(-limit, limit, 256)
    lab = np.zeros((256, 3))
    lab[:, 0] = L
    lab[:, 1 if channel == "a" else 2] = t
    return ListedColormap(lab_to_rgb_uint8(lab) / 255.0, name=f"lab_{channel}")


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def plot_channels(img_bgr: np.ndarray, *, ab_limit: float = 80.0) -> Figure:
    """A photo split into R, G, B (top row) and into L, a, b (bottom row).

    Parameters
    ----------
    img_bgr : (H, W, 3) uint8 ndarray
    ab_limit : float
        Colour scale of the a and b panels: ``-ab_limit .. +ab_limit``.

    Returns
    -------
    Figure
        2 x 4 panels. The bottom-left one keeps the photo's a and b but sets L to 70
        everywhere: the colour without the brightness.
    """
    img_rgb = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB)
    lab = bgr_to_lab(img_bgr)
    colour_only = lab_to_bgr(np.full(lab.shape[:2], 70, np.float32), lab[:, :, 1:])
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(FIGURE_WIDTH, 4.6), layout="constrained")
        axes = fig.subplots(2, 4)
        for ax in axes.flat:
            _blank(ax)
        axes[0, 0].imshow(img_rgb)
        axes[0, 0].set_title("colour photo")
        for i, name in enumerate(("R (red)", "G (green)", "B (blue)")):
            im = axes[0, i + 1].imshow(img_rgb[:, :, i], cmap="gray", vmin=0, vmax=255)
            axes[0, i + 1].set_title(name)
        fig.colorbar(im, ax=axes[0, 1:], orientation="horizontal", fraction=0.06, aspect=50,
                     label="R, G, B: 8-bit level, black (0) … full (255)")
        axes[1, 0].imshow(cv2.cvtColor(colour_only, cv2.COLOR_BGR2RGB))
        axes[1, 0].set_title("a and b only\n(L = 70 everywhere)")
        im = axes[1, 1].imshow(lab[:, :, 0], cmap="gray", vmin=0, vmax=100)
        axes[1, 1].set_title("L (lightness)")
        fig.colorbar(im, ax=axes[1, 1], orientation="horizontal", fraction=0.08, label="L: black 0 … white 100")
        for i, (channel, label) in enumerate((("a", A_LABEL), ("b", B_LABEL))):
            ax = axes[1, 2 + i]
            im = ax.imshow(lab[:, :, 1 + i], cmap=lab_axis_cmap(channel, limit=ab_limit),
                           vmin=-ab_limit, vmax=ab_limit)
            ax.set_title(label)
            fig.colorbar(im, ax=ax, orientation="horizontal", fraction=0.08, label=f"{channel} value")
    return fig


def _draw_plane(ax, L: float, *, size: int = 256, ylabel: bool = True) -> None:
    ax.imshow(render_ab_plane(L, size=size, axes=False, labels=False),
              extent=(-AB_MAX, AB_MAX, -AB_MAX, AB_MAX), interpolation="nearest")
    ax.axhline(0, color="0.3", lw=0.6)
    ax.axvline(0, color="0.3", lw=0.6)
    ax.set_xlabel(A_LABEL)
    if ylabel:
        ax.set_ylabel(B_LABEL)


def _draw_bins(ax, bins: np.ndarray, L: float) -> np.ndarray:
    """The bins with the symbols of ``helpers.lab.pictures``; returns which are displayable."""
    bins = np.asarray(bins, dtype=np.float64)
    inside = bins_in_gamut(bins, L)
    ax.scatter(bins[inside, 0], bins[inside, 1], s=14, c=[np.divide(BIN_SHOWN.rgb, 255)], edgecolors="white",
               linewidths=0.35, label=BIN_SHOWN.label)
    ax.scatter(bins[~inside, 0], bins[~inside, 1], s=14, facecolors="none",
               edgecolors=[np.divide(BIN_HIDDEN.rgb, 255)], linewidths=0.8, label=BIN_HIDDEN.label)
    return inside


def _hatch_handle() -> Patch:
    return Patch(facecolor=np.full(3, HATCH_LIGHT / 255), edgecolor=np.full(3, HATCH_DARK / 255), hatch="////",
                 label="hatched gray: colours a screen cannot show at this L")


def plot_ab_planes(Ls: Sequence[float], bins: np.ndarray | None = None) -> Figure:
    """The ab plane at a few lightnesses, optionally with the ab bins on top.

    Parameters
    ----------
    Ls : sequence of float
        One panel per lightness (0..100).
    bins : (Q, 2) ndarray, optional
        ab bin centres: ``BIN_SHOWN`` (black dot) where displayable at that L, ``BIN_HIDDEN``
        (gray ring) where not, as in the widgets.

    Returns
    -------
    Figure
        The legend below the panels explains every symbol.
    """
    with matplotlib.rc_context(STYLE):
        legend_h = 0.6 if bins is not None else 0.3
        fig = Figure(figsize=(FIGURE_WIDTH, 0.75 + legend_h + FIGURE_WIDTH / len(Ls)), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(Ls), sharey=True))
        for i, (ax, L) in enumerate(zip(axes, Ls)):
            _draw_plane(ax, L, ylabel=i == 0)
            title = f"L = {L:g}"
            if bins is not None:
                inside = _draw_bins(ax, bins, L)
                title += f"\n{int(inside.sum())} of {len(bins)} bins displayable"
            ax.set_title(title)
        handles = [_hatch_handle()] + (axes[0].get_legend_handles_labels()[0] if bins is not None else [])
        fig.legend(handles=handles, loc="outside lower center")
    return fig


def plot_bin_distribution(bins: np.ndarray, probs: np.ndarray, *, L: float,
                          marks: Mapping[str, tuple[float, float]]) -> Figure:
    """One pixel's predicted distribution over the bins, with a few summary colours marked.

    Parameters
    ----------
    bins : (Q, 2) ndarray
        ab bin centres.
    probs : (Q,) ndarray
        Probability of each bin (sums to 1).
    L : float
        The pixel's lightness, used for the background plane and the swatches.
    marks : mapping of name -> (a, b)
        Colours to mark on the plane and show as swatches, e.g. the mean and the mode (at most
        ``len(MARKS)``).

    Returns
    -------
    Figure
        Left: the bins (black dot or gray ring, as everywhere) under white discs whose area is
        the probability, and the marks. Right: a swatch per mark, with the same marker.
    """
    bins = np.asarray(bins, dtype=np.float64)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(FIGURE_WIDTH, 4.6), layout="constrained")
        ax_plane, ax_swatches = fig.subplots(1, 2, width_ratios=(1.25, 1))
        _draw_plane(ax_plane, L)
        _draw_bins(ax_plane, bins, L)
        area = DISC_AREA * np.asarray(probs)
        big = area > 14  # smaller discs would hide behind the bin's own symbol
        disc = {"facecolors": (1, 1, 1, 0.55), "edgecolors": "black", "linewidths": 0.7}
        ax_plane.scatter(bins[big, 0], bins[big, 1], s=area[big], **disc)
        ax_plane.scatter([], [], s=80, label="white disc: probability of the bin (area)", **disc)  # legend only
        for (name, (a, b)), marker in zip(marks.items(), MARKS):
            ax_plane.scatter([a], [b], s=90, marker=marker, c="white", edgecolors="black", linewidths=1.2,
                             label=f"{name}: (a, b) = ({a:+.0f}, {b:+.0f})", zorder=3)
        ax_plane.set_title(f"a prediction over the {len(bins)} bins, L = {L:g}")
        fig.legend(handles=[_hatch_handle(), *ax_plane.get_legend_handles_labels()[0]],
                   loc="outside lower center", ncols=2, fontsize=8)
        _draw_swatches(ax_swatches, {name: (L, a, b) for name, (a, b) in marks.items()}, markers=MARKS)
        ax_swatches.set_title("how they look")
    return fig


def _draw_swatches(ax, colours: Mapping[str, tuple[float, float, float]], *, markers: str = "") -> None:
    """One horizontal band per colour, top to bottom, labelled on the left with its name and (L, a, b)."""
    names = list(colours)
    img_rgb = lab_to_rgb_uint8(np.array([colours[n] for n in names], dtype=np.float32))[:, np.newaxis]  # (N, 1, 3)
    ax.imshow(img_rgb, aspect="auto", extent=(0, 1, len(names), 0))
    ax.set_yticks(np.arange(len(names)) + 0.5)
    ax.set_yticklabels([f"{n}\n(L, a, b) = ({colours[n][0]:.0f}, {colours[n][1]:+.0f}, {colours[n][2]:+.0f})"
                        for n in names], fontsize=9)
    ax.set_xticks([])
    for y in range(1, len(names)):
        ax.axhline(y, color="white", lw=4)
    for y, marker in zip(range(len(names)), markers):
        ax.scatter([0.5], [y + 0.5], s=90, marker=marker, c="white", edgecolors="black", linewidths=1.2)
    ax.set_xlim(0, 1)
    ax.set_ylim(len(names), 0)


def plot_swatches(colours: Mapping[str, tuple[float, float, float]], *, title: str = "") -> Figure:
    """Colour swatches one above the other, each labelled with its name and (L, a, b).

    Parameters
    ----------
    colours : mapping of name -> (L, a, b)
    title : str

    Returns
    -------
    Figure
    """
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(FIGURE_WIDTH * 0.6, 0.5 + 0.6 * len(colours)), layout="constrained")
        ax = fig.subplots()
        _draw_swatches(ax, colours)
        ax.set_title(title)
    return fig


def plot_side_by_side(images_bgr: Mapping[str, np.ndarray]) -> Figure:
    """Pictures in a row, each titled, for comparisons: as wide as ``FIGURE_WIDTH`` allows.

    Parameters
    ----------
    images_bgr : mapping of title -> (H, W, 3) uint8 BGR or (H, W) gray ndarray
        Titles may have several lines ("\\n").

    Returns
    -------
    Figure
    """
    first = next(iter(images_bgr.values()))
    lines = max(title.count("\n") + 1 for title in images_bgr)
    panel_w = FIGURE_WIDTH / len(images_bgr)
    height = panel_w * first.shape[0] / first.shape[1] + 0.2 * lines + 0.15
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(FIGURE_WIDTH, height), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(images_bgr)))
        for ax, (title, image) in zip(axes, images_bgr.items()):
            if image.ndim == 2:
                ax.imshow(image, cmap="gray", vmin=0, vmax=255)
            else:
                ax.imshow(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            ax.set_title(title)
            ax.axis("off")
    return fig

