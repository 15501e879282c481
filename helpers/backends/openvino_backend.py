"""The colourisation network in OpenVINO (``--backend openvino`` of ``python -m helpers``).

``openvino_model`` builds a ``helpers.model.caffe.Graph`` as an OpenVINO model node by node (no
ONNX needed), with FakeQuantize nodes where int8 is wanted (their ranges are calibrated in
``helpers.backends.quantize``); ``OpenVinoBackend`` compiles and runs it on the CPU in fp32,
bf16 or int8. The package ``openvino`` is imported only when a model is built or run:
``pip install -e ".[fast]"``.

Introduced in notebook 04_faster_video (section 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..model.caffe import Graph
from ..model.layers import COLOUR, INPUT, INV_TEMPERATURE
from . import runtime
from .runtime import Backend


def openvino_model(graph: Graph, ranges: Mapping[str, tuple[float, float]] | None = None,
                   probes: Sequence[str] = ()):
    """The network as an OpenVINO model, built node by node.

    Parameters
    ----------
    graph : helpers.model.caffe.Graph
    ranges : dict, optional
        Maps a convolution to the calibrated (low, high) of its input: FakeQuantize nodes
        there and on its weights make OpenVINO run it in int8.
    probes : sequence of str
        Convolutions whose inputs become extra outputs, after ``class8_ab``: what the
        calibration measures.

    Returns
    -------
    openvino.Model
        Inputs ``data_l`` (N, 1, H, W) and ``inv_temperature`` (1,); output ``class8_ab``.
    """
    import openvino as ov
    import openvino.opset13 as ops

    data = ops.parameter([-1, 1, -1, -1], np.float32, name=INPUT)
    inv_temperature = ops.parameter([1], np.float32, name=INV_TEMPERATURE)
    values = {graph.input: data.output(0)}
    probe_outputs = []

    def const(array: np.ndarray):
        return ops.constant(np.ascontiguousarray(array, np.float32))

    def quantized_weights(w: np.ndarray, axis: int):
        # Symmetric, per output channel, 255 levels: what OpenVINO's int8 kernels expect.
        other = tuple(i for i in range(w.ndim) if i != axis)
        high = np.maximum(np.abs(w).max(axis=other, keepdims=True), 1e-12).astype(np.float32)
        return ops.fake_quantize(const(w), const(-high), const(high), const(-high), const(high), 255)

    for op in graph.ops:
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
    result = ops.result(values[graph.output], name=COLOUR)
    result.output(0).get_tensor().set_names({COLOUR})
    outputs = [result] + [ops.result(p) for p in probe_outputs]
    return ov.Model(outputs, [data, inv_temperature], "colorization")


class OpenVinoBackend(Backend):
    """The network in OpenVINO (CPU plugin), fp32, bf16 or int8 (FakeQuantize, see ``quantize``).

    Parameters
    ----------
    model : openvino.Model
        From ``openvino_model``.
    precision : {"fp32", "bf16", "int8"}
        bf16 is asked of the CPU plugin; int8 must already be in ``model`` (its ``ranges``).
    temperature : float
        Annealed-mean temperature ``T`` in (0, 10].

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
        if runtime.THREADS:
            # fewer threads than cores, as each of several worker processes (helpers.cluster): no pinning,
            # or every process pins its threads to the same first cores (measured: 2x slower)
            config.update(INFERENCE_NUM_THREADS=runtime.THREADS, ENABLE_CPU_PINNING=False)
        self._request = ov.Core().compile_model(model, "CPU", config).create_infer_request()

    def _run(self, blob: np.ndarray, output: str) -> np.ndarray:
        self._request.infer({INPUT: blob, INV_TEMPERATURE: self._inv_temperature})
        return self._request.get_tensor(COLOUR).data.copy()  # the buffer is reused by the next call
