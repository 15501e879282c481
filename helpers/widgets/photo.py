"""Widgets for photos: a before/after wipe, a colourisation explorer, an upload box (notebook 02_photo)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import cv2
import ipywidgets as widgets
import numpy as np

from ..backends.load import load_model
from ..common.image_files import FORMATS, TRANSPARENCY, Picture
from ..common.image_output import write_pictures
from ..lab.colour_space import lab_to_bgr, lightness
from ..lab.temperature import DEFAULT_TEMPERATURE
from ..model.net import DEFAULT_SIZE, ColorizationNet, check_size, get_temperature, network_input, set_temperature
from ..paths import COLORIZED_IMAGES
from ..photo.colorize import ab_from_scores, cluster_centres_of, colorize, gives_scores, predict_scores, upsample_ab
from ..photo.compare import as_bgr_uint8, colourfulness, jpeg_bytes, shrink_to_fit, side_by_side, wipe
from ..photo.image_file import colorize_image_file

DISPLAY_SIDE = 640
"""Longest side, in pixels, of the pictures the widgets show: enough for a screen, cheap to encode."""


class WipeSlider(widgets.VBox):
    """One picture, ``before`` left and ``after`` right of a boundary that a slider moves.

    Parameters
    ----------
    before, after : ndarray
        Two images of the same height and width (gray or BGR, any depth).
    max_side : int
        The picture is shrunk to this size for display.

    Attributes
    ----------
    slider : widgets.FloatSlider
        Boundary position, 0 (all ``after``) .. 1 (all ``before``).
    image : widgets.Image
        The picture shown.
    """

    def __init__(self, before: np.ndarray, after: np.ndarray, *, max_side: int = DISPLAY_SIDE):
        self.before = shrink_to_fit(as_bgr_uint8(before), max_side)
        self.after = shrink_to_fit(as_bgr_uint8(after), max_side)
        if self.before.shape != self.after.shape:
            raise ValueError(f"before and after differ in size: {before.shape[:2]} and {after.shape[:2]}.")
        self.image = widgets.Image(format="jpeg", layout=widgets.Layout(max_width=f"{self.before.shape[1]}px"))
        self.slider = widgets.FloatSlider(
            value=0.5, min=0.0, max=1.0, step=0.01, description="before | after",
            readout_format=".0%", continuous_update=True,
            style={"description_width": "initial"}, layout=widgets.Layout(width=f"{self.before.shape[1]}px"),
        )
        self.slider.observe(self._update, names="value")
        self._update()
        super().__init__([self.image, self.slider])

    def _update(self, change: dict | None = None) -> None:
        self.image.value = jpeg_bytes(wipe(self.before, self.after, self.slider.value))


class ColorizeExplorer(widgets.VBox):
    """Colourise one photo with a temperature slider, a network-size slider and a model dropdown.

    The network runs once per network size (about half a second at 224 px on a laptop CPU) and
    its 313 scores per point are kept: a new temperature redoes only the last step, softmax of
    the scores / T and the mean colour (``helpers.photo.colorize.ab_from_scores``), in a few
    milliseconds. Pictures already shown are kept too, so going back to a setting is instant.
    The status line under the picture says how long the answer took and whether the network ran.

    Parameters
    ----------
    image : ndarray
        The photo (gray or colour, any depth); shown shrunk to ``max_side``.
    net : ColorizationNet
        The network for the first variant, from ``load_model``. It is shared, not copied (a
        network takes about 0.6 GB once it has run), and its temperature is left as it was.
        A network that gives no scores (a fast back end of ``helpers.backends``) works too,
        but runs in full for every temperature; its temperature is put back after each use.
    variants : sequence of str
        Model variants to offer, e.g. ``helpers.available_variants()``; the others are loaded
        with ``load_net`` when first chosen.
    load_net : callable
        ``variant -> ColorizationNet``; ``load_model`` by default.

    Attributes
    ----------
    seconds : float
        How long the last answer took, from the slider move to the new picture.
    network_ran : bool
        Whether the network ran for the last answer.
    from_memory : bool
        Whether the last picture had been shown before (nothing was computed).
    """

    TEMPERATURES = (0.05, 0.1, 0.2, 0.3, DEFAULT_TEMPERATURE, 0.5, 0.7, 1.0)
    """From nearly the mode (vivid, patchy) to the plain mean (washed out); about 0.38 is the paper's."""
    SIZES = (160, 448, 32)
    """Network input sizes offered: min, max, step (multiples of 8; 224 is the training size)."""
    CACHE = 32
    """Results kept in memory (each is one display-size picture)."""
    SCORES_CACHE = 4
    """Network scores kept in memory, one per (model, size): 4 MB at 224 px, 16 MB at 448 px."""

    def __init__(
        self,
        image: np.ndarray,
        net: ColorizationNet,
        variants: Sequence[str] = ("v2",),
        *,
        load_net: Callable[[str], ColorizationNet] = load_model,
        max_side: int = DISPLAY_SIDE,
    ):
        self.photo = shrink_to_fit(np.asarray(image), max_side)
        self.L = lightness(self.photo)  # step 1 of colorize, the same for every setting
        self._load_net = load_net
        self._nets: dict[str, ColorizationNet] = {variants[0]: net}
        self._results: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._scores: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.seconds, self.network_ran, self.from_memory = 0.0, False, False
        self.temperature = widgets.SelectionSlider(
            options=[(f"{t:.2g}", t) for t in self.TEMPERATURES], value=DEFAULT_TEMPERATURE,
            description="temperature T", continuous_update=False, style={"description_width": "initial"},
        )
        low, high, step = self.SIZES
        self.size = widgets.IntSlider(
            value=DEFAULT_SIZE, min=low, max=high, step=step, description="network input (px)",
            continuous_update=False, style={"description_width": "initial"},
        )
        self.variant = widgets.Dropdown(options=list(variants), value=variants[0], description="model")
        self.status = widgets.HTML()  # wraps, unlike a Label: the whole line stays readable in a narrow page
        self.image = widgets.Image(format="jpeg")
        for control in (self.temperature, self.size, self.variant):
            control.observe(self._update, names="value")
        self._update()
        super().__init__([widgets.HBox([self.variant, self.temperature, self.size]), self.image, self.status])

    def _net(self, variant: str) -> ColorizationNet:
        if variant not in self._nets:
            self._nets[variant] = self._load_net(variant)
        return self._nets[variant]

    def result(self) -> np.ndarray:
        """The colourisation for the current settings, ``(H, W, 3)`` uint8 BGR.

        Equal, up to float rounding, to ``colorize(self.photo, net, temperature=T, size=S)``.
        """
        variant, temperature, size = key = (self.variant.value, self.temperature.value, self.size.value)
        self.from_memory = key in self._results
        self.network_ran = False
        if self.from_memory:
            self._results.move_to_end(key)
            return self._results[key]
        net = self._net(variant)
        if gives_scores(net):
            scores = self._scores_for(net, variant, size)              # steps 1-3a: cached per size
            ab_small = ab_from_scores(scores, temperature, cluster_centres_of(net))[0]  # 3b: T
            img_bgr = lab_to_bgr(self.L, upsample_ab(ab_small, self.L.shape))          # 4-5
        else:  # the network outputs only colour: run it all with this temperature
            previous = get_temperature(net)
            try:
                img_bgr = colorize(self.photo, net, temperature=temperature, size=size)
            finally:
                set_temperature(net, previous)
            self.network_ran = True
        self._results[key] = img_bgr
        if len(self._results) > self.CACHE:
            self._results.popitem(last=False)
        return img_bgr

    def _scores_for(self, net: ColorizationNet, variant: str, size: int) -> np.ndarray:
        key = (variant, size)
        if key in self._scores:
            self._scores.move_to_end(key)
            return self._scores[key]
        check_size(size)
        scores = predict_scores(net, network_input(self.L, size)[np.newaxis])
        self.network_ran = True
        self._scores[key] = scores
        if len(self._scores) > self.SCORES_CACHE:
            self._scores.popitem(last=False)
        return scores

    def _update(self, change: dict | None = None) -> None:
        start = time.perf_counter()
        if not self._ready():  # a busy sign while the network runs: a second or more at large sizes
            self.status.value = (f"⏳ <b>working</b>: running the network at {self.size.value} px "
                                 f"({self.variant.value})...")
        img_bgr = self.result()
        self.image.value = jpeg_bytes(side_by_side([self.photo, img_bgr]))
        self.seconds = time.perf_counter() - start
        t = self.temperature.value
        if self.from_memory:
            how = "shown before, from memory"
        elif self.network_ran and gives_scores(self._net(self.variant.value)):
            how = "network ran (313 scores per point), then softmax(scores / T) and mean colour"
        elif self.network_ran:
            how = "network ran in full (this network gives no scores, so every T runs it)"
        else:
            how = "network NOT run: kept scores, only softmax(scores / T) and mean colour redone"
        self.status.value = (
            f"<b>{self.variant.value}, T = {t:.2g}</b> (logits x {1 / t:.3g}), <b>{self.size.value} px</b> input: "
            f"colourfulness {colourfulness(img_bgr):.1f}<br>{self.seconds:.2f} s: {how}"
        )

    def _ready(self) -> bool:
        """Whether the current settings need no network run (a picture or scores are kept)."""
        variant, size = self.variant.value, self.size.value
        if (variant, self.temperature.value, size) in self._results:
            return True
        return variant in self._nets and gives_scores(self._nets[variant]) and (variant, size) in self._scores


