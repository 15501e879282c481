"""Load a network: the one place where a runtime is chosen and built (notebook 02; ``--backend`` of the command line).

``load_network`` builds the network of the model files for one runtime and precision, through
``RUNTIMES`` (one build function per back end). Everything that loads a network calls it:

* ``load_model`` (``helpers.load_model``): a model variant by name, with the ``backend`` the
  notebooks and the command line offer;
* ``load_fast_backend``: one runtime at the fastest precision that keeps the colours, checked
  now on the sample photos (``check_accuracy``);
* ``load_auto``: the runtime and precision that ``helpers.backends.auto`` decided, once per machine.

The fast back ends rebuild the network from the same files OpenCV reads:
``helpers.model.model_files.read_model_graph`` turns the prototxt, the weights and the cluster centres into
plain ops (``helpers.model.caffe``), and ``onnx_backend`` or ``openvino_backend`` builds those.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..common.files import write_bytes
from ..common.opencv_install import check_opencv
from ..lab.temperature import DEFAULT_TEMPERATURE, check_temperature
from ..model.caffe import Graph
from ..model.model_files import ModelPaths, check_model_file, model_paths, read_model_graph
from ..model.net import DEFAULT_SIZE, ColorizationNet
from ..paths import cache_folder
from . import auto, opencv
from .auto import DEFAULT_TOLERANCE
from .available import PRECISIONS, available_precisions, require
from .onnx_backend import OnnxRuntimeBackend, onnx_model
from .openvino_backend import OpenVinoBackend, openvino_model
from .quantize import Calibration, calibrated_ranges, int8_onnx, load_sample_images, network_inputs

_SPEED_ORDER = ("int8", "bf16")
"""Reduced precisions, fastest first (measured with bench/backend_speed.py)."""


class PrecisionFallbackWarning(RuntimeWarning):
    """bf16 or int8 changed the colours too much on this machine, so fp32 is used."""


@dataclass
class _Model:
    """The model files, and their graph once one runtime has read it (read once, shared by the builds)."""

    paths: ModelPaths
    graph: Graph | None = None

    def read_graph(self) -> Graph:
        if self.graph is None:
            self.graph = read_model_graph(self.paths)
        return self.graph


def _opencv(model: _Model, precision: str, temperature: float, calibration: Calibration) -> ColorizationNet:
    return opencv.build(model.paths, temperature)


def _onnxruntime(model: _Model, precision: str, temperature: float, calibration: Calibration) -> ColorizationNet:
    graph = model.read_graph()
    if precision != "int8":
        return OnnxRuntimeBackend(onnx_model(graph).SerializeToString(), precision, temperature)
    saved = calibration.saved
    if saved is None:
        return OnnxRuntimeBackend(int8_onnx(onnx_model(graph), calibration.network_inputs(), graph), precision,
                                  temperature)
    model_file = Path(saved["model_file"]) if "model_file" in saved else None
    if model_file is None or not model_file.is_file():
        data = int8_onnx(onnx_model(graph), calibration.network_inputs(), graph)
        name = f"onnxruntime-int8-{hashlib.sha256(data).hexdigest()[:16]}.onnx"
        model_file = write_bytes((calibration.folder or cache_folder()) / name, data)
    saved["model_file"] = str(model_file)
    return OnnxRuntimeBackend(model_file.read_bytes(), precision, temperature)


def _openvino(model: _Model, precision: str, temperature: float, calibration: Calibration) -> ColorizationNet:
    graph, ranges = model.read_graph(), None
    if precision == "int8":
        saved = {} if calibration.saved is None else calibration.saved
        ranges = saved["ranges"] if "ranges" in saved else calibrated_ranges(graph, calibration.network_inputs())
        saved["ranges"] = {op: list(r) for op, r in ranges.items()}
    return OpenVinoBackend(openvino_model(graph, ranges), precision, temperature)


RUNTIMES: dict[str, Callable[[_Model, str, float, Calibration], ColorizationNet]] = {
    "opencv": _opencv,
    "onnxruntime": _onnxruntime,
    "openvino": _openvino,
}
"""How each back end is built from the model (its files, and their graph), a precision, ``T`` and int8's calibration."""


