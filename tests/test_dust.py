"""Dust and dirt: specks added on purpose to single frames (restoration.defects), removed by restoration.dust;
things that are really there (a moving object, the first and last frames) are kept."""

from __future__ import annotations

import cv2
import numpy as np

from helpers.media.motion import OpticalFlow, PairFlows, inverse, small_gray
from helpers.restoration.defects import add_dust
from helpers.restoration.dust import Dusting, is_spike, moved_at, moved_onto, speck_mask
from tests.test_deflicker import psnr, scene


def dusted(frames: list[np.ndarray]) -> list[np.ndarray]:
    out = list(Dusting().run(enumerate(frames)))
    assert [i for i, _ in out] == list(range(len(frames)))  # every frame, once, in order
    return [frame for _, frame in out]


def test_specks_in_one_frame_are_removed_by_more_than_3_db():
    clean = scene(21, n=16)
    dirty = list(add_dust(clean, per_frame=8, seed=4))
    inner = slice(1, -1)  # the first and last frames have no neighbour on one side: kept as they are
    before, after = psnr(dirty[inner], clean[inner]), psnr(dusted(dirty)[inner], clean[inner])
    assert after > before + 3, (before, after)


def test_a_clean_clip_is_left_alone_and_the_ends_are_untouched():
    clean = scene(22, n=10)
    out = dusted(clean)
    assert psnr(out, clean) > 40
    dirty = list(add_dust(clean, seed=1))
    out = dusted(dirty)
    assert np.array_equal(out[0], dirty[0]) and np.array_equal(out[-1], dirty[-1])


def test_a_moving_object_is_not_dust():
    frames = []
    for i, background in enumerate(scene(23, n=12)):
        frame = background.copy()
        cv2.rectangle(frame, (10 + 6 * i, 40), (21 + 6 * i, 51), 250, -1)  # 12 x 12, 6 px a frame
        frames.append(frame)
    out = dusted(frames)
    for i, frame in enumerate(out[1:-1], start=1):
        assert frame[40:52, 10 + 6 * i:22 + 6 * i].mean() > 200  # still there


def test_gray_stays_gray_in_colour_frames():
    clean = [cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in scene(24, n=6)]
    out = dusted(list(add_dust(clean, seed=2)))
    assert all(f.shape == clean[0].shape and np.array_equal(f[..., 0], f[..., 2]) for f in out)


def test_a_speck_needs_both_neighbours_to_agree_and_differ_from_it():
    flat = np.full((40, 40), 120, np.uint8)
    speck = flat.copy()
    speck[10:13, 10:13] = 0
    assert speck_mask(speck, flat, flat)[11, 11]  # darker than both, both agree: dust
    other = flat.copy()
    other[10:13, 10:13] = 0
    assert not speck_mask(speck, flat, other)[11, 11]  # the frame after has it too: a thing, not dust
    big = flat.copy()
    big[5:35, 5:35] = 0
    assert not speck_mask(big, flat, flat).any()  # too large to be a speck


