"""Benchmark: video in one pass (decode -> colour -> encode, in segments), against its targets.

All on the same 640 x 480 clip (``bench.video_speed.make_clip``: 30 fps, a slow zoom over the
sample photos with a cut every 100 frames, a 440 Hz tone) and the full-size stand-in model (real
architecture, generated weights: the speed of the real model), run by OpenCV as ``load_model()``
gives it. Every ratio is between numbers measured in this one run, on this machine:

1. exact mode: ``python -m helpers video CLIP`` timed from process start to the checked MP4 with
   sound, and ``colorize_video`` in this process, each in frames per second, divided by the
   bare ``helpers.colorize`` throughput on the same frames decoded beforehand (timed before and
   after, averaged).                                           goal >= 0.9
2. fast mode: its time beyond its network passes (passes x the time of one keyframe pass)
   divided by the time of only decoding and re-encoding the clip (``read_frames`` into
   ``SegmentWriter``, no colour).                              goal <= 2.5
3. disk: the frames folder of the finished exact run / the output video.   goal <= 1.2
4. Dask (``--dask``): bytes the client receives from 2 local workers / the output video.
                                                               goal <= 1.2
5. memory: peak resident memory while ``colorize_video`` runs (exact mode, or
   ``--memory-mode fast``; a child process each) on a long clip / on a short one.  goal <= 1.1

Run from the repository root::

    python -m bench.one_pass                 # 300 frames; memory at 100 and 1000 (about 8 min on 2 cores)
    python -m bench.one_pass --dask          # and the Dask bytes
    python -m bench.one_pass --quick         # 60 frames; memory at 30 and 120: a smoke run

Clips and outputs go to ``build/bench/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import helpers
from bench import bench_model_dir
from bench.photo_speed import machine
from bench.video_speed import BENCH_DIR, make_clip
from helpers import video
from helpers.lab.colour_space import lightness
from helpers.model.fetch import MODEL_DIR_ENV
from helpers.paths import REPO_ROOT
from helpers.photo.colorize import colorize
from helpers.video import segments
from helpers.video.keyframes import network_predictor

GOALS = {"exact": 0.9, "fast": 2.5, "disk": 1.2, "dask": 1.2, "memory": 1.1}


def load_net():
    net = helpers.load_model(model_dir=bench_model_dir())
    colorize(np.zeros((480, 640, 3), np.uint8), net)  # the first pass sets the network up: not timed
    return net


def bare_fps(frames: list[np.ndarray], net) -> float:
    """``helpers.colorize`` on frames already decoded: the network's throughput, all else aside."""
    start = time.perf_counter()
    for image in frames:
        colorize(image, net)
    return len(frames) / (time.perf_counter() - start)


def keyframe_pass_seconds(frames: list[np.ndarray], net, repeats: int = 10) -> float:
    """One keyframe of fast mode: the network on one frame's L (``network_predictor``), nothing else."""
    predict = network_predictor(net)
    L = [lightness(image) for image in frames[:repeats]]
    start = time.perf_counter()
    for one in L:
        predict(one[np.newaxis])
    return (time.perf_counter() - start) / len(L)


def decode_and_encode_seconds(clip: Path, length: int) -> float:
    """Only decoding the clip and encoding it again, in segments as the tool does: no colour."""
    folder = BENCH_DIR / "one_pass_plain"
    shutil.rmtree(folder, ignore_errors=True)
    info = video.probe_video(clip)
    start = time.perf_counter()
    writer = None
    for frame in video.read_frames(clip):
        if writer is None:
            cell = range(frame.index, frame.index + length)
            writer = segments.SegmentWriter(segments.segment_path(folder, cell), time_base=info.time_base,
                                            fps=info.fps)
        writer.add(frame.pts, frame.image)
        if frame.index == cell.stop - 1:
            writer.close()
            writer = None
    if writer is not None:
        writer.close(segments.segment_path(folder, range(cell.start, frame.index + 1)))
    return time.perf_counter() - start


def run_cli(clip: Path, name: str) -> tuple[float, Path]:
    """``python -m helpers video`` in a new process: seconds from its start to its end, and its output."""
    frames_dir, out = BENCH_DIR / f"one_pass_{name}", BENCH_DIR / f"one_pass_{name}.mp4"
    shutil.rmtree(frames_dir, ignore_errors=True)
    env = {**os.environ, MODEL_DIR_ENV: str(bench_model_dir())}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "helpers", "video", str(clip), "--frames-dir", str(frames_dir),
                          "--out", str(out), "--backend", "opencv"], cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(f"python -m helpers video failed: {run.stderr[-2000:]}")
    return seconds, out


def in_process(clip: Path, net, name: str, **options) -> tuple[float, video.VideoReport]:
    frames_dir = BENCH_DIR / f"one_pass_{name}"
    shutil.rmtree(frames_dir, ignore_errors=True)
    start = time.perf_counter()
    report = video.colorize_video(clip, net, out=BENCH_DIR / f"one_pass_{name}.mp4", frames_dir=frames_dir,
                                  progress=False, **options)
    return time.perf_counter() - start, report


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def dask_bytes(clip: Path, net) -> tuple[int, int]:
    """(bytes the client received from 2 local workers, the output's size)."""
    from helpers import cluster
    from helpers.video import on_cluster

    received = []
    real = on_cluster.write_bytes

    def counted(path, data):
        received.append(len(data))
        return real(path, data)

    on_cluster.write_bytes = counted
    try:
        with cluster.start_cluster(2, dashboard=False) as client:
            _, report = in_process(clip, net, "dask", client=client, model_dir=bench_model_dir())
            client.cluster.close()
    finally:
        on_cluster.write_bytes = real
    return sum(received), report.video.stat().st_size


