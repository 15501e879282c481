"""Keyframe mode: the network on keyframes, ab carried by optical flow, checked against known colours."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

import helpers
from helpers.lab.colour_space import bgr_to_lab, lightness
from helpers.video.keyframes import (
    CUT_OCCLUSION_MAX,
    KEYFRAME_INTERVAL,
    KeyframePropagator,
    _residual,
    feed_range,
    network_predictor,
)
from tests.conftest import textured as conftest_textured

SIZE = (120, 160)  # height, width: below the work size, so the flow runs on the frames themselves
STEP = (3, 1)  # camera motion in pixels per frame (x, y)


def textured(height: int, width: int, seed: int) -> np.ndarray:
    """Gray texture for the flow (fine) with large shapes for the cut detector (coarse), 60..200."""
    return conftest_textured(height, width, seed, coarse_sigma=20, low=60, high=200)


def colour_field(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth random ab, standard deviation 25: mild colours that stay inside the sRGB gamut."""
    rng = np.random.default_rng(seed + 50)
    ab = cv2.GaussianBlur(rng.normal(0, 1, (height, width, 2)).astype(np.float32), (0, 0), 12)
    return (ab * 25 / ab.std()).astype(np.float32)


def shot(n: int, seed: int = 0, start: int = 0, step: tuple[int, int] = STEP) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(frame_bgr, true_ab)`` of a camera panning by ``step`` over a coloured scene; the frames are gray."""
    h, w = SIZE
    big = (h + step[1] * (start + n) + 1, w + step[0] * (start + n) + 1)
    gray, ab = textured(*big, seed), colour_field(*big, seed)
    frames = []
    for t in range(start, start + n):
        window = np.s_[step[1] * t:step[1] * t + h, step[0] * t:step[0] * t + w]
        frames.append((cv2.cvtColor(gray[window], cv2.COLOR_GRAY2BGR), ab[window].copy()))
    return frames


def oracle(clips: list[tuple[np.ndarray, np.ndarray]]):
    """A "network" that knows the true ab of every frame (by its L), at the network's 56 x 56; counts frames."""
    table = {hashlib.sha1(lightness(f).tobytes()).digest(): cv2.resize(ab, (56, 56), interpolation=cv2.INTER_AREA)
             for f, ab in clips}
    seen: list[int] = []

    def predict(L_batch: np.ndarray) -> np.ndarray:
        seen.extend([1] * len(L_batch))
        return np.stack([table[hashlib.sha1(L.tobytes()).digest()] for L in L_batch])

    predict.seen = seen
    return predict


def run(frames, k=8, first=0, **options):
    """Outputs of a run over ``frames`` numbered from ``first``: (propagator, [(index, img_bgr, info)])."""
    propagator = KeyframePropagator(oracle(frames), keyframe_interval=k, **options)
    out = list(propagator.run((first + i, f) for i, (f, _) in enumerate(frames)))
    return propagator, out


def ab_error(img_bgr: np.ndarray, ab: np.ndarray) -> float:
    """Mean |Δab| of an output against the truth."""
    return float(np.linalg.norm(bgr_to_lab(img_bgr)[:, :, 1:] - ab, axis=2).mean())


