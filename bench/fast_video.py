"""Benchmark: what the default install and default options give, versus the old defaults and the classic method.

Every row colours the SAME 640 x 480 clip (``bench.video_speed.make_clip``: 10 s at 30 fps, a
slow zoom over the sample photos with a cut every 100 frames, a 440 Hz tone) with the
full-size stand-in model (real architecture, generated weights: speed does not depend on the
weight values; which precision ``--backend auto`` accepts does, see below). Each of our rows
is ``python -m helpers video`` in a new process, timed from process start to the finished,
checked MP4 with sound: start-up included, as a user meets it.

Rows: the classic tutorial method (width 500, JPEG frames, MJPG; in this process with a
warmed-up network, so its start-up is NOT counted: that favours it); exact and fast mode
with ``--backend opencv`` (the old default) and the new default (``auto``); fast mode also
with a fixed keyframe every 8 frames (the old default); the default fast mode with an empty
cache (the first run, which checks the back ends) and with the verdict remembered. Then
the start-up alone: loading the network and one pass, OpenCV versus auto with its verdict
remembered. Ratios are between rows of this one run.

With the stand-in, int8 changes the colours by more than the tolerance (random weights), so
auto runs fp32; with the real weights the check decides on your machine.

Run from the repository root:  python -m bench.fast_video            # about 8 minutes on 2 cores
                               python -m bench.fast_video --quick    # a smoke run: 24 frames
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import bench_model_dir
from bench.photo_speed import machine
from bench.video_speed import BENCH_DIR, make_clip, run_classic
from helpers.backends import CACHE_ENV
from helpers.model.fetch import MODEL_DIR_ENV
from helpers.paths import REPO_ROOT

TARGET_FAST_FPS = 25.0
TARGET_EXACT_RATIO = 2.0


def run_cli(name: str, clip: Path, env: dict, *options: str) -> dict:
    """``python -m helpers video CLIP OPTIONS`` in a new process; its wall-clock time and what it printed."""
    frames_dir, out = BENCH_DIR / f"frames_{name}", BENCH_DIR / f"{name}.mp4"
    shutil.rmtree(frames_dir, ignore_errors=True)
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "helpers", "video", str(clip), "--out", str(out), "--frames-dir",
               str(frames_dir), *options]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    frames = int(next(line for line in result.stdout.splitlines() if line.startswith(str(out))).split(": ")[1]
                 .split()[0])
    backend = next(line for line in result.stdout.splitlines() if line.startswith("Model (")).split(")")[0][7:]
    passes = int(re.search(r"(\d+) network passes", result.stdout)[1])
    return {"name": name, "frames": frames, "seconds": seconds, "fps": frames / seconds, "passes": passes,
            "backend": backend, "stdout": result.stdout}


def startup_seconds(env: dict, backend: str, repeats: int = 3) -> float:
    """Process start to the end of the first 224 x 224 pass (imports, model load, first pass); best of ``repeats``."""
    code = ("import numpy as np, helpers\n"
            f"net = helpers.load_model(backend={backend!r})\n"
            "net.setInput(np.zeros((1, 1, 224, 224), np.float32)); net.forward()\n")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env, cwd=REPO_ROOT)
        times.append(time.perf_counter() - start)
    return min(times)


def line(r: dict) -> str:
    return (f"{r['name']:34s} {r['backend']:15s} {r['frames']:5d} frames {r['seconds']:7.1f} s {r['fps']:6.2f} fps "
            f"{r['passes']:5d} passes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300, help="length of the 640 x 480 clip (default 300: 10 s)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: a 24-frame clip")
    args = parser.parse_args()
    frames = 24 if args.quick else args.frames

    model_dir = str(bench_model_dir())
    clip = make_clip(frames)
    print(f"machine: {machine()}")
    print(f"clip: {clip.name}, 640 x 480, {frames} frames; model: {model_dir}")
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        env = {**os.environ, MODEL_DIR_ENV: model_dir, CACHE_ENV: cache}
        # Warm-up, not timed: the OS reads the 129 MB weights and the packages into its file cache.
        run_cli("warmup", make_clip(24), env, "--max-frames", "4", "--backend", "opencv")
        rows = [run_cli("fast_auto_first_run", clip, env, "--mode", "fast")]  # empty cache: checks back ends
        rows.append(run_cli("fast_auto", clip, env, "--mode", "fast"))
        rows.append(run_cli("fast_opencv", clip, env, "--mode", "fast", "--backend", "opencv"))
        rows.append(run_cli("fast_opencv_every_8", clip, env, "--mode", "fast", "--backend", "opencv",
                            "--keyframe-interval", "8"))
        rows.append(run_cli("exact_auto", clip, env))
        rows.append(run_cli("exact_opencv", clip, env, "--backend", "opencv"))
        start_opencv, start_auto = startup_seconds(env, "opencv"), startup_seconds(env, "auto")
    classic = run_classic(frames)
    classic.update(name="classic (500 px wide, JPEG, MJPG)", backend="opencv fp32", passes=frames,
                   fps=frames / classic["seconds"])
    rows.append(classic)

    by = {r["name"]: r for r in rows}
    print(f"\n{'row':34s} {'back end':15s}")
    for r in rows:
        print(line(r))
    check = next(ln for ln in by["fast_auto_first_run"]["stdout"].splitlines() if ln.startswith("Back end"))
    print(f"\nfirst run of auto said: {check}")
    fast, exact = by["fast_auto"]["fps"], by["exact_auto"]["fps"]
    print(f"\nRATIO fast (default) / fast --backend opencv --keyframe-interval 8 (old default): "
          f"{fast / by['fast_opencv_every_8']['fps']:.2f}")
    print(f"RATIO exact (default) / exact --backend opencv (old default): {exact / by['exact_opencv']['fps']:.2f}")
    print(f"RATIO exact (default) / classic method: {exact / classic['fps']:.2f} "
          f"(target >= {TARGET_EXACT_RATIO:g}: {'met' if exact / classic['fps'] >= TARGET_EXACT_RATIO else 'MISSED'})")
    print(f"fast (default, verdict remembered): {fast:.1f} fps end to end "
          f"(target >= {TARGET_FAST_FPS:g} fps: {'met' if fast >= TARGET_FAST_FPS else 'MISSED'}); "
          f"first run (checking back ends): {by['fast_auto_first_run']['fps']:.1f} fps")
    print(f"start-up to the first pass: opencv {start_opencv:.2f} s, auto (remembered) {start_auto:.2f} s: "
          f"{start_auto - start_opencv:+.2f} s (target: within 1 s)")


if __name__ == "__main__":
    main()
