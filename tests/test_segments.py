"""Segments: the grid and the plan (pure), segment files (times kept exactly, checked on reading, never
half-written), joining by stream copy, and what colorize_video does with them (resume, damage, a full
disk, frames kept as images on request)."""

from __future__ import annotations

import errno
import math
import shutil
from fractions import Fraction

import av
import numpy as np
import pytest

from helpers import video
from helpers.media import video_check
from helpers.video import VideoError, colorize_video, one_pass, pipeline, segments
from helpers.video.segments import Segment, SegmentWriter, join_segments, plan_segments, read_segment, segment_cells
from tests.videos import make_video, same_frames, same_segments


def pictures(n, seed=0, size=(64, 48)):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size[1], size[0], 3), np.uint8)
    return [np.roll(base, 3 * i, axis=1) for i in range(n)]


def write_segment(path, pts, *, time_base=Fraction(1, 25), fps=25.0, seed=0, b_frames=True, size=(64, 48)):
    with SegmentWriter(path, time_base=time_base, fps=fps, b_frames=b_frames) as writer:
        for p, img in zip(pts, pictures(len(pts), seed, size)):
            writer.add(p, img)
        return writer.close()


# --------------------------------------------------------------------------- the grid and the plan
def test_segment_length_is_about_four_seconds_in_whole_keyframe_intervals():
    assert segments.segment_length(25.0) == 100
    assert segments.segment_length(30000 / 1001) == 120
    assert segments.segment_length(25.0, 32) == 96 and segments.segment_length(10.0, 32) == 32
    assert segments.segment_length(float("nan")) == 100 and segments.segment_length(0.5) == 2


def test_cells_follow_a_fixed_grid_and_are_clipped_to_the_range():
    assert segment_cells(0, 250, 100) == [range(0, 100), range(100, 200), range(200, 250)]
    assert segment_cells(150, 320, 100) == [range(150, 200), range(200, 300), range(300, 320)]
    assert segment_cells(5, 6, 100) == [range(5, 6)]


def test_the_plan_reuses_what_is_there_and_computes_the_rest():
    plan = plan_segments(0, math.inf, 100, [range(0, 100), range(200, 300)], known=350)
    assert plan.reuse == [range(0, 100), range(200, 300)]
    assert plan.compute == [range(100, 200), range(300, 350)] and plan.open_end  # 350 a guess: on to the end
    # the length is known once a run decoded to the end: the short last segment is the video's end
    done = [range(0, 100), range(100, 200), range(200, 230)]
    assert plan_segments(0, math.inf, 100, done, frame_count=230) == segments.Plan(done, [], False)
    # unknown: a short segment is not trusted to be the end (a preview's); the video decides
    plan = plan_segments(0, math.inf, 100, done, known=230)
    assert plan.reuse == done[:2] and plan.compute == [range(200, 230)] and plan.open_end  # 230: a guess
    # everything on the grid is there, the length unknown: look past it, to the video's end
    plan = plan_segments(0, math.inf, 100, done[:2], known=200)
    assert plan.compute == [range(200, 300)] and plan.open_end
    # a preview's segment is not the grid's: computed anew (a segment never depends on what ran before)
    assert plan_segments(0, 120, 100, [range(0, 10)]).compute == [range(0, 100), range(100, 120)]
    # a finite range never looks past its end
    assert plan_segments(150, 320, 100, [range(200, 300)]) == segments.Plan(
        [range(200, 300)], [range(150, 200), range(300, 320)], False)


