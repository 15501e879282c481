"""Faster CPU back ends for the colourisation network (optional: ``pip install -e ".[fast]"``).

OpenCV's DNN module runs the Caffe model as it is. ONNX Runtime and OpenVINO can run the
SAME network faster: it is rebuilt here, layer by layer, from the same three files OpenCV
reads (the prototxt, the caffemodel and ``pts_in_hull.npy``). Three precisions:

* ``"fp32"`` - the same numbers as OpenCV up to float rounding (|Δab| below 0.01 on a model
  whose logits are spread like a trained one's; OpenCV's own Winograd convolutions differ by as much);
* ``"bf16"`` - OpenVINO only, on CPUs with AVX-512 BF16 or AMX: faster, slightly different;
* ``"int8"`` - the big convolutions in 8-bit integers, calibrated on the sample photos:
  fastest, and the colours change a little.

Reduced precision changes the colours, and by how much depends on the weights, so
``load_fast_backend`` measures it on your machine with your model on the sample photos and
keeps fp32 when the change is too large, saying so.

Every back end behaves like an OpenCV net, so the rest of the project does not care which
one it has::

    net.setInput(blob)        # (N, 1, S, S) float32: L - 50, S a multiple of 8
    ab = net.forward()        # (N, 2, S/4, S/4) float32
    net.set_temperature(0.2)  # takes effect on the next forward pass, no rebuild

Introduced with the ``--backend`` option of ``python -m helpers``.
"""

from __future__ import annotations

import importlib
import logging
import re
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from .colorize import DEFAULT_SIZE, network_input
from .images import read_image
from .lab import lightness
from .model import DEFAULT_TEMPERATURE, ModelLoadError, ModelPaths, check_temperature, read_network
from .model import set_temperature as _set_opencv_temperature
from .paths import INPUT_IMAGES

BACKENDS = ("opencv", "onnxruntime", "openvino")
"""Every back end this module knows; ``available_backends`` says which are installed."""
PRECISIONS = ("fp32", "bf16", "int8")
INSTALL_HINT = 'pip install -e ".[fast]"'
DEFAULT_TOLERANCE = 2.0
"""Largest mean |Δab| versus fp32 accepted for bf16 or int8. For scale: a and b run about
-110..110, and 2 units is a shade difference that is hard to see side by side."""

_REQUIRES = {"opencv": (), "onnxruntime": ("onnx", "onnxruntime"), "openvino": ("openvino",)}
_SPEED_ORDER = ("int8", "bf16")
"""Reduced precisions, fastest first (measured with bench/backend_speed.py)."""


class BackendUnavailableError(ImportError):
    """A fast back end was asked for but its package is not installed."""


class PrecisionFallbackWarning(RuntimeWarning):
    """bf16 or int8 changed the colours too much on this machine, so fp32 is used."""


# --------------------------------------------------------------------------- what is there
@cache
def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except (ImportError, OSError):  # OSError: a wheel whose shared library does not load
        return False
    return True


def available_backends() -> list[str]:
    """The back ends that can run here: ``"opencv"`` always, then the installed fast ones.

    Examples
    --------
    >>> available_backends()  # after pip install -e ".[fast]"
    ['opencv', 'onnxruntime', 'openvino']
    """
    return [name for name in BACKENDS if all(_importable(m) for m in _REQUIRES[name])]


def _require(name: str) -> None:
    if name not in BACKENDS:
        raise ValueError(f"Unknown back end {name!r}; choose one of {', '.join(BACKENDS)}.")
    missing = [m for m in _REQUIRES[name] if not _importable(m)]
    if missing:
        raise BackendUnavailableError(
            f"The {name} back end needs the package(s) {', '.join(missing)}, which are not installed.\n"
            f"Fix: {INSTALL_HINT}   (or use the default back end, opencv)"
        )


def available_precisions(name: str) -> list[str]:
    """The precisions back end ``name`` offers on this machine, ``"fp32"`` first.

    ``"bf16"`` is listed only where the CPU computes in bfloat16 natively (AVX-512 BF16 or
    AMX); elsewhere OpenVINO would quietly run fp32 instead.
    """
    _require(name)
    if name == "opencv":
        return ["fp32"]
    if name == "onnxruntime":  # no bfloat16 convolutions in ONNX Runtime's CPU kernels
        return ["fp32", "int8"]
    import openvino as ov

    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return ["fp32"] + (["bf16"] if "BF16" in capabilities else []) + ["int8"]


