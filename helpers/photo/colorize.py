"""Colourise photos: L in, ab predicted by the network, full-resolution colour out.

The recipe (Zhang, Isola, Efros 2016):

1. take the lightness L of the photo at full resolution;
2. resize L to the network's input size (224 x 224 in training) and subtract 50, so the
   input is centred on zero (L runs 0..100);
3. the network predicts ab at a quarter of that size (56 x 56);
4. resize ab back to the photo's size;
5. join it with the ORIGINAL full-resolution L and convert to BGR, so all the detail comes
   from the photo and only the colour is upsampled.

``colorize`` is these five steps, one line each, as notebook 02 does them by hand;
``colorize_batch`` does the same for several images with one network pass.

Step 3 splits in two: the network computes 313 scores per point (one per ab bin), and its last
two layers turn them into one colour with the temperature ``T``. ``predict_scores`` stops
before those layers and ``ab_from_scores`` does them in NumPy, so trying another ``T`` needs
no new network pass (the explorer of notebook 02 works this way).

Introduced in notebook 02_photo.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..common.image_files import Picture, over_white
from ..common.images import read_image
from ..lab.colour_space import bgr_to_lab, lab_to_bgr, lightness
from ..lab.temperature import check_temperature
from ..model.layers import COLOUR, SCORES
from ..model.net import DEFAULT_SIZE, ColorizationNet, check_size, network_input, set_temperature


def _as_array(image: str | os.PathLike | np.ndarray) -> np.ndarray:
    if isinstance(image, (str, os.PathLike)):
        return read_image(Path(image))
    if image is None:
        raise ValueError("Expected an image array or a file path, got None. (cv2.imread returns None when it "
                         "cannot read a file: helpers.read_image says why.)")
    return np.asarray(image)  # lightness() checks its shape, dtype and values


def predict_ab(net: ColorizationNet, L_small: np.ndarray) -> np.ndarray:
    """Run the network on a batch of centred L inputs.

    Parameters
    ----------
    net : ColorizationNet
        From ``load_model`` (a ``cv2.dnn.Net``), or a faster back end.
    L_small : (N, S, S) float32 ndarray
        Outputs of ``network_input``.

    Returns
    -------
    ab : (N, S/4, S/4, 2) float32 ndarray
        Predicted a and b, channels last so OpenCV can resize them.
    """
    net.setInput(np.ascontiguousarray(L_small[:, np.newaxis], dtype=np.float32))
    return net.forward().transpose(0, 2, 3, 1)


def gives_scores(net: ColorizationNet) -> bool:
    """True when ``predict_scores`` works on ``net``: OpenCV's network of ``load_model``.

    On OpenCV 4 that is a Caffe net with the layers of ``load_model``; on OpenCV 5 the ONNX
    file's network, which has the scores as an output. The fast back ends of
    ``helpers.backends`` output only the colour (``class8_ab``), so for them every temperature
    needs a full forward pass.
    """
    if hasattr(net, "outputs"):
        return SCORES in net.outputs and getattr(net, "cluster_centres", None) is not None
    if not hasattr(net, "getLayerId"):
        return False
    return net.getLayerId(SCORES) >= 0 and net.getLayerId(COLOUR) >= 0


def predict_scores(net: ColorizationNet, L_small: np.ndarray) -> np.ndarray:
    """Run the network up to its 313 scores per point, without the temperature and the softmax.

    Parameters
    ----------
    net : ColorizationNet
        From ``load_model`` with the opencv back end (see ``gives_scores``).
    L_small : (N, S, S) float32 ndarray
        Outputs of ``network_input``.

    Returns
    -------
    scores : (N, 313, S/4, S/4) float32 ndarray
        The logits ``z`` of layer ``conv8_313``, one per ab bin. They do not depend on the
        temperature: ``ab_from_scores`` turns them into colour for any ``T``.

    Notes
    -----
    Asking OpenCV for a layer by name keeps that layer's output: it does not fold the
    ``1 / T`` Scale layer into ``conv8_313`` as it does for a plain ``forward()``, so these
    are the raw scores whatever temperature is set. Switching between ``forward()`` and this
    makes OpenCV set the network up again once (about one extra forward pass). The ONNX file of
    OpenCV 5 has the scores as an output of their own (``helpers.model.onnx_file``).
    """
    net.setInput(np.ascontiguousarray(L_small[:, np.newaxis], dtype=np.float32))
    return net.forward(SCORES)


def cluster_centres_of(net: ColorizationNet) -> np.ndarray:
    """The ``(313, 2)`` float32 ab bin centres that ``net``'s ``class8_ab`` layer holds.

    ``load_model`` put them there from ``pts_in_hull.npy`` as a (2, 313, 1, 1) kernel; the
    network of OpenCV 5's ONNX file keeps them as ``cluster_centres``.
    """
    if getattr(net, "cluster_centres", None) is not None:
        return net.cluster_centres
    blobs = net.getLayer(net.getLayerId(COLOUR)).blobs
    if not blobs or blobs[0].size % 2:
        raise ValueError("The network's class8_ab layer has no bin centres: load it with helpers.load_model, "
                         "or set them as notebook 02 does (pts_in_hull.npy as a (2, 313, 1, 1) kernel).")
    return np.ascontiguousarray(blobs[0].reshape(2, -1).T, dtype=np.float32)


def ab_from_scores(scores: np.ndarray, temperature: float, centres: np.ndarray) -> np.ndarray:
    """The network's last two steps in NumPy: the annealed mean of the scores at temperature ``T``.

    Parameters
    ----------
    scores : (N, Q, h, w) float32 ndarray
        From ``predict_scores`` (Q = 313).
    temperature : float
        ``T`` in (0, 10]; 0.38 is the paper's (``DEFAULT_TEMPERATURE``).
    centres : (Q, 2) ndarray
        ab bin centres (``cluster_centres_of(net)`` or ``pts_in_hull.npy``).

    Returns
    -------
    ab : (N, h, w, 2) float32 ndarray
        What ``predict_ab`` gives with the same ``T`` set on the network, up to float rounding.

    Notes
    -----
    Per point, ``p = softmax(z / T)`` (layers ``conv8_313_rh`` and ``class8_313_rh``), then
    ``ab = sum_q p_q * centre_q`` (the 1x1 convolution ``class8_ab``): the same sum as
    ``helpers.lab.ab_bins.annealed_mean``, which starts from probabilities instead of scores.
    The largest score is subtracted before ``exp`` so that small ``T`` cannot overflow; it
    cancels in the division. A few milliseconds at 224 px, against about half a second for the
    network.
    """
    check_temperature(temperature)
    n, q, h, w = scores.shape
    z = scores.reshape(n, q, h * w) * np.float32(1.0 / temperature)  # a new array: scores stay as they were
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    weights = np.asarray(centres, dtype=np.float32).T                # (2, Q): the kernel of class8_ab
    ab = (weights @ z) / z.sum(axis=1, keepdims=True)                # (N, 2, h*w): divide 2 rows, not Q
    return ab.reshape(n, 2, h, w).transpose(0, 2, 3, 1)


def upsample_ab(ab_small: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Enlarge the network's ab prediction to the photo's size.

    Parameters
    ----------
    ab_small : (S/4, S/4, 2) float32 ndarray
        One image's output of ``predict_ab``.
    shape : tuple
        The photo's shape; its first two numbers are the height and width.

    Returns
    -------
    ab : (H, W, 2) float32 ndarray
        Bilinear, like the original demo. Colour changes slowly across a photo, so a coarse
        map enlarged smoothly is close; the sharp edges come from L (step 5 of ``colorize``).
    """
    h, w = shape[:2]
    return cv2.resize(ab_small, (w, h), interpolation=cv2.INTER_LINEAR)