# --------------------------------------------------------------------------- segment files
@pytest.mark.parametrize("time_base, pts", [
    (Fraction(1, 25), list(range(1000, 1030))),                      # starts late: a segment in the middle
    (Fraction(1001, 30000), list(range(0, 30))),                     # NTSC
    (Fraction(1, 90000), [8_589_000_000 + 3003 * i for i in range(30)]),  # MPEG-TS, near its 33-bit wrap
    (Fraction(1, 1000), [0, 40, 80, 130, 160, 200, 260, 280, 320, 400]),  # variable rate, Matroska's unit
])
def test_a_segment_keeps_its_frames_times_exactly(time_base, pts, tmp_path):
    path = write_segment(tmp_path / f"segment_000001-{len(pts):06d}.mp4", pts, time_base=time_base,
                         b_frames=len(set(np.diff(pts))) == 1)
    found = read_segment(path)
    assert found.cell == range(0, len(pts)) and found.pts == pts and found.time_base == time_base
    with av.open(str(path)) as container:  # it plays on its own, from 0
        assert container.streams.video[0].frames == len(pts)
        assert next(container.decode(video=0)).time == 0


def test_x264_gives_the_same_bytes_for_the_same_frames(tmp_path):
    """What resuming and Dask rely on. With MB-tree on, x264 read memory it never set and now and
    then chose otherwise: run it often, at sizes its vector code handles differently."""
    for size in ((64, 48), (100, 60), (98, 62)):
        one, *others = [write_segment(tmp_path / f"{size[0]}-{n}" / "segment_000001-000040.mp4", list(range(40)),
                                      size=size) for n in range(4)]
        assert all(other.read_bytes() == one.read_bytes() for other in others), size
    other = write_segment(tmp_path / "c" / "segment_000001-000040.mp4", list(range(40)), seed=1)
    assert other.read_bytes() != one.read_bytes()  # (the check can fail)


def test_a_segment_appears_only_complete(tmp_path):
    path = tmp_path / "segment_000001-000010.mp4"
    with pytest.raises(RuntimeError):
        with SegmentWriter(path, time_base=Fraction(1, 25), fps=25) as writer:
            for i, img in enumerate(pictures(5)):
                writer.add(i, img)
            raise RuntimeError("killed half way")
    assert list(tmp_path.iterdir()) == []  # no segment, no temporary file
    with pytest.raises(VideoError, match="increase"):
        with SegmentWriter(path, time_base=Fraction(1, 25), fps=25) as writer:
            writer.add(3, pictures(1)[0])
            writer.add(3, pictures(1)[0])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["cut short", "garbage", "renamed", "empty"])
def test_a_damaged_segment_is_recognised(damage, tmp_path):
    path = write_segment(tmp_path / "segment_000001-000020.mp4", list(range(20)))
    data = path.read_bytes()
    if damage == "cut short":
        path.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "garbage":
        path.write_bytes(data[:2000] + bytes(len(data) - 2000))
    elif damage == "renamed":  # says 21 frames, holds 20
        path = path.rename(tmp_path / "segment_000001-000021.mp4")
    else:
        path.write_bytes(b"")
    with pytest.raises(VideoError, match="segment_0000"):
        read_segment(path)


def test_joined_segments_decode_as_the_segments_do(tmp_path):
    """Stream copy: the joined video shows exactly the segments' pictures (nothing encoded twice), each
    at its own time, with B-frames across the joins."""
    parts = [write_segment(tmp_path / "segment_000001-000030.mp4", list(range(0, 30)), seed=1),
             write_segment(tmp_path / "segment_000031-000050.mp4", list(range(30, 50)), seed=2)]
    found = [read_segment(p) for p in parts]
    joined = join_segments(found, tmp_path / "joined.mkv", fps=25)
    assert joined.frames == 50 and joined.duration == pytest.approx(2.0)
    with av.open(str(tmp_path / "joined.mkv")) as container:
        shown = [(round(f.time, 6), f.to_ndarray()) for f in container.decode(video=0)]
    own = []
    for part in parts:
        with av.open(str(part)) as container:
            own += [f.to_ndarray() for f in container.decode(video=0)]
    assert [t for t, _ in shown] == [round(i / 25, 6) for i in range(50)]
    assert all(np.array_equal(a, b) for (_, a), b in zip(shown, own)) and len(own) == 50


