"""Pictures and widgets for exploring the Lab colour space and the network's 313 colour bins.

Everything here is drawn with NumPy and OpenCV into small PNG images, so a widget redraws in a
few milliseconds while you drag a slider (no matplotlib figure is rebuilt on each move). The
``plot_*`` functions make the static matplotlib figures of the notebook; they return a
``matplotlib.figure.Figure`` without touching pyplot, so a figure is shown exactly once.

Introduced in notebook 01_lab_colour_space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import ipywidgets as widgets
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from .lab import GAMUT_TOLERANCE, ab_plane, bgr_to_lab, in_srgb_gamut, lab_to_bgr, lab_to_srgb_unclipped
from .model import check_temperature

AB_MAX = 128.0
"""Half the side of the drawn ab square: OpenCV's a and b stay within about -127..127."""
HATCH_LIGHT = 205
"""Gray level (0..255) of the light stripes that mark colours a screen cannot show."""
HATCH_DARK = 175
"""Gray level (0..255) of the dark stripes that mark colours a screen cannot show."""
HATCH_PERIOD = 8
"""Width in pixels of one light plus one dark stripe."""
A_LABEL = "a: green (−) … red (+)"
B_LABEL = "b: blue (−) … yellow (+)"


# --- Pure array functions ----------------------------------------------------------------------


def lab_to_rgb_uint8(lab: np.ndarray) -> np.ndarray:
    """Lab to displayable 8-bit RGB, clipping colours outside the screen's gamut.

    Parameters
    ----------
    lab : (..., 3) float ndarray
        L in 0..100, a and b in about -127..127.

    Returns
    -------
    img_rgb : (..., 3) uint8 ndarray
        R, G, B order (for matplotlib and PNG widgets), rounded, clipped to 0..255.
    """
    img_rgb = lab_to_srgb_unclipped(lab)
    return np.clip(img_rgb * 255 + 0.5, 0, 255).astype(np.uint8)


def encode_png(img_rgb: np.ndarray) -> bytes:
    """The PNG file bytes of an RGB image, for ``widgets.Image(format="png")``.

    Parameters
    ----------
    img_rgb : (H, W, 3) uint8 ndarray, R, G, B order
    """
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"OpenCV could not encode an image of shape {img_rgb.shape} as PNG.")
    return buffer.tobytes()


def ab_to_pixel(a: np.ndarray | float, b: np.ndarray | float, *, size: int,
                ab_max: float = AB_MAX) -> tuple[np.ndarray, np.ndarray]:
    """Where the point (a, b) lies in an image made by ``helpers.lab.ab_plane``.

    Parameters
    ----------
    a, b : float or ndarray
        Colour coordinates, about -127..127.
    size : int
        Side of the square image in pixels.
    ab_max : float
        The image spans ``-ab_max .. +ab_max`` in a and b.

    Returns
    -------
    x, y : float ndarrays
        Column (a grows to the right) and row (b grows UP, so the row shrinks), in pixels;
        ``(x, y) = (0, 0)`` is the centre of the top-left pixel.
    """
    step = 2.0 * ab_max / size
    x = (np.asarray(a, dtype=np.float64) + ab_max) / step - 0.5
    y = (ab_max - np.asarray(b, dtype=np.float64)) / step - 0.5
    return x, y


def hatch(shape: tuple[int, int], *, period: int = HATCH_PERIOD) -> np.ndarray:
    """Diagonal gray stripes: the look of "this colour cannot be shown".

    Returns
    -------
    (H, W, 3) uint8 ndarray
        Stripes of ``HATCH_LIGHT`` and ``HATCH_DARK``, both neutral gray, so they never look
        like a colour.
    """
    rows, cols = np.indices(shape)
    light = ((rows + cols) % period) < period // 2
    stripes = np.where(light, HATCH_LIGHT, HATCH_DARK).astype(np.uint8)
    return np.repeat(stripes[..., np.newaxis], 3, axis=2)


