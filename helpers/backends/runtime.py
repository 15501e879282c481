"""What every fast back end is: a network that runs like an OpenCV net.

``Backend`` is the base class of ``OnnxRuntimeBackend`` and ``OpenVinoBackend``. It checks
the input, keeps the annealed-mean temperature (fed to the runtime as a second input, so
changing it needs no rebuild) and leaves the forward pass to the subclass::

    net.setInput(blob)        # (N, 1, S, S) float32: L - 50, S a multiple of 8
    ab = net.forward()        # (N, 2, S/4, S/4) float32
    net.set_temperature(0.2)  # takes effect on the next forward pass

So it is a ``helpers.model.net.ColorizationNet`` that keeps its own temperature
(``helpers.model.net.KeepsTemperature``): ``helpers.colorize``, ``helpers.set_temperature`` and
the video pipeline use it like the OpenCV net (``--backend`` of ``python -m helpers``).

Introduced in notebook 04_faster_video (section 3).
"""

from __future__ import annotations

import numpy as np

from ..lab.temperature import check_temperature, temperature_of_scale
from ..model.layers import COLOUR

THREADS: int | None = None
"""Threads each back end may use for one pass; None: as many as the machine has. Set with
``set_threads`` before loading: ``helpers.cluster`` gives each of N worker processes cores / N."""


def set_threads(threads: int | None) -> None:
    """Threads for the networks loaded from now on (OpenVINO, ONNX Runtime) and for OpenCV."""
    import cv2

    global THREADS
    THREADS = threads
    cv2.setNumThreads(threads if threads else -1)  # -1: OpenCV's default, all cores


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
    outputs: tuple[str, ...] = (COLOUR,)
    """What ``forward`` can give: the colour, and for some back ends the 313 scores (``conv8_313``)."""
    cluster_centres: np.ndarray | None = None
    """The (313, 2) ab bin centres, where ``conv8_313`` is an output (``helpers.ab_from_scores``)."""

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

        Parameters
        ----------
        outputName : str, optional
            ``"class8_ab"`` (the default), or another of ``outputs``.

        Returns
        -------
        ab : (N, 2, S/4, S/4) float32 ndarray
            A new array (not overwritten by the next call); for ``"conv8_313"`` the scores,
            (N, 313, S/4, S/4).
        """
        output = outputName or self.outputs[0]
        if output not in self.outputs:
            raise ValueError(f"This network's outputs are {', '.join(self.outputs)}; got {outputName!r}.")
        if self._blob is None:
            raise RuntimeError("Call setInput(blob) before forward().")
        return self._run(self._blob, output)

    def _run(self, blob: np.ndarray, output: str) -> np.ndarray:
        """The runtime's forward pass to ``output``: inputs ``data_l`` (the blob) and ``inv_temperature`` (1,)."""
        raise NotImplementedError

    def set_temperature(self, temperature: float) -> None:
        """Set the annealed-mean temperature ``T`` (see ``helpers.set_temperature``); no rebuild."""
        self._inv_temperature = _inverse_temperature(temperature)

    def get_temperature(self) -> float:
        """The temperature ``T`` currently set."""
        return temperature_of_scale(self._inv_temperature[0])