def test_a_gap_between_segments_is_refused_by_name(tmp_path):
    one = read_segment(write_segment(tmp_path / "segment_000001-000010.mp4", list(range(10))))
    three = read_segment(write_segment(tmp_path / "segment_000021-000030.mp4", list(range(20, 30))))
    with pytest.raises(VideoError, match="Frames 11 to 20 are missing"):
        join_segments([one, three], tmp_path / "out.mp4", fps=25)
    assert not (tmp_path / "out.mp4").exists()
    assert isinstance(one, Segment)


# --------------------------------------------------------------------------- colorize_video with segments
@pytest.fixture
def long_clip(tmp_path):
    return make_video(tmp_path / "long.mp4", n=60, fps=10, audio=6.0)  # segments of 40 frames: 1-40, 41-60


def test_no_frame_is_written_as_an_image_and_the_folder_is_about_the_output(long_clip, net, tmp_path):
    report = colorize_video(long_clip, net, out=tmp_path / "out.mp4", frames_dir=tmp_path / "f", progress=False)
    names = sorted(p.name for p in (tmp_path / "f").iterdir())
    assert names == [".lock", "manifest.json", "segment_000001-000040.mp4", "segment_000041-000060.mp4"]
    folder = sum(p.stat().st_size for p in (tmp_path / "f").iterdir())
    picture = sum(p.stat().st_size for p in (tmp_path / "f").glob("segment_*"))
    assert report.segments_bytes == picture and folder <= 1.2 * report.video.stat().st_size
    assert "2 computed (60 frames, 60 network passes), 0 reused (0 frames)" in str(report)


def test_a_damaged_segment_is_computed_again(long_clip, net, tmp_path):
    first = colorize_video(long_clip, net, out=tmp_path / "a.mp4", frames_dir=tmp_path / "f", progress=False)
    shutil.copytree(tmp_path / "f", tmp_path / "want")
    damaged = tmp_path / "f" / "segment_000001-000040.mp4"
    damaged.write_bytes(damaged.read_bytes()[:-500])
    again = colorize_video(long_clip, net, out=tmp_path / "b.mp4", frames_dir=tmp_path / "f", progress=False)
    assert (again.segments_computed, again.segments_reused, again.frames.redone) == (1, 1, 40)
    assert same_segments(tmp_path / "f", tmp_path / "want")
    assert same_frames(first.video, again.video)


def test_a_full_disk_loses_only_the_segment_in_progress(long_clip, net, tmp_path, monkeypatch):
    reference = colorize_video(long_clip, net, out=tmp_path / "ref.mp4", frames_dir=tmp_path / "ref",
                               progress=False)
    real = SegmentWriter.add

    def add_until_full(self, pts, img):
        if self.path.name.startswith("segment_000041") and self.frames == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, pts, img)

    monkeypatch.setattr(SegmentWriter, "add", add_until_full)
    with pytest.raises(OSError, match="No space left"):
        colorize_video(long_clip, net, out=tmp_path / "out.mp4", frames_dir=tmp_path / "f", progress=False)
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [".lock", "manifest.json",
                                                                    "segment_000001-000040.mp4"]
    assert not (tmp_path / "out.mp4").exists()
    monkeypatch.setattr(SegmentWriter, "add", real)  # space was made
    again = colorize_video(long_clip, net, out=tmp_path / "out.mp4", frames_dir=tmp_path / "f", progress=False)
    assert (again.segments_computed, again.segments_reused) == (1, 1)
    assert same_frames(again.video, reference.video)


