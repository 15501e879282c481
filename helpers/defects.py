"""Defects of old film, added on purpose to clean frames: then the truth is known, and a restoration
can be measured (PSNR against the clean frames) instead of judged by eye.

So far: luminance flicker (``add_flicker``), dust and dirt (``add_dust``). To be taught in notebook 05_restoration.
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


DUST_PER_FRAME = 6
"""Default specks per frame."""


def add_dust(frames: Iterable[np.ndarray], per_frame: int = DUST_PER_FRAME, seed: int = 0,
             radius: tuple[int, int] = (1, 4)) -> Iterator[np.ndarray]:
    """Each frame (uint8, gray or BGR) with ``per_frame`` specks of its own: blobs of ``radius``
    pixels, black (dirt) or white (dust, scratched emulsion), at random places, in that frame only."""
    rng = np.random.default_rng(seed)
    for frame in frames:
        out = frame.copy()
        h, w = frame.shape[:2]
        for _ in range(per_frame):
            centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            axes = (int(rng.integers(*radius, endpoint=True)), int(rng.integers(*radius, endpoint=True)))
            shade = 255 if rng.random() < 0.5 else 0
            cv2.ellipse(out, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                        (shade,) * (3 if out.ndim == 3 else 1), -1)
        yield out
