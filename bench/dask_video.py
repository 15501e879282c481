"""Benchmark: the price of spreading a video over Dask workers, and a projection to larger clusters.

1. End to end (as ``bench.fast_video``: each row ``python -m helpers video`` in a new process,
   timed from process start to the finished, checked MP4 with sound, on the same 640 x 480 clip
   with the full-size stand-in model and the default back end): one process (OpenCV and the
   network on all cores) versus ``--workers 2`` (two processes, one thread each), in exact and
   fast mode. RATIO = fps with workers / fps of one process (goal >= 0.85: distribution costs
   little).

2. A projection, in this process with a 2-worker LocalCluster, from measured parts:
   * compute: seconds per range on a worker (Dask's task stream), and frames per range;
   * per-segment overhead on the workers' side: scheduling a task and sending a segment's H.264
     bytes back (a task returning that many bytes);
   * on the client, which is one process for the whole cluster: the bytes it receives per frame
     and its CPU time per frame while the workers work (all its threads: receiving, writing, the
     manifest, the progress bar), and before and after (probing the video, its frame table,
     proving the model; joining and checking the output), measured in the same run; receiving
     and writing a segment; joining the segments at the end (stream copy, per frame).
   With W workers like these: throughput = min(W x frames / (compute + overhead),
   frames / client time per range), where the client's time per range is the larger of its CPU
   time and the time its network link takes for the range's bytes (ASSUMED: 1 Gb/s, and a disk
   that writes faster than that). Where the second term wins, the client is the bottleneck.
   Printed clearly as a PROJECTION: only 2 workers on 2 cores are measured here.

Run from the repository root:  python -m bench.dask_video            # about 5 minutes on 2 cores
                               python -m bench.dask_video --quick    # a smoke run: 48 frames
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from dask.distributed import get_task_stream

import helpers
from bench import bench_model_dir
from bench.fast_video import run_cli
from bench.photo_speed import machine
from bench.video_speed import BENCH_DIR, make_clip
from helpers import cluster, video
from helpers.backends import CACHE_ENV
from helpers.common.files import write_bytes
from helpers.model.fetch import MODEL_DIR_ENV
from helpers.video import on_cluster
from helpers.video.segments import join_segments, read_segment, segment_files

TARGET_RATIO = 0.85
CLIENT_LINK_BYTES_PER_S = 1e9 / 8
"""The ASSUMED network link of the client (1 Gb/s) in the projection."""


def cpu_seconds() -> float:
    """CPU time of this process so far, all its threads (not the worker processes)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured_parts(clip: Path, mode: str) -> dict:
    """Run the clip on a 2-worker LocalCluster in this process; time its parts (see the module docstring)."""
    net = helpers.load_model(backend="auto")
    client = cluster.start_cluster(2, dashboard=False)
    try:
        folder = BENCH_DIR / f"frames_dask_parts_{mode}"
        shutil.rmtree(folder, ignore_errors=True)
        received = []
        real_write = on_cluster.write_bytes

        def counted(path, data):  # what the workers send: the client writes each segment it receives
            received.append(len(data))
            return real_write(path, data)

        real_segments, during = on_cluster.colorize_segments, []

        def timed(*args, **kwargs):  # the client's CPU while the workers work, apart from its set-up and end
            cpu = cpu_seconds()
            try:
                return real_segments(*args, **kwargs)
            finally:
                during.append(cpu_seconds() - cpu)

        on_cluster.write_bytes, on_cluster.colorize_segments = counted, timed
        cpu = cpu_seconds()
        try:
            with get_task_stream(client) as stream:
                report = video.colorize_video(clip, net, frames_dir=folder, out=BENCH_DIR / f"dask_parts_{mode}.mp4",
                                              mode=mode, client=client, progress=False)
        finally:
            on_cluster.write_bytes, on_cluster.colorize_segments = real_write, real_segments
        n = report.frames.computed
        client_cpu, client_rest = during[0] / n, (cpu_seconds() - cpu - during[0]) / n
        client_bytes = sum(received) / n
        computes = [s["stop"] - s["start"] for t in stream.data for s in t["startstops"] if s["action"] == "compute"]
        ranges = len(computes)
        frames_per_range = report.frames.computed / ranges
        encoded = [path.read_bytes() for path in segment_files(folder).values()]
        range_bytes = sum(map(len, encoded)) / ranges

        def send(size: int) -> bytes:
            return b"x" * size

        client.submit(send, 10, pure=False).result()  # warm
        started = time.perf_counter()
        for _ in range(20):
            client.submit(send, 10, pure=False).result()
        scheduling = (time.perf_counter() - started) / 20
        started = time.perf_counter()
        for _ in range(5):
            client.submit(send, int(range_bytes), pure=False).result()
        transfer = (time.perf_counter() - started) / 5 - scheduling
        scratch = Path(tempfile.mkdtemp(prefix="bench-dask-"))
        started = time.perf_counter()
        write_bytes(scratch / "segment.mp4", encoded[0])
        write = time.perf_counter() - started
        shutil.rmtree(scratch)
        started = time.perf_counter()
        join_segments([read_segment(path, decode=False) for path in sorted(segment_files(folder).values())],
                      BENCH_DIR / f"dask_join_{mode}.mp4", fps=report.source.fps, audio_from=clip)
        reassembly = (time.perf_counter() - started) / report.frames.computed
    finally:
        client.close()
        client.cluster.close()
    return {"ranges": ranges, "frames_per_range": frames_per_range, "compute": statistics.mean(computes),
            "scheduling": scheduling, "transfer": max(transfer, 0.0), "write": write, "range_mb": range_bytes / 1e6,
            "reassembly_per_frame": reassembly, "client_cpu_per_frame": client_cpu,
            "client_rest_per_frame": client_rest, "client_bytes_per_frame": client_bytes}