# --------------------------------------------------------------------------- the Caffe model
_TOKEN = re.compile(r"#[^\n]*|\"[^\"]*\"|'[^']*'|[{}]|[^\s{}:]+:?")


def parse_prototxt(text: str) -> dict[str, list]:
    """Protobuf text format as nested dicts of lists: ``{"layer": [{"name": ["conv1"], ...}]}``."""
    tokens = [t for t in _TOKEN.findall(text) if not t.startswith("#")]
    pos = 0

    def block() -> dict[str, list]:
        nonlocal pos
        out: dict[str, list] = {}
        while pos < len(tokens) and tokens[pos] != "}":
            key = tokens[pos].rstrip(":")
            pos += 1
            if tokens[pos] == "{":
                pos += 1
                value: object = block()
                pos += 1  # the closing brace
            else:
                value = tokens[pos].strip("\"'")
                pos += 1
            out.setdefault(key, []).append(value)
        return out

    return block()


@dataclass
class _Op:
    """One operation of the rebuilt network; values are named by the layer that made them."""

    kind: str  # conv, deconv, affine, relu, temperature, softmax
    name: str
    source: str
    weights: list[np.ndarray] = field(default_factory=list)
    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)


@dataclass
class _Network:
    ops: list[_Op]
    input: str
    output: str

    def quantizable(self) -> list[_Op]:
        """The convolutions worth 8 bits: all but the first (one input channel, cheap) and the
        head (logits and the 1x1 expectation), whose errors the softmax would amplify."""
        head = {op.source for op in self.ops if op.kind in ("temperature", "softmax")} | {self.output}
        return [
            op for op in self.ops
            if op.kind in ("conv", "deconv") and op.source != self.input and op.name not in head
        ]


def _pair(param: dict, key: str, default: int) -> tuple[int, int]:
    values = [int(v) for v in param.get(key, [])]
    if values:
        return (values[0], values[-1])
    return (int(param.get(f"{key}_h", [default])[0]), int(param.get(f"{key}_w", [default])[0]))


def _read_network(paths: ModelPaths) -> _Network:
    """Rebuild the network description from the prototxt and the weights OpenCV read.

    Notes
    -----
    The weights are read from OpenCV's layers before any forward pass: on the first pass OpenCV
    fuses layers (BatchNorm and Scale into convolutions) and their blobs change.
    """
    net = read_network(paths)
    spec = parse_prototxt(paths.prototxt.read_text())
    current: dict[str, str] = {}  # Caffe blob name -> the op that wrote it last (ReLU runs in place)
    ops: list[_Op] = []
    first_input = ""
    for layer in spec.get("layer", []):
        name, kind = layer["name"][0], layer["type"][0]
        bottoms, tops = layer.get("bottom", []), layer.get("top", [])
        if kind == "Input":
            first_input = first_input or tops[0]
            current[tops[0]] = tops[0]
            continue
        if kind == "Silence":
            continue
        # OpenCV renames a few layers after their output (bw_conv1_1 becomes conv1_1).
        layer_id = net.getLayerId(name)
        if layer_id < 0 and tops:
            layer_id = net.getLayerId(tops[0])
        blobs = [np.asarray(b, np.float32) for b in net.getLayer(layer_id).blobs] if layer_id >= 0 else []
        if kind in ("Convolution", "Deconvolution", "BatchNorm") and not blobs:
            raise ModelLoadError(
                f"Layer {name!r} has no weights in {paths.weights.name}: the files do not belong together."
            )
        if not bottoms or bottoms[0] not in current:
            raise ModelLoadError(
                f"Layer {name!r} of {paths.prototxt.name} reads {bottoms}, which no earlier layer makes."
            )
        source = current[bottoms[0]]

        def unsupported(what: str, name: str = name) -> ModelLoadError:
            return ModelLoadError(
                f"Layer {name!r} of {paths.prototxt.name} is a {what}, which the fast back ends do not rebuild "
                "(they know this colourisation network only). Use the opencv back end for this model."
            )

        if kind in ("Convolution", "Deconvolution"):
            p = layer.get("convolution_param", [{}])[0]
            if int(p.get("group", [1])[0]) != 1:
                raise unsupported("grouped convolution")
            weights = [blobs[0]] + ([blobs[1].ravel()] if len(blobs) > 1 else [])
            op = _Op("conv" if kind == "Convolution" else "deconv", name, source, weights,
                     _pair(p, "stride", 1), _pair(p, "pad", 0), _pair(p, "dilation", 1))
        elif kind == "BatchNorm":
            eps = float(layer.get("batch_norm_param", [{}])[0].get("eps", [1e-5])[0])
            mean, var = blobs[0].ravel(), blobs[1].ravel()
            factor = blobs[2].ravel()[0] if len(blobs) > 2 else 1.0
            factor = 0.0 if factor == 0 else 1.0 / factor  # Caffe's moving-average scale factor
            scale = 1.0 / np.sqrt(var * factor + eps)
            op = _Op("affine", name, source, [scale, -mean * factor * scale])
        elif kind == "Scale" and name == "conv8_313_rh":
            op = _Op("temperature", name, source)  # 1 / T comes in as a second input
        elif kind == "ReLU":
            if float(layer.get("relu_param", [{}])[0].get("negative_slope", [0])[0]) != 0:
                raise unsupported("leaky ReLU")
            op = _Op("relu", name, source)
        elif kind == "Softmax":
            if int(layer.get("softmax_param", [{}])[0].get("axis", [1])[0]) != 1:
                raise unsupported("softmax over another axis than the channels")
            op = _Op("softmax", name, source)
        else:
            raise unsupported(kind)
        ops.append(op)
        current[tops[0]] = op.name
    output = current.get("class8_ab", "")
    if not first_input or not output:
        raise ModelLoadError(f"{paths.prototxt} has no input layer or no class8_ab output: not the colourisation net.")
    return _Network(ops, first_input, output)