def bins_in_gamut(bins: np.ndarray, L: float) -> np.ndarray:
    """Which ab bins can be shown on a screen at lightness ``L``.

    Parameters
    ----------
    bins : (Q, 2) ndarray
        ab bin centres (``pts_in_hull.npy``: Q = 313).
    L : float
        Lightness 0..100.

    Returns
    -------
    (Q,) bool ndarray
    """
    bins = np.asarray(bins, dtype=np.float32)
    lab = np.column_stack([np.full(len(bins), L, dtype=np.float32), bins])
    return in_srgb_gamut(lab)


def render_ab_plane(L: float, *, size: int = 256, ab_max: float = AB_MAX, bins: np.ndarray | None = None,
                    axes: bool = True, labels: bool = True) -> np.ndarray:
    """Draw every (a, b) colour at lightness ``L``; colours a screen cannot show are hatched gray.

    Parameters
    ----------
    L : float
        Lightness 0..100 of the whole plane.
    size : int
        Side of the image in pixels.
    ab_max : float
        The image spans a and b from ``-ab_max`` to ``+ab_max``.
    bins : (Q, 2) ndarray, optional
        ab bin centres to mark: a black ring where the bin is displayable at this ``L``, a small
        gray dot where it is not.
    axes : bool
        Draw the lines a = 0 and b = 0 (they cross at gray).
    labels : bool
        Write "+a", "-a", "+b", "-b" at the ends of the axes.

    Returns
    -------
    img_rgb : (size, size, 3) uint8 ndarray
        a grows to the right and b grows up, as in ``helpers.lab.ab_plane``.
    """
    srgb = lab_to_srgb_unclipped(ab_plane(L, size=size, ab_max=ab_max))
    # The same test as in_srgb_gamut, on the conversion we need anyway (it is the slow part).
    outside = np.any((srgb < -GAMUT_TOLERANCE) | (srgb > 1 + GAMUT_TOLERANCE), axis=-1)
    img_rgb = np.clip(srgb * 255 + 0.5, 0, 255).astype(np.uint8)
    img_rgb[outside] = hatch((size, size))[outside]
    centre = size // 2
    if axes:
        img_rgb[centre, :] = img_rgb[centre, :] // 2 + 40  # darker but still showing the colour below
        img_rgb[:, centre] = img_rgb[:, centre] // 2 + 40
    if bins is not None:
        bins = np.asarray(bins, dtype=np.float64)
        inside = bins_in_gamut(bins, L)
        xs, ys = ab_to_pixel(bins[:, 0], bins[:, 1], size=size, ab_max=ab_max)
        radius = max(2, round(size / 110))  # bins are 10 units apart: rings must not touch
        for x, y, ok in zip(np.rint(xs).astype(int), np.rint(ys).astype(int), inside):
            if ok:
                cv2.circle(img_rgb, (x, y), radius, (0, 0, 0), 1, cv2.LINE_AA)
            else:
                cv2.circle(img_rgb, (x, y), 1, (90, 90, 90), -1)
    if labels:
        scale = size / 640
        thickness = 1 if size < 400 else 2
        margin = max(3, size // 60)
        text_h = cv2.getTextSize("+b", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][1]
        spots = {
            "+a": (size - margin - cv2.getTextSize("+a", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0],
                   centre - margin),
            "-a": (margin, centre - margin),
            "+b": (centre + margin, margin + text_h),
            "-b": (centre + margin, size - margin),
        }
        for text, spot in spots.items():
            cv2.putText(img_rgb, text, spot, cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), thickness, cv2.LINE_AA)
    return img_rgb


@dataclass(frozen=True)
class LabColour:
    """One Lab colour and how a screen shows it (see ``describe_lab``)."""

    lab: tuple[float, float, float]
    """(L, a, b) as given."""
    rgb: tuple[int, int, int]
    """What the screen shows: 8-bit R, G, B, clipped to 0..255."""
    rgb_unclipped: tuple[float, float, float]
    """R, G, B in 8-bit levels before clipping: below 0 or above 255 outside the gamut."""
    in_gamut: bool
    """True if the screen can show it exactly (every channel rounds to 0..255)."""

    @property
    def hex(self) -> str:
        """The colour as a web colour, e.g. ``"#ff0000"``."""
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