def test_frames_kept_as_images_are_the_networks_own_and_make_a_video_again(long_clip, net, tmp_path):
    report = colorize_video(long_clip, net, out=tmp_path / "out.mp4", frames_dir=tmp_path / "f", progress=False,
                            keep_frames=True, max_frames=45)
    exact = video.colorize_frames(long_clip, net, frames_dir=tmp_path / "png", progress=False, max_frames=45)
    kept = {p.name: p.read_bytes() for p in sorted((tmp_path / "f").glob("frame_*.png"))}
    assert kept == {p.name: p.read_bytes() for p in sorted(exact.frames_dir.glob("frame_*.png"))}
    assert len(kept) == 45 == report.written.frames
    # a frame deleted for retouching comes back from its segment on the next run (lossy: H.264)
    video.frame_path(tmp_path / "f", 3).unlink()
    colorize_video(long_clip, net, out=tmp_path / "out.mp4", frames_dir=tmp_path / "f", progress=False,
                   keep_frames=True, max_frames=45)
    assert video.frame_path(tmp_path / "f", 3).is_file()
    again = video.frames_to_video(tmp_path / "f", tmp_path / "again.mp4", progress=False)
    assert again.frames == 45
    assert video_check.stream_times(again.path).frame_times == video_check.stream_times(report.video).frame_times


def test_smoothing_in_the_same_pass_lowers_the_flicker_of_the_video(long_clip, net, tmp_path):
    plain = colorize_video(long_clip, net, out=tmp_path / "plain.mp4", frames_dir=tmp_path / "p", progress=False,
                           keep_frames=True)
    smooth = colorize_video(long_clip, net, out=tmp_path / "smooth.mp4", frames_dir=tmp_path / "s", progress=False,
                            smooth=True, keep_frames=True)
    # the frames as smoothed (PNG, kept), then the videos as a viewer gets them (H.264, whose own loss
    # on this tiny clip of noise colours evens out much of the flicker of both)
    _, raw_frames = video.measure_flicker(tmp_path / "p", progress=False)
    _, calm_frames = video.measure_flicker(tmp_path / "s", progress=False)
    assert calm_frames["mean_warped_ab_change"] < 0.8 * raw_frames["mean_warped_ab_change"]
    per_frame, raw = video.measure_flicker(plain.video, source=long_clip, progress=False)
    _, calm = video.measure_flicker(smooth.video, source=long_clip, progress=False)
    assert [f.frame for f in per_frame] == list(range(2, 61))
    assert calm["mean_warped_ab_change"] < raw["mean_warped_ab_change"]
    assert calm["mean_chroma"] == pytest.approx(raw["mean_chroma"], rel=0.15)
    with pytest.raises(ValueError, match="source"):
        video.measure_flicker(plain.video)
    # a preview from frame 21: numbered as the source's frames
    part = colorize_video(long_clip, net, out=tmp_path / "part.mp4", frames_dir=tmp_path / "q", progress=False,
                          start=20, max_frames=10)
    numbers = [f.frame for f in video.measure_flicker(part.video, source=long_clip, first=part.frames.first,
                                                      progress=False)[0]]
    assert numbers == list(range(22, 31))


def test_one_job_over_two_segments_equals_each_segment_alone(long_clip, net, tmp_path):
    """The heart of "identical however the work is cut", smoothing and fast mode included: a segment is the
    same whether computed after its neighbour in one job or alone (its own context only)."""
    for recipe in (one_pass.Recipe(smooth=0.6), one_pass.Recipe(mode="fast", keyframe_interval=8, smooth=0.6)):
        together = one_pass.Job(str(long_clip), 0, None, 40, recipe)
        one_pass.run_job(together, net, tmp_path / "together")
        one_pass.run_job(one_pass.Job(str(long_clip), 40, None, 40, recipe), net, tmp_path / "alone")
        name = "segment_000041-000060.mp4"
        assert (tmp_path / "together" / name).read_bytes() == (tmp_path / "alone" / name).read_bytes()


