"""Flicker metrics and temporal smoothing on synthetic videos whose motion and colours are known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers.lab.colour_space import bgr_to_lab, lab_to_bgr
from helpers.media.motion import WORK_SIDE, is_scene_cut
from helpers.paths import INPUT_VIDEO
from helpers.video.flicker import FlickerMeter, TemporalSmoother
from tests.conftest import textured as conftest_textured
from tools import make_sample_clip

STEP = (4, 1)  # camera motion in pixels per frame (x, y)


def textured(height: int, width: int, seed: int) -> np.ndarray:
    """A gray picture with fine texture (for the flow) and large shapes (for the cut detector)."""
    return conftest_textured(height, width, seed)


def colour_pattern(height: int, width: int) -> np.ndarray:
    """ab stripes fixed to the scene, chroma about 30: they move with the picture."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.dstack([30 * np.sin(x / 9), 30 * np.cos(y / 11) + 10]).astype(np.float32)


def sequence(n=10, size=(128, 192), jitter=0.0, seed=0, start=0):
    """(gray, img_bgr) frames of a camera panning over a coloured scene.

    ``jitter`` adds a random ab offset per frame (standard deviation in ab units): flicker.
    """
    h, w = size
    margin_y, margin_x = STEP[1] * (start + n) + 1, STEP[0] * (start + n) + 1
    scene = textured(h + margin_y, w + margin_x, seed)
    ab_scene = colour_pattern(h + margin_y, w + margin_x)
    L_scene = bgr_to_lab(scene)[:, :, 0]
    rng = np.random.default_rng(seed + 100)
    frames = []
    for t in range(start, start + n):
        window = np.s_[STEP[1] * t:STEP[1] * t + h, STEP[0] * t:STEP[0] * t + w]
        ab = ab_scene[window] + rng.normal(0, jitter, 2).astype(np.float32)
        frames.append((scene[window], lab_to_bgr(L_scene[window], ab)))
    return frames


def measure(frames, smoother=None):
    """Run a FlickerMeter (after the smoother, if any); returns (summary, results, output frames)."""
    meter, results, outputs = FlickerMeter(), [], []
    for gray, img_bgr in frames:
        if smoother is not None:
            img_bgr = smoother(gray, img_bgr)
        outputs.append(img_bgr)
        results.append(meter.update(gray, img_bgr))
    return meter.summary(), results, outputs


def raw_ab_change(frames):
    """Mean |Δab| between consecutive frames WITHOUT following the motion."""
    ab = [bgr_to_lab(img_bgr)[:, :, 1:] for _, img_bgr in frames]
    return np.mean([np.linalg.norm(b - a, axis=2).mean() for a, b in zip(ab, ab[1:])])


def test_colours_that_move_with_the_picture_are_not_flicker():
    frames = sequence()
    summary, results, _ = measure(frames)
    assert results[0] is None and [r.frame for r in results[1:]] == list(range(1, 10))
    assert raw_ab_change(frames) > 4  # the plain frame difference is large ...
    assert summary["mean_warped_ab_change"] < 0.6  # ... but following the motion explains it
    # the strip that enters the frame each step (4 of 192 columns, 1 of 128 rows) has no past
    assert all(0.01 < r.occluded_share < 0.15 for r in results[1:])
    assert summary["frames"] == 10 and summary["cuts"] == 0
    assert summary["mean_chroma"] == pytest.approx(np.hypot(*colour_pattern(128, 192).transpose(2, 0, 1)).mean(),
                                                   rel=0.05)


def test_per_frame_colour_jitter_is_measured():
    still, _, _ = measure(sequence())
    jittery, results, _ = measure(sequence(jitter=6))
    # two independent offsets of standard deviation 6 in a and b differ by about 6 * sqrt(pi) = 10.6 on average
    assert jittery["mean_warped_ab_change"] > 5
    assert jittery["mean_warped_ab_change"] > 10 * still["mean_warped_ab_change"]
    assert jittery["mean_hist_distance"] > 3 * still["mean_hist_distance"]
    assert not any(r.scene_cut for r in results[1:])


def test_a_hard_cut_is_flagged_and_left_out_of_the_summary():
    frames = sequence(n=6, seed=0) + sequence(n=6, seed=1)
    summary, results, _ = measure(frames)
    assert [r.scene_cut for r in results[1:]] == [i == 6 for i in range(1, 12)]
    assert summary["frames"] == 12 and summary["cuts"] == 1
    steady = [r for r in results[1:] if not r.scene_cut]
    assert summary["mean_warped_ab_change"] == pytest.approx(np.mean([r.warped_ab_change for r in steady]))
    assert summary["mean_hist_distance"] == pytest.approx(np.mean([r.hist_distance for r in steady]))
    assert results[6].warped_ab_change > 5 * summary["mean_warped_ab_change"]  # reported, but not averaged


