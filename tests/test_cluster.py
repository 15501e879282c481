"""Dask: seeking to a range gives the frames a whole decode gives; ranges on a LocalCluster give the
one-process frames byte for byte, in both modes; resume, damage, a killed worker, a worker that
cannot see the model."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers import cluster, video
from helpers.paths import INPUT_IMAGES, REPO_ROOT
from helpers.video_io import SEEK_MARGIN, SeekError, frame_times, read_frames
from tests.videos import make_video

distributed = pytest.importorskip("dask.distributed")


# --------------------------------------------------------------------------- seeking
@pytest.mark.parametrize("suffix, options", [
    (".mp4", {}),
    (".mkv", {}),
    (".ts", {}),
    (".avi", {}),
    (".mp4", {"interlaced": True}),
    (".mkv", {"times": [i / 12 + (0.03 if i % 5 == 0 else 0) for i in range(60)]}),  # variable rate
])
def test_seeking_gives_the_frames_of_a_whole_decode(suffix, options, tmp_path):
    path = make_video(tmp_path / f"clip{suffix}", n=60, gop=8, **options)
    whole = list(read_frames(path))
    times = frame_times(path)
    assert times == [f.pts for f in whole]
    for start in (SEEK_MARGIN + 1, 17, 40, 57):
        got = list(read_frames(path, start=start, max_frames=10, times=times))
        want = whole[start:start + 10]
        assert [(f.index, f.pts) for f in got] == [(f.index, f.pts) for f in want]
        for a, b in zip(got, want):
            assert np.array_equal(a.image, b.image), (suffix, options, start, a.index)


def test_seeking_skips_the_frames_before_the_range(tmp_path, monkeypatch):
    """Seeking must really seek: far fewer frames decoded than from the start."""
    path = make_video(tmp_path / "long.mp4", n=200, gop=10)
    times = frame_times(path)
    from helpers import video_io

    decoded = []
    real = video_io._decoded

    def counting(*args, **kwargs):
        for frame in real(*args, **kwargs):
            decoded.append(frame)
            yield frame

    monkeypatch.setattr(video_io, "_decoded", counting)
    got = list(read_frames(path, start=180, max_frames=5, times=times))
    assert [f.index for f in got] == list(range(180, 185))
    assert len(decoded) < 40


def test_a_wrong_frame_table_is_caught_not_believed(tmp_path):
    path = make_video(tmp_path / "clip.mp4", n=40, gop=8)
    times = frame_times(path)
    shifted = times[:20] + [t + 1 for t in times[20:]]  # as if a frame were missing from the packets
    with pytest.raises(SeekError):
        list(read_frames(path, start=30, max_frames=5, times=shifted))


def test_frame_times_is_none_when_packets_have_no_usable_times(tmp_path):
    assert frame_times(make_video(tmp_path / "ok.mp4", n=10)) is not None
    path = make_video(tmp_path / "cut.mp4", n=40, gop=8)
    data = path.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    table = frame_times(tmp_path / "truncated.mp4")
    assert table is None or len(table) <= 40


# --------------------------------------------------------------------------- ranges
def test_frame_ranges_follow_the_keyframe_grid_and_finish_soonest():
    # fast mode, a 10 s clip, 2 workers: one range each beats 5 ranges (3 rounds) and their extra passes
    assert cluster.frame_ranges(0, float("inf"), 300, 30, 32, workers=2, boundary_cost=8) == [
        range(0, 160), range(160, 2**62)]
    # exact mode (no cost per cut): the shortest ranges that finish as soon, so a killed worker loses little
    exact = cluster.frame_ranges(0, float("inf"), 300, 30, 32, workers=2)
    assert [r.start for r in exact] == list(range(0, 300, 32)) and exact[-1].stop >= 2**62
    # a film on 10 workers: ranges of at most RANGE_SECONDS, whole keyframe intervals
    film = cluster.frame_ranges(0, float("inf"), 135_000, 25, 32, workers=10, boundary_cost=8)
    assert len(film[0]) == 160 and all(r.start % 32 == 0 for r in film)
    assert len(film[0]) <= cluster.RANGE_SECONDS * 25 + 32
    # a finite stop, and a start part way (a resumed run): cut on the same grid
    assert cluster.frame_ranges(100, 200, 3000, 30, 32) == [range(100, 128), range(128, 160), range(160, 192),
                                                            range(192, 200)]


# --------------------------------------------------------------------------- on a cluster
@pytest.fixture(scope="module")
def client():
    c = cluster.start_cluster(2, dashboard=False)
    yield c
    c.close()
    c.cluster.close()


@pytest.fixture
def net(tiny_model):
    return helpers.load_model(model_dir=tiny_model)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("frame_*.png"))}


@pytest.fixture
def long_clip(tmp_path):
    # 150 frames at 10 fps: ranges of 4 s = 40 frames -> rounded to whole K
    return make_video(tmp_path / "clip.mp4", n=150, fps=10, size=(64, 48), audio=15.0, gop=12)


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_cluster_frames_are_byte_identical_to_one_process(mode, long_clip, net, tiny_model, client, tmp_path):
    one = video.colorize_frames(long_clip, net, frames_dir=tmp_path / "one", mode=mode, keyframe_interval=8,
                                progress=False)
    many = video.colorize_frames(long_clip, net, frames_dir=tmp_path / "many", mode=mode, keyframe_interval=8,
                                 progress=False, client=client, model_dir=tiny_model)
    assert many.computed == one.computed == 150 and many.seek_fallbacks == 0
    assert _digests(tmp_path / "many") == _digests(tmp_path / "one")
    a, b = video.read_manifest(tmp_path / "one"), video.read_manifest(tmp_path / "many")
    assert a["pts"] == b["pts"] and a.get("frame_count") == b.get("frame_count") == 150
    # fast mode repeats one network pass per range boundary, no more
    assert one.network_passes <= many.network_passes <= one.network_passes + 5
    out = video.frames_to_video(tmp_path / "many", tmp_path / "many.mp4", progress=False)
    assert out.frames == 150 and out.sound_notes == [] or "sound" not in " ".join(out.sound_notes)


def test_rerun_sends_only_the_missing_ranges(long_clip, net, tiny_model, client, tmp_path):
    folder = tmp_path / "frames"
    full = video.colorize_frames(long_clip, net, frames_dir=folder, mode="fast", keyframe_interval=8,
                                 progress=False)
    want = _digests(folder)
    for number in (3, 100, 101):  # ranges of 40 frames: the first and the third lack frames
        video.frame_path(folder, number).unlink()
    video.frame_path(folder, 110).write_bytes(b"\x89PNG damaged")
    report = video.colorize_frames(long_clip, net, frames_dir=folder, mode="fast", keyframe_interval=8,
                                   progress=False, client=client, model_dir=tiny_model)
    assert report.new_frames == [3, 100, 101, 110] and report.redone == 1
    assert report.reused == 146
    assert _digests(folder) == want
    # two ranges of four were sent (the open-ended last one is sent only when the end is unknown)
    assert 0 < report.network_passes <= full.network_passes * 0.7


def test_damage_is_reported_like_one_process_and_not_retried(tmp_path, net, tiny_model, client):
    path = make_video(tmp_path / "clip.mp4", n=150, fps=10, gop=12)
    data = path.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    with pytest.warns(UserWarning, match="Decoding stopped"):
        one = video.colorize_frames(tmp_path / "cut.mp4", net, frames_dir=tmp_path / "one", progress=False)
    with pytest.warns(UserWarning, match="Decoding stopped"):
        many = video.colorize_frames(tmp_path / "cut.mp4", net, frames_dir=tmp_path / "many", progress=False,
                                     client=client, model_dir=tiny_model)
    assert one.decode_error and many.decode_error
    assert many.done == one.done and _digests(tmp_path / "many") == _digests(tmp_path / "one")
    assert video.read_manifest(tmp_path / "many")["frame_count"] == video.read_manifest(tmp_path / "one")[
        "frame_count"]


def test_a_killed_worker_loses_nothing(long_clip, net, tiny_model, tmp_path):
    """Kill a worker process while it works: its range runs again elsewhere; the frames are complete and identical."""
    one = tmp_path / "one"
    video.colorize_frames(long_clip, net, frames_dir=one, progress=False)
    with cluster.start_cluster(2, dashboard=False) as c:
        killed = []

        def kill_one_busy_worker():
            deadline = time.time() + 60
            while time.time() < deadline and not killed:
                busy = [w for w, tasks in c.processing().items() if tasks]
                if busy:
                    pid = c.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, 9)
                    killed.append(pid)
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one_busy_worker)
        killer.start()
        report = video.colorize_frames(long_clip, net, frames_dir=tmp_path / "many", progress=False, client=c,
                                       model_dir=tiny_model)
        killer.join()
        c.cluster.close()
    assert killed, "no worker was busy long enough to be killed"
    assert report.computed == 150
    assert _digests(tmp_path / "many") == _digests(one)


def test_workers_that_cannot_see_the_model_get_it_from_the_client(tmp_path, net, tiny_model, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tmp_path / "nowhere"))  # the workers' usual place is empty
    spec = cluster.NetSpec.of(net, model_dir=tiny_model)
    # as if the client's folder were on a disk the workers do not have
    hidden = cluster.NetSpec(spec.variant, str(tmp_path / "only-on-the-client"), spec.digest, spec.sizes,
                             spec.backend, spec.precision)
    with cluster.start_cluster(1, dashboard=False) as c:
        assert not any(c.run(cluster._sees_model, hidden).values())
        assert len(cluster.ship_model(c, hidden, source=tiny_model)) == 1
        assert all(c.run(cluster._sees_model, hidden).values())
        (colours,) = c.run(cluster._worker_probe, hidden, helpers.get_temperature(net)).values()
        assert not isinstance(colours, str), colours
        assert np.allclose(colours, cluster._probe_colours(net), atol=cluster.PROBE_TOLERANCE)
        assert cluster.ship_model(c, hidden, source=tiny_model) == []  # once is enough
        c.cluster.close()


def test_a_worker_with_another_model_is_refused(net, make_tiny_model, client):
    # the workers are told to load another folder's model than the one net came from
    with pytest.raises(helpers.ModelLoadError, match="other colours"):
        cluster.prepare_workers(client, net, model_dir=make_tiny_model(seed=5))


def test_sample_aspect_and_time_base_survive(tmp_path, net, tiny_model, client):
    path = make_video(tmp_path / "dvd.mkv", n=50, fps=25, sample_aspect=Fraction(16, 15), gop=10)
    video.colorize_frames(path, net, frames_dir=tmp_path / "many", progress=False, client=client,
                          model_dir=tiny_model)
    manifest = video.read_manifest(tmp_path / "many")
    assert manifest["sample_aspect"] == "16/15" and len(manifest["pts"]) == 50


# --------------------------------------------------------------------------- the command line
def _run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "helpers", *map(str, args)], cwd=REPO_ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_cli_video_with_workers_gives_the_one_process_frames(long_clip, tiny_model, tmp_path):
    env = {"COLORIZE_MODEL_DIR": str(tiny_model)}
    one = _run("video", long_clip, "--backend", "opencv", "--mode", "fast", "--frames-dir", tmp_path / "one", "--out",
               tmp_path / "one.mp4", env=env)
    many = _run("video", long_clip, "--backend", "opencv", "--mode", "fast", "--frames-dir", tmp_path / "many",
                "--out", tmp_path / "many.mp4", "--workers", "2", env=env)
    assert one.returncode == 0 and many.returncode == 0, many.stderr[-2000:]
    assert re.search(r"Dask: 2 worker\(s\); dashboard: http://127\.0\.0\.1:\d+/status", many.stdout)
    assert "150 computed" in many.stdout
    assert _digests(tmp_path / "many") == _digests(tmp_path / "one")


def test_cli_photo_with_workers(tiny_model, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut.jpg", "coffee.jpg"):
        shutil.copy(INPUT_IMAGES / name, folder / name)
    frames = [Image.fromarray(np.full((30, 40), 60 * i, np.uint8)) for i in range(3)]
    frames[0].save(folder / "wave.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    env = {"COLORIZE_MODEL_DIR": str(tiny_model)}
    one = _run("photo", folder, "--backend", "opencv", "--out", tmp_path / "one", env=env)
    many = _run("photo", folder, "--backend", "opencv", "--out", tmp_path / "many", "--workers", "2", env=env)
    assert one.returncode == many.returncode == 1  # the broken file
    assert "broken.png" in many.stderr and "3 image(s) colourised" in many.stdout
    assert "all 3 frames, with their times" in many.stdout
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "many").iterdir()) == [
        "astronaut_color.jpg", "coffee_color.jpg", "wave_color.gif"]
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes(), name


def test_cli_uses_the_cluster_named_by_the_environment(long_clip, tiny_model, client, tmp_path):
    env = {"COLORIZE_MODEL_DIR": str(tiny_model), cluster.SCHEDULER_ENV: client.scheduler.address}
    result = _run("video", long_clip, "--backend", "opencv", "--max-frames", "20", "--frames-dir", tmp_path / "f",
                  "--out", tmp_path / "o.mp4", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Dask: 2 worker(s)" in result.stdout and "20 computed" in result.stdout


def test_cli_says_when_the_scheduler_cannot_be_reached(long_clip, tiny_model, tmp_path):
    result = _run("video", long_clip, "--backend", "opencv", "--scheduler", "tcp://127.0.0.1:9", "--out",
                  tmp_path / "o.mp4", env={"COLORIZE_MODEL_DIR": str(tiny_model)})
    assert result.returncode == 1
    assert "Could not reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o.mp4").exists()
