"""Defects of old film, added on purpose to clean frames: then the truth is known, and a restoration
can be measured (PSNR against the clean frames) instead of judged by eye.

So far: luminance flicker (``add_flicker``), dust and dirt (``add_dust``), film grain (``add_grain``). To be
taught in notebook 05_restoration.
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


GRAIN_STRENGTH = 8.0
"""Default grain: a standard deviation of 8 gray levels in the mid-tones, the grain of a fast film
stock of the 1930s seen on a scan (visible at any size, not yet a snowstorm)."""
GRAIN_SIZE = 0.8
"""Standard deviation (pixels) of the blur that makes the noise grain: clumps of 2-3 pixels across,
as on a scan of 35 mm film at this size, instead of independent pixels."""
GRAIN_SHADOW_SHARE = 0.6
"""Share of the mid-tone grain left in pure black and pure white: the grain is strongest in the
mid-tones, where the silver clumps are half developed."""


def grain_amplitude(gray: np.ndarray, strength: float = GRAIN_STRENGTH) -> np.ndarray:
    """``(H, W)`` float32: the standard deviation of the grain added on each pixel of ``gray``,
    ``strength`` in the mid-tones (128) down to ``GRAIN_SHADOW_SHARE * strength`` at 0 and 255.

    Example: ``grain_amplitude(np.array([[0, 128]], np.uint8), 10.0)`` is about ``[[6.0, 10.0]]``.
    """
    v = gray.astype(np.float32) / 255
    return strength * (GRAIN_SHADOW_SHARE + (1 - GRAIN_SHADOW_SHARE) * 4 * v * (1 - v))


def add_grain(frames: Iterable[np.ndarray], strength: float = GRAIN_STRENGTH, seed: int = 0) -> Iterator[np.ndarray]:
    """Each frame (uint8, gray or BGR) with film grain of its own, independent from frame to frame:
    Gaussian noise blurred by ``GRAIN_SIZE`` (spatially correlated) and scaled back to unit spread,
    times ``grain_amplitude``; the same grain on B, G and R, so gray stays gray."""
    if strength < 0:
        raise ValueError(f"strength must be 0 or more, got {strength}.")
    rng = np.random.default_rng(seed)
    for frame in frames:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        noise = cv2.GaussianBlur(rng.standard_normal(gray.shape, dtype=np.float32), (0, 0), GRAIN_SIZE)
        noise *= grain_amplitude(gray, strength) / max(float(noise.std()), 1e-6)
        if frame.ndim == 3:
            noise = noise[..., np.newaxis]
        yield np.clip(np.rint(frame + noise), 0, 255).astype(np.uint8)
