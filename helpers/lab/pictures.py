"""NumPy pictures of Lab colours: the ab plane with its gamut hatched, the bins on it, a picker swatch.

Everything is drawn with NumPy and OpenCV into small arrays, so a widget redraws in a few
milliseconds while you drag a slider. The matplotlib figures (``helpers.lab.figures``) draw the
same planes and the same bin symbols, defined once here:

* a bin a screen can show at the plane's L: a filled **black dot** (``BIN_SHOWN``);
* a bin it cannot show: a hollow **gray ring** (``BIN_HIDDEN``).

Introduced in notebook 01_lab_colour_space.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .ab_bins import bins_in_gamut
from .colour_space import GAMUT_TOLERANCE, ab_plane, in_srgb_gamut, lab_to_srgb_unclipped

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


@dataclass(frozen=True)
class BinSymbol:
    """How a bin is drawn, in the widgets and the figures alike."""

    rgb: tuple[int, int, int]
    """Colour of the symbol, 8-bit R, G, B."""
    filled: bool
    """A filled dot (True) or a hollow ring (False)."""
    label: str
    """What it means, for legends and captions."""


BIN_SHOWN = BinSymbol((0, 0, 0), True, "black dot: a bin the screen can show at this L")
"""A bin inside the sRGB gamut at the plane's lightness (a thin white rim keeps it visible on dark colours)."""
BIN_HIDDEN = BinSymbol((90, 90, 90), False, "gray ring: a bin it cannot show at this L")
"""A bin outside the sRGB gamut at the plane's lightness (it sits on the gray hatching)."""


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
    """Where the point (a, b) lies in an image made by ``helpers.lab.colour_space.ab_plane``.

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


def draw_bins(img_rgb: np.ndarray, bins: np.ndarray, L: float, *, ab_max: float = AB_MAX) -> None:
    """Mark ab bins on a picture of the ab plane at lightness ``L``, in place.

    Displayable bins get ``BIN_SHOWN`` (filled black dot with a white rim), the others
    ``BIN_HIDDEN`` (hollow gray ring): the same symbols as ``helpers.lab.figures``.

    Parameters
    ----------
    img_rgb : (S, S, 3) uint8 ndarray
        A picture made by ``render_ab_plane`` (or laid out like ``helpers.lab.colour_space.ab_plane``).
    bins : (Q, 2) ndarray
        ab bin centres.
    L : float
        Lightness of the plane, 0..100.
    """
    size = img_rgb.shape[0]
    bins = np.asarray(bins, dtype=np.float64)
    inside = bins_in_gamut(bins, L)
    xs, ys = ab_to_pixel(bins[:, 0], bins[:, 1], size=size, ab_max=ab_max)
    radius = max(1, round(size * 3 / 320))  # 3 px at 320 px, where bins are 12.5 px apart: symbols never touch
    for x, y, ok in zip(np.rint(xs).astype(int), np.rint(ys).astype(int), inside):
        if ok:
            cv2.circle(img_rgb, (x, y), radius + 1, (255, 255, 255), -1, cv2.LINE_AA)
            cv2.circle(img_rgb, (x, y), radius, BIN_SHOWN.rgb, -1, cv2.LINE_AA)
        else:
            cv2.circle(img_rgb, (x, y), radius, BIN_HIDDEN.rgb, 1, cv2.LINE_AA)


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
        ab bin centres to mark with ``draw_bins``: black dot if displayable at this ``L``, gray
        ring if not.
    axes : bool
        Draw the lines a = 0 and b = 0 (they cross at gray).
    labels : bool
        Write "+a", "-a", "+b", "-b" at the ends of the axes.

    Returns
    -------
    img_rgb : (size, size, 3) uint8 ndarray
        a grows to the right and b grows up, as in ``helpers.lab.colour_space.ab_plane``.
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
        draw_bins(img_rgb, bins, L, ab_max=ab_max)
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

    @property
    def out_of_range(self) -> dict[str, float]:
        """The channels a screen would need outside 0..255, e.g. ``{"G": -2.1}``; empty in gamut."""
        return {name: value for name, value in zip("RGB", self.rgb_unclipped) if not -0.5 <= value <= 255.5}


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