def test_a_rerun_decodes_only_the_segments_it_did_not_check_itself(long_clip, net, tmp_path, monkeypatch):
    """A film resumes at once: segments this project wrote are recognised by size and time of change
    and only their packets are checked; one changed since (copied over, damaged) is decoded."""
    colorize_video(long_clip, net, out=tmp_path / "a.mp4", frames_dir=tmp_path / "f", progress=False)
    decoded_ones = []
    real = segments.read_segment

    def watched(path, cell=None, *, decode=True):
        if decode:
            decoded_ones.append(path.name)
        return real(path, cell, decode=decode)

    monkeypatch.setattr(pipeline, "read_segment", watched)
    colorize_video(long_clip, net, out=tmp_path / "b.mp4", frames_dir=tmp_path / "f", progress=False)
    assert decoded_ones == []
    other = tmp_path / "f" / "segment_000041-000060.mp4"
    other.write_bytes(other.read_bytes())  # the same bytes, a new time of change: not what was checked
    again = colorize_video(long_clip, net, out=tmp_path / "c.mp4", frames_dir=tmp_path / "f", progress=False)
    assert decoded_ones == ["segment_000041-000060.mp4"] and again.segments_computed == 0
    decoded_ones.clear()
    colorize_video(long_clip, net, out=tmp_path / "d.mp4", frames_dir=tmp_path / "f", progress=False)
    assert decoded_ones == []  # checked once is enough


def test_a_start_past_the_end_says_so_and_records_no_length(long_clip, net, tmp_path):
    with pytest.raises(VideoError, match="ends before frame 101: there is nothing to colourise"):
        colorize_video(long_clip, net, out=tmp_path / "o.mp4", frames_dir=tmp_path / "f", progress=False, start=100)
    assert video.read_manifest(tmp_path / "f").get("frame_count") is None  # 100 would be a lie: it has 60
    full = colorize_video(long_clip, net, out=tmp_path / "o.mp4", frames_dir=tmp_path / "f", progress=False)
    assert full.written.frames == 60
    segment = tmp_path / "f" / "segment_000001-000040.mp4"
    before = segment.read_bytes()
    with pytest.raises(VideoError, match="take the place of a segment"):
        colorize_video(long_clip, net, out=segment, frames_dir=tmp_path / "f", progress=False)
    assert segment.read_bytes() == before


@pytest.mark.parametrize("n", [1, 2])
def test_the_shortest_videos(n, net, tmp_path):
    clip = make_video(tmp_path / "short.mp4", n=n, audio=n / 12)
    report = colorize_video(clip, net, out=tmp_path / "o.mp4", frames_dir=tmp_path / "f", progress=False)
    assert report.written.frames == n
    assert video_check.stream_times(report.video).video_end == pytest.approx(n / 12, abs=1e-3)


def test_a_dropped_frame_in_a_constant_rate_video_keeps_every_time(net, tmp_path):
    """B-frames stay on when the header says constant rate; one missing frame must not upset the times."""
    times = [i / 25 for i in range(100) if i != 37]
    clip = make_video(tmp_path / "dropped.mkv", n=99, fps=25, times=times)
    assert not video.probe_video(clip).variable_rate
    report = colorize_video(clip, net, out=tmp_path / "o.mp4", frames_dir=tmp_path / "f", progress=False)
    assert video_check.stream_times(report.video).frame_times == pytest.approx(times, abs=1e-3)


def test_a_preview_after_a_full_run_loses_nothing(long_clip, net, tmp_path):
    folder = tmp_path / "f"
    colorize_video(long_clip, net, out=tmp_path / "full.mp4", frames_dir=folder, progress=False)
    whole = {p.name: p.read_bytes() for p in folder.glob("segment_*")}
    preview = colorize_video(long_clip, net, out=tmp_path / "preview.mp4", frames_dir=folder, progress=False,
                             max_frames=24)
    assert preview.written.frames == 24 and preview.segments_computed == 1
    after = {p.name: p.read_bytes() for p in folder.glob("segment_*")}
    assert sorted(after) == sorted([*whole, "segment_000001-000024.mp4"])  # the full run's are all kept
    assert all(after[name] == data for name, data in whole.items())
    again = colorize_video(long_clip, net, out=tmp_path / "again.mp4", frames_dir=folder, progress=False)
    assert (again.segments_computed, again.segments_reused) == (0, 2)
    assert {p.name: p.read_bytes() for p in folder.glob("segment_*")} == whole  # the preview's is gone
    assert same_frames(again.video, tmp_path / "full.mp4")