def rss_mib() -> float:
    """This process's resident memory now, in MiB (Linux)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def run_peak(frames: int, mode: str) -> float:
    """Peak resident memory (MiB, sampled every 20 ms) while ``colorize_video`` runs, the model loaded
    before: the process's own peak (``ru_maxrss``) is the model's loading, which hides the run's."""
    clip, net = make_clip(frames), load_net()
    peak, done = [rss_mib()], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_mib())

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        in_process(clip, net, f"memory_{frames}", mode=mode)
    finally:
        done.set()
        sampler.join()
    return peak[0]


def peak_rss_child(frames: int, mode: str = "exact") -> float:
    """``run_peak`` in a child process of its own, so that runs do not share memory."""
    code = f"from bench.one_pass import run_peak; print(run_peak({frames}, {mode!r}))"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                         env={**os.environ, MODEL_DIR_ENV: str(bench_model_dir())})
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    return float(run.stdout.strip().splitlines()[-1])


def verdict(name: str, value: float) -> str:
    goal = GOALS[name]
    met = value >= goal if name == "exact" else value <= goal
    return f"{value:.2f} (goal {'>=' if name == 'exact' else '<='} {goal}: {'met' if met else 'NOT met'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--memory", type=int, nargs=2, default=(100, 1000), metavar=("SHORT", "LONG"))
    parser.add_argument("--memory-mode", choices=["exact", "fast"], default="exact",
                        help="the mode of the memory runs (fast: 1000 frames in minutes on a slow CPU)")
    parser.add_argument("--dask", action="store_true", help="also measure the bytes a Dask client receives")
    parser.add_argument("--quick", action="store_true", help="60 frames, memory at 30 and 120")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.memory = 60, (30, 120)
    print(machine())
    clip = make_clip(args.frames)
    for frames in args.memory:
        make_clip(frames)
    net = load_net()
    frames = [f.image for f in video.read_frames(clip)]

    bare = [bare_fps(frames, net)]
    cli_seconds, cli_out = run_cli(clip, "cli")
    exact_seconds, exact = in_process(clip, net, "exact")
    bare.append(bare_fps(frames, net))
    bare_mean = sum(bare) / 2
    n = len(frames)
    print(f"\n1. exact mode, {n} frames of 640 x 480 (bare colorize: {bare[0]:.2f} and {bare[1]:.2f} fps)")
    print(f"   command line, start to checked MP4 with sound: {cli_seconds:.1f} s, {n / cli_seconds:.2f} fps")
    print(f"   colorize_video in this process:                {exact_seconds:.1f} s, {n / exact_seconds:.2f} fps")
    print(f"   RATIO command line / bare colorize: {verdict('exact', n / cli_seconds / bare_mean)}")
    print(f"   RATIO colorize_video / bare colorize: {n / exact_seconds / bare_mean:.2f}")

    fast_seconds, fast = in_process(clip, net, "fast", mode="fast")
    one_pass = keyframe_pass_seconds(frames, net)
    plain = decode_and_encode_seconds(clip, segments.segment_length(fast.source.fps, 32))
    passes = fast.frames.network_passes
    beyond = fast_seconds - passes * one_pass
    print(f"\n2. fast mode: {fast_seconds:.1f} s ({n / fast_seconds:.1f} fps), {passes} network passes of "
          f"{one_pass * 1000:.0f} ms; decoding and encoding alone: {plain:.2f} s ({n / plain:.0f} fps)")
    print(f"   RATIO time beyond the network passes / decode + encode: {verdict('fast', beyond / plain)}")

    folder, output = folder_bytes(exact.frames.frames_dir), exact.video.stat().st_size
    print(f"\n3. disk: frames folder {folder / 1e6:.2f} MB, output {output / 1e6:.2f} MB "
          f"(PNG frames would take about {n * 0.55:.0f} MB)")
    print(f"   RATIO frames folder / output: {verdict('disk', folder / output)}")
    if not video_same(cli_out, exact.video):
        print("   WARNING: the command line's video and colorize_video's differ")

    if args.dask:
        received, size = dask_bytes(clip, net)
        print(f"\n4. Dask, 2 local workers: the client received {received / 1e6:.2f} MB; the output is "
              f"{size / 1e6:.2f} MB")
        print(f"   RATIO received / output: {verdict('dask', received / size)}")

    short, long = (peak_rss_child(frames, args.memory_mode) for frames in args.memory)
    print(f"\n5. memory, {args.memory_mode} mode, peak RSS while colourising: {short:.0f} MiB at "
          f"{args.memory[0]} frames, {long:.0f} MiB at {args.memory[1]}")
    print(f"   RATIO long / short: {verdict('memory', long / short)}")


def video_same(a: Path, b: Path) -> bool:
    """Two videos show the same frames (the command line and this process make the same segments)."""
    one = [f.image for f in video.read_frames(a)]
    two = [f.image for f in video.read_frames(b)]
    return len(one) == len(two) and all(np.array_equal(x, y) for x, y in zip(one, two))


if __name__ == "__main__":
    main()