def load_network(
    paths: ModelPaths,
    *,
    backend: str = "opencv",
    precision: str = "fp32",
    temperature: float = DEFAULT_TEMPERATURE,
    calibration: Calibration | None = None,
    graph: Graph | None = None,
) -> ColorizationNet:
    """Build the network of the model files in back end ``backend`` at ``precision``, without any accuracy check.

    Parameters
    ----------
    paths : ModelPaths
        From ``helpers.model.model_paths`` (or ``get_model_files``).
    backend : {"opencv", "onnxruntime", "openvino"}
        ``"opencv"`` gives the network notebook 02 explains (a ``cv2.dnn.Net`` on OpenCV 4).
    precision : {"fp32", "bf16", "int8"}
        See ``available_precisions(backend)``. Prefer ``load_fast_backend`` for bf16 and int8.
    temperature : float
        Annealed-mean temperature ``T`` in (0, 10].
    calibration : Calibration, optional
        int8 only: what to calibrate on (default the sample photos), and what to keep of it.
    graph : helpers.model.caffe.Graph, optional
        The files' graph if already read (``read_model_graph``): several builds of one model read it once.

    Returns
    -------
    ColorizationNet
        ``setInput((N, 1, S, S) float32)`` then ``forward() -> (N, 2, S/4, S/4) float32``.

    Raises
    ------
    BackendUnavailableError
        The back end's package is not installed (``pip install -e ".[fast]"``).
    ValueError
        Unknown back end, a precision it does not offer here, or a temperature out of range.
    ModelLoadError
        A model file is missing or damaged, or has a layer the fast back ends do not rebuild.
    """
    require(backend)
    offered = available_precisions(backend)
    if precision not in offered:
        raise ValueError(f"The {backend} back end offers {', '.join(offered)} on this machine, not {precision!r}.")
    check_temperature(temperature)
    return RUNTIMES[backend](_Model(paths, graph), precision, temperature, calibration or Calibration())


def load_model(
    variant: str = "v2",
    *,
    model_dir: Path | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    backend: str = "opencv",
) -> ColorizationNet:
    """Read the model files of ``variant`` as a network, with the cluster centres and the annealed-mean temperature.

    Parameters
    ----------
    variant : {"v2", "v2_norebal"}
        Which released weights (see ``fetch_model``).
    model_dir : Path, optional
        A folder of model files used as they are; defaults to ``$COLORIZE_MODEL_DIR``, and
        without either to ``model/`` (fill it with ``fetch_model``).
    temperature : float
        Annealed-mean temperature ``T`` in (0, 10]; see ``helpers.set_temperature``.
    backend : {"opencv", "auto", "openvino", "onnxruntime"}
        What runs the network. ``"opencv"`` (the default here): OpenCV's DNN module, a
        ``cv2.dnn.Net``, as notebook 02 explains. ``"auto"``: the fastest runtime whose colours
        match OpenCV's on this machine, checked once and remembered (``helpers.backends.load_auto``;
        how much faster depends on the CPU, and it says what it measured); the others: that
        runtime, with int8 only if it keeps the colours (``load_fast_backend``).

    Returns
    -------
    ColorizationNet
        For ``"opencv"`` on OpenCV 4 a ``cv2.dnn.Net``. Input ``data_l``: (N, 1, S, S) float32, the L
        channel (0..100) minus 50, with S a multiple of 8 (224 in training). Output
        ``class8_ab``: (N, 2, S/4, S/4) ab values.

    Notes
    -----
    OpenCV 5 cannot read Caffe files: there the network is read from the ONNX file that
    ``helpers.model.onnx_file`` writes once beside the weights, and the result is a network of
    ``helpers.backends.opencv`` that runs like a ``cv2.dnn.Net``.

    Raises
    ------
    OpenCvInstallError
        OpenCV is missing or broken (the message says how to repair it).
    ModelLoadError
        A file is missing, truncated, an HTML page, or not this network.
    """
    paths = model_paths(variant, model_dir)
    if backend == "auto":
        return load_auto(paths, temperature=temperature)
    if backend == "opencv":
        return load_network(paths, temperature=temperature)
    return load_fast_backend(backend, paths, temperature=temperature)


