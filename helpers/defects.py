"""Defects of old film, added on purpose to clean frames: then the truth is known, and a restoration
can be measured (PSNR against the clean frames) instead of judged by eye.

So far: luminance flicker (``add_flicker``), dust and dirt (``add_dust``), vertical scratches
(``add_scratches``). To be taught in notebook 05_restoration.
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


SCRATCH_COUNT = 3
"""Default scratches in the clip (each in most of its frames)."""
SCRATCH_DRIFT = 0.15
"""Largest sideways speed of a scratch, pixels per frame: the film wanders a few pixels in the gate
over a second or two."""
SCRATCH_DROPOUT = 0.1
"""Chance that a scratch is missing from a frame it runs through (the projector's claw lifted)."""


def add_scratches(frames: Iterable[np.ndarray], count: int = SCRATCH_COUNT, seed: int = 0,
                  contrast: tuple[float, float] = (10, 50),
                  width: tuple[float, float] = (1, 5)) -> Iterator[np.ndarray]:
    """Each frame (uint8, gray or BGR) with ``count`` vertical scratches, as a projector cuts them.

    A scratch is a line ``width`` pixels wide (sub-pixel, soft-edged), lighter or darker than the
    picture by ``contrast`` gray levels (its strength wavers by a fifth along the line), from near the
    top to near the bottom (at least 60 % of the height), slightly slanted (at most 1.5 pixels over the
    height). It stays at nearly the same x from frame to frame, drifting at most ``SCRATCH_DRIFT``
    pixels a frame, in a run of frames that covers at least half of the clip, and is missing from a
    frame of its run now and then (``SCRATCH_DROPOUT``); the first scratch runs through every frame.

    Example: ``list(add_scratches(frames, count=0))`` is a copy of ``frames``.
    """
    frames = list(frames)
    if not frames:
        return
    rng = np.random.default_rng(seed)
    h, w = frames[0].shape[:2]
    n = len(frames)
    rows = np.arange(h, dtype=np.float32)[:, np.newaxis]
    columns = np.arange(w, dtype=np.float32)[np.newaxis, :]
    scratches = []
    for number in range(count):
        # the first runs through the whole clip, every frame: every frame has a scratch to remove
        length = n if number == 0 else int(rng.integers((n + 1) // 2, n, endpoint=True))
        first = int(rng.integers(0, n - length, endpoint=True))
        top, bottom = rng.uniform(0, 0.2) * h, rng.uniform(0.8, 1.0) * h
        strength = rng.uniform(*contrast) * rng.choice((-1, 1)) * (1 + 0.2 * np.sin(
            rows / h * rng.uniform(2, 8) + rng.uniform(0, 2 * np.pi)))
        along = ((rows >= top) & (rows <= bottom)) * strength  # (h, 1): the line's strength on each row
        slant = rng.uniform(-1.5, 1.5) * (rows / h - 0.5)
        velocity = rng.uniform(-SCRATCH_DRIFT, SCRATCH_DRIFT)
        shown = (rng.random(n) >= SCRATCH_DROPOUT) | (number == 0)
        scratches.append((first, length, rng.uniform(0.1, 0.9) * w, velocity, slant, along, rng.uniform(*width), shown))
    for i, frame in enumerate(frames):
        added = np.zeros((h, w), np.float32)
        for first, length, x, velocity, slant, along, line_width, shown in scratches:
            if first <= i < first + length and shown[i]:
                # a box ``line_width`` wide, its edges antialiased over one pixel
                distance = np.abs(columns - (x + velocity * (i - first) + slant))
                added += along * np.clip(line_width / 2 + 0.5 - distance, 0, 1)
        if frame.ndim == 3:
            added = added[..., np.newaxis]
        yield np.clip(np.rint(frame + added), 0, 255).astype(np.uint8)
