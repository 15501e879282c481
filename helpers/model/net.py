"""What the colourisation network is to the rest of the package: its input, its size, its temperature (notebook 02).

``ColorizationNet`` says what the package needs of a network (``setInput`` then ``forward``),
so OpenCV's ``cv2.dnn.Net`` and the faster back ends of ``helpers.backends`` stand in for each
other. ``network_input`` makes the input from a photo's lightness, and ``set_temperature`` /
``get_temperature`` change or read the annealed-mean temperature ``T`` of either kind. This
module imports no back end: they all import it (``helpers.backends.load`` builds them).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from ..lab.temperature import DEFAULT_TEMPERATURE, check_temperature, same_temperature, temperature_of_scale
from .layers import SCALED_SCORES

DEFAULT_SIZE = 224
"""Network input size in pixels: the size the network was trained at."""
L_CENTER = 50
"""Subtracted from L (0..100) so the network's input is centred on zero, as in training."""
MAX_SIZE = 1024
"""Largest network input accepted: 21 times the work of 224 (about 8 s a frame on a laptop CPU) and
several GB of memory; the network sees no more detail in colour beyond that."""
BINS = 313
"""ab bins the network scores: the channels of the Scale layer whose weight is ``1 / T``."""


@runtime_checkable
class ColorizationNet(Protocol):
    """Anything that runs the colourisation network the way OpenCV's ``cv2.dnn.Net`` does.

    ``load_model`` returns one (a ``cv2.dnn.Net``), and so do the faster back ends of
    ``helpers.backends``; ``helpers.colorize`` and the video pipeline take either.

    Examples
    --------
    >>> net.setInput(blob)  # blob: (N, 1, S, S) float32, L (0..100) minus 50, S a multiple of 8
    >>> ab = net.forward()  # (N, 2, S/4, S/4) float32: a and b at a quarter of the input size
    """

    def setInput(self, blob: np.ndarray) -> None:
        """Set the input of the next ``forward``."""

    def forward(self) -> np.ndarray:
        """Run the network on the input: the predicted ab."""


@runtime_checkable
class KeepsTemperature(Protocol):
    """A network that stores the annealed-mean temperature itself, as the fast back ends do.

    ``set_temperature`` and ``get_temperature`` hand the temperature to such a network; on
    OpenCV's net, which has no such methods, they change the weight of its Scale layer instead.
    """

    def set_temperature(self, temperature: float) -> None:
        """Use ``temperature`` from the next forward pass on."""

    def get_temperature(self) -> float:
        """The temperature currently set."""


def check_size(size: int) -> None:
    """Raise ValueError unless ``size`` is a usable network input size (a multiple of 8, 32 .. ``MAX_SIZE``)."""
    # Three stride-2 layers and one 2x upsampling: sizes must divide by 8 to line up.
    if size < 32 or size % 8 or size > MAX_SIZE:
        raise ValueError(f"size must be a multiple of 8 from 32 to {MAX_SIZE} (224 is the training size), "
                         f"got {size}.")


def network_input(L: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """The network's input for one image.

    Parameters
    ----------
    L : (H, W) float32 ndarray, 0..100
    size : int
        Side of the square network input, a multiple of 8.

    Returns
    -------
    (size, size) float32 ndarray
        L resized (bilinear, like the original demo) minus ``L_CENTER``.
    """
    return cv2.resize(L, (size, size), interpolation=cv2.INTER_LINEAR) - L_CENTER


def set_temperature(net: ColorizationNet, temperature: float) -> None:
    """Set the annealed-mean temperature ``T``: the softmax runs on ``logits / T``.

    ``T = 1`` gives the plain mean of the predicted distribution (safe, greyish, sepia);
    ``T -> 0`` its mode (vivid but patchy). The paper picked ``T = 0.38`` (scale 2.606).

    Parameters
    ----------
    net : ColorizationNet
        The ``cv2.dnn.Net`` of ``load_model``, or a network that keeps its own temperature
        (``KeepsTemperature``, e.g. a back end of ``helpers.backends``).
    temperature : float
        In (0, 10].

    Notes
    -----
    OpenCV folds the Scale layer into the convolution before it when the network first runs,
    so changing the Scale weights later would have no effect. Toggling fusion off and on makes
    OpenCV set the network up again with the new weights on the next forward pass.
    ``get_temperature`` reports ``T`` rounded to 6 decimals; that value of the default
    (0.38373) sets the default exactly again (scale 2.606), so the colours stay the same to the bit.
    """
    check_temperature(temperature)
    if same_temperature(temperature, DEFAULT_TEMPERATURE):
        temperature = DEFAULT_TEMPERATURE
    if isinstance(net, KeepsTemperature):
        net.set_temperature(temperature)
        return
    layer = _scale_layer(net)
    scale = np.float32(1.0 / temperature)
    if layer.blobs and (layer.blobs[0] == scale).all():
        return  # already set: setting OpenCV's network up again would cost a pass's worth of time
    channels = BINS if not layer.blobs else layer.blobs[0].size
    layer.blobs = [np.full((1, channels), scale, np.float32)]
    net.enableFusion(False)
    net.enableFusion(True)


def get_temperature(net: ColorizationNet) -> float:
    """The temperature ``T`` currently set on ``net`` (see ``set_temperature``)."""
    if isinstance(net, KeepsTemperature):
        return net.get_temperature()
    return temperature_of_scale(_scale_layer(net).blobs[0].flat[0])


def _scale_layer(net: cv2.dnn.Net):
    """OpenCV's ``conv8_313_rh`` layer, whose weight is ``1 / T`` (OpenCV 4's Caffe network only)."""
    if not hasattr(net, "getLayerId"):
        raise TypeError(
            f"A {type(net).__name__} has no temperature to set or read: pass the network of load_model "
            "(a cv2.dnn.Net) or one with set_temperature and get_temperature methods (helpers.backends)."
        )
    return net.getLayer(net.getLayerId(SCALED_SCORES))