def describe_lab(L: float, a: float, b: float) -> LabColour:
    """What colour is (L, a, b) on a screen, and can the screen show it at all?

    Parameters
    ----------
    L : float
        Lightness 0..100.
    a, b : float
        Colour, about -127..127.

    Returns
    -------
    LabColour
        For example ``describe_lab(53.24, 80.09, 67.20).rgb == (255, 0, 0)``: pure sRGB red.
    """
    lab = np.array([L, a, b], dtype=np.float32)
    rgb_unclipped = lab_to_srgb_unclipped(lab) * 255
    rgb = lab_to_rgb_uint8(lab)
    return LabColour(
        lab=(float(L), float(a), float(b)),
        rgb=(int(rgb[0]), int(rgb[1]), int(rgb[2])),
        rgb_unclipped=(float(rgb_unclipped[0]), float(rgb_unclipped[1]), float(rgb_unclipped[2])),
        in_gamut=bool(in_srgb_gamut(lab)),
    )


def render_picker(L: float, a: float, b: float, *, size: int = 160) -> np.ndarray:
    """The picker's picture: the ab plane at ``L`` with (a, b) marked, and a swatch of the colour.

    Parameters
    ----------
    L, a, b : float
        The colour: L 0..100, a and b about -127..127.
    size : int
        Height of the picture and side of each of its two squares, in pixels.

    Returns
    -------
    img_rgb : (size, 2 * size + size // 16, 3) uint8 ndarray
        Left: the ab plane (hatched where the screen cannot show a colour) with a black and
        white ring around (a, b). Right: the colour itself; if it is outside the gamut the swatch
        shows the clipped colour inside a hatched frame.
    """
    plane = render_ab_plane(L, size=size, labels=False)
    x, y = ab_to_pixel(a, b, size=size)
    centre = (int(round(float(x))), int(round(float(y))))
    radius = max(4, size // 25)
    cv2.circle(plane, centre, radius + 1, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.circle(plane, centre, radius, (0, 0, 0), 2, cv2.LINE_AA)
    colour = describe_lab(L, a, b)
    swatch = np.empty((size, size, 3), dtype=np.uint8)
    swatch[:] = colour.rgb
    if not colour.in_gamut:
        frame = max(6, size // 10)
        striped = hatch((size, size))
        swatch[:frame], swatch[-frame:] = striped[:frame], striped[-frame:]
        swatch[:, :frame], swatch[:, -frame:] = striped[:, :frame], striped[:, -frame:]
    gap = np.full((size, size // 16, 3), 255, dtype=np.uint8)
    return np.hstack([plane, gap, swatch])


def bump_distribution(bins: np.ndarray, centres: Sequence[tuple[float, float]], weights: Sequence[float],
                      *, sigma: float = 8.0) -> np.ndarray:
    """A made-up prediction: a probability for each ab bin, in bumps around a few colours.

    Parameters
    ----------
    bins : (Q, 2) ndarray
        ab bin centres.
    centres : sequence of (a, b)
        Where the bumps are.
    weights : sequence of float
        Total probability of each bump (they are scaled to sum to 1).
    sigma : float
        Width of each bump in ab units.

    Returns
    -------
    probs : (Q,) float64 ndarray
        Non-negative, sums to 1.

    Notes
    -----
    ``sigma = 8`` makes each bump cover the nearest few bins (bins are 10 units apart), like a
    network that is sure of the hue but not of the exact shade.
    """
    bins = np.asarray(bins, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    probs = np.zeros(len(bins))
    for (a, b), weight in zip(centres, weights):
        bump = np.exp(-((bins[:, 0] - a) ** 2 + (bins[:, 1] - b) ** 2) / (2 * sigma**2))
        probs += weight * bump / bump.sum()
    return probs


def annealed_mean(probs: np.ndarray, bins: np.ndarray, temperature: float) -> np.ndarray:
    """The colour the network reports: the mean of a sharpened distribution over the bins.

    Parameters
    ----------
    probs : (..., Q) ndarray
        Probabilities over the Q ab bins (each row sums to 1).
    bins : (Q, 2) ndarray
        ab bin centres.
    temperature : float
        ``T`` in (0, 1]: 1 gives the plain mean; smaller values move towards the most likely
        bin (the mode).

    Returns
    -------
    ab : (..., 2) float64 ndarray

    Notes
    -----
    Sharpening is ``p ** (1 / T)``, renormalised. The network does ``softmax(z / T)`` on its
    logits ``z``, which is the same thing because ``p = softmax(z)``. The paper uses
    ``T = 0.38`` (``1 / T = 2.606``, the scale in the model file).
    """
    check_temperature(temperature)
    log_p = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-300, None)) / temperature
    log_p -= log_p.max(axis=-1, keepdims=True)  # avoid overflow in exp
    sharpened = np.exp(log_p)
    sharpened /= sharpened.sum(axis=-1, keepdims=True)
    return sharpened @ np.asarray(bins, dtype=np.float64)


def round_trip_errors(img_bgr: np.ndarray) -> dict[str, tuple[float, float]]:
    """How much an 8-bit photo changes on a trip BGR -> Lab -> BGR, the float way and the uint8 way.

    Parameters
    ----------
    img_bgr : (H, W, 3) uint8 ndarray

    Returns
    -------
    dict
        ``{"float32": (max, mean), "uint8": (max, mean)}``: absolute error in 8-bit levels
        (0..255) over all pixels and channels. ``"float32"`` converts via
        ``helpers.bgr_to_lab`` / ``helpers.lab_to_bgr`` (L 0..100); ``"uint8"`` hands the
        uint8 image straight to OpenCV, which stores Lab in 0..255 too and so rounds it.
    """
    img_bgr = np.asarray(img_bgr)
    if img_bgr.dtype != np.uint8 or img_bgr.ndim != 3 or img_bgr.shape[2] != 3:
        raise ValueError(f"Expected an (H, W, 3) uint8 BGR image, got {img_bgr.dtype} of shape {img_bgr.shape}.")
    lab = bgr_to_lab(img_bgr)
    back_float = lab_to_bgr(lab[:, :, 0], lab[:, :, 1:])
    lab_uint8 = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2Lab)
    back_uint8 = cv2.cvtColor(lab_uint8, cv2.COLOR_Lab2BGR)
    errors = {}
    for name, back in (("float32", back_float), ("uint8", back_uint8)):
        diff = np.abs(back.astype(np.int16) - img_bgr.astype(np.int16))
        errors[name] = (float(diff.max()), float(diff.mean()))
    return errors


# --- Widgets -------------------------------------------------------------------------------


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
        PNG bytes of ``render_ab_plane`` at the slider's L.
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
        self.image.value = encode_png(render_ab_plane(L, size=self.size, bins=self.bins))
        shown = float(in_srgb_gamut(ab_plane(L, size=64)).mean())
        text = f"L = {L:.0f}: a screen can show {shown:.0%} of this (a, b) square"
        if self.bins is not None:
            text += f"; {int(bins_in_gamut(self.bins, L).sum())} of the {len(self.bins)} bins (rings)"
        self.caption.value = (
            f"<b>{text}.</b><br>a grows to the right ({A_LABEL}), b grows upwards ({B_LABEL}). "
            "Hatched gray: colours a screen cannot show at this lightness."
        )


class LabPicker(widgets.VBox):
    """Three sliders for L, a and b, the colour they make, its RGB values and whether it is in gamut.

    Parameters
    ----------
    L, a, b : float
        Starting colour (default: pure sRGB red).
    size : int
        Height of the picture in pixels.
    continuous_update : bool
        Redraw while a slider is dragged.

    Attributes
    ----------
    L_slider, a_slider, b_slider : widgets.FloatSlider
    image : widgets.Image
        PNG bytes of ``render_picker``.
    readout : widgets.HTML
        The RGB values and the gamut verdict.
    colour : LabColour
        The colour currently shown.
    """

    def __init__(self, L: float = 53.24, a: float = 80.09, b: float = 67.20, *, size: int = 200,
                 continuous_update: bool = True) -> None:
        def slider(name: str, value: float, low: float, high: float) -> widgets.FloatSlider:
            return widgets.FloatSlider(value=value, min=low, max=high, step=0.5, description=name,
                                       readout_format=".1f", continuous_update=continuous_update)

        L_slider = slider("L", L, 0.0, 100.0)
        a_slider = slider("a", a, -AB_MAX, AB_MAX)
        b_slider = slider("b", b, -AB_MAX, AB_MAX)
        image = widgets.Image(format="png")
        readout = widgets.HTML()
        super().__init__(children=[L_slider, a_slider, b_slider, image, readout])
        self.size = size
        self.L_slider, self.a_slider, self.b_slider = L_slider, a_slider, b_slider
        self.image, self.readout = image, readout
        for s in (L_slider, a_slider, b_slider):
            s.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, change: dict | None = None) -> None:
        L, a, b = (float(s.value) for s in (self.L_slider, self.a_slider, self.b_slider))
        self.colour = describe_lab(L, a, b)
        self.image.value = encode_png(render_picker(L, a, b, size=self.size))
        r, g, bl = self.colour.rgb
        text = f"(L, a, b) = ({L:.1f}, {a:.1f}, {b:.1f}) → sRGB ({r}, {g}, {bl}) {self.colour.hex}"
        if self.colour.in_gamut:
            verdict = "✔ inside the sRGB gamut: a screen shows exactly this colour."
        else:
            wanted = ", ".join(
                f"{name} would be {value:.0f}"
                for name, value in zip("RGB", self.colour.rgb_unclipped)
                if not -0.5 <= value <= 255.5
            )
            verdict = f"✘ outside the sRGB gamut ({wanted}): the swatch shows it clipped to 0..255."
        self.readout.value = f"<b>{text}</b><br>{verdict}"


# --- Matplotlib figures ------------------------------------------------------------------------


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
    fig = Figure(figsize=(14, 6.2), layout="constrained")
    axes = fig.subplots(2, 4)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].imshow(img_rgb)
    axes[0, 0].set_title("colour photo")
    for i, name in enumerate(("R (red)", "G (green)", "B (blue)")):
        im = axes[0, i + 1].imshow(img_rgb[:, :, i], cmap="gray", vmin=0, vmax=255)
        axes[0, i + 1].set_title(f"{name}: 0 … 255")
    fig.colorbar(im, ax=axes[0, 1:], orientation="vertical", fraction=0.02, label="8-bit level")
    axes[1, 0].imshow(cv2.cvtColor(colour_only, cv2.COLOR_BGR2RGB))
    axes[1, 0].set_title("a and b only (L = 70 everywhere)")
    im = axes[1, 1].imshow(lab[:, :, 0], cmap="gray", vmin=0, vmax=100)
    axes[1, 1].set_title("L (lightness): 0 … 100")
    fig.colorbar(im, ax=axes[1, 1], orientation="horizontal", fraction=0.05, label="L: black (0) … white (100)")
    for i, (channel, label) in enumerate((("a", A_LABEL), ("b", B_LABEL))):
        ax = axes[1, 2 + i]
        im = ax.imshow(lab[:, :, 1 + i], cmap=lab_axis_cmap(channel, limit=ab_limit), vmin=-ab_limit, vmax=ab_limit)
        ax.set_title(label)
        fig.colorbar(im, ax=ax, orientation="horizontal", fraction=0.05, label=f"{channel} value")
    return fig


def _draw_plane(ax, L: float, *, size: int = 256) -> None:
    ax.imshow(render_ab_plane(L, size=size, axes=False, labels=False),
              extent=(-AB_MAX, AB_MAX, -AB_MAX, AB_MAX), interpolation="nearest")
    ax.axhline(0, color="0.3", lw=0.6)
    ax.axvline(0, color="0.3", lw=0.6)
    ax.set_xlabel(A_LABEL)
    ax.set_ylabel(B_LABEL)


def plot_ab_planes(Ls: Sequence[float], bins: np.ndarray | None = None) -> Figure:
    """The ab plane at a few lightnesses, optionally with the ab bins on top.

    Parameters
    ----------
    Ls : sequence of float
        One panel per lightness (0..100).
    bins : (Q, 2) ndarray, optional
        ab bin centres: black dots where displayable at that L, hollow gray rings where not.

    Returns
    -------
    Figure
    """
    fig = Figure(figsize=(4.3 * len(Ls), 4.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(Ls)))
    for ax, L in zip(axes, Ls):
        _draw_plane(ax, L)
        title = f"L = {L:g}"
        if bins is not None:
            inside = bins_in_gamut(bins, L)
            ax.scatter(bins[inside, 0], bins[inside, 1], s=7, c="black", label="bin, displayable at this L")
            ax.scatter(bins[~inside, 0], bins[~inside, 1], s=7, facecolors="none", edgecolors="0.35",
                       linewidths=0.6, label="bin, not displayable at this L")
            title += f": {int(inside.sum())} of {len(bins)} bins displayable"
        ax.set_title(title)
    if bins is not None:
        axes[0].legend(loc="lower left", fontsize=8, framealpha=0.9)
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
        Colours to mark on the plane and show as swatches, e.g. the mean and the mode.

    Returns
    -------
    Figure
        Left: bins as dots whose area is the probability. Right: a swatch per mark.
    """
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax_plane, ax_swatches = fig.subplots(1, 2, width_ratios=(1.1, 1))
    _draw_plane(ax_plane, L)
    ax_plane.scatter(bins[:, 0], bins[:, 1], s=2, c="0.4")
    ax_plane.scatter(bins[:, 0], bins[:, 1], s=4000 * np.asarray(probs), facecolors="none", edgecolors="black",
                     linewidths=0.8)
    markers = "XPDs^v"
    for (name, (a, b)), marker in zip(marks.items(), markers):
        ax_plane.scatter([a], [b], s=110, marker=marker, c="white", edgecolors="black", linewidths=1.2,
                         label=f"{name}: ({a:+.0f}, {b:+.0f})", zorder=3)
    ax_plane.legend(loc="lower left", fontsize=8, framealpha=0.9)
    ax_plane.set_title(f"predicted distribution over the {len(bins)} bins (L = {L:g})\n"
                       "circle area = probability")
    _draw_swatches(ax_swatches, {name: (L, a, b) for name, (a, b) in marks.items()})
    return fig


def _draw_swatches(ax, colours: Mapping[str, tuple[float, float, float]]) -> None:
    names = list(colours)
    img_rgb = lab_to_rgb_uint8(np.array([colours[n] for n in names], dtype=np.float32))[np.newaxis]  # (1, N, 3)
    ax.imshow(img_rgb, aspect="auto", extent=(0, len(names), 0, 1))
    ax.set_xticks(np.arange(len(names)) + 0.5)
    ax.set_xticklabels(
        [f"{n}\n(L, a, b) = ({colours[n][0]:.0f}, {colours[n][1]:+.0f}, {colours[n][2]:+.0f})" for n in names],
        fontsize=9,
    )
    ax.set_yticks([])
    for x in range(1, len(names)):
        ax.axvline(x, color="white", lw=4)
    ax.set_title("how they look")


def plot_swatches(colours: Mapping[str, tuple[float, float, float]], *, title: str = "") -> Figure:
    """Colour swatches side by side, each labelled with its (L, a, b).

    Parameters
    ----------
    colours : mapping of name -> (L, a, b)
    title : str

    Returns
    -------
    Figure
    """
    fig = Figure(figsize=(2.6 * len(colours), 2.8), layout="constrained")
    ax = fig.subplots()
    _draw_swatches(ax, colours)
    ax.set_title(title)
    return fig
