"""The network's 313 ab bins: which a screen can show, and how one colour is made from a guess over them.

The network answers "how likely is each of the 313 bins" for every pixel, a classification. These
functions work on such answers without the network: a made-up prediction (``bump_distribution``)
and the annealed mean that turns any prediction into one (a, b) (``annealed_mean``), the same
sum the model's last layers compute.

Introduced in notebook 01_lab_colour_space.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .colour_space import in_srgb_gamut
from .temperature import check_temperature


def bins_in_gamut(bins: np.ndarray, L: float) -> np.ndarray:
    """Which ab bins can be shown on a screen at lightness ``L``.

    Parameters
    ----------
    bins : (Q, 2) ndarray
        ab bin centres (``pts_in_hull.npy``: Q = 313).
    L : float
        Lightness 0..100.

    Returns
    -------
    (Q,) bool ndarray
    """
    bins = np.asarray(bins, dtype=np.float32)
    lab = np.column_stack([np.full(len(bins), L, dtype=np.float32), bins])
    return in_srgb_gamut(lab)


def bump_distribution(bins: np.ndarray, centres: Sequence[tuple[float, float]], weights: Sequence[float],
                      *, sigma: float = 8.0) -> np.ndarray:
    """A made-up prediction: a probability for each ab bin, in bumps around a few colours.

    Parameters
    ----------
    bins : (Q, 2) ndarray
        ab bin centres.
    centres : sequence of (a, b)
        Where the bumps are.
    weights : sequence of float
        Total probability of each bump (they are scaled to sum to 1).
    sigma : float
        Width of each bump in ab units.

    Returns
    -------
    probs : (Q,) float64 ndarray
        Non-negative, sums to 1.

    Notes
    -----
    ``sigma = 8`` makes each bump cover the nearest few bins (bins are 10 units apart), like a
    network that is sure of the hue but not of the exact shade.
    """
    bins = np.asarray(bins, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    probs = np.zeros(len(bins))
    for (a, b), weight in zip(centres, weights):
        bump = np.exp(-((bins[:, 0] - a) ** 2 + (bins[:, 1] - b) ** 2) / (2 * sigma**2))
        probs += weight * bump / bump.sum()
    return probs


def annealed_mean(probs: np.ndarray, bins: np.ndarray, temperature: float) -> np.ndarray:
    """The colour the network reports: the mean of a sharpened distribution over the bins.

    Parameters
    ----------
    probs : (..., Q) ndarray
        Probabilities over the Q ab bins (each row sums to 1).
    bins : (Q, 2) ndarray
        ab bin centres.
    temperature : float
        ``T`` in (0, 10] (``check_temperature``): 1 gives the plain mean; smaller values move
        towards the most likely bin (the mode), larger ones flatten the distribution further.

    Returns
    -------
    ab : (..., 2) float64 ndarray

    Notes
    -----
    Sharpening is ``p ** (1 / T)``, renormalised. The network does ``softmax(z / T)`` on its
    logits ``z``, which is the same thing because ``p = softmax(z)``. The paper uses
    ``T = 0.38``; the model's Scale layer ``conv8_313_rh`` multiplies the logits by
    ``1 / T = 2.606`` (``helpers.model.net.set_temperature`` writes it there).
    """
    check_temperature(temperature)
    log_p = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-300, None)) / temperature
    log_p -= log_p.max(axis=-1, keepdims=True)  # avoid overflow in exp
    sharpened = np.exp(log_p)
    sharpened /= sharpened.sum(axis=-1, keepdims=True)
    return sharpened @ np.asarray(bins, dtype=np.float64)
