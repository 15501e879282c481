"""int8: which convolutions run in 8 bits, and their ranges calibrated on the sample photos.

8-bit integers cover a range of values in 256 steps, so each quantised convolution needs the
range of its input; it is measured ("calibrated") on real photos, the samples in
``input_images/``. The two runtimes get there differently:

* ONNX Runtime: ``int8_onnx`` runs ``onnxruntime.quantization.quantize_static``, which
  calibrates and inserts QuantizeLinear/DequantizeLinear pairs (QDQ);
* OpenVINO: ``calibrated_ranges`` measures the inputs itself, and ``openvino_model`` puts
  FakeQuantize nodes with those ranges in front of the convolutions.

The same photos serve ``load_fast_backend``'s accuracy check (``network_inputs``). Used by
``--backend`` of ``python -m helpers`` when int8 passes that check.

Introduced in notebook 04_faster_video (section 3, int8).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..common.images import read_image
from ..lab.colour_space import lightness
from ..model.caffe import Graph
from ..model.layers import INPUT, INV_TEMPERATURE
from ..model.net import DEFAULT_SIZE, network_input
from ..paths import INPUT_IMAGES
from .openvino_backend import openvino_model


def load_sample_images(folder: Path = INPUT_IMAGES) -> list[np.ndarray]:
    """The sample photos of ``input_images/`` (top level only), as read by ``read_image``."""
    files = sorted(p for p in Path(folder).glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise FileNotFoundError(f"No sample images in {folder}: they are needed to calibrate and check int8/bf16.")
    return [read_image(p) for p in files]


def network_inputs(images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """The network inputs of ``images``, one batch.

    Parameters
    ----------
    images : list of ndarray
        Gray or BGR, uint8 or float (as ``helpers.lightness`` accepts); any sizes.
    size : int
        Side of the square network input.

    Returns
    -------
    (N, 1, size, size) float32 ndarray
        L (0..100) minus 50 of each image, resized.
    """
    if len(images) == 0:
        raise ValueError("At least one image is needed.")
    return np.stack([network_input(lightness(np.asarray(img)), size) for img in images])[:, np.newaxis]



@dataclass
class Calibration:
    """Where int8 gets its 8-bit ranges: network inputs to calibrate on, or what an earlier calibration kept.

    ``inputs``: (N, 1, S, S) float32 network inputs (``network_inputs``); None: the sample photos.
    ``saved``: filled in by an int8 build and read by the next (OpenVINO's ``"ranges"``, the path
    of ONNX Runtime's int8 model as ``"model_file"``), so nothing is calibrated twice; None: keep nothing.
    ``folder``: where ONNX Runtime's int8 model file is kept when ``saved`` is given.
    """

    inputs: np.ndarray | None = None
    saved: dict | None = None
    folder: Path | None = None

    def network_inputs(self) -> np.ndarray:
        """The inputs to calibrate on: ``inputs``, or the sample photos at the training size."""
        return network_inputs(load_sample_images(), DEFAULT_SIZE) if self.inputs is None else self.inputs

def _calibration_feeds(calibration: np.ndarray):
    """One feed per image; T = 1 as any: the quantised convolutions all come before the temperature."""
    for i in range(len(calibration)):
        yield {INPUT: calibration[i:i + 1], INV_TEMPERATURE: np.ones(1, np.float32)}


class CalibrationFeeds:
    """ONNX Runtime's calibration data reader over ``calibration`` ((N, 1, S, S) float32): one feed per
    ``get_next`` call, then None. Its calibrators only call ``get_next``, so this needs no import of
    onnxruntime (``CalibrationDataReader``) before int8 is asked for."""

    def __init__(self, calibration: np.ndarray) -> None:
        self._feeds = _calibration_feeds(calibration)

    def get_next(self) -> dict | None:
        return next(self._feeds, None)


def int8_onnx(model, calibration: np.ndarray, graph: Graph) -> bytes:
    """``model`` (from ``onnx_model``) with the quantisable convolutions in int8, serialised.

    Parameters
    ----------
    model : onnx.ModelProto
    calibration : (N, 1, S, S) float32 ndarray
        From ``network_inputs``: min/max calibration, per-channel weights.
    graph : helpers.model.caffe.Graph
        The graph ``model`` was built from; ``graph.quantizable()`` are quantised.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    keep = {op.name for op in graph.quantizable()}
    exclude = [node.name for node in model.graph.node if node.name and node.name not in keep]
    disabled = logging.root.manager.disable
    logging.disable(logging.WARNING)  # quantize_static's root-logger advice to pre-process the model
    try:
        with tempfile.TemporaryDirectory(prefix="colorize-int8-") as tmp:
            out = Path(tmp) / "int8.onnx"
            # Only Conv: ONNX Runtime has no int8 ConvTranspose kernel (it would dequantise and run fp32).
            quantize_static(
                model, out, CalibrationFeeds(calibration), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                nodes_to_exclude=exclude, per_channel=True, activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
            )
            return out.read_bytes()
    finally:
        logging.disable(disabled)


def calibrated_ranges(graph: Graph, calibration: np.ndarray) -> dict[str, tuple[float, float]]:
    """Min and max of each quantisable convolution's input over the calibration images (0 included).

    Parameters
    ----------
    graph : helpers.model.caffe.Graph
    calibration : (N, 1, S, S) float32 ndarray
        From ``network_inputs``; run one image at a time in OpenVINO, fp32.

    Returns
    -------
    dict
        ``{convolution name: (low, high)}``, the ``ranges`` of ``openvino_model``.
    """
    import openvino as ov

    names = [op.name for op in graph.quantizable()]
    compiled = ov.Core().compile_model(openvino_model(graph, probes=names), "CPU",
                                       {"INFERENCE_PRECISION_HINT": "f32"})
    low = np.zeros(len(names))
    high = np.zeros(len(names))
    for feed in _calibration_feeds(calibration):
        results = compiled(feed)
        for j, output in enumerate(compiled.outputs[1:]):
            values = results[output]
            low[j], high[j] = min(low[j], float(values.min())), max(high[j], float(values.max()))
    return {name: (lo, hi) for name, lo, hi in zip(names, low, high)}
