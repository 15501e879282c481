"""The colourisation network in ONNX Runtime (``--backend onnxruntime`` of ``python -m helpers``).

``onnx_model`` writes a ``helpers.model.caffe.Graph`` as an ONNX model, node by node (as
``helpers.model.onnx_file`` does for OpenCV 5); ``OnnxRuntimeBackend`` runs it on the CPU. int8
comes from ``onnxruntime.quantization`` (see ``helpers.backends.quantize``). The package
``onnxruntime`` is imported only when a model is run: ``pip install -e ".[fast]"``.

Introduced in notebook 04_faster_video (section 3).
"""

from __future__ import annotations

import numpy as np

from ..model import onnx_file
from ..model.caffe import Graph
from ..model.layers import COLOUR, INPUT, INV_TEMPERATURE
from . import runtime
from .runtime import Backend


def onnx_model(graph: Graph):
    """The network as an ONNX model for ONNX Runtime: ``helpers.model.onnx_file.onnx_model`` without
    the scores output, which ONNX Runtime would copy out on every pass for nothing."""
    return onnx_file.onnx_model(graph, scores=False)


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

    def _run(self, blob: np.ndarray, output: str) -> np.ndarray:
        feeds = {INPUT: blob, INV_TEMPERATURE: self._inv_temperature}
        return self._session.run([COLOUR], feeds)[0]
