"""The annealed-mean temperature T: its default, its valid range, and when two values are the same (notebook 01).

``T`` divides the network's 313 scores before the softmax (the paper's "annealed mean"):
``T = 1`` gives the plain mean of the predicted colours (greyish), ``T -> 0`` their mode (vivid,
patchy). Networks store ``1 / T`` in float32, so a temperature read back from one is exact only
to about 7 digits: ``same_temperature`` and ``temperature_key`` are the one rule for comparing
and recording temperatures (6 decimals). Pure Python.
"""

from __future__ import annotations

DEFAULT_TEMPERATURE = 1 / 2.606
"""Annealed-mean temperature, about 0.38: the released model's scale 2.606 is 1 / T.
1 gives the plain mean of the predicted colours (greyish), T -> 0 their mode (vivid, patchy)."""
MAX_TEMPERATURE = 10.0
"""Largest temperature accepted: above it every colour is the plain mean of the 313 bins (grey-brown)."""
DECIMALS = 6
"""Temperatures are compared and recorded to this many decimals: ``1 / float32(1 / T)`` is ``T``
only to about 7 digits."""


def check_temperature(temperature: float) -> float:
    """Return ``temperature`` as a float, or raise ValueError unless it is in (0, 10].

    Notes
    -----
    Above 10 every colour is the plain mean of the 313 bins (grey-brown); at or below 0 the
    softmax is undefined. The paper's choice, 0.38, is ``DEFAULT_TEMPERATURE``.
    """
    temperature = float(temperature)
    if not 0 < temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be in (0, 10], got {temperature}; the paper uses 0.38.")
    return temperature


def temperature_key(temperature: float) -> float:
    """``temperature`` rounded to ``DECIMALS`` decimals: what manifests, caches and messages record.

    >>> temperature_key(1 / 2.606)
    0.38373
    """
    return round(float(temperature), DECIMALS)


def same_temperature(a: float, b: float) -> bool:
    """True when ``a`` and ``b`` are the same temperature to ``DECIMALS`` decimals (see ``temperature_key``).

    A temperature read back from a network (float32 ``1 / T``) is the same as the one set.
    """
    return temperature_key(a) == temperature_key(b)


def temperature_of_scale(scale: float) -> float:
    """``T`` from the stored scale ``1 / T``, as ``temperature_key`` records it: the scale is float32, so
    ``1 / float32(1 / 0.38)`` is 0.38 only to about 7 digits."""
    return temperature_key(1.0 / scale)
