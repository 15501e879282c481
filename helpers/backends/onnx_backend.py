"""The colourisation network in ONNX Runtime (``--backend onnxruntime`` of ``python -m helpers``).

``onnx_model`` writes a ``helpers.caffe.Graph`` as an ONNX model, node by node;
``OnnxRuntimeBackend`` runs it on the CPU. int8 comes from ``onnxruntime.quantization``
(see ``helpers.backends.quantize``). The packages ``onnx`` and ``onnxruntime`` are imported
only when a model is built or run: ``pip install -e ".[fast]"``.
"""

from __future__ import annotations

import numpy as np

from ..caffe import Graph
from . import runtime
from .runtime import Backend

OPSET = 17
"""The ONNX operator set the model is written in (ONNX Runtime 1.19 and later run it)."""


def onnx_model(graph: Graph):
    """The network as an ONNX model: inputs ``data_l`` and ``inv_temperature`` (1,), output ``class8_ab``.

    Returns
    -------
    onnx.ModelProto
        Input ``data_l`` (N, 1, H, W) and ``inv_temperature`` (1,), output ``class8_ab``
        (N, 2, H/4, W/4); sizes are dynamic.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []

    def const(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    values = {graph.input: "data_l"}
    for op in graph.ops:
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
    if values[graph.output] != "class8_ab":
        nodes.append(helper.make_node("Identity", [values[graph.output]], ["class8_ab"]))
    onnx_graph = helper.make_graph(
        nodes, "colorization",
        [helper.make_tensor_value_info("data_l", TensorProto.FLOAT, ["N", 1, "H", "W"]),
         helper.make_tensor_value_info("inv_temperature", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("class8_ab", TensorProto.FLOAT, ["N", 2, "h", "w"])],
        initializers,
    )
    return helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8,
                             producer_name="helpers.backends")


class OnnxRuntimeBackend(Backend):
    """The network in ONNX Runtime (CPU), fp32 or int8 (QDQ, from ``onnxruntime.quantization``).

    Parameters
    ----------
    model_bytes : bytes
        A serialised ONNX model from ``onnx_model`` (or its int8 version).
    precision : {"fp32", "int8"}
        What ``model_bytes`` computes in (for ``repr`` and ``load_fast_backend``).
    temperature : float
        Annealed-mean temperature ``T`` in (0, 10].
    """

    name = "onnxruntime"

    def __init__(self, model_bytes: bytes, precision: str, temperature: float) -> None:
        import onnxruntime as ort

        super().__init__(precision, temperature)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if runtime.THREADS:
            options.intra_op_num_threads = runtime.THREADS
        self._session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])

    def _run(self, blob: np.ndarray) -> np.ndarray:
        feeds = {"data_l": blob, "inv_temperature": self._inv_temperature}
        return self._session.run(["class8_ab"], feeds)[0]
