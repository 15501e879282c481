"""Load a back end: build the network for it, check reduced precision, pick the fastest that passes.

``load_backend`` builds the network for one back end and precision as asked. Reduced
precision changes the colours, and by how much depends on the weights, so
``load_fast_backend`` measures it on your machine with your model on the sample photos
(``check_accuracy``) and keeps fp32 when the change is too large, saying so. This is what
the ``--backend`` option of ``python -m helpers photo|video`` calls.

The fast back ends rebuild the network from the same files OpenCV reads:
``helpers.model.read_model_graph`` turns the prototxt, the weights and the cluster centres into
plain ops (``helpers.caffe``), and ``onnx_backend`` or ``openvino_backend`` builds those.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..caffe import Graph
from ..colorize import DEFAULT_SIZE
from ..model import (
    DEFAULT_TEMPERATURE,
    ColorizationNet,
    ModelPaths,
    check_temperature,
    read_model_graph,
    read_network,
    set_temperature,
)
from .available import PRECISIONS, available_precisions, require
from .onnx_backend import OnnxRuntimeBackend, onnx_model
from .openvino_backend import OpenVinoBackend, openvino_model
from .quantize import calibrated_ranges, int8_onnx, load_sample_images, network_inputs
from .runtime import Backend

DEFAULT_TOLERANCE = 2.0
"""Largest mean |Δab| versus fp32 accepted for bf16 or int8. For scale: a and b run about
-110..110, and 2 units is a shade difference that is hard to see side by side."""

_SPEED_ORDER = ("int8", "bf16")
"""Reduced precisions, fastest first (measured with bench/backend_speed.py)."""


class PrecisionFallbackWarning(RuntimeWarning):
    """bf16 or int8 changed the colours too much on this machine, so fp32 is used."""


def load_backend(
    name: str,
    paths: ModelPaths,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    precision: str = "fp32",
    calibration_images: Sequence[np.ndarray] | None = None,
) -> ColorizationNet:
    """Build the network from the model files for back end ``name``, without any accuracy check.

    Parameters
    ----------
    name : {"opencv", "onnxruntime", "openvino"}
        ``"opencv"`` returns the network that ``load_model`` would (a ``cv2.dnn.Net`` on OpenCV 4).
    paths : ModelPaths
        From ``helpers.model.model_paths`` (or ``get_model_files``).
    temperature : float
        Annealed-mean temperature ``T`` in (0, 10].
    precision : {"fp32", "bf16", "int8"}
        See ``available_precisions(name)``. Prefer ``load_fast_backend`` for bf16 and int8.
    calibration_images : list of ndarray, optional
        int8 only: photos whose L channels set the 8-bit ranges; default the sample images.

    Returns
    -------
    ColorizationNet
        ``setInput((N, 1, S, S) float32)`` then ``forward() -> (N, 2, S/4, S/4) float32``.

    Raises
    ------
    BackendUnavailableError
        The back end's package is not installed (``pip install -e ".[fast]"``).
    ValueError
        Unknown back end or a precision it does not offer here.
    ModelLoadError
        A model file is missing or damaged, or has a layer the fast back ends do not rebuild.
    """
    require(name)
    offered = available_precisions(name)
    if precision not in offered:
        raise ValueError(f"The {name} back end offers {', '.join(offered)} on this machine, not {precision!r}.")
    if name == "opencv":
        net = read_network(paths)
        set_temperature(net, temperature)
        return net
    check_temperature(temperature)
    return build_backend(name, read_model_graph(paths), precision, temperature, calibration_images)


def build_backend(name: str, graph: Graph, precision: str, temperature: float,
           calibration_images: Sequence[np.ndarray] | None) -> Backend:
    """Back end ``name`` (not opencv) at ``precision`` from ``graph``; int8 is calibrated on
    ``calibration_images``. Also used by ``auto``, which keeps int8's calibration itself."""
    calibration = None
    if precision == "int8":
        images = load_sample_images() if calibration_images is None else calibration_images
        calibration = network_inputs(images, DEFAULT_SIZE)
    if name == "onnxruntime":
        model = onnx_model(graph)
        data = int8_onnx(model, calibration, graph) if calibration is not None else model.SerializeToString()
        return OnnxRuntimeBackend(data, precision, temperature)
    ranges = calibrated_ranges(graph, calibration) if calibration is not None else None
    return OpenVinoBackend(openvino_model(graph, ranges), precision, temperature)


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
        return load_backend(name, paths, temperature=temperature)
    require(name)
    check_temperature(temperature)
    graph = read_model_graph(paths)
    reference = build_backend(name, graph, "fp32", temperature, None)
    offered = available_precisions(name)
    tried = [p for p in precisions if p in offered and p != "fp32"]
    images = load_sample_images() if sample_images is None else list(sample_images)
    for precision in tried:
        fast = build_backend(name, graph, precision, temperature, images)
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