# --------------------------------------------------------------------------- builders
def _onnx_model(network: _Network):
    """The network as an ONNX model: inputs ``data_l`` and ``inv_temperature`` (1,), output ``class8_ab``."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []

    def const(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    values = {network.input: "data_l"}
    for op in network.ops:
        x, out = values[op.source], op.name
        if op.kind in ("conv", "deconv"):
            inputs = [x] + [const(f"{op.name}.{part}", w) for part, w in zip(("weight", "bias"), op.weights)]
            nodes.append(helper.make_node(
                "Conv" if op.kind == "conv" else "ConvTranspose", inputs, [out], name=op.name,
                kernel_shape=list(op.weights[0].shape[2:]), strides=list(op.stride),
                pads=[*op.pad, *op.pad], dilations=list(op.dilation),
            ))
        elif op.kind == "affine":
            scale, shift = (w.reshape(1, -1, 1, 1) for w in op.weights)
            nodes.append(helper.make_node("Mul", [x, const(f"{op.name}.gamma", scale)], [f"{out}.scaled"]))
            nodes.append(helper.make_node("Add", [f"{out}.scaled", const(f"{op.name}.beta", shift)], [out],
                                          name=op.name))
        elif op.kind == "relu":
            nodes.append(helper.make_node("Relu", [x], [out], name=op.name))
        elif op.kind == "temperature":
            nodes.append(helper.make_node("Mul", [x, "inv_temperature"], [out], name=op.name))
        elif op.kind == "softmax":
            nodes.append(helper.make_node("Softmax", [x], [out], name=op.name, axis=1))
        values[op.name] = out
    if values[network.output] != "class8_ab":
        nodes.append(helper.make_node("Identity", [values[network.output]], ["class8_ab"]))
    graph = helper.make_graph(
        nodes, "colorization",
        [helper.make_tensor_value_info("data_l", TensorProto.FLOAT, ["N", 1, "H", "W"]),
         helper.make_tensor_value_info("inv_temperature", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("class8_ab", TensorProto.FLOAT, ["N", 2, "h", "w"])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
                             producer_name="helpers.backends")


def _openvino_model(network: _Network, ranges: dict[str, tuple[float, float]] | None = None,
                    probes: Sequence[str] = ()):
    """The network as an OpenVINO model, built node by node (no ONNX needed).

    ``ranges`` maps a convolution to the calibrated (low, high) of its input: FakeQuantize
    nodes there and on its weights make OpenVINO run it in int8. ``probes`` adds the inputs
    of those convolutions as extra outputs, for the calibration itself.
    """
    import openvino as ov
    import openvino.opset13 as ops

    data = ops.parameter([-1, 1, -1, -1], np.float32, name="data_l")
    inv_temperature = ops.parameter([1], np.float32, name="inv_temperature")
    values = {network.input: data.output(0)}
    probe_outputs = []

    def const(array: np.ndarray):
        return ops.constant(np.ascontiguousarray(array, np.float32))

    def quantized_weights(w: np.ndarray, axis: int):
        # Symmetric, per output channel, 255 levels: what OpenVINO's int8 kernels expect.
        other = tuple(i for i in range(w.ndim) if i != axis)
        high = np.maximum(np.abs(w).max(axis=other, keepdims=True), 1e-12).astype(np.float32)
        return ops.fake_quantize(const(w), const(-high), const(high), const(-high), const(high), 255)

    for op in network.ops:
        x = values[op.source]
        if op.name in probes:
            probe_outputs.append(x)
        if op.kind in ("conv", "deconv"):
            w, quantize = op.weights[0], ranges is not None and op.name in ranges
            if quantize:
                low, high = ranges[op.name]
                x = ops.fake_quantize(x, const(np.float32(low)), const(np.float32(high)),
                                      const(np.float32(low)), const(np.float32(high)), 256)
            # Caffe's layouts are OpenVINO's: (C_out, C_in, k, k), and (C_in, C_out, k, k) for deconvolution.
            weights = quantized_weights(w, 0 if op.kind == "conv" else 1) if quantize else const(w)
            make = ops.convolution if op.kind == "conv" else ops.convolution_backprop_data
            pads = list(op.pad)
            y = make(x, weights, strides=list(op.stride), pads_begin=pads, pads_end=pads, dilations=list(op.dilation))
            if len(op.weights) > 1:
                y = ops.add(y, const(op.weights[1].reshape(1, -1, 1, 1)))
        elif op.kind == "affine":
            scale, shift = (const(w.reshape(1, -1, 1, 1)) for w in op.weights)
            y = ops.add(ops.multiply(x, scale), shift)
        elif op.kind == "relu":
            y = ops.relu(x)
        elif op.kind == "temperature":
            y = ops.multiply(x, inv_temperature)
        else:  # softmax over channels
            y = ops.softmax(x, 1)
        values[op.name] = y.output(0)
    result = ops.result(values[network.output], name="class8_ab")
    result.output(0).get_tensor().set_names({"class8_ab"})
    outputs = [result] + [ops.result(p) for p in probe_outputs]
    return ov.Model(outputs, [data, inv_temperature], "colorization")


# --------------------------------------------------------------------------- back ends
def _inverse_temperature(temperature: float) -> np.ndarray:
    return np.array([1.0 / check_temperature(temperature)], np.float32)  # float32, like OpenCV's Scale blob


class Backend:
    """A network that runs like an OpenCV net: ``setInput(blob)`` then ``forward()``.

    Attributes
    ----------
    name : str
        ``"onnxruntime"`` or ``"openvino"``.
    precision : {"fp32", "bf16", "int8"}
    accuracy : float or None
        Mean |Δab| versus fp32 on the sample images, when ``load_fast_backend`` chose bf16 or int8.
    """

    name = "?"

    def __init__(self, precision: str, temperature: float) -> None:
        self.precision = precision
        self.accuracy: float | None = None
        self._inv_temperature = _inverse_temperature(temperature)
        self._blob: np.ndarray | None = None

    def __repr__(self) -> str:
        extra = "" if self.accuracy is None else f", mean |Δab| {self.accuracy:.2f} vs fp32"
        return f"<{self.name} {self.precision} backend, T={self.get_temperature()}{extra}>"

    def setInput(self, blob: np.ndarray, name: str = "") -> None:
        """Set the input for the next ``forward``.

        Parameters
        ----------
        blob : (N, 1, S, S) float32 ndarray
            L (0..100) minus 50; S a multiple of 8.
        name : str
            Ignored (accepted for compatibility with ``cv2.dnn.Net.setInput``).
        """
        blob = np.ascontiguousarray(blob, dtype=np.float32)
        if blob.ndim != 4 or blob.shape[1] != 1:
            raise ValueError(f"The input must have shape (N, 1, S, S) (L minus 50), got {blob.shape}.")
        self._blob = blob

    def forward(self, outputName: str | None = None) -> np.ndarray:
        """Run the network on the input set by ``setInput``.

        Returns
        -------
        ab : (N, 2, S/4, S/4) float32 ndarray
            A new array (not overwritten by the next call).
        """
        if outputName not in (None, "", "class8_ab"):
            raise ValueError(f"This network has one output, class8_ab; got {outputName!r}.")
        if self._blob is None:
            raise RuntimeError("Call setInput(blob) before forward().")
        return self._run(self._blob)

    def _run(self, blob: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def set_temperature(self, temperature: float) -> None:
        """Set the annealed-mean temperature ``T`` (see ``helpers.set_temperature``); no rebuild."""
        self._inv_temperature = _inverse_temperature(temperature)

    def get_temperature(self) -> float:
        """The temperature ``T`` currently set."""
        return round(float(1.0 / self._inv_temperature[0]), 6)


class OnnxRuntimeBackend(Backend):
    """The network in ONNX Runtime (CPU), fp32 or int8 (QDQ, from ``onnxruntime.quantization``)."""

    name = "onnxruntime"

    def __init__(self, model_bytes: bytes, precision: str, temperature: float) -> None:
        import onnxruntime as ort

        super().__init__(precision, temperature)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])

    def _run(self, blob: np.ndarray) -> np.ndarray:
        feeds = {"data_l": blob, "inv_temperature": self._inv_temperature}
        return self._session.run(["class8_ab"], feeds)[0]


class OpenVinoBackend(Backend):
    """The network in OpenVINO (CPU plugin), fp32, bf16 or int8 (FakeQuantize, calibrated here).

    Notes
    -----
    Compiled once for any input size and batch: on the CPU plugin a dynamic shape ran as fast
    as a fixed one (bench/backend_speed.py) and needs no recompiling when the shape changes.
    """

    name = "openvino"

    def __init__(self, model, precision: str, temperature: float) -> None:
        import openvino as ov

        super().__init__(precision, temperature)
        # fp32 must be asked for: on CPUs with bf16 OpenVINO's default precision is bf16.
        # int8 runs its non-quantised layers (the first convolution, the head) in fp32.
        config = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32", "PERFORMANCE_HINT": "LATENCY"}
        self._request = ov.Core().compile_model(model, "CPU", config).create_infer_request()

    def _run(self, blob: np.ndarray) -> np.ndarray:
        self._request.infer({"data_l": blob, "inv_temperature": self._inv_temperature})
        return self._request.get_tensor("class8_ab").data.copy()  # the buffer is reused by the next call


# --------------------------------------------------------------------------- loading
def load_sample_images(folder: Path = INPUT_IMAGES) -> list[np.ndarray]:
    """The sample photos of ``input_images/`` (top level only), as read by ``read_image``."""
    files = sorted(p for p in Path(folder).glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise FileNotFoundError(f"No sample images in {folder}: they are needed to calibrate and check int8/bf16.")
    return [read_image(p) for p in files]


def _network_inputs(images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """(N, 1, size, size) float32: the network inputs of ``images`` (any of gray, BGR, uint8, float)."""
    if len(images) == 0:
        raise ValueError("At least one image is needed.")
    return np.stack([network_input(lightness(np.asarray(img)), size) for img in images])[:, np.newaxis]


def _int8_onnx(model, calibration: np.ndarray, network: _Network) -> bytes:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter(
                {"data_l": calibration[i:i + 1], "inv_temperature": np.ones(1, np.float32)}
                for i in range(len(calibration))
            )

        def get_next(self):
            return next(self._feeds, None)

    keep = {op.name for op in network.quantizable()}
    exclude = [node.name for node in model.graph.node if node.name and node.name not in keep]
    disabled = logging.root.manager.disable
    logging.disable(logging.WARNING)  # quantize_static's root-logger advice to pre-process the model
    try:
        with tempfile.TemporaryDirectory(prefix="colorize-int8-") as tmp:
            out = Path(tmp) / "int8.onnx"
            # Only Conv: ONNX Runtime has no int8 ConvTranspose kernel (it would dequantise and run fp32).
            quantize_static(
                model, out, Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                nodes_to_exclude=exclude, per_channel=True, activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
            )
            return out.read_bytes()
    finally:
        logging.disable(disabled)


def _calibrated_ranges(network: _Network, calibration: np.ndarray) -> dict[str, tuple[float, float]]:
    """Min and max of each quantisable convolution's input over the calibration images (0 included)."""
    import openvino as ov

    names = [op.name for op in network.quantizable()]
    compiled = ov.Core().compile_model(_openvino_model(network, probes=names), "CPU",
                                       {"INFERENCE_PRECISION_HINT": "f32"})
    low = np.zeros(len(names))
    high = np.zeros(len(names))
    for i in range(len(calibration)):
        results = compiled({"data_l": calibration[i:i + 1], "inv_temperature": np.ones(1, np.float32)})
        for j, output in enumerate(compiled.outputs[1:]):
            values = results[output]
            low[j], high[j] = min(low[j], float(values.min())), max(high[j], float(values.max()))
    return {name: (lo, hi) for name, lo, hi in zip(names, low, high)}