def check_accuracy(
    fast: ColorizationNet,
    reference: ColorizationNet,
    images: Sequence[np.ndarray],
    size: int = DEFAULT_SIZE,
) -> float:
    """Mean |Δab| between two networks' predictions on ``images``.

    Parameters
    ----------
    fast, reference : ColorizationNet
        Two networks (a ``Backend``, a ``cv2.dnn.Net``), set to the same temperature: the
        check measures at that temperature (errors in the logits grow as ``1 / T``).
    images : list of (H, W) uint8 ndarray
        Gray photos (colour ones are made gray); one batch of ``size`` x ``size`` inputs.
    size : int
        Network input size.

    Returns
    -------
    float
        Mean absolute difference of a and b over all output pixels, in Lab units.
    """
    blob = network_inputs(images, size)
    results = []
    for net in (fast, reference):
        net.setInput(blob)
        results.append(net.forward())
    return float(np.mean(np.abs(results[0] - results[1])))


def load_fast_backend(
    name: str,
    paths: ModelPaths,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    sample_images: Sequence[np.ndarray] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    precisions: Sequence[str] = _SPEED_ORDER,
    log: Callable[[str], None] | None = print,
) -> ColorizationNet:
    """The fastest precision of back end ``name`` that keeps the colours, checked here and now.

    Each reduced precision (fastest first) is built, calibrated on ``sample_images`` (int8)
    and compared with the fp32 build of the same back end on those images. The first with a
    mean |Δab| <= ``tolerance`` is returned; if none passes, fp32 is, with a
    ``PrecisionFallbackWarning``.

    Parameters
    ----------
    name : {"opencv", "onnxruntime", "openvino"}
        ``"opencv"`` is returned as it is (fp32 only).
    paths : ModelPaths
        From ``helpers.model.model_paths``.
    temperature : float
        Annealed-mean temperature; the check runs at it.
    sample_images : list of ndarray, optional
        Gray photos for calibration and the check; default the sample images of ``input_images/``.
    tolerance : float
        Largest accepted mean |Δab| versus fp32 (a and b run about -110..110).
    precisions : sequence of {"int8", "bf16"}
        Which reduced precisions to try, in order; those this machine lacks are skipped.
    log : callable, optional
        Receives one line saying which precision is used and why (default ``print``).

    Returns
    -------
    ColorizationNet
        Its ``precision`` says what was chosen and ``accuracy`` the measured mean |Δab|.

    Notes
    -----
    The check is only meaningful with the real weights: on the random-weight stand-in model
    (tools/standin_model.py) the logits are noise and reduced precision may pass or fail.
    The calibration images double as check images; use others if you need an unbiased figure.
    Errors in the logits grow as ``1 / T``: a precision checked at T = 0.38 may change the
    colours more after ``set_temperature(0.1)``.
    """
    say = log or (lambda message: None)
    unknown = [p for p in precisions if p not in PRECISIONS]
    if unknown:
        raise ValueError(f"Unknown precision(s) {', '.join(map(repr, unknown))}; choose from {', '.join(PRECISIONS)}.")
    if name == "opencv":
        say("Back end opencv, fp32.")
        return load_network(paths, temperature=temperature)
    require(name)
    check_temperature(temperature)
    graph = read_model_graph(paths)
    reference = load_network(paths, backend=name, temperature=temperature, graph=graph)
    offered = available_precisions(name)
    tried = [p for p in precisions if p in offered and p != "fp32"]
    images = load_sample_images() if sample_images is None else list(sample_images)
    calibration = Calibration(network_inputs(images, DEFAULT_SIZE))
    for precision in tried:
        fast = load_network(paths, backend=name, precision=precision, temperature=temperature,
                            calibration=calibration, graph=graph)
        error = check_accuracy(fast, reference, images)
        if error <= tolerance:
            fast.accuracy = error
            say(f"Back end {name}, {precision}: mean |Δab| {error:.2f} versus fp32 on {len(images)} sample "
                f"image(s), within the tolerance {tolerance}.")
            return fast
        warnings.warn(
            f"{name} {precision} changes the colours too much with this model on this machine: mean |Δab| "
            f"{error:.2f} versus fp32 on {len(images)} sample image(s), above the tolerance {tolerance}. "
            f"Not using {precision}.",
            PrecisionFallbackWarning, stacklevel=2,
        )
        del fast
    if tried:
        say(f"Back end {name}, fp32: falling back, {' and '.join(tried)} failed the accuracy check.")
    else:
        say(f"Back end {name}, fp32: it offers no faster precision on this machine.")
    return reference