class UploadColorizer(widgets.VBox):
    """Upload a photo, see it colourised (with a wipe slider), find it saved in ``out_dir``.

    Parameters
    ----------
    net : ColorizationNet
        From ``load_model``.
    out_dir : Path
        Where results are saved as ``<name>_color.<ext>``; ``colorized_images/`` by default.
    temperature : float
        Annealed-mean temperature T of the colours (``helpers.DEFAULT_TEMPERATURE``: the paper's 0.38).
    """

    def __init__(self, net: ColorizationNet, out_dir: Path = COLORIZED_IMAGES, *,
                 temperature: float = DEFAULT_TEMPERATURE):
        self.net = net
        self.out_dir = Path(out_dir)
        self.temperature = temperature
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload a photo",
                                         layout=widgets.Layout(width="max-content"))  # the default cuts the label
        self.status = widgets.Label("Choose a black-and-white photo (JPEG, PNG, TIFF...).")
        self.result = widgets.VBox()
        self.upload.observe(self._on_upload, names="value")
        super().__init__([self.upload, self.status, self.result])

    def _on_upload(self, change: dict) -> None:
        for name, content in uploaded_files(change["new"]):
            name = Path(name).name  # never trust a folder part in an uploaded name
            try:  # read as a file is read: upright, transparency kept, colours on its own lightness
                done = colorize_image_file(content, self.net, temperature=self.temperature, name=repr(name))
            except ValueError as exc:
                self.status.value = f"{exc} Is it a photo (JPEG, PNG, TIFF...)?"
                continue
            [picture] = done.pictures
            saved = write_pictures(self.out_dir / f"{Path(name).stem}_color{_result_suffix(name, picture)}",
                                   [picture], dpi=done.source.dpi)
            h, w = picture.image.shape[:2]
            self.status.value = f"{name}: {w} x {h} px, saved as {saved}"
            gray = cv2.cvtColor(picture.image, cv2.COLOR_BGR2GRAY)  # the photo's lightness: what the network saw
            self.result.children = [WipeSlider(gray, picture.image)]


def _result_suffix(name: str, picture: Picture) -> str:
    """The upload's own suffix where this tool writes it, else ``.png``; ``.png`` too for transparency
    that the upload's format cannot hold (a PNG named ``.jpg``)."""
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS or (picture.alpha is not None and FORMATS[suffix] not in TRANSPARENCY):
        return ".png"
    return suffix


def uploaded_files(value) -> list[tuple[str, bytes]]:
    """The ``(name, content)`` of each file in a ``widgets.FileUpload``'s value.

    ipywidgets 8 gives a tuple of dicts with ``"name"`` and ``"content"`` (a memoryview); 7.7, which
    Google Colab ships, a dict from file name to ``{"metadata": {...}, "content": bytes}``.
    """
    if isinstance(value, Mapping):
        return [(item.get("metadata", {}).get("name", name), bytes(item["content"])) for name, item in value.items()]
    return [(item["name"], bytes(item["content"])) for item in value]
