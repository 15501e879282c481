"""Dask: seeking to a segment gives the frames a whole decode gives; segments computed on a LocalCluster
are the one-process segments byte for byte, in both modes and smoothed; resume, damage, a killed
worker, a worker that cannot see the model."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers import cluster, video
from helpers.cluster import workers
from helpers.cluster.model_server import ModelServer
from helpers.media import video_check
from helpers.media.decode import SEEK_MARGIN, frame_times, read_frames
from helpers.media.probe import SeekError
from helpers.model.model_files import model_paths
from helpers.paths import INPUT_IMAGES, REPO_ROOT
from tests.videos import decoded, make_video, same_frames, same_segments

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
    from helpers.media import decode

    decoded = []
    real = decode.decoded_frames

    def counting(*args, **kwargs):
        for frame in real(*args, **kwargs):
            decoded.append(frame)
            yield frame

    monkeypatch.setattr(decode, "decoded_frames", counting)
    got = list(read_frames(path, start=180, max_frames=5, times=times))
    assert [f.index for f in got] == list(range(180, 185))
    assert 0 < len(decoded) < 40  # counted (the patch took effect), and far fewer than 180


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


# --------------------------------------------------------------------------- on a cluster
@pytest.fixture(scope="module")
def client():
    c = cluster.start_cluster(2, dashboard=False)
    yield c
    c.close()
    c.cluster.close()


def _segment_names(folder: Path) -> list[str]:
    return [p.name for p in sorted(folder.glob("segment_*.mp4"))]


def _colorize(clip, net, folder, **options):
    return video.colorize_video(clip, net, out=folder.with_suffix(".mp4"), frames_dir=folder, progress=False,
                                **options)


@pytest.fixture
def long_clip(tmp_path):
    # 150 frames at 10 fps: segments of 4 s = 40 frames (5 keyframe intervals of 8 in fast mode)
    return make_video(tmp_path / "clip.mp4", n=150, fps=10, size=(64, 48), audio=15.0, gop=12)


@pytest.mark.parametrize("mode, smooth", [("exact", False), ("fast", False), ("fast", True)])
def test_cluster_segments_are_byte_identical_to_one_process(mode, smooth, long_clip, net, tiny_model, client,
                                                             tmp_path):
    one = _colorize(long_clip, net, tmp_path / "one", mode=mode, keyframe_interval=8, smooth=smooth)
    many = _colorize(long_clip, net, tmp_path / "many", mode=mode, keyframe_interval=8, smooth=smooth,
                     client=client, model_dir=tiny_model)
    assert many.frames.computed == one.frames.computed == 150 and many.frames.seek_fallbacks == 0
    assert many.segments_computed == 4 and _segment_names(tmp_path / "many") == [
        "segment_000001-000040.mp4", "segment_000041-000080.mp4", "segment_000081-000120.mp4",
        "segment_000121-000150.mp4"]
    assert same_segments(tmp_path / "many", tmp_path / "one")
    assert same_frames(many.video, one.video)
    a, b = video.read_manifest(tmp_path / "one"), video.read_manifest(tmp_path / "many")
    assert a.get("frame_count") == b.get("frame_count") == 150
    # fast mode repeats one network pass per segment boundary, no more (and smoothing its context)
    extra = 3 * 3 if smooth else 3  # smoothed: fast mode's context starts a keyframe interval early
    assert one.frames.network_passes <= many.frames.network_passes <= one.frames.network_passes + extra
    assert many.written.frames == 150 and video_check.stream_times(many.video).audio_ends


def test_rerun_sends_only_the_missing_segments(long_clip, net, tiny_model, client, tmp_path):
    folder = tmp_path / "frames"
    _colorize(long_clip, net, folder, mode="fast", keyframe_interval=8)
    shutil.copytree(folder, tmp_path / "want")
    (folder / "segment_000041-000080.mp4").unlink()
    damaged = folder / "segment_000121-000150.mp4"
    damaged.write_bytes(damaged.read_bytes()[:-300])  # cut short, as by a full disk
    report = _colorize(long_clip, net, folder, mode="fast", keyframe_interval=8, client=client, model_dir=tiny_model)
    assert report.frames.new_frames == [*range(41, 81), *range(121, 151)] and report.frames.redone == 30
    assert (report.segments_computed, report.segments_reused, report.frames.reused) == (2, 2, 80)
    assert same_segments(folder, tmp_path / "want")


def test_damage_is_reported_like_one_process_and_not_retried(tmp_path, net, tiny_model, client):
    path = make_video(tmp_path / "clip.mp4", n=150, fps=10, gop=12)
    data = path.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    with pytest.warns(UserWarning, match="Decoding stopped"):
        one = _colorize(tmp_path / "cut.mp4", net, tmp_path / "one")
    with pytest.warns(UserWarning, match="Decoding stopped"):
        many = _colorize(tmp_path / "cut.mp4", net, tmp_path / "many", client=client, model_dir=tiny_model)
    assert one.frames.decode_error and many.frames.decode_error
    assert many.written.frames == one.written.frames and same_segments(tmp_path / "many", tmp_path / "one")
    assert video.read_manifest(tmp_path / "many")["frame_count"] == video.read_manifest(tmp_path / "one")[
        "frame_count"] == one.written.frames
    # a rerun finds the work done, and says again where the video is damaged
    with pytest.warns(UserWarning, match="Decoding stopped"):
        again = _colorize(tmp_path / "cut.mp4", net, tmp_path / "one")
    assert again.segments_computed == 0 and again.written.frames == one.written.frames


def test_a_killed_worker_loses_nothing(long_clip, net, tiny_model, tmp_path):
    """Kill a worker process while it works: its segment runs again elsewhere; the segments are identical."""
    _colorize(long_clip, net, tmp_path / "one")
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
        report = _colorize(long_clip, net, tmp_path / "many", client=c, model_dir=tiny_model)
        killer.join()
        c.cluster.close()
    assert killed, "no worker was busy long enough to be killed"
    assert report.frames.computed == 150
    assert same_segments(tmp_path / "many", tmp_path / "one")


def test_workers_that_cannot_see_the_model_fetch_it_from_the_client(tmp_path, net, tiny_model, monkeypatch):
    """Straight from the client's own server, checked by hash, into the worker's cache: not through the scheduler."""
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tmp_path / "nowhere"))  # the workers' usual place is empty
    monkeypatch.setenv("COLORIZE_CACHE_DIR", str(tmp_path / "worker-cache"))  # what the worker process inherits
    spec = cluster.NetSpec.of(net, model_dir=tiny_model)
    # as if the client's folder were on a disk the workers do not have
    hidden = cluster.NetSpec(spec.variant, str(tmp_path / "only-on-the-client"), spec.digest, spec.sizes,
                             spec.backend, spec.precision)
    expected, temperature = workers._probe_colours(net), helpers.get_temperature(net)
    paths = model_paths("v2", tiny_model)
    with cluster.start_cluster(1, dashboard=False) as c:
        assert not any(c.run(workers._sees_model, hidden).values())
        with ModelServer(paths.files, "127.0.0.1") as files:
            tampered = (replace(files[0], hash="sha256:" + "0" * 64), *files[1:])
            (verdict,) = c.run(workers._prove, hidden, expected, temperature, tampered).values()
            assert verdict.startswith("cannot fetch the model from the client") and "hash" in verdict
            (verdict,) = c.run(workers._prove, hidden, expected, temperature, files).values()
            assert verdict == ""  # fetched, loaded, and the client's colours
            # what the scheduler keeps and sends to each worker: names, sizes, hashes and addresses, no file
            assert len(pickle.dumps(cluster.ModelCheck(hidden, expected, temperature, files))) < 10_000
        assert all(c.run(workers._sees_model, hidden).values())  # kept for the next run, the server gone
        fetched = tmp_path / "worker-cache" / "models" / spec.digest
        assert {p.name for p in paths.files} <= {p.name for p in fetched.iterdir()}  # (OpenCV 5 adds its ONNX)
        assert (fetched / paths.weights.name).read_bytes() == paths.weights.read_bytes()
        c.cluster.close()


def test_a_worker_with_another_model_is_refused(net, make_tiny_model, client):
    # the workers are told to load another folder's model than the one net came from
    with pytest.raises(helpers.ModelLoadError, match="other colours"):
        with cluster.prepare_workers(client, net, model_dir=make_tiny_model(seed=5)):
            pass


def test_sample_aspect_and_time_base_survive(tmp_path, net, tiny_model, client):
    path = make_video(tmp_path / "dvd.mkv", n=50, fps=25, sample_aspect=Fraction(16, 15), gop=10)
    report = _colorize(path, net, tmp_path / "many", client=client, model_dir=tiny_model)
    assert video.probe_video(report.video).sample_aspect == Fraction(16, 15) and report.written.frames == 50
    assert video_check.stream_times(report.video).frame_times == pytest.approx([t for t, _ in decoded(path)],
                                                                                abs=1e-3)


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
    assert re.search(r"5 computed \(150 frames", many.stdout), many.stdout  # K = 32: 3.2 s segments
    assert same_segments(tmp_path / "many", tmp_path / "one")


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
    assert "Dask: 2 worker(s)" in result.stdout and "1 computed (20 frames" in result.stdout


def test_cli_says_when_the_scheduler_cannot_be_reached(long_clip, tiny_model, tmp_path):
    result = _run("video", long_clip, "--backend", "opencv", "--scheduler", "tcp://127.0.0.1:9", "--out",
                  tmp_path / "o.mp4", env={"COLORIZE_MODEL_DIR": str(tiny_model)})
    assert result.returncode == 1
    assert "Could not reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_a_local_cluster_listens_on_loopback_only(client):
    """--workers: the scheduler, the nannies, the workers and the dashboard, all on 127.0.0.1."""
    import psutil

    processes = [psutil.Process(), *psutil.Process().children(recursive=True)]
    listening = [c.laddr for p in processes for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    workers = client.scheduler_info()["workers"]
    assert len(listening) >= 1 + 2 * len(workers)  # the scheduler, and each worker and its nanny at least
    assert {address.ip for address in listening} == {"127.0.0.1"}