def test_speck_mask_is_the_plain_definition():
    """The fast mask (uint8 distances to the nearer neighbour, areas counted at the found pixels) against the
    definition written out with signed differences and OpenCV's blob statistics, on random frames."""
    rng = np.random.default_rng(5)
    gray, before, after = (rng.integers(0, 256, (60, 80), dtype=np.uint8) for _ in range(3))
    before[20:50, 20:60] = after[20:50, 20:60] = 200  # agreeing neighbours: one blob too large to be dust
    gray[20:50, 20:60] = 0
    g, b, a = (x.astype(np.int16) for x in (gray, before, after))
    spikes = ((((b - g > 30) & (a - g > 30)) | ((g - b > 30) & (g - a > 30))) & (np.abs(b - a) < 15)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(spikes, connectivity=8)
    small = np.r_[False, stats[1:, cv2.CC_STAT_AREA] <= 80]
    expected = cv2.dilate(small[labels].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert np.array_equal(speck_mask(gray, before, after), expected)
    assert expected.any() and not expected[30:40, 30:50].any()  # specks found, the large blob not


def test_a_shared_flow_is_computed_once_then_forgotten():
    a, b = scene(25, n=2)
    flows = PairFlows(users=2)
    first = flows.between(1, a, b)
    assert flows.between(1, np.ascontiguousarray(a[::-1]), b) is first  # the second user gets the first's
    assert flows.between(1, a, b) is not first  # both had it: a third ask computes it again
    assert flows.between(2, a, scene(26, n=1, brightness=0.5)[0][::-1].copy()) is None  # a cut: no flow


def test_the_flow_forward_is_the_flow_back_inverted():
    """A zoom about the centre: the frame after is the frame enlarged by 5 % (its pixel x is at
    c + (x - c) / 1.05 here), so this frame's pixel x is at c + 1.05 (x - c) there; and a pan."""
    h, w = 40, 60
    ys, xs = np.indices((h, w), dtype=np.float32)
    centre = np.array([(w - 1) / 2, (h - 1) / 2], np.float32)
    position = np.dstack([xs, ys])
    back_next = (centre + (position - centre) / 1.05) - position
    inner = (slice(5, -5), slice(5, -5))  # the edges read the flow outside the frame
    truth = (centre + (position - centre) * 1.05) - position
    assert np.abs(inverse(back_next) - truth)[inner].max() < 0.005
    assert np.abs(inverse(back_next, steps=0) - truth)[inner].max() > 0.05  # -flow alone: the steps do the work
    one, two = (small_gray(frame, 64) for frame in scene(41, n=2))  # a pan of 1 px a frame, at full size
    back, forward = PairFlows(side=64).between(1, one, two)
    computed = OpticalFlow().calc(one, two)  # DIS forward
    inside = np.s_[8:-8, 8:-8]
    assert np.abs(forward[inside] - computed[inside]).mean() < 0.1  # the pan is 0.5 px at this size


def test_moved_onto_follows_a_flow_at_a_smaller_size():
    frame = scene(27, n=1)[0]
    h, w = frame.shape
    flow = np.full((h // 2, w // 2, 2), (1.5, -1.0), np.float32)  # 3 pixels right, 2 up at full size
    out = moved_onto(frame, flow)  # out[y, x] = frame[y - 2, x + 3], away from the edges (clamped there)
    assert np.array_equal(out[4:h - 4, 4:w - 4], frame[2:h - 6, 7:w - 1])


def test_the_frame_after_moved_at_some_pixels_is_what_moving_it_whole_gives_there():
    """``moved_at`` inverts the flow only at the pixels asked for: the same as the whole frame moved along
    the whole flow's inverse, to within a level, on a zoom (a flow that varies across the frame)."""
    after = scene(28, n=1)[0]
    h, w = after.shape
    ys, xs = np.indices((h // 2, w // 2), dtype=np.float32)
    centre = np.float32([(w // 2 - 1) / 2, (h // 2 - 1) / 2])
    back = (centre + (np.dstack([xs, ys]) - centre) / 1.03) - np.dstack([xs, ys])  # the frame after: 3 % larger
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.integers(8, w - 8, 500), rng.integers(8, h - 8, 500)]).astype(np.int32)
    whole = moved_onto(after, inverse(back))[points[:, 1], points[:, 0]]
    at = moved_at(after, back, points)
    assert at.shape == (500,) and np.abs(at.astype(int) - whole).max() <= 1
    assert np.abs(at.astype(int) - after[points[:, 1], points[:, 0]]).mean() > 5  # it did move
    assert moved_at(after, back, np.zeros((0, 2), np.int32)).shape == (0,)


def test_the_speck_rule_is_one_for_whole_frames_and_for_some_pixels():
    rng = np.random.default_rng(1)
    gray, before, after = (rng.integers(0, 256, (40, 50), dtype=np.uint8) for _ in range(3))
    whole = is_spike(gray, before, after)
    assert whole.any() and not whole.all()
    picked = np.flatnonzero(rng.random(gray.size) < 0.3)
    assert np.array_equal(is_spike(gray.ravel()[picked], before.ravel()[picked], after.ravel()[picked]),
                          whole.ravel()[picked])


def panning(seed: int, n: int, speed: int) -> list[np.ndarray]:
    """``n`` frames of ``scene``'s texture panning ``speed`` pixels a frame."""
    return scene(seed, n=n * speed)[::speed]


def test_specks_on_a_pan_are_removed_along_the_camera_motion():
    clean = panning(34, n=12, speed=3)
    dirty = list(add_dust(clean, per_frame=8, seed=5))
    dusting = Dusting()
    out = [frame for _, frame in dusting.run(enumerate(dirty))]
    inner = slice(1, -1)
    assert psnr(out[inner], clean[inner]) > psnr(dirty[inner], clean[inner]) + 3
    assert dusting.dense == []  # the camera's motion explained every frame


def test_a_small_object_moving_on_its_own_over_a_pan_is_not_dust():
    """An 8 x 8 square (a blob small enough to be a speck) moving 5 px a frame over a background panning 2 px the
    other way: where it is in this frame it is in neither neighbour moved by the camera, so it looks like dust,
    and only the test for things moving on their own keeps it (the dense flow does not follow it either)."""
    frames = []
    for i, background in enumerate(panning(31, n=12, speed=2)):
        frame = background.copy()
        cv2.rectangle(frame, (10 + 5 * i, 40), (17 + 5 * i, 47), 250, -1)
        frames.append(frame)
    dusting = Dusting()
    out = [frame for _, frame in dusting.run(enumerate(frames))]
    assert dusting.dense == []  # the camera's path, where the test is needed
    for i, frame in enumerate(out[1:-1], start=1):
        assert frame[40:48, 10 + 5 * i:18 + 5 * i].mean() > 200  # still there


def test_the_dense_flow_takes_over_where_the_camera_motion_does_not_explain_the_picture():
    """A large textured patch moving on its own from frame 5 on: those frames (and the one before, whose frame
    after has it) go the dense way, the same in every run and in a segment that starts later, and their dust
    is still removed."""
    clean = scene(32, n=12)
    patch = scene(33, n=1, size=(64, 64))[0]
    for i in range(5, len(clean)):
        clean[i] = clean[i].copy()
        clean[i][16:80, 4 * i - 16:4 * i + 48] = patch
    dirty = list(add_dust(clean, per_frame=8, seed=3))
    runs = [Dusting() for _ in range(2)]
    outs = [[frame for _, frame in dusting.run(enumerate(dirty))] for dusting in runs]
    assert runs[0].dense == runs[1].dense == list(range(4, len(clean) - 1))
    assert all(np.array_equal(a, b) for a, b in zip(*outs))
    later = Dusting()
    segment = [frame for _, frame in later.run(enumerate(dirty[3:], start=3))]
    assert later.dense == runs[0].dense
    assert all(np.array_equal(a, b) for a, b in zip(outs[0][4:-1], segment[1:-1]))  # its inner frames alike
    inner = slice(1, -1)
    assert psnr(outs[0][inner], clean[inner]) > psnr(dirty[inner], clean[inner]) + 3


def test_one_pixel_and_tiny_videos_go_through():
    """Frames far below DIS's smallest size (``motion.MIN_FLOW_SIDE``), one pixel among them: every frame comes
    out, its size kept."""
    for h, w in ((1, 1), (3, 5), (20, 7)):
        frames = [np.full((h, w), 60 + 10 * i, np.uint8) for i in range(5)]
        frames[2][0, 0] = 250
        out = dusted(frames)
        assert [frame.shape for frame in out] == [(h, w)] * 5
