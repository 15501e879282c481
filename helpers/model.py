"""Load the colourisation network with OpenCV's DNN module.

The released Caffe model ends with ``conv8_313`` (313 logits per pixel, one per ab bin). Two
extra layers turn those logits into a colour, and their weights are not in the caffemodel, so
we set them here:

* ``conv8_313_rh`` (Scale) multiplies the logits by ``1 / T``; followed by a softmax this is the
  "annealed mean" of the paper with temperature ``T``. The released code hard-codes the
  scale ``2.606``, i.e. ``T = 1 / 2.606 = 0.3837``, the paper's "T = 0.38".
* ``class8_ab`` is a 1x1 convolution whose weights are the 313 ab bin centres of
  ``pts_in_hull.npy``: it computes the expected ab colour under that softmax.

OpenCV 5 no longer reads Caffe files. There, ``load_model`` reads the same network from an
ONNX file that ``helpers.onnx_file`` writes once from the Caffe files, with both steps built
in (the temperature is one of its inputs). OpenCV 4 reads the Caffe files, as it always did.

``ColorizationNet`` says what the rest of the package needs of a network (``setInput`` then
``forward``), so the faster back ends of ``helpers.backends`` can stand in for OpenCV's.

Introduced in notebook 02_photo.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from .caffe import (
    CaffeModelError,
    Graph,
    GraphError,
    UnsupportedLayerError,
    parse_prototxt,
    read_caffemodel,
    read_graph,
)
from .fetch import MODEL_DIR_ENV, fetch_model, read_registry, variant_files
from .files import looks_like_html
from .onnx_file import onnx_for
from .opencv_install import check_opencv
from .paths import CACHE_ENV, MODEL_DIR, cache_folder

STANDIN_MARKER = "STANDIN.txt"
"""A file that tools/standin_model.py puts beside the weights it generates: a model with random
weights, whose colours are noise. ``describe_model`` (and so the command line) says so."""

DEFAULT_TEMPERATURE = 1 / 2.606
"""Annealed-mean temperature, about 0.38: the released model's scale 2.606 is 1 / T.
1 gives the plain mean of the predicted colours (greyish), T -> 0 their mode (vivid, patchy)."""


class ModelLoadError(RuntimeError):
    """The model files are missing, damaged, or not a colourisation network."""


@runtime_checkable
class ColorizationNet(Protocol):
    """Anything that runs the colourisation network the way OpenCV's ``cv2.dnn.Net`` does.

    ``load_model`` returns one (a ``cv2.dnn.Net``), and so do the faster back ends of
    ``helpers.backends``; ``helpers.colorize`` and the video pipeline take either.

    Examples
    --------
    >>> net.setInput(blob)  # blob: (N, 1, S, S) float32, L (0..100) minus 50, S a multiple of 8
    >>> ab = net.forward()  # (N, 2, S/4, S/4) float32: a and b at a quarter of the input size
    """

    def setInput(self, blob: np.ndarray) -> None:
        """Set the input of the next ``forward``."""

    def forward(self) -> np.ndarray:
        """Run the network on the input: the predicted ab."""


@runtime_checkable
class KeepsTemperature(Protocol):
    """A network that stores the annealed-mean temperature itself, as the fast back ends do.

    ``set_temperature`` and ``get_temperature`` hand the temperature to such a network; on
    OpenCV's net, which has no such methods, they change the weight of its Scale layer instead.
    """

    def set_temperature(self, temperature: float) -> None:
        """Use ``temperature`` from the next forward pass on."""

    def get_temperature(self) -> float:
        """The temperature currently set."""


@dataclass(frozen=True)
class ModelPaths:
    """The three files a model needs."""

    prototxt: Path
    weights: Path
    points: Path
    managed: bool
    """True for files in ``model/`` that ``fetch_model`` verifies; False for ``COLORIZE_MODEL_DIR``."""

    @property
    def files(self) -> tuple[Path, Path, Path]:
        """The three paths: prototxt, weights, cluster centres."""
        return self.prototxt, self.weights, self.points


def opencv_reads_caffe() -> bool:
    """True for OpenCV 4, which reads Caffe models; OpenCV 5 removed ``cv2.dnn.readNetFromCaffe``."""
    return hasattr(cv2.dnn, "readNetFromCaffe")


def _only(folder: Path, pattern: str) -> Path | None:
    found = sorted(folder.glob(pattern))
    return found[0] if len(found) == 1 else None


def model_paths(variant: str = "v2", model_dir: Path | None = None) -> ModelPaths:
    """Where the model files of ``variant`` are.

    ``model_dir`` (or ``$COLORIZE_MODEL_DIR``) is a folder used as it is: the files keep the
    release names, or the folder holds exactly one ``.prototxt``, one ``.caffemodel`` and one
    ``.npy``. Without it, the files are in ``model/``, managed by ``fetch_model``.
    """
    names = {Path(entry.name).suffix: entry.name for entry in variant_files(variant)}
    prototxt_name, points_name, weights_name = names[".prototxt"], names[".npy"], names[".caffemodel"]
    chosen = model_dir or os.environ.get(MODEL_DIR_ENV)
    if not chosen:
        return ModelPaths(
            MODEL_DIR / prototxt_name, MODEL_DIR / weights_name, MODEL_DIR / points_name, managed=True
        )
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        raise ModelLoadError(f"Model folder {folder} does not exist (set by {MODEL_DIR_ENV} or model_dir).")

    def pick(name: str, pattern: str) -> Path:
        return folder / name if (folder / name).exists() else (_only(folder, pattern) or folder / name)

    return ModelPaths(
        pick(prototxt_name, "*.prototxt"),
        pick(weights_name, "*.caffemodel"),
        pick(points_name, "*.npy"),
        managed=False,
    )


def get_model_files(variant: str = "v2", *, mirror: str | os.PathLike | None = None) -> ModelPaths:
    """The model's files, ready to load: downloaded into ``model/`` first if missing or damaged.

    With ``$COLORIZE_MODEL_DIR`` set, that folder is used as it is (nothing is downloaded).

    Raises
    ------
    ModelDownloadError
        Every source of a missing file failed (the message says what to do).
    ModelLoadError
        A file is missing from ``$COLORIZE_MODEL_DIR``.
    """
    paths = model_paths(variant)
    if paths.managed:
        fetch_model(variant, mirror=mirror)
        return paths
    missing = [str(p) for p in paths.files if not p.is_file()]
    if missing:
        raise ModelLoadError(f"{MODEL_DIR_ENV} is set, but these model files are missing: {', '.join(missing)}")
    return paths


def available_variants() -> list[str]:
    """The model variants whose files are on disk, ``"v2"`` first.

    In a ``$COLORIZE_MODEL_DIR`` folder, a variant counts only when its release file name is
    there; a folder with just one model of another name offers ``["v2"]``, meaning that model.
    """
    _, variants = read_registry()
    managed = model_paths().managed
    found = []
    for variant, names in variants.items():
        paths = model_paths(variant)
        if managed:
            present = all(p.is_file() for p in paths.files)
        else:
            present = paths.weights.name in names and paths.weights.is_file()
        if present:
            found.append(variant)
    return found or ([] if managed else ["v2"])


def model_id(variant: str = "v2") -> str:
    """Which model files ``load_model(variant)`` reads, as one line: the weights' name, folder
    and size. Recorded beside colourised video frames, so frames of two models never mix."""
    weights = model_paths(variant).weights
    size = weights.stat().st_size if weights.is_file() else 0
    return f"{weights.name} in {weights.parent.resolve()}, {size} bytes"


def is_standin(variant: str = "v2", model_dir: Path | None = None) -> bool:
    """True when ``load_model(variant, model_dir=model_dir)`` would load a stand-in with random weights.

    ``make standin`` (tools/standin_model.py) writes ``STANDIN.txt`` beside the weights it makes; a
    stand-in's colours are noise, so the notebooks say so at the top.
    """
    return (model_paths(variant, model_dir).weights.parent / STANDIN_MARKER).is_file()


def describe_model(variant: str = "v2", model_dir: Path | None = None) -> str:
    """Which model ``load_model(variant, model_dir=model_dir)`` uses, in words, for a terminal.

    One of: the authors' released weights (fetched into ``model/``), your own files from
    ``$COLORIZE_MODEL_DIR`` (or ``model_dir``), or a stand-in with random weights made by
    tools/standin_model.py (recognised by its ``STANDIN.txt``), whose colours are noise.
    """
    paths = model_paths(variant, model_dir)
    folder = paths.weights.parent
    marker = folder / STANDIN_MARKER
    if is_standin(variant, model_dir):
        made = (marker.read_text(encoding="utf-8", errors="replace").strip().splitlines() or [""])[0]
        unset = f" and unset {MODEL_DIR_ENV}" if not paths.managed and model_dir is None else ""
        return (f"a STAND-IN with random weights in {folder} ({made}): its colours are noise, for testing only; "
                f"for real colours run `python -m helpers fetch`{unset}")
    if paths.managed:
        return f"the authors' released weights {paths.weights.name} (variant {variant}) in {folder}"
    names = ", ".join(p.name for p in paths.files)
    source = f" (from {MODEL_DIR_ENV})" if model_dir is None else ""
    return f"your own model files in {folder}{source}: {names}"


def _fix(path: Path, managed: bool) -> str:
    """What to do about a damaged model file, for the end of an error message."""
    if managed:
        return "Run `python -m helpers fetch` (or helpers.fetch_model() in a notebook) to download it again."
    return f"Check the files in {path.parent} (the folder named by {MODEL_DIR_ENV})."


def check_model_file(path: Path, managed: bool) -> None:
    """Catch the common problems before OpenCV turns them into an opaque parse error."""
    fix = _fix(path, managed)
    if not path.is_file():
        raise ModelLoadError(f"Model file {path} is missing. {fix}")
    size = path.stat().st_size
    if size == 0:
        raise ModelLoadError(f"Model file {path} is empty. {fix}")
    if looks_like_html(path):
        raise ModelLoadError(f"Model file {path} is an HTML page, not a model (a failed download). {fix}")
    if managed:
        files, _ = read_registry()
        expected = files[path.name].size
        if size != expected:
            raise ModelLoadError(
                f"Model file {path} has {size:,} bytes but should have {expected:,}: "
                f"it is truncated or a different file. {fix}"
            )


def load_cluster_centres(path: Path) -> np.ndarray:
    """The ab bin centres, ``(313, 2)`` float32, read without pickle (a .npy can't run code)."""
    try:
        points = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ModelLoadError(f"{path} is not a readable .npy array of ab bin centres: {exc}") from exc
    if points.ndim != 2 or points.shape[1] != 2:
        raise ModelLoadError(f"{path} holds an array of shape {points.shape}; expected (313, 2) ab bin centres.")
    return points.astype(np.float32)


def cluster_kernel(points: np.ndarray) -> np.ndarray:
    """The weights of ``class8_ab``, the 1x1 convolution that takes the expected colour.

    Parameters
    ----------
    points : (Q, 2) ndarray
        The ab bin centres (``load_cluster_centres``), Q = 313.

    Returns
    -------
    (2, Q, 1, 1) float32 ndarray
        2 output channels (a, b), Q inputs (the bins), a 1x1 kernel.
    """
    return np.ascontiguousarray(np.asarray(points, np.float32).T.reshape(2, -1, 1, 1))


def load_model(
    variant: str = "v2",
    *,
    model_dir: Path | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    backend: str = "opencv",
) -> ColorizationNet:
    """Read the Caffe network and add the cluster centres and the annealed-mean temperature.

    Parameters
    ----------
    variant : {"v2", "v2_norebal"}
        Which released weights (see ``fetch_model``).
    model_dir : Path, optional
        A folder of model files used as they are; defaults to ``$COLORIZE_MODEL_DIR``, and
        without either to ``model/`` (fill it with ``fetch_model``).
    temperature : float
        Annealed-mean temperature ``T`` in (0, 1]; see ``set_temperature``.
    backend : {"opencv", "auto", "openvino", "onnxruntime"}
        What runs the network. ``"opencv"`` (the default here): OpenCV's DNN module, a
        ``cv2.dnn.Net``, as notebook 02 explains. ``"auto"``: the fastest runtime whose colours
        match OpenCV's on this machine, checked once and remembered (``helpers.backends.load_auto``;
        how much faster depends on the CPU, and it says what it measured); the others: that
        runtime, with int8 only if it keeps the colours (``helpers.backends.load_fast_backend``).

    Returns
    -------
    ColorizationNet
        For ``"opencv"`` on OpenCV 4 a ``cv2.dnn.Net``. Input ``data_l``: (N, 1, S, S) float32, the L
        channel (0..100) minus 50, with S a multiple of 8 (224 in training). Output
        ``class8_ab``: (N, 2, S/4, S/4) ab values.

    Notes
    -----
    OpenCV 5 cannot read Caffe files: there the network is read from the ONNX file that
    ``helpers.onnx_file`` writes once beside the weights, and the result is a network of
    ``helpers.backends.opencv_onnx`` that runs like a ``cv2.dnn.Net``.

    Raises
    ------
    OpenCvInstallError
        OpenCV is missing or broken (the message says how to repair it).
    ModelLoadError
        A file is missing, truncated, an HTML page, or not this network.
    """
    paths = model_paths(variant, model_dir)
    if backend != "opencv":
        from . import backends  # imports the runtimes' packages, so only when asked for

        if backend == "auto":
            return backends.load_auto(paths, temperature=temperature)
        return backends.load_fast_backend(backend, paths, temperature=temperature)
    net = read_network(paths)
    set_temperature(net, temperature)
    return net


def read_network(paths: ModelPaths) -> ColorizationNet:
    """OpenCV's network of the model files, without its temperature (set it next).

    On OpenCV 4: the Caffe files, with the cluster centres added as ``class8_ab``'s weights.
    On OpenCV 5: the ONNX file made from them (``helpers.onnx_file``). Shared by ``load_model``
    and ``--backend auto``, whose reference it is. Raises as ``load_model`` does.
    """
    check_opencv()
    for path in paths.files:
        check_model_file(path, paths.managed)
    if not opencv_reads_caffe():
        from .backends.opencv_onnx import read_onnx_network  # the back ends import this module

        return read_onnx_network(paths)
    points = load_cluster_centres(paths.points)
    try:
        # str(): OpenCV's Python bindings do not take Path objects in older 4.x releases.
        net = cv2.dnn.readNetFromCaffe(str(paths.prototxt), str(paths.weights))
    except cv2.error as exc:
        raise ModelLoadError(
            f"OpenCV could not read the model {paths.weights.name} with {paths.prototxt.name} "
            f"in {paths.weights.parent}: one of them is damaged or they do not belong together. "
            + (
                "Run `python -m helpers fetch` to download them again."
                if paths.managed
                else f"Check the files in {paths.weights.parent}."
            )
            + f"\n(OpenCV said: {str(exc).strip().splitlines()[-1]})"
        ) from None
    _require_added_layers(paths.prototxt, lambda layer: net.getLayerId(layer) >= 0)
    net.getLayer(net.getLayerId("class8_ab")).blobs = [cluster_kernel(points)]
    return net


def onnx_file_of(paths: ModelPaths, log: Callable[[str], None] | None = print) -> Path:
    """The ONNX file of the model files: the same network for OpenCV 5, written first if need be.

    See ``helpers.onnx_file``: the file goes beside the weights (or into the cache folder when
    their folder is read-only) and is written again only when the Caffe files change. ``log``
    hears, in one line, when it is being written (a few seconds, once).

    Raises
    ------
    ModelLoadError
        A model file is missing or damaged, or the file can be written neither beside the weights
        nor in the cache folder (read-only, or the disk is full).
    """
    for path in paths.files:
        check_model_file(path, paths.managed)
    try:
        return onnx_for(*paths.files, read_graph=lambda: read_model_graph(paths), log=log)
    except OSError as exc:
        raise ModelLoadError(
            f"OpenCV 5 needs the network as an ONNX file, which could be written neither beside the weights in "
            f"{paths.weights.parent} nor in the cache folder {cache_folder()} ({exc.strerror or exc}). Free some "
            f"disk space, or set {CACHE_ENV} to a folder you can write."
        ) from None


ADDED_LAYERS = ("conv8_313_rh", "class8_ab")
"""The two layers whose weights the Caffe model leaves to its user: 1 / T and the cluster centres."""


def _require_added_layers(prototxt: Path, has: Callable[[str], bool]) -> None:
    """Raise ModelLoadError unless the network has both ``ADDED_LAYERS`` (``has(name)`` says)."""
    for layer in ADDED_LAYERS:
        if not has(layer):
            raise ModelLoadError(f"{prototxt} has no layer named {layer!r}: it is not the colourisation network.")


def read_model_graph(paths: ModelPaths) -> Graph:
    """The network of the model files as a ``helpers.caffe.Graph``, read without OpenCV.

    The prototxt gives the layers, the ``.caffemodel`` their weights (``read_caffemodel``) and
    ``pts_in_hull.npy`` the weights of ``class8_ab`` (``cluster_kernel``), which the Caffe
    model leaves to its user. The ONNX file of OpenCV 5 and the faster back ends are built
    from it.

    Raises
    ------
    ModelLoadError
        A file is missing or damaged (as for ``load_model``), or the prototxt has a layer that
        ``helpers.caffe`` does not rebuild.
    """
    for path in paths.files:
        check_model_file(path, paths.managed)
    prototxt = paths.prototxt.read_text()
    names = {layer["name"][0] for layer in parse_prototxt(prototxt).get("layer", []) if "name" in layer}
    _require_added_layers(paths.prototxt, names.__contains__)
    kernel = cluster_kernel(load_cluster_centres(paths.points))
    try:
        weights = read_caffemodel(paths.weights)
    except CaffeModelError as exc:
        raise ModelLoadError(f"Model file {paths.weights} is damaged or not a Caffe model ({exc}). "
                             f"{_fix(paths.weights, paths.managed)}") from None

    def blobs(name: str, tops: list[str]) -> list[np.ndarray]:
        if name == "class8_ab":
            return [kernel]
        # OpenCV 4 names a layer after its output where the two differ (bw_conv1_1 -> conv1_1): a
        # .caffemodel saved from OpenCV's net, or another tool, may use either name.
        return weights.get(name) or (weights.get(tops[0], []) if tops else [])

    try:
        return read_graph(prototxt, blobs)
    except UnsupportedLayerError as exc:
        raise ModelLoadError(
            f"{paths.prototxt.name}: {exc} Only the layers of this colourisation network are rebuilt (for "
            "OpenCV 5 and the fast back ends); OpenCV 4 (--backend opencv) reads other Caffe models as they are."
        ) from None
    except GraphError as exc:
        raise ModelLoadError(f"{paths.prototxt.name} with {paths.weights.name}: {exc}") from None


def check_temperature(temperature: float) -> float:
    """Return ``temperature`` as a float, or raise ValueError unless it is in (0, 10].

    Notes
    -----
    Above 10 every colour is the plain mean of the 313 bins (grey-brown); at or below 0 the
    softmax is undefined. The paper's choice, 0.38, is ``DEFAULT_TEMPERATURE``.
    """
    temperature = float(temperature)
    if not 0 < temperature <= 10:
        raise ValueError(f"temperature must be in (0, 10], got {temperature}; the paper uses 0.38.")
    return temperature


def set_temperature(net: ColorizationNet, temperature: float) -> None:
    """Set the annealed-mean temperature ``T``: the softmax runs on ``logits / T``.

    ``T = 1`` gives the plain mean of the predicted distribution (safe, greyish, sepia);
    ``T -> 0`` its mode (vivid but patchy). The paper picked ``T = 0.38`` (scale 2.606).

    Parameters
    ----------
    net : ColorizationNet
        The ``cv2.dnn.Net`` of ``load_model``, or a network that keeps its own temperature
        (``KeepsTemperature``, e.g. a back end of ``helpers.backends``).
    temperature : float
        In (0, 10].

    Notes
    -----
    OpenCV folds the Scale layer into the convolution before it when the network first runs,
    so changing the Scale weights later would have no effect. Toggling fusion off and on makes
    OpenCV set the network up again with the new weights on the next forward pass.
    ``get_temperature`` reports ``T`` rounded to 6 decimals; that value of the default
    (0.38373) sets the default exactly again (scale 2.606), so the colours stay the same to the bit.
    """
    check_temperature(temperature)
    if round(temperature, 6) == round(DEFAULT_TEMPERATURE, 6):
        temperature = DEFAULT_TEMPERATURE
    if isinstance(net, KeepsTemperature):
        net.set_temperature(temperature)
        return
    layer = _scale_layer(net)
    channels = 313 if not layer.blobs else layer.blobs[0].size
    layer.blobs = [np.full((1, channels), 1.0 / temperature, np.float32)]
    net.enableFusion(False)
    net.enableFusion(True)


def get_temperature(net: ColorizationNet) -> float:
    """The temperature ``T`` currently set on ``net`` (see ``set_temperature``)."""
    if isinstance(net, KeepsTemperature):
        return net.get_temperature()
    return temperature_of_scale(_scale_layer(net).blobs[0].flat[0])


def temperature_of_scale(scale: float) -> float:
    """``T`` from the stored scale ``1 / T``, rounded to 6 decimals: the scale is float32, so
    ``1 / float32(1 / 0.38)`` is 0.38 only to about 7 digits."""
    return round(float(1.0 / scale), 6)


def _scale_layer(net: cv2.dnn.Net):
    """OpenCV's ``conv8_313_rh`` layer, whose weight is ``1 / T``."""
    if not hasattr(net, "getLayerId"):
        raise TypeError(
            f"A {type(net).__name__} has no temperature to set or read: pass the network of load_model "
            "(a cv2.dnn.Net) or one with set_temperature and get_temperature methods (helpers.backends)."
        )
    return net.getLayer(net.getLayerId("conv8_313_rh"))