def projection(parts: dict, workers: int) -> tuple[float, bool]:
    """Frames per second of ``workers`` workers like these, and whether the client limits it."""
    f = parts["frames_per_range"]
    cluster_fps = workers * f / (parts["compute"] + parts["scheduling"] + parts["transfer"])
    client_per_frame = max(parts["client_cpu_per_frame"], parts["client_bytes_per_frame"] / CLIENT_LINK_BYTES_PER_S)
    client_fps = 1 / client_per_frame
    return min(cluster_fps, client_fps), client_fps < cluster_fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300, help="length of the 640 x 480 clip (default 300: 10 s)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: a 48-frame clip")
    parser.add_argument("--modes", nargs="+", choices=["fast", "exact"], default=["fast", "exact"],
                        help="which modes to measure (default: both)")
    args = parser.parse_args()
    frames = 48 if args.quick else args.frames
    model_dir = str(bench_model_dir())
    clip = make_clip(frames)
    print(f"machine: {machine()}")
    print(f"clip: {clip.name}, 640 x 480, {frames} frames; model: {model_dir}")
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        env = {**os.environ, MODEL_DIR_ENV: model_dir, CACHE_ENV: cache}
        os.environ.update({MODEL_DIR_ENV: model_dir, CACHE_ENV: cache})
        run_cli("warmup", make_clip(24), env, "--max-frames", "4")  # the file cache, and auto's choice
        rows = {}
        for mode in args.modes:
            rows[mode, 1] = run_cli(f"dask_{mode}_one_process", clip, env, "--mode", mode)
            rows[mode, 2] = run_cli(f"dask_{mode}_workers_2", clip, env, "--mode", mode, "--workers", "2")
        parts = {mode: measured_parts(clip, mode) for mode in args.modes}

    print(f"\n{'row':30s} {'frames':>6s} {'seconds':>8s} {'fps':>7s} {'passes':>7s}")
    for (mode, workers), r in rows.items():
        label = f"{mode}, " + ("one process" if workers == 1 else f"--workers {workers}")
        print(f"{label:30s} {r['frames']:6d} {r['seconds']:8.1f} {r['fps']:7.2f} {r['passes']:7d}")
    for mode in args.modes:
        ratio = rows[mode, 2]["fps"] / rows[mode, 1]["fps"]
        print(f"RATIO {mode}: --workers 2 / one process = {ratio:.2f} "
              f"(target >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'MISSED'})")

    print("\nMeasured parts (2-worker LocalCluster in this process, one thread per worker):")
    for mode, p in parts.items():
        print(f"  {mode}: {p['ranges']} ranges of {p['frames_per_range']:.0f} frames; compute {p['compute']:.2f} s "
              f"per range; scheduling {p['scheduling'] * 1000:.1f} ms; sending a segment ({p['range_mb']:.2f} MB) "
              f"{p['transfer'] * 1000:.0f} ms; client writes it in {p['write'] * 1000:.0f} ms; joining "
              f"{p['reassembly_per_frame'] * 1000:.1f} ms per frame on the client")
        print(f"  {mode}: the client received {p['client_bytes_per_frame'] / 1e3:.1f} kB and used "
              f"{p['client_cpu_per_frame'] * 1000:.1f} ms of CPU per frame while the workers worked, and "
              f"{p['client_rest_per_frame'] * 1000:.1f} ms per frame before and after (probing, the frame table, "
              "proving the model, joining and checking the output; all its threads)")
    print("\nPROJECTION (not measured; ASSUMED: workers like these, on machines of their own, reading a shared "
          "folder as fast as they decode; the client's link 1 Gb/s and its disk faster than that; its CPU per frame "
          "as measured above, whatever the number of workers):")
    for mode, p in parts.items():
        for workers in (10, 100):
            fps, client_bound = projection(p, workers)
            print(f"  {mode}, {workers:3d} workers: {fps:7.1f} frames/s"
                  + (" (the client is the bottleneck)" if client_bound else ""))
        f = p["frames_per_range"]
        client_fps = projection(p, 10**9)[0]
        limit = client_fps * (p["compute"] + p["scheduling"] + p["transfer"]) / f
        print(f"  {mode}: the client becomes the bottleneck beyond about {limit:.0f} workers "
              f"({client_fps:.0f} frames/s); its work before and after adds "
              f"{p['client_rest_per_frame'] * 135_000 / 60:.0f} min for a 135,000-frame film (joining alone "
              f"{p['reassembly_per_frame'] * 135_000 / 60:.0f} min), whatever the number of workers")

if __name__ == "__main__":
    main()
