"""Frame rate: frames made between frames along the flow (helpers.restoration.frame_rate), checked against the
frames held out of a pan; output times for new rates; duplicated frames of old footage found."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers.restoration import frame_rate
from helpers.restoration.frame_rate import (
    Resampler,
    between,
    factor_times,
    find_duplicates,
    frame_differences,
    output_count,
    output_times,
    pair_motion,
    pair_position,
    real_times,
    slowed_times,
)
from tests.test_deflicker import psnr, scene

SIZE = (96, 128)
SPEED = 40.0
"""Pixels a second the test pan moves: 4 px a frame at 10 frames/s, 8 between the frames kept at half rate."""
LONGEST = 3.0
"""Seconds of pan the texture is wide enough for."""


def texture(seed: int, width: int) -> np.ndarray:
    """A smooth random gray texture ``SIZE[0]`` high and ``width`` wide, float32, levels of a photo."""
    rng = np.random.default_rng(seed)
    h = SIZE[0]
    return cv2.resize(rng.uniform(30, 220, (h // 8, width // 8)).astype(np.float32), (width, h),
                      interpolation=cv2.INTER_CUBIC)


def pan(seed: int, times: list[float]) -> list[np.ndarray]:
    """Gray frames of a texture panning ``SPEED`` pixels a second to the left, at ``times`` (seconds)."""
    wide = texture(seed, SIZE[1] + int(SPEED * LONGEST))
    return [np.clip(cv2.warpAffine(wide, np.float32([[1, 0, -SPEED * time], [0, 1, 0]]), SIZE[::-1]) + 0.5,
                    0, 255).astype(np.uint8) for time in times]


def resampled(frames: list[np.ndarray], times: list[float], **options) -> tuple[list[float], list[np.ndarray]]:
    out = list(Resampler(**options).run(zip(times, frames)))
    return [time for time, _ in out], [frame for _, frame in out]


def test_a_pan_made_at_double_rate_beats_repeating_and_blending():
    truth = pan(1, [k / 10 for k in range(24)])
    kept = truth[::2]
    _, out = resampled(kept, [k / 5 for k in range(len(kept))], factor=2)
    assert all(np.array_equal(a, b) for a, b in zip(out[::2], kept))  # the frames kept come out as they are
    inner = slice(1, len(truth) - 1, 2)  # the held-out frames, each between two kept ones
    repeated = [kept[k] for k in range(len(kept) - 1)]
    blended = [cv2.addWeighted(kept[k], 0.5, kept[k + 1], 0.5, 0) for k in range(len(kept) - 1)]
    made, repeat, blend = psnr(out[inner], truth[inner]), psnr(repeated, truth[inner]), psnr(blended, truth[inner])
    assert made > max(repeat, blend) + 8, (made, repeat, blend)


def test_a_moving_thing_is_made_where_it_is_at_half_time():
    """A textured block 64 px wide moving 8 px a frame over a still background, the middle frame held out."""
    rng = np.random.default_rng(2)
    background = cv2.resize(rng.uniform(30, 220, (30, 40)).astype(np.float32), (320, 240),
                            interpolation=cv2.INTER_CUBIC).astype(np.uint8)
    block = cv2.resize(rng.uniform(150, 250, (8, 8)).astype(np.float32), (64, 64),
                       interpolation=cv2.INTER_CUBIC).astype(np.uint8)
    frames = []
    for x in (60, 68, 76):
        frame = background.copy()
        frame[80:144, x:x + 64] = block
        frames.append(frame)
    made, blended = between(frames[0], frames[2], 0.5), cv2.addWeighted(frames[0], 0.5, frames[2], 0.5, 0)
    assert cv2.PSNR(made, frames[1]) > cv2.PSNR(blended, frames[1]) + 2
    inside = (slice(80, 144), slice(76, 124))  # the block's middle at half time: no double edges
    assert cv2.PSNR(made[inside], block[:, 8:56]) > cv2.PSNR(blended[inside], block[:, 8:56]) + 6


def test_the_trust_masks_choose_the_side_that_sees_the_pixel():
    """Where one side's flow check fails, the other side's pixel is taken; where both pass, both mix."""
    before, after = np.full((40, 40), 50, np.uint8), np.full((40, 40), 150, np.uint8)
    still = np.zeros((40, 40, 2), np.float32)
    seen, unseen = np.ones((40, 40), np.float32), np.zeros((40, 40), np.float32)
    trusted = frame_rate.PairMotion(False, still, still, seen, seen)
    assert between(before, after, 0.25, trusted)[20, 20] == 75
    hidden_before = frame_rate.PairMotion(False, still, still, unseen, seen)  # the pixel is not in ``before``
    assert between(before, after, 0.25, hidden_before)[20, 20] > 130  # time alone: 75


def test_at_a_cut_the_nearer_frame_comes_out_as_it_is():
    a, b = scene(3, n=1)[0], scene(4, n=1)[0]
    motion = pair_motion(a, b)
    assert motion.cut
    assert between(a, b, 0.3, motion) is a and between(a, b, 0.5, motion) is a and between(a, b, 0.7, motion) is b
    shot_one, shot_two = scene(5, n=6), scene(6, n=6)
    times, out = resampled(shot_one + shot_two, [k / 10 for k in range(12)], fps=25)
    originals = shot_one + shot_two
    across = [frame for time, frame in zip(times, out) if 0.5 < time < 0.6]  # between the last of one shot and the next
    assert across and all(any(np.array_equal(f, o) for o in originals[5:7]) for f in across)


@pytest.mark.parametrize("rate_in, rate_out, count_in, count_out",
                         [(16, 24, 16, 24), (25, 50, 25, 50), (24, 25, 48, 50), (30, 24, 30, 24)])
def test_new_rates_keep_the_duration(rate_in, rate_out, count_in, count_out):
    times_in = [k / rate_in for k in range(count_in)]
    frames = pan(7, times_in)
    times, out = resampled(frames, times_in, fps=rate_out)
    assert times == pytest.approx(output_times(0.0, count_in / rate_in, rate_out))
    assert len(out) == count_out
    for time, frame in zip(times, out):
        k = time * rate_in
        if abs(k - round(k)) < 1e-6:  # an output time that is an input time: that frame as it is
            assert np.array_equal(frame, frames[round(k)])


def test_a_variable_rate_comes_out_regular_and_each_frame_in_its_place():
    times_in = [0.0, 0.04, 0.1, 0.13, 0.2, 0.24, 0.3, 0.36]  # 25 to 16 frames/s, irregular
    frames = pan(8, times_in)
    times, out = resampled(frames, times_in, fps=25)
    assert times == pytest.approx([k / 25 for k in range(output_count(0.0, 0.42, 25))])
    truth = pan(8, times)  # the pan where each output time is
    inner = [k for k, time in enumerate(times) if time <= times_in[-1]]
    assert psnr([out[k] for k in inner], [truth[k] for k in inner]) > 35
    assert all(np.array_equal(frame, frames[-1]) for time, frame in zip(times, out) if time > times_in[-1])


def test_the_double_rate_of_a_variable_rate_splits_each_interval():
    times_in = [0.0, 0.1, 0.15, 0.3]
    times, out = resampled(pan(9, times_in), times_in, factor=2)
    assert times == pytest.approx([0.0, 0.05, 0.1, 0.125, 0.15, 0.225, 0.3, 0.375])
    assert len(out) == 8


def test_the_resampler_holds_two_frames_and_computes_one_flow_per_pair():
    consumed = []

    def source():
        for k, frame in enumerate(pan(10, [k / 10 for k in range(6)])):
            consumed.append(k)
            yield k / 10, frame

    resampler = Resampler(factor=3)
    stream = resampler.run(source())
    next(stream)
    assert consumed == [0, 1]  # the first output needs the second frame, no more
    calls = []
    real = frame_rate._pair_motion
    frame_rate._pair_motion = lambda *args: calls.append(1) or real(*args)
    try:
        rest = list(stream)
    finally:
        frame_rate._pair_motion = real
    assert len(rest) == 6 * 3 - 1 and resampler.made == 5 * 2
    assert len(calls) == 5  # one per pair (the first output is the first frame: no flow needed yet)


def test_gray_stays_gray_in_colour_frames():
    a, b = pan(11, [0.0, 0.2])
    gray = between(a, b, 0.4)
    colour = between(cv2.cvtColor(a, cv2.COLOR_GRAY2BGR), cv2.cvtColor(b, cv2.COLOR_GRAY2BGR), 0.4)
    assert colour.shape == (*SIZE, 3) and all(np.array_equal(colour[..., c], gray) for c in range(3))


def test_times_decisions():
    assert output_times(0, 1, 4) == [0.0, 0.25, 0.5, 0.75]
    assert output_count(0, 1, 24) == 24 and output_count(0, 1 + 1e-9, 24) == 24 and output_count(0, 1, 23.9) == 24
    assert factor_times(1.0, 1.5, 2) == [1.0, 1.25]
    assert pair_position(0.5, 0.4, 0.6) == pytest.approx(0.5)
    assert pair_position(0.401, 0.4, 0.6) == 0.0 and pair_position(0.599, 0.4, 0.6) == 1.0
    with pytest.raises(ValueError, match="increase"):
        pair_position(0.5, 0.6, 0.6)
    with pytest.raises(ValueError, match="fps"):
        Resampler(fps=25, factor=2)
    with pytest.raises(ValueError, match="between 0"):
        between(*pan(12, [0.0, 0.1]), 1.5)


def padded(real: list[np.ndarray], real_fps: float, fps: float, seed: int) -> tuple[list[np.ndarray], list[bool]]:
    """``real`` frames shown at ``fps`` by repeating some (a transfer to a higher rate), each stored frame
    with its own faint compression noise; and which stored frames repeat the one before."""
    rng = np.random.default_rng(seed)
    shown = [int(k * real_fps / fps) for k in range(int(len(real) * fps / real_fps))]
    noisy = [np.clip(real[i] + rng.normal(0, 0.4, real[i].shape), 0, 255).astype(np.uint8) for i in shown]
    return noisy, [k > 0 and shown[k] == shown[k - 1] for k in range(len(shown))]


def grainy(frames: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """Each film frame with its own grain."""
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0, 4, f.shape), 0, 255).astype(np.uint8) for f in frames]


@pytest.mark.parametrize("real_fps, fps", [(16, 25), (18, 24), (12, 24), (20, 30)])
def test_repeated_frames_of_old_footage_are_found_with_the_real_rate(real_fps, fps):
    real = grainy(pan(13, [k / real_fps for k in range(2 * real_fps)]), seed=1)
    stored, repeats = padded(real, real_fps, fps, seed=2)
    found = find_duplicates(frame_differences(stored), fps)
    assert found.duplicate == repeats
    assert found.real_fps == pytest.approx(real_fps) and found.regular


def test_a_still_shot_has_no_repeats_and_a_still_moment_is_no_pattern():
    still = grainy([pan(14, [0.0])[0]] * 30, seed=3)  # nothing moves, but each film frame has its grain
    assert not any(find_duplicates(frame_differences(still), 24).duplicate)
    digital = [pan(14, [0.0])[0]] * 30  # nothing moves and no grain: no way to tell, so no repeats claimed
    assert not any(find_duplicates(frame_differences(digital), 24).duplicate)
    moving = grainy(pan(15, [k / 24 for k in range(40)]), seed=4)
    paused = moving[:20] + [moving[19]] * 6 + moving[20:]  # one still moment, the same frame held
    found = find_duplicates(frame_differences(paused), 24)
    assert sum(found.duplicate) == 6 and not found.regular


def test_real_times_and_slowed_times():
    assert real_times([False, True, False, False, True], 1.0, 12.0) == pytest.approx([1.0, 1 + 1 / 12, 1 + 2 / 12])
    assert slowed_times([0.5, 0.5 + 1 / 24, 0.5 + 2 / 24], 18 / 24) == pytest.approx([0.5, 0.5 + 1 / 18, 0.5 + 2 / 18])
    with pytest.raises(ValueError, match="speed"):
        slowed_times([0.0], 0)


def test_padded_footage_made_smooth_at_its_real_speed():
    """16 frames/s stored at 25 by repeats stutters; its distinct frames, timed at 16 and made into 25, pan evenly."""
    stored, _ = padded(pan(16, [j / 16 for j in range(32)]), 16, 25, seed=5)
    found = find_duplicates(frame_differences(stored), 25)
    distinct = [frame for frame, repeat in zip(stored, found.duplicate) if not repeat]
    times, out = resampled(distinct, real_times(found.duplicate, 0.0, found.real_fps), fps=25)
    assert len(out) == len(stored) and times == pytest.approx([k / 25 for k in range(len(stored))])
    truth = pan(16, times)  # where an even pan is at each stored frame's time
    inner = slice(0, len(out) - 2)  # the last frames are held, not made
    assert psnr(out[inner], truth[inner]) > psnr(stored[inner], truth[inner]) + 10