@pytest.mark.parametrize(("change", "cut"), [
    (lambda g: g, False),
    (lambda g: cv2.add(g, 30), False),  # exposure flicker of old film
    (lambda g: cv2.convertScaleAbs(g, alpha=0.5), False),  # a fade
    (lambda g: np.roll(g, 6, axis=1), False),  # a pan
    (lambda g: textured(*g.shape, seed=7), True),  # another shot
    (lambda g: 255 - g, True),  # a negative has the same histogram shape, not the same picture
    (lambda g: np.zeros_like(g), True),  # a cut to black
])
def test_is_scene_cut(change, cut):
    gray = textured(120, 180, seed=3)
    assert is_scene_cut(gray, change(gray)) is cut


def test_black_frames_are_not_cuts_but_black_to_picture_is():
    black = np.full((90, 120), 8, np.uint8)
    assert not is_scene_cut(black, black + 2)
    assert is_scene_cut(black, textured(90, 120, seed=1))


@pytest.mark.parametrize("size", [(128, 192), (256, 400)])  # the second is shrunk to WORK_SIDE for the flow
def test_smoothing_lowers_flicker_without_washing_out_and_keeps_L(size):
    frames = sequence(size=size, jitter=6)
    before, _, _ = measure(frames)
    after, _, outputs = measure(frames, TemporalSmoother())
    assert after["mean_warped_ab_change"] < 0.5 * before["mean_warped_ab_change"]
    assert after["mean_chroma"] == pytest.approx(before["mean_chroma"], rel=0.1)
    for (_, img_bgr), out in zip(frames, outputs):
        assert out.shape == img_bgr.shape and out.dtype == np.uint8
        L_in, L_out = bgr_to_lab(img_bgr)[:, :, 0], bgr_to_lab(out)[:, :, 0]
        assert np.abs(L_out - L_in).max() < 1.0  # only 8-bit rounding: the smoother never touches L
    changed = np.abs(bgr_to_lab(outputs[-1])[:, :, 1:] - bgr_to_lab(frames[-1][1])[:, :, 1:]).mean()
    assert changed > 1  # the colours really moved


def test_smoothing_follows_the_motion_instead_of_smearing():
    """Without jitter there is nothing to smooth. Blending with the UNwarped previous result would
    drag the stripes behind the picture (mean |Δab| 4 to 12 here); following the flow barely changes them."""
    frames = sequence()
    _, _, outputs = measure(frames, TemporalSmoother(strength=0.8))
    for (_, img_bgr), out in zip(frames, outputs):
        assert np.abs(bgr_to_lab(out)[:, :, 1:] - bgr_to_lab(img_bgr)[:, :, 1:]).mean() < 1.0


def test_smoothing_starts_afresh_at_a_cut():
    frames = sequence(n=5, jitter=6, seed=0) + sequence(n=5, jitter=6, seed=1)
    smoother = TemporalSmoother()
    outputs = [smoother(gray, img_bgr) for gray, img_bgr in frames]
    for i in (0, 5):  # the first frame and the first frame after the cut come back as they were
        assert np.array_equal(outputs[i], frames[i][1])
    for i in (1, 4, 6, 9):
        assert not np.array_equal(outputs[i], frames[i][1])


def test_strength_zero_changes_nothing_but_rounding():
    frames = sequence(jitter=6)
    smoother = TemporalSmoother(strength=0)
    for gray, img_bgr in frames:
        assert np.abs(smoother(gray, img_bgr).astype(int) - img_bgr).max() <= 1


def test_wrong_inputs_are_explained():
    gray, img_bgr = sequence(n=1)[0]
    with pytest.raises(ValueError, match="strength"):
        TemporalSmoother(strength=1)
    with pytest.raises(ValueError, match="one size"):
        FlickerMeter().update(gray, img_bgr[:-2])
    meter = FlickerMeter()
    meter.update(gray, img_bgr)
    with pytest.raises(ValueError, match="size changed"):
        meter.update(gray[:-2], img_bgr[:-2])
    assert WORK_SIDE == 320


def test_the_sample_clip_is_what_the_script_makes_and_its_cuts_are_found():
    """Real video: H.264-compressed camera moves, two hard cuts and a fade to black."""
    capture = cv2.VideoCapture(str(INPUT_VIDEO / "sample_clip.mp4"))
    assert capture.isOpened(), "input_video/sample_clip.mp4 is missing: run python -m tools.make_sample_clip"
    grays = []
    while (frame := capture.read())[0]:
        grays.append(cv2.cvtColor(frame[1], cv2.COLOR_BGR2GRAY))
    assert capture.get(cv2.CAP_PROP_FPS) == make_sample_clip.FPS
    made = make_sample_clip.frames()
    assert len(grays) == len(made) and grays[0].shape == made[0].shape
    assert np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(grays, made)]) < 3  # only compression
    cuts = [i for i in range(1, len(grays)) if is_scene_cut(grays[i - 1], grays[i])]
    assert cuts == make_sample_clip.CUT_FRAMES
