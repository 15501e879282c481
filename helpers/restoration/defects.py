"""Defects of old film, added on purpose to clean frames: then the truth is known, and a restoration
can be measured (PSNR against the clean frames) instead of judged by eye.

Of film: luminance flicker (``add_flicker``), dust and dirt (``add_dust``), vertical scratches
(``add_scratches``). Of one photo: specks, hairs, scratches, creases and grain (``add_photo_defects``).
Taught in notebook 05_restoration.


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


# ---------------------------------------------------------------------------------------------
# Defects of ONE photo (``photo --restore``, helpers.restoration.photo_restore): specks, hairs, scratches,
# creases and grain drawn on a single picture, with the mask of the pixels they cover as truth.
# ---------------------------------------------------------------------------------------------

PHOTO_DEFECTS = {"specks": 30, "hairs": 3, "scratches": 3, "creases": 1}
"""Default count of each defect on one photo (a dusty, handled print of about 500 x 500 pixels)."""
SPECK_RADIUS = (1, 4)
"""Radius of a speck of dust or dirt on a photo, in pixels (smallest, largest)."""
HAIR_LENGTH = (40, 140)
"""Length of a hair, in pixels: short curls of fibre lying on the print or the scanner glass."""
LINE_STEP = 4
"""Pixels between the points of a drawn hair, scratch or crease: fine enough for smooth curves."""
SOFT_EDGE = 0.6
"""Blur (Gaussian sigma, pixels) of a defect's edge: real defects are not cut out with scissors."""
TRUTH_LEVEL = 0.25
"""Opacity above which a pixel counts as covered by a defect in the truth mask."""


def add_photo_defects(image: np.ndarray, seed: int = 0, *, grain: float = 0.0,
                      **counts: int) -> tuple[np.ndarray, np.ndarray]:
    """One photo with dust, hairs, scratches and creases drawn on it, and where they are.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) uint8 ndarray
        The clean photo, gray or BGR.
    seed : int
        The same seed draws the same defects.
    grain : float
        Standard deviation (gray levels) of film grain added everywhere (not in the mask).
    **counts : int
        ``specks``, ``hairs``, ``scratches``, ``creases``: how many of each (default ``PHOTO_DEFECTS``).
        Specks are blobs of ``SPECK_RADIUS``, black or white; hairs dark curls; scratches long, light,
        nearly straight lines 1-2 px wide; creases light, jagged lines 2 px wide across the print.

    Returns
    -------
    defected : ndarray like ``image``
    truth : (H, W) bool ndarray
        The pixels the defects cover (grain aside).

    Example: ``dusty, truth = add_photo_defects(gray, seed=1, specks=50, hairs=0, scratches=0, creases=0)``
    """
    unknown = set(counts) - set(PHOTO_DEFECTS)
    if unknown:
        raise ValueError(f"Unknown defect(s) {sorted(unknown)}: the defects are {', '.join(PHOTO_DEFECTS)}.")
    counts = {**PHOTO_DEFECTS, **counts}
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    shade = np.zeros((h, w), np.float32)  # the defects' gray, where they are
    cover = np.zeros((h, w), np.float32)  # their opacity, 0..1
    for kind, draw in (("specks", _speck), ("hairs", _hair), ("scratches", _scratch), ("creases", _crease)):
        for _ in range(counts[kind]):
            layer = np.zeros((h, w), np.float32)
            value = draw(layer, rng)
            layer = cv2.GaussianBlur(layer, (0, 0), SOFT_EDGE)
            shade = np.where(layer > cover, value, shade)
            cover = np.maximum(cover, layer)
    alpha = cover[..., np.newaxis] if image.ndim == 3 else cover
    ink = shade[..., np.newaxis] if image.ndim == 3 else shade
    out = image.astype(np.float32) * (1 - alpha) + ink * alpha
    if grain:
        noise = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), GRAIN_CLUMP)
        out += (noise * (grain / noise.std()))[..., np.newaxis] if image.ndim == 3 else noise * (grain / noise.std())
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), cover > TRUTH_LEVEL


CRACK = 0.75
"""Pixels a crease wanders off its straight line, at most, at each of its points."""
GRAIN_CLUMP = 0.7
"""Blur (Gaussian sigma, pixels) of the grain: silver grains clump a little, they are not pixel noise."""


def _speck(layer: np.ndarray, rng: np.random.Generator) -> float:
    """Draw one speck on ``layer`` (opacity 1); its gray: black dirt or white dust."""
    h, w = layer.shape
    axes = tuple(int(rng.integers(*SPECK_RADIUS, endpoint=True)) for _ in range(2))
    cv2.ellipse(layer, (int(rng.integers(0, w)), int(rng.integers(0, h))), axes, float(rng.uniform(0, 180)),
                0, 360, 1.0, -1)
    return float(rng.uniform(0, 25) if rng.random() < 0.5 else rng.uniform(230, 255))


def _path(rng: np.random.Generator, start: np.ndarray, length: float, bend: float) -> np.ndarray:
    """Points ``LINE_STEP`` apart from ``start``, heading anywhere, turning by ``bend`` radians a step at most."""
    steps = max(2, int(length / LINE_STEP))
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.uniform(-bend, bend, steps))
    moves = LINE_STEP * np.stack([np.cos(heading), np.sin(heading)], axis=1)
    return np.vstack([start, start + np.cumsum(moves, axis=0)])


def _draw(layer: np.ndarray, points: np.ndarray, width: int) -> None:
    shift = 4  # sub-pixel points (1/16 px), so that lines are not stair-stepped
    cv2.polylines(layer, [np.rint(points * (1 << shift)).astype(np.int32)], False, 1.0, width, cv2.LINE_AA, shift)


def _start(layer: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = layer.shape
    return np.array([rng.uniform(0, w), rng.uniform(0, h)])


def _hair(layer: np.ndarray, rng: np.random.Generator) -> float:
    """A dark curl, 1 px wide (a hair or a fibre)."""
    _draw(layer, _path(rng, _start(layer, rng), rng.uniform(*HAIR_LENGTH), bend=0.35), 1)
    return float(rng.uniform(0, 40))


def _scratch(layer: np.ndarray, rng: np.random.Generator) -> float:
    """A long, light, nearly straight line 1-2 px wide (the emulsion scraped off)."""
    side = min(layer.shape)
    _draw(layer, _path(rng, _start(layer, rng), rng.uniform(0.3, 0.8) * side, bend=0.03), int(rng.integers(1, 3)))
    return float(rng.uniform(215, 255))


def _crease(layer: np.ndarray, rng: np.random.Generator) -> float:
    """A fold across the print: a light, jagged line 2 px wide where the emulsion cracked."""
    side = min(layer.shape)
    points = _path(rng, _start(layer, rng), rng.uniform(0.6, 1.0) * side, bend=0.02)
    points += rng.uniform(-CRACK, CRACK, points.shape)  # cracked, not cut
    _draw(layer, points, 2)
    return float(rng.uniform(225, 255))


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
