"""Defects of old film, added on purpose to clean frames: then the truth is known, and a restoration
can be measured (PSNR against the clean frames) instead of judged by eye.

So far: luminance flicker (``add_flicker``). To be taught in notebook 05_restoration.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

FLICKER_STRENGTH = 0.15
"""Default flicker: gains within 1 ± 0.15 and offsets within ± 0.15 x 40 gray levels, as bad as
a poorly kept print of the 1920s."""
OFFSET_SCALE = 40
"""Gray levels of offset per unit of flicker strength."""


def flicker_levels(count: int, strength: float = FLICKER_STRENGTH, seed: int = 0) -> list[tuple[float, float]]:
    """``count`` random ``(gain, offset)`` pairs, one per frame, independent from frame to frame.

    Example: ``flicker_levels(3, 0.0)`` is ``[(1.0, 0.0), (1.0, 0.0), (1.0, 0.0)]``.
    """
    if not 0 <= strength < 1:
        raise ValueError(f"strength must be in [0, 1), got {strength}.")
    rng = np.random.default_rng(seed)
    gains = 1 + strength * rng.uniform(-1, 1, count)
    offsets = strength * OFFSET_SCALE * rng.uniform(-1, 1, count)
    return [(float(g), float(o)) for g, o in zip(gains, offsets)]


def add_flicker(frames: Iterable[np.ndarray], strength: float = FLICKER_STRENGTH,
                seed: int = 0) -> Iterator[np.ndarray]:
    """Each frame (uint8, gray or BGR) as ``gain * frame + offset``, clipped, with ``flicker_levels``'
    gain and offset for its position in the stream."""
    frames = list(frames)
    values = np.arange(256, dtype=np.float32)
    for frame, (gain, offset) in zip(frames, flicker_levels(len(frames), strength, seed)):
        yield cv2.LUT(frame, np.clip(np.rint(gain * values + offset), 0, 255).astype(np.uint8))
