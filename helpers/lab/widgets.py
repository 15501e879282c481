"""Sliders over Lab: the ab plane at any lightness (``AbPlaneExplorer``) and a colour picker (``LabPicker``).

Each widget redraws a NumPy picture from ``helpers.lab.pictures`` (a few milliseconds) and
writes a caption computed from the values the sliders really hold, so text and picture agree.

Introduced in notebook 01_lab_colour_space.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from . import pictures
from .ab_bins import bins_in_gamut
from .colour_space import ab_plane, in_srgb_gamut

PICKER_STEP = 0.01
"""Step of the picker's sliders. A browser snaps a slider's value to its step: with 0.01 the
two-decimal values of the notebook (sRGB red is L, a, b = 53.24, 80.09, 67.20) stay exactly as
given, while a coarser step would move red out of the gamut."""
PICKER_WIDTH = "560px"
"""Slider length: about 2 px per unit of a and b (at JupyterLab's default 124 px, an arrow-key
press moved 0.01 and a pixel of drag 2 units)."""
PICKER_COLOURS = {
    "sRGB red (53.24, 80.09, 67.20)": (53.24, 80.09, 67.20),
    "red, rounded (53, 80, 67)": (53.0, 80.0, 67.0),
    "a gray (60, 0, 0)": (60.0, 0.0, 0.0),
    "vivid purple (50, 100, -100)": (50.0, 100.0, -100.0),
}
"""The colours notebook 01 suggests, one click away in the picker's "Go to" list."""


def bin_legend_html() -> str:
    """The bin symbols of ``helpers.lab.pictures`` as an HTML legend line (the figures use the same)."""
    def entry(symbol, glyph: str) -> str:
        colour = "rgb({}, {}, {})".format(*symbol.rgb)
        return f'<span style="color: {colour}">{glyph}</span> {html.escape(symbol.label)}'

    return f"{entry(pictures.BIN_SHOWN, '●')} &nbsp; {entry(pictures.BIN_HIDDEN, '○')}"


class AbPlaneExplorer(widgets.VBox):
    """An L slider over the ab plane: watch which colours exist at each lightness.

    Parameters
    ----------
    bins : (Q, 2) ndarray, optional
        ab bin centres to mark on the plane (``pts_in_hull.npy``).
    L : float
        Starting lightness, 0..100.
    size : int
        Side of the picture in pixels.
    continuous_update : bool
        Redraw while the slider is dragged (a redraw takes a few milliseconds); set False on a
        slow connection to redraw only when the slider is released.

    Attributes
    ----------
    L_slider : widgets.FloatSlider
    image : widgets.Image
        PNG bytes of ``pictures.render_ab_plane`` at the slider's L.
    caption : widgets.HTML
        How much of the plane, and how many bins, a screen can show at this L.
    """

    def __init__(self, bins: np.ndarray | None = None, *, L: float = 50.0, size: int = 320,
                 continuous_update: bool = True) -> None:
        L_slider = widgets.FloatSlider(
            value=L, min=0.0, max=100.0, step=1.0, description="L", readout_format=".0f",
            continuous_update=continuous_update, layout=widgets.Layout(width=f"{max(size, 300)}px"),
        )
        image = widgets.Image(format="png", width=size, height=size)
        caption = widgets.HTML()
        super().__init__(children=[L_slider, image, caption])
        self.bins = None if bins is None else np.asarray(bins, dtype=np.float32)
        self.size = size
        self.L_slider, self.image, self.caption = L_slider, image, caption
        self.L_slider.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, change: dict | None = None) -> None:
        L = float(self.L_slider.value)
        self.image.value = pictures.encode_png(pictures.render_ab_plane(L, size=self.size, bins=self.bins))
        shown = float(in_srgb_gamut(ab_plane(L, size=64)).mean())
        text = f"L = {L:.0f}: a screen can show {shown:.0%} of this (a, b) square"
        if self.bins is not None:
            text += f"; {int(bins_in_gamut(self.bins, L).sum())} of the {len(self.bins)} bins"
        legend = f"<br>{bin_legend_html()}" if self.bins is not None else ""
        self.caption.value = (
            f"<b>{text}.</b>{legend}<br>a grows to the right ({pictures.A_LABEL}), "
            f"b grows upwards ({pictures.B_LABEL}). "
            "Hatched gray: colours a screen cannot show at this lightness."
        )


