"""Luminance flicker: added on purpose (restoration.defects), removed by restoration.deflicker; measured with
PSNR against the clean frames. Fades and cuts are the scene's own changes and must survive."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers.restoration.defects import add_flicker, flicker_levels
from helpers.restoration.deflicker import Deflicker, Levels, frame_levels, level_table, match_levels, reference_levels


def psnr(frames: list[np.ndarray], truth: list[np.ndarray]) -> float:
    return float(np.mean([cv2.PSNR(a, b) for a, b in zip(frames, truth)]))


def scene(seed: int, n: int = 40, size: tuple[int, int] = (96, 128), brightness: float = 1.0) -> list[np.ndarray]:
    """``n`` gray frames of a smooth random texture panning 1 px a frame, its levels those of a photo."""
    rng = np.random.default_rng(seed)
    h, w = size
    texture = cv2.resize(rng.uniform(30, 220, (h // 8, (w + n) // 8)).astype(np.float32), (w + n, h),
                         interpolation=cv2.INTER_CUBIC)
    return [np.clip(texture[:, i:i + w] * brightness, 0, 255).astype(np.uint8) for i in range(n)]


def deflickered(frames: list[np.ndarray], **options) -> list[np.ndarray]:
    out = list(Deflicker(**options).run(enumerate(frames)))
    assert [i for i, _ in out] == list(range(len(frames)))  # every frame, once, in order
    return [frame for _, frame in out]


def test_flicker_is_removed_by_more_than_3_db():
    clean = scene(1)
    flickering = list(add_flicker(clean, strength=0.15, seed=3))
    before, after = psnr(flickering, clean), psnr(deflickered(flickering), clean)
    assert after > before + 3, (before, after)
    spread = np.std([frame_levels(f).mean for f in deflickered(flickering)])
    assert spread < 0.3 * np.std([frame_levels(f).mean for f in flickering])  # brightness steady from frame to frame


def test_a_clean_clip_is_left_alone():
    clean = scene(2)
    assert psnr(deflickered(clean), clean) > 40


def test_a_fade_is_the_scene_not_flicker():
    clean = [np.clip(frame * (1 - 0.02 * i), 0, 255).astype(np.uint8) for i, frame in enumerate(scene(4))]  # to 22 %
    out = deflickered(clean)
    assert psnr(out, clean) > 35
    means = [frame_levels(f).mean for f in out]
    assert means[-1] < 0.4 * means[0]  # still fades out


def test_the_reference_never_reaches_across_a_cut():
    dark, bright = scene(5, n=20, brightness=0.5), scene(6, n=20, brightness=1.1)
    out = deflickered(dark + bright)
    for got, truth in zip(out, dark + bright):  # the frames each side of the cut keep their own levels
        assert abs(frame_levels(got).mean - frame_levels(truth).mean) < 1.5


def test_gray_stays_gray_and_colour_frames_work():
    clean = [cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in scene(7, n=12)]
    out = deflickered(list(add_flicker(clean, seed=1)), radius=3)
    assert all(f.shape == clean[0].shape and np.array_equal(f[..., 0], f[..., 2]) for f in out)


def test_the_reference_is_each_shots_trend_and_turns_corners():
    fade = [Levels(float(m), 10.0) for m in (10, 20, 30, 40, 50)]  # a steady trend: kept exactly, to the ends
    cuts = [False] * 5
    assert [lv.mean for lv in reference_levels(fade, cuts, radius=2)] == pytest.approx([10, 20, 30, 40, 50])
    steady_then_fade = [Levels(m, 20.0) for m in (100.0,) * 6 + (90.0, 80.0, 70.0, 60.0, 50.0, 40.0)]
    got = reference_levels(steady_then_fade, [False] * 12, radius=3)
    assert [lv.mean for lv in got] == pytest.approx([lv.mean for lv in steady_then_fade])  # no corner cut
    jitter = [Levels(100.0 + (5 if i % 2 else -5), 20.0) for i in range(9)]
    assert reference_levels(jitter, [False] * 9, radius=4)[4].mean == pytest.approx(100, abs=1.5)  # averaged away
    shots = [Levels(float(m), 10.0) for m in (10, 12, 11, 100, 101, 99)]
    got = reference_levels(shots, [False, False, False, True, False, False], radius=2)
    assert all(lv.mean < 20 for lv in got[:3]) and all(lv.mean > 90 for lv in got[3:])  # never across the cut
    assert reference_levels(shots, [False] * 6, radius=0) == shots
    with pytest.raises(ValueError, match="radius"):
        reference_levels(shots, [False] * 6, radius=-1)


def test_the_sample_clips_own_fade_to_black_is_kept():
    """The clip ends by fading to black, to its last frame: a centred mean turned that frame gray (17 dB)."""
    from helpers.media.decode import read_frames
    from helpers.paths import INPUT_VIDEO

    clean = [frame.image[..., 0].copy() for frame in read_frames(INPUT_VIDEO / "sample_clip.mp4")]
    out = deflickered(clean)
    worst = min(cv2.PSNR(a, b) for a, b in zip(out, clean))
    assert worst > 40, worst


def test_level_table_moves_mean_and_spread_and_keeps_flat_frames_flat():
    ramp = np.tile(np.arange(40, 201, dtype=np.uint8), (8, 1))
    found = frame_levels(ramp)
    moved = match_levels(ramp, found, Levels(100.0, found.spread / 2))
    assert frame_levels(moved).mean == pytest.approx(100, abs=1) and frame_levels(moved).spread == pytest.approx(
        found.spread / 2, rel=0.05)
    flat = level_table(Levels(50.0, 0.0), Levels(80.0, 20.0))  # a black frame gets no contrast from nowhere
    assert flat[50] == 80 and flat[51] == 81
    assert level_table(Levels(100.0, 1.5), Levels(100.0, 60.0))[110] == 100 + 10 * 4  # at most MAX_GAIN


def test_flicker_levels_are_reproducible_and_within_their_strength():
    assert flicker_levels(5, seed=2) == flicker_levels(5, seed=2) != flicker_levels(5, seed=3)
    gains, offsets = zip(*flicker_levels(200, 0.1))
    assert 0.9 <= min(gains) and max(gains) <= 1.1 and max(map(abs, offsets)) <= 4
    with pytest.raises(ValueError, match="strength"):
        flicker_levels(3, 1.5)