def colorize(
    image: str | os.PathLike | np.ndarray,
    net: ColorizationNet,
    *,
    temperature: float | None = None,
    size: int = DEFAULT_SIZE,
) -> np.ndarray:
    """Colourise one photo at its full resolution.

    Parameters
    ----------
    image : path or ndarray
        A file path, or an array: gray ``(H, W)``, BGR ``(H, W, 3)`` or BGRA ``(H, W, 4)``;
        uint8, uint16 or float in [0, 1]. A colour image is made grey first; transparent parts
        are shown over white, as image viewers do (``helpers.common.image_files`` keeps the alpha
        channel of files).
    net : ColorizationNet
        From ``load_model`` (a ``cv2.dnn.Net``), or a faster back end.
    temperature : float, optional
        Annealed-mean temperature ``T``; ``None`` keeps the network's (0.38 unless changed).
        A new value stays set on ``net`` (see ``set_temperature``).
    size : int
        Network input size, a multiple of 8. Larger sees finer detail but costs time
        in proportion to the pixels (448 is 4x slower than 224).

    Returns
    -------
    img_bgr : (H, W, 3) uint8 ndarray
        Same height and width as the input; its L channel is the input's.

    Raises
    ------
    ValueError
        The array has another shape or dtype, float values outside [0, 1], NaN or infinity
        (the message says what was found), or the file cannot be read.
    FileNotFoundError
        A path that does not exist.
    """
    check_size(size)
    if temperature is not None:
        set_temperature(net, temperature)
    L = lightness(_as_array(image))                      # 1. L at full resolution, 0..100
    L_small = network_input(L, size)                     # 2. shrunk to size x size, minus 50
    ab_small = predict_ab(net, L_small[np.newaxis])[0]   # 3. ab at a quarter of size, per side
    ab = upsample_ab(ab_small, L.shape)                  # 4. ab enlarged to the photo's size...
    return lab_to_bgr(L, ab)                             # 5. ...joined with the ORIGINAL L, as BGR