class LabPicker(widgets.VBox):
    """Three sliders for L, a and b, the colour they make, its RGB values and whether it is in gamut.

    Parameters
    ----------
    L, a, b : float
        Starting colour (default: pure sRGB red), rounded to the slider step ``PICKER_STEP``.
    size : int
        Height of the picture in pixels.
    continuous_update : bool
        Redraw while a slider is dragged.

    Attributes
    ----------
    L_slider, a_slider, b_slider : widgets.FloatSlider
    image : widgets.Image
        PNG bytes of ``pictures.render_picker``.
    readout : widgets.HTML
        The RGB values and the gamut verdict, for the values the sliders hold.
    colour : LabColour
        The colour currently shown.
    """

    def __init__(self, L: float = 53.24, a: float = 80.09, b: float = 67.20, *, size: int = 200,
                 continuous_update: bool = True) -> None:
        def slider(name: str, value: float, low: float, high: float) -> widgets.FloatSlider:
            # rounded here as the browser would round it, so the kernel describes what is shown
            value = round(round((value - low) / PICKER_STEP) * PICKER_STEP + low, 2)
            return widgets.FloatSlider(value=value, min=low, max=high, step=PICKER_STEP, description=name,
                                       readout_format=".2f", continuous_update=continuous_update,
                                       layout=widgets.Layout(width=PICKER_WIDTH))

        L_slider = slider("L", L, 0.0, 100.0)
        a_slider = slider("a", a, -pictures.AB_MAX, pictures.AB_MAX)
        b_slider = slider("b", b, -pictures.AB_MAX, pictures.AB_MAX)
        # the PNG's own size: without it the picture is stretched to the output width and blurs
        image = widgets.Image(format="png", width=2 * size + size // 16, height=size)
        readout = widgets.HTML()
        # the exact values the text suggests, without typing them into the sliders' number boxes
        go_to = widgets.Dropdown(options=[("choose a colour...", None), *PICKER_COLOURS.items()], value=None,
                                 description="Go to", layout=widgets.Layout(width="360px"))
        super().__init__(children=[go_to, L_slider, a_slider, b_slider, image, readout])
        self.size = size
        self.L_slider, self.a_slider, self.b_slider = L_slider, a_slider, b_slider
        self.go_to, self.image, self.readout = go_to, image, readout
        self._moving = False
        for s in (L_slider, a_slider, b_slider):
            s.observe(self._redraw, names="value")
        go_to.observe(self._go_to, names="value")
        self._redraw()

    def _go_to(self, change: dict) -> None:
        if change["new"] is None:
            return
        self._moving = True  # one redraw for the three sliders, not three
        try:
            for slider, value in zip((self.L_slider, self.a_slider, self.b_slider), change["new"]):
                slider.value = value
        finally:
            self._moving = False
        self._redraw()

    def _redraw(self, change: dict | None = None) -> None:
        if self._moving:
            return
        L, a, b = (float(s.value) for s in (self.L_slider, self.a_slider, self.b_slider))
        self.colour = pictures.describe_lab(L, a, b)
        self.image.value = pictures.encode_png(pictures.render_picker(L, a, b, size=self.size))
        r, g, bl = self.colour.rgb
        text = f"(L, a, b) = ({L:.2f}, {a:.2f}, {b:.2f}) → sRGB ({r}, {g}, {bl}) {self.colour.hex}"
        if self.colour.in_gamut:
            verdict = "✔ inside the sRGB gamut: a screen shows exactly this colour."
        else:
            wanted = ", ".join(f"{name} would be {value:.0f}" for name, value in self.colour.out_of_range.items())
            verdict = f"✘ outside the sRGB gamut ({wanted}): the swatch shows it clipped to 0..255."
        self.readout.value = f"<b>{text}</b><br>{verdict}"