def load_backend(
    name: str,
    paths: ModelPaths,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    precision: str = "fp32",
    calibration_images: Sequence[np.ndarray] | None = None,
) -> Backend | cv2.dnn.Net:
    """Build the network from the model files for back end ``name``, without any accuracy check.

    Parameters
    ----------
    name : {"opencv", "onnxruntime", "openvino"}
        ``"opencv"`` returns the ``cv2.dnn.Net`` that ``load_model`` would.
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
    Backend or cv2.dnn.Net
        ``setInput((N, 1, S, S) float32)`` then ``forward() -> (N, 2, S/4, S/4) float32``.

    Raises
    ------
    BackendUnavailableError
        The back end's package is not installed (``pip install -e ".[fast]"``).
    ValueError
        Unknown back end or a precision it does not offer here.
    ModelLoadError
        A model file is missing or damaged.
    """
    _require(name)
    offered = available_precisions(name)
    if precision not in offered:
        raise ValueError(f"The {name} back end offers {', '.join(offered)} on this machine, not {precision!r}.")
    if name == "opencv":
        net = read_network(paths)
        _set_opencv_temperature(net, temperature)
        return net
    check_temperature(temperature)
    return _build(name, _read_network(paths), precision, temperature, calibration_images)


def _build(name: str, network: _Network, precision: str, temperature: float,
           calibration_images: Sequence[np.ndarray] | None) -> Backend:
    calibration = None
    if precision == "int8":
        images = load_sample_images() if calibration_images is None else calibration_images
        calibration = _network_inputs(images, DEFAULT_SIZE)
    if name == "onnxruntime":
        model = _onnx_model(network)
        data = _int8_onnx(model, calibration, network) if calibration is not None else model.SerializeToString()
        return OnnxRuntimeBackend(data, precision, temperature)
    ranges = _calibrated_ranges(network, calibration) if calibration is not None else None
    return OpenVinoBackend(_openvino_model(network, ranges), precision, temperature)


def check_accuracy(
    fast: Backend | cv2.dnn.Net,
    reference: Backend | cv2.dnn.Net,
    images: Sequence[np.ndarray],
    size: int = DEFAULT_SIZE,
) -> float:
    """Mean |Δab| between two networks' predictions on ``images``.

    Parameters
    ----------
    fast, reference : Backend or cv2.dnn.Net
        Set to the same temperature (the check measures at that temperature; errors in the
        logits grow as ``1 / T``).
    images : list of (H, W) uint8 ndarray
        Gray photos (colour ones are made gray); one batch of ``size`` x ``size`` inputs.
    size : int
        Network input size.

    Returns
    -------
    float
        Mean absolute difference of a and b over all output pixels, in Lab units.
    """
    blob = _network_inputs(images, size)
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
) -> Backend | cv2.dnn.Net:
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
    Backend or cv2.dnn.Net
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
    _require(name)
    check_temperature(temperature)
    network = _read_network(paths)
    reference = _build(name, network, "fp32", temperature, None)
    offered = available_precisions(name)
    tried = [p for p in precisions if p in offered and p != "fp32"]
    images = load_sample_images() if sample_images is None else list(sample_images)
    for precision in tried:
        fast = _build(name, network, precision, temperature, images)
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