def colorize_batch(
    images: Sequence[str | os.PathLike | np.ndarray],
    net: ColorizationNet,
    *,
    temperature: float | None = None,
    size: int = DEFAULT_SIZE,
) -> list[np.ndarray]:
    """Colourise several images with ONE forward pass of the network.

    The images may have different sizes: each is shrunk to ``size`` x ``size`` for the
    network and coloured at its own full resolution. See ``colorize`` for the parameters.
    """
    check_size(size)
    if isinstance(images, np.ndarray):  # its rows would be taken for images: a wrong picture
        raise ValueError(f"colorize_batch takes a list of images, got one array of shape {images.shape}; "
                         "use colorize(image, net) for one image, or list(stack) for a stack of images.")
    if temperature is not None:
        set_temperature(net, temperature)
    Ls = [lightness(_as_array(image)) for image in images]
    if not Ls:
        return []
    ab_small = predict_ab(net, np.stack([network_input(L, size) for L in Ls]))
    return [lab_to_bgr(L, upsample_ab(ab, L.shape)) for L, ab in zip(Ls, ab_small)]


def colour_under_alpha(picture: Picture, colourised: np.ndarray) -> np.ndarray:
    """``colourised`` (the colourisation of ``picture.image``) with the picture's own lightness under its transparency.

    The network sees a transparent picture over white, as viewers show it, so where the picture
    is see-through its colours come out on a lighter picture. Here they go onto the picture's
    own lightness instead, shown over white again as ``write_pictures`` expects (it stores the
    colours that look like this over white): a viewer then shows the original lightness over
    any background. Opaque pixels, and pictures without transparency: ``colourised`` itself.

    Example: ``write_pictures(path, [replace(p, image=colour_under_alpha(p, colorize(p.image, net)))])``
    """
    if picture.under is None or picture.alpha is None:
        return colourised
    see_through = picture.alpha < np.iinfo(picture.alpha.dtype).max
    own = lab_to_bgr(lightness(picture.under), bgr_to_lab(colourised)[..., 1:])
    result = colourised.copy()
    result[see_through] = over_white(own, picture.alpha)[see_through]
    return result
