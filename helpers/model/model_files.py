"""The model's files: where they are, whether they are whole, and the network they hold (notebook 02_photo).

The released Caffe model ends with ``conv8_313`` (313 logits per pixel, one per ab bin). Two
extra layers turn those logits into a colour, and their weights are not in the caffemodel:

* ``conv8_313_rh`` (Scale) multiplies the logits by ``1 / T``; followed by a softmax this is the
  "annealed mean" of the paper with temperature ``T``. The released code hard-codes the
  scale ``2.606``, i.e. ``T = 1 / 2.606 = 0.3837``, the paper's "T = 0.38".
* ``class8_ab`` is a 1x1 convolution whose weights are the 313 ab bin centres of
  ``pts_in_hull.npy``: it computes the expected ab colour under that softmax.

This module finds the three files (``model_paths``), checks them (``check_model_file``), says
which model they are (``describe_model``, ``is_standin``) and reads them without OpenCV's DNN
module (``read_model_graph``, ``load_cluster_centres``; ``onnx_file_of`` writes the ONNX file
OpenCV 5 needs). Running the network is ``helpers.backends``' job: ``helpers.load_model``
(``helpers.backends.load``) builds it; ``helpers.model.net`` says what a network is and sets its
temperature.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..common.files import looks_like_html
from ..paths import CACHE_ENV, MODEL_DIR, cache_folder
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
from .layers import ADDED_LAYERS, COLOUR
from .onnx_file import onnx_for

STANDIN_MARKER = "STANDIN.txt"
"""A file that tools/standin_model.py puts beside the weights it generates: a model with random
weights, whose colours are noise. ``describe_model`` (and so the command line) says so."""


class ModelLoadError(RuntimeError):
    """The model files are missing, damaged, or not a colourisation network."""


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


def onnx_file_of(paths: ModelPaths, log: Callable[[str], None] | None = print) -> Path:
    """The ONNX file of the model files: the same network for OpenCV 5, written first if need be.

    See ``helpers.model.onnx_file``: the file goes beside the weights (or into the cache folder when
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


def require_added_layers(prototxt: Path, has: Callable[[str], bool]) -> None:
    """Raise ModelLoadError unless the network has both ``ADDED_LAYERS`` (``has(name)`` says)."""
    for layer in ADDED_LAYERS:
        if not has(layer):
            raise ModelLoadError(f"{prototxt} has no layer named {layer!r}: it is not the colourisation network.")


def read_model_graph(paths: ModelPaths) -> Graph:
    """The network of the model files as a ``helpers.model.caffe.Graph``, read without OpenCV.

    The prototxt gives the layers, the ``.caffemodel`` their weights (``read_caffemodel``) and
    ``pts_in_hull.npy`` the weights of ``class8_ab`` (``cluster_kernel``), which the Caffe
    model leaves to its user. The ONNX file of OpenCV 5 and the faster back ends are built
    from it.

    Raises
    ------
    ModelLoadError
        A file is missing or damaged (as for ``load_model``), or the prototxt has a layer that
        ``helpers.model.caffe`` does not rebuild.
    """
    for path in paths.files:
        check_model_file(path, paths.managed)
    prototxt = paths.prototxt.read_text()
    names = {layer["name"][0] for layer in parse_prototxt(prototxt).get("layer", []) if "name" in layer}
    require_added_layers(paths.prototxt, names.__contains__)
    kernel = cluster_kernel(load_cluster_centres(paths.points))
    try:
        weights = read_caffemodel(paths.weights)
    except CaffeModelError as exc:
        raise ModelLoadError(f"Model file {paths.weights} is damaged or not a Caffe model ({exc}). "
                             f"{_fix(paths.weights, paths.managed)}") from None

    def blobs(name: str, tops: list[str]) -> list[np.ndarray]:
        if name == COLOUR:
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