def _from_verdict(verdict: dict, paths: ModelPaths, temperature: float, folder: Path) -> ColorizationNet:
    """The network ``auto`` chose, built with what its int8 calibration kept (nothing is calibrated again)."""
    chosen = verdict["chosen"]
    return load_network(paths, backend=chosen["backend"], precision=chosen["precision"], temperature=temperature,
                        calibration=Calibration(saved=verdict.get("saved", {}), folder=folder))


def load_auto(paths: ModelPaths, *, temperature: float = DEFAULT_TEMPERATURE, tolerance: float = DEFAULT_TOLERANCE,
              log: Callable[[str], None] | None = print, folder: Path | None = None) -> ColorizationNet:
    """The fastest back end whose colours match OpenCV's on this machine: checked once, then remembered.

    ``helpers.backends.auto`` decides (``choose_backend``, the first time) and remembers its
    verdict; this builds what it chose.

    Parameters
    ----------
    paths : ModelPaths
        From ``helpers.model.model_paths``.
    temperature : float
        Annealed-mean temperature; the check runs at it (and it is part of the key).
    tolerance : float
        Largest mean |Δab| versus OpenCV accepted for int8 and bf16.
    log : callable, optional
        Receives what is being checked (first run) or what was chosen (default ``print``).
    folder : Path, optional
        The cache folder; ``cache_folder()`` by default. If it cannot be written, the check
        is done and its verdict simply not kept.

    Returns
    -------
    ColorizationNet
        A ``cv2.dnn.Net`` or a ``Backend`` (``backend_label`` names it); what was measured:
        ``remembered_choice``.
    """
    say = log or (lambda message: None)
    check_temperature(temperature)
    check_opencv()
    for file in paths.files:  # a missing or damaged file is said as load_model says it, before any hashing
        check_model_file(file, paths.managed)
    folder = Path(folder) if folder else cache_folder()
    key = auto.fingerprint(paths, temperature, tolerance)
    path = auto.verdict_path(key, folder)
    verdict = auto.read_verdict(path, key)
    if verdict is not None:
        try:
            net = _from_verdict(verdict, paths, temperature, folder)
        except Exception as exc:  # noqa: BLE001 - e.g. a deleted int8 file: check again
            say(f"The back end chosen earlier could not be rebuilt ({str(exc).strip()[:200]}); checking again.")
        else:
            chosen = verdict["chosen"]
            say(f"Back end {chosen['backend']} {chosen['precision']}: the fastest whose colours match OpenCV's "
                f"on this machine ({chosen['speedup']:.1f}x OpenCV's speed; checked {verdict['checked'][:10]}, "
                f"remembered in {path}).")
            return net
    names = ", ".join(f"{name} ({'/'.join(available_precisions(name))})" for name in auto.available_backends())
    say(f"Choosing the fastest back end for this model on this machine, once (10-20 s): {names}, each on the "
        f"sample photos against OpenCV's colours.")
    net, verdict = auto.choose_backend(paths, temperature, build=load_network, tolerance=tolerance, folder=folder,
                                       log=say)
    verdict["key"] = key
    chosen = verdict["chosen"]
    try:
        write_bytes(path, json.dumps(verdict, indent=1).encode())
        where = f"remembered in {path}"
    except OSError as exc:
        where = f"not remembered: {exc}"
    say(f"Back end {chosen['backend']} {chosen['precision']}: {chosen['speedup']:.1f}x OpenCV's speed ({where}).")
    return net
