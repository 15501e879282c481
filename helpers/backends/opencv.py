"""The OpenCV runtime: OpenCV's DNN module runs the network, from the Caffe files (OpenCV 4) or ONNX (OpenCV 5).

OpenCV 4 reads the released Caffe files as they are (``read_network``), and the cluster
centres become the weights of ``class8_ab``. OpenCV 5 cannot read Caffe files;
``helpers.model.onnx_file`` writes the same network as ONNX once, and ``read_onnx_network`` reads that
file with ``cv2.dnn.readNetFromONNX``. The file takes the temperature as an input
(``inv_temperature`` = 1 / T) and gives the 313 scores as a second output, so this network
changes ``T`` without a rebuild and serves the explorer of notebook 02
(``helpers.predict_scores``) as the Caffe network does::

    net = read_onnx_network(helpers.model.model_paths())
    net.setInput(blob)               # (N, 1, S, S) float32: L - 50, S a multiple of 8
    ab = net.forward()               # (N, 2, S/4, S/4) float32
    scores = net.forward("conv8_313")
    net.set_temperature(0.2)         # the next pass feeds 1 / 0.2

The ONNX network works on OpenCV 4 too (``readNetFromONNX`` is there since 3.4), which is how
the tests compare the two file formats in one process. ``helpers.backends.load`` builds this
runtime as it builds the others. Introduced in notebook 02_photo (section 2).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..common.opencv_install import check_opencv
from ..lab.temperature import DEFAULT_TEMPERATURE
from ..model import (
    model_files as model,  # model.opencv_reads_caffe is looked up on each call: tests stand in OpenCV 5 there
)
from ..model.layers import COLOUR, INPUT, INV_TEMPERATURE, SCORES
from ..model.model_files import (
    ModelLoadError,
    ModelPaths,
    check_model_file,
    cluster_kernel,
    load_cluster_centres,
    onnx_file_of,
    require_added_layers,
)
from ..model.net import ColorizationNet, set_temperature
from .runtime import Backend


class OpenCvOnnxBackend(Backend):
    """The network of an ONNX file of ``helpers.model.onnx_file`` in OpenCV's DNN module, fp32.

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
    outputs = (COLOUR, SCORES)

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
        self.net.setInput(blob, INPUT)
        self.net.setInput(self._inv_temperature, INV_TEMPERATURE)
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


def read_network(paths: ModelPaths) -> ColorizationNet:
    """OpenCV's network of the model files, without its temperature (``build`` sets it).

    On OpenCV 4: the Caffe files, with the cluster centres added as ``class8_ab``'s weights.
    On OpenCV 5: the ONNX file made from them (``helpers.model.onnx_file``). The reference of
    ``--backend auto``. Raises as ``helpers.load_model`` does.
    """
    check_opencv()
    for path in paths.files:
        check_model_file(path, paths.managed)
    if not model.opencv_reads_caffe():
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
    require_added_layers(paths.prototxt, lambda layer: net.getLayerId(layer) >= 0)
    net.getLayer(net.getLayerId(COLOUR)).blobs = [cluster_kernel(points)]
    return net


def build(paths: ModelPaths, temperature: float) -> ColorizationNet:
    """OpenCV's network of the model files at ``temperature`` (fp32, the only precision it has)."""
    net = read_network(paths)
    set_temperature(net, temperature)
    return net