def test_a_pan_propagates_close_to_the_truth():
    frames = shot(17)
    propagator, out = run(frames, k=8)
    assert [i for i, _, _ in out] == list(range(17))
    assert [i for i, _, info in out if info.kind == "keyframe"] == [0, 8, 16]
    assert propagator.network_calls == 3 and len(propagator.predict_ab.seen) == 3
    _, exact = run(frames, k=1)  # per-frame mode: the truth at 56 x 56, enlarged
    for (i, img, info), (_, exact_img, _), (_, ab) in zip(out, exact, frames):
        if info.kind == "propagated":
            assert info.reason == f"between frames {8 * (i // 8)} and {8 * (i // 8) + 8}"
            assert ab_error(img, ab) < ab_error(exact_img, ab) + 0.5  # barely worse than the network on each
        # without following the motion, the keyframe's colours would be far off (the scene moves 3 px a frame)
        stale = ab_error(out[8 * (i // 8)][1], ab) if i % 8 else None
        assert stale is None or i % 8 < 2 or stale > 3 * ab_error(img, ab)


def test_keyframes_are_what_per_frame_mode_gives(make_tiny_model):
    net = helpers.load_model(model_dir=make_tiny_model())
    frames = [f for f, _ in shot(10)]
    for k, calls in ((1, 10), (4, 4)):  # K = 4: frames 0, 4, 8 and the last one, 9
        propagator = KeyframePropagator(network_predictor(net), keyframe_interval=k)
        out = list(propagator.run(enumerate(frames)))
        assert propagator.network_calls == calls
        for (_, img, info), frame in zip(out, frames):
            if info.kind == "keyframe":
                np.testing.assert_array_equal(img, helpers.colorize(frame, net))


def test_frames_between_keyframes_are_finished_as_lab_to_bgr_would_within_a_level():
    """Their quicker 0..1 -> 0..255 step may round a halfway value the other way, never more; keyframes
    take ``lab_to_bgr`` itself (the test above)."""
    gray = textured(*SIZE, seed=3)
    ab = colour_field(SIZE[0] // 2, SIZE[1] // 2, seed=3) * 3  # strong colours: some outside the gamut, clipped
    ab[:5] = 0  # and gray
    propagator = KeyframePropagator(lambda L: np.zeros((len(L), 56, 56, 2), np.float32))
    between = propagator._finish(gray, ab)
    exact = helpers.lab_to_bgr(lightness(gray), cv2.resize(ab, SIZE[::-1], interpolation=cv2.INTER_LINEAR))
    np.testing.assert_array_equal(propagator._finish(gray, ab, keyframe=True), exact)
    difference = np.abs(between.astype(int) - exact)
    assert difference.max() <= 1 and (difference > 0).mean() < 0.01
    assert (exact == 0).any() and (exact == 255).any()  # the clipping was tried


def test_every_frame_keeps_its_own_L():
    frames = shot(10)
    sepia = cv2.transform(frames[5][0], np.float32([[0.7, 0, 0], [0, 0.9, 0], [0, 0, 1.1]]))  # not gray
    frames[5] = (np.clip(sepia, 0, 255).astype(np.uint8), frames[5][1])
    _, out = run(frames, k=4)
    assert out[5][2].kind == "propagated"
    for (_, img, _), (frame, _) in zip(out, frames):
        assert img.shape == frame.shape and img.dtype == np.uint8
        # where no channel is clipped to 0 or 255 (the colour is displayable), only 8-bit rounding
        shown = ((img > 0) & (img < 255)).all(axis=2)
        assert shown.mean() > 0.75 and np.abs(lightness(img) - lightness(frame))[shown].max() < 1.0
    # gray (H, W) frames, as some readers give them, come out the same as their B = G = R versions
    gray_frames = [(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), ab) for f, ab in frames[:5]]
    for (_, img, _), (_, gray_img, _) in zip(run(frames[:5], k=4)[1], run(gray_frames, k=4)[1]):
        np.testing.assert_array_equal(img, gray_img)


def mean_error(out, frames) -> float:
    return float(np.mean([ab_error(img, ab) for (_, img, _), (_, ab) in zip(out, frames)]))


def test_the_default_saves_passes_on_a_slow_pan_and_stays_close_to_the_truth():
    frames = shot(40, seed=4, step=(2, 0))  # 2 px a frame: 32 frames later 40% of the picture is new
    default, out = run(frames, k=KEYFRAME_INTERVAL)
    every_8, out_8 = run(frames, k=8, residual_max=4.0, cut_occlusion_max=1.0)  # the fixed K = 8 of before
    assert KEYFRAME_INTERVAL == 32 and every_8.network_calls == 6  # 0, 8, 16, 24, 32 and the last, 39
    assert default.network_calls <= 4  # 0, 32, 39 and one where the occluded share passes 30%
    assert [info.reason for _, _, info in out if info.reason.startswith("occluded")]
    assert mean_error(out, frames) < mean_error(out_8, frames) + 0.1  # the tolerance
    # the measures earn their pass: the same cap without them errs more
    _, blind = run(frames, k=KEYFRAME_INTERVAL, occlusion_max=1.0, residual_max=float("inf"), cut_occlusion_max=1.0)
    assert mean_error(blind, frames) > mean_error(out, frames) + 0.05


def test_a_quick_change_still_gets_keyframes_with_the_default():
    # a slow pan, then a cut to a fast pan (8 px a frame: 30% of the picture is new after 5 frames)
    frames = shot(20, seed=2, step=(2, 0)) + shot(16, seed=3, step=(8, 2))
    propagator, out = run(frames, k=KEYFRAME_INTERVAL)
    keys = {i: info.reason for i, _, info in out if info.kind == "keyframe"}
    assert set(range(1, 19)).isdisjoint(keys)  # the slow pan needs none
    assert keys[20] == "scene cut" and keys[19] == "before the scene cut at 20"
    fast = sorted(i for i in keys if i >= 20)
    assert max(np.diff(fast)) <= 6 and sum(keys[i].startswith("occluded") for i in fast) >= 2
    _, exact = run(frames, k=1)
    for (i, img, _), (_, exact_img, _), (_, ab) in zip(out[20:], exact[20:], frames[20:]):
        assert ab_error(img, ab) < ab_error(exact_img, ab) + 0.5, i


def test_a_cut_is_a_keyframe_and_nothing_crosses_it():
    frames = shot(6, seed=0, step=(1, 0)) + shot(6, seed=1)  # slow: frame 5 is mostly (95%) trusted
    _, out = run(frames, k=8)
    kinds = {i: (info.kind, info.reason) for i, _, info in out}
    assert kinds[6] == ("keyframe", "scene cut")
    assert [i for i in kinds if kinds[i][0] == "keyframe"] == [0, 6, 8, 11]
    for i in range(1, 6):
        assert "a scene cut follows at 6" in kinds[i][1]
    _, exact = run(frames, k=1)
    for (i, img, _), (_, exact_img, _), (_, ab) in zip(out, exact, frames):
        # new picture entering at the edge has no source before a cut; a blend with the
        # other shot's colours, about 30 away, would be off by more than 10
        assert ab_error(img, ab) < ab_error(exact_img, ab) + 2, i
    assert kinds[7] == ("propagated", "between frames 6 and 8")


def test_the_last_frame_before_a_cut_is_a_keyframe_when_much_of_it_is_new():
    frames = shot(6, seed=0) + shot(6, seed=1)  # 3 px a frame: 14% of frame 5 has no trusted path to frame 0
    _, out = run(frames, k=8)
    infos = [info for _, _, info in out]
    assert [info.index for info in infos if info.kind == "keyframe"] == [0, 5, 6, 8, 11]
    assert infos[5].reason == "before the scene cut at 6" and infos[5].occluded_share > CUT_OCCLUSION_MAX
    assert infos[4].reason == "between frames 0 and 5"
    _, one_sided = run(frames, k=8, cut_occlusion_max=1.0)  # never: frames 1-5 from frame 0 alone
    assert [info.index for _, _, info in one_sided if info.kind == "keyframe"] == [0, 6, 8, 11]
    # what enters at the edge has no trusted colour from frame 0 alone: the error grows to the cut
    assert mean_error(out[1:6], frames[1:6]) < mean_error(one_sided[1:6], frames[1:6]) - 0.5


def test_duplicates_skip_the_network_and_reuse_the_previous_colours():
    pictures = shot(8)
    rng = np.random.default_rng(0)
    frames = []
    for frame, ab in pictures:  # each picture twice, like film at 12 pictures a second shown at 24
        noisy = np.clip(frame + rng.integers(-1, 2, frame.shape[:2])[..., None], 0, 255).astype(np.uint8)
        frames += [(frame, ab), (noisy if len(frames) > 8 else frame, ab)]  # later with codec noise
    propagator, out = run(frames, k=8)
    kinds = [info.kind for _, _, info in out]
    assert [i for i, k in enumerate(kinds) if k == "keyframe"] == [0, 8, 15]  # the grid, and the last frame
    assert [i for i, k in enumerate(kinds) if k == "duplicate"] == [1, 3, 5, 7, 9, 11, 13]
    assert propagator.network_calls == 3
    for i in (1, 3, 5, 7):  # exact repeats: the very same result
        np.testing.assert_array_equal(out[i][1], out[i - 1][1])
    for i in (9, 11, 13):  # the same colours on its own, slightly noisy L
        assert np.abs(bgr_to_lab(out[i][1])[..., 1:] - bgr_to_lab(out[i - 1][1])[..., 1:]).mean() < 0.5


@pytest.mark.parametrize("split", [5, 8, 13, 18])
def test_results_do_not_depend_on_how_the_video_is_split(split):
    frames = shot(20, seed=2) + shot(10, seed=3)  # a cut at 20, too
    whole = run(frames, k=8)[1]
    first, second = feed_range(0, split, 30, 8), feed_range(split, 30, 30, 8)
    assert first.start == 0 and first.stop % 8 == 1 and second.start % 8 == 0 and second.stop == 30
    chunks = [o for o in run(frames[first.start:first.stop], k=8)[1] if o[0] < split]
    chunks += [o for o in run(frames[second.start:], k=8, first=second.start)[1] if o[0] >= split]
    assert [i for i, _, _ in chunks] == list(range(30))
    for (i, img, info), (_, chunk_img, chunk_info) in zip(whole, chunks):
        np.testing.assert_array_equal(img, chunk_img, err_msg=f"frame {i}")
        assert info.kind == chunk_info.kind


def test_a_large_new_object_forces_an_early_keyframe():
    h, w = SIZE
    background, panel = textured(h, w, 0), textured(h, w, 5)
    frames = []
    for t in range(16):  # a panel slides in from the left, 10 px a frame: the keyframe's view is lost
        gray, ab = background.copy(), np.full((h, w, 2), (20, 0), np.float32)
        gray[:, :10 * t], ab[:, :10 * t] = panel[:, w - 10 * t:], (-20, 0)
        frames.append((cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), ab))
    propagator, out = run(frames, k=16)
    early = [info for _, _, info in out if info.reason.startswith("occluded")]
    assert early and early[0].index < 8 and early[0].occluded_share > 0.3
    assert not any(info.reason == "scene cut" for _, _, info in out)
    for (i, img, _), (_, ab) in zip(out, frames):
        assert ab_error(img, ab) < 5, i  # the panel's colour (a = -20) is not smeared from the background's


def test_a_lighting_change_forces_an_early_keyframe_but_uniform_exposure_flicker_does_not():
    h, w = SIZE
    background = textured(h, w, 0).astype(np.float32)
    lamp = [np.clip(background + np.where(np.arange(w) >= w // 2, 4.0 * t, 0), 0, 255) for t in range(16)]
    flicker = [np.clip(background + (6 if t % 2 else -6), 0, 255) for t in range(16)]
    for pictures, early in ((lamp, True), (flicker, False)):
        frames = [(cv2.cvtColor(g.astype(np.uint8), cv2.COLOR_GRAY2BGR), np.full((h, w, 2), 10, np.float32))
                  for g in pictures]
        _, out = run(frames, k=16)
        reasons = [info.reason for _, _, info in out if info.kind == "keyframe"]
        assert any(r.startswith("L residual") for r in reasons) is early, reasons


def test_wrong_input_is_explained():
    frames = shot(3)
    with pytest.raises(ValueError, match="keyframe_interval"):
        KeyframePropagator(oracle(frames), keyframe_interval=0)
    propagator = KeyframePropagator(oracle(frames))
    with pytest.raises(ValueError, match="consecutive"):
        list(propagator.run([(0, frames[0][0]), (2, frames[2][0])]))
    with pytest.raises(ValueError, match="uint8"):
        list(propagator.run([(0, frames[0][0].astype(np.float32))]))
    with pytest.raises(ValueError, match="uint8"):
        list(propagator.run([(0, cv2.cvtColor(frames[0][0], cv2.COLOR_BGR2BGRA))]))


def test_feed_range():
    assert feed_range(0, 30, 30, 8) == range(0, 30)
    assert feed_range(13, 20, 100, 8) == range(8, 25)  # from grid 8 to grid 24
    assert feed_range(16, 17, 100, 8) == range(16, 17)  # a grid frame alone
    assert feed_range(5, 90, 90, 8) == range(0, 90)  # the video's end


def test_the_residual_is_the_mean_error_where_trusted_also_for_a_frame_of_one_pixel():
    rng = np.random.default_rng(3)
    for shape in ((1, 1), (1, 5), (5, 1), (24, 32)):  # OpenCV reads a one-pixel array beside a number as 4 x 1
        error = rng.normal(0, 2, shape).astype(np.float32)
        trusted = (rng.random(shape) > 0.3).astype(np.float32)
        trusted.flat[0] = 1
        picked = error[trusted > 0]
        assert _residual(error, trusted) == pytest.approx(float(np.abs(picked - picked.mean()).mean()), abs=1e-5)
    assert _residual(np.ones((3, 3), np.float32), np.zeros((3, 3), np.float32)) == float("inf")
