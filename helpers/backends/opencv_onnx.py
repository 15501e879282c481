"""OpenCV 5 runs the network from its ONNX file, like the Caffe model on OpenCV 4.

OpenCV 5 cannot read the released Caffe files; ``helpers.onnx_file`` writes the same network
as ONNX once, and ``read_onnx_network`` reads that file with ``cv2.dnn.readNetFromONNX``. The
file takes the temperature as an input (``inv_temperature`` = 1 / T) and gives the 313 scores
as a second output, so this network changes ``T`` without a rebuild and serves the explorer of
notebook 02 (``helpers.predict_scores``) as the Caffe network does::

    net = read_onnx_network(helpers.model.model_paths())
    net.setInput(blob)               # (N, 1, S, S) float32: L - 50, S a multiple of 8
    ab = net.forward()               # (N, 2, S/4, S/4) float32
    scores = net.forward("conv8_313")
    net.set_temperature(0.2)         # the next pass feeds 1 / 0.2

It works on OpenCV 4 too (``readNetFromONNX`` is there since 3.4), which is how the tests
compare the two file formats in one process. Introduced in notebook 02_photo (section 2).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..model import DEFAULT_TEMPERATURE, ModelLoadError, ModelPaths, load_cluster_centres, onnx_file_of
from ..onnx_file import COLOUR_OUTPUT, SCORES_OUTPUT
from .runtime import Backend


class OpenCvOnnxBackend(Backend):
    """The network of an ONNX file of ``helpers.onnx_file`` in OpenCV's DNN module, fp32.

    Parameters
    ----------
    path : Path
        The ONNX file.
    cluster_centres : (313, 2) float32 ndarray
        The ab bin centres, for ``helpers.ab_from_scores`` (also inside the file, as ``class8_ab``).
    temperature : float
        Annealed-mean temperature ``T`` in (0, 10].

    Attributes
    ----------
    net : cv2.dnn.Net
        OpenCV's network, for OpenCV's own settings (``enableWinograd``, ``setPreferableBackend``).

    Raises
    ------
    ModelLoadError
        OpenCV cannot read the file.
    """

    name = "opencv"
    outputs = (COLOUR_OUTPUT, SCORES_OUTPUT)

    def __init__(self, path: Path, cluster_centres: np.ndarray, temperature: float = DEFAULT_TEMPERATURE) -> None:
        super().__init__("fp32", temperature)
        self.path = Path(path)
        self.cluster_centres = np.ascontiguousarray(cluster_centres, np.float32)
        try:
            # No engine argument: its names differ between OpenCV 5.0 and 5.1, and the default picks
            # OpenCV's own engine on both.
            self.net = cv2.dnn.readNetFromONNX(str(self.path))
        except cv2.error as exc:
            raise ModelLoadError(
                f"OpenCV could not read {self.path}: delete it and it will be written again from the Caffe files."
                f"\n(OpenCV said: {str(exc).strip().splitlines()[-1]})"
            ) from None

    def _run(self, blob: np.ndarray, output: str) -> np.ndarray:
        # Both inputs by name: OpenCV 5 refuses an unnamed input where a network has two.
        self.net.setInput(blob, "data_l")
        self.net.setInput(self._inv_temperature, "inv_temperature")
        return self.net.forward(output)

    def getLayerNames(self) -> list[str]:
        """The names of OpenCV's layers, as ``cv2.dnn.Net.getLayerNames`` gives them."""
        return list(self.net.getLayerNames())


def read_onnx_network(paths: ModelPaths, *, log=print) -> OpenCvOnnxBackend:
    """OpenCV's network from the ONNX file of the model files, written first if need be.

    Parameters
    ----------
    paths : ModelPaths
        The Caffe files (``helpers.model.model_paths``).
    log : callable, optional
        Told in one line when the ONNX file is being written (once per model, a few seconds).

    Returns
    -------
    OpenCvOnnxBackend
        At the default temperature; ``helpers.set_temperature`` changes it.
    """
    return OpenCvOnnxBackend(onnx_file_of(paths, log), load_cluster_centres(paths.points))
