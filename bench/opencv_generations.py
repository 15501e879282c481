"""Benchmark: the network on OpenCV 5 (the ONNX file) beside OpenCV 4 (the Caffe files), one pass each.

OpenCV 4 and 5 cannot live in one Python, so each runs in a worker process of its own virtual
environment: this Python and OTHER_PYTHON (one of them with OpenCV 4, the other with 5; .ci/run's
OpenCV-4 lane is one: build/lanes/opencv4/bin/python). The OpenCV-4 environment also runs the ONNX
file, which tells whether a difference comes from the file format or from OpenCV 5's new engine,
and OpenCV 5 runs it once more with Winograd's 3x3 convolutions switched off.
Each worker loads the network once (``helpers.load_model(backend="opencv")``), then times one
224 x 224 pass whenever asked. The rounds are interleaved (each round asks every worker once, in a
rotating order) and each ratio is the median over rounds of the per-round ratio, so drift on a
shared machine cancels out. The stand-in model's speed is the real model's (same architecture).

Run from the repository root::

    python -m bench.opencv_generations OTHER_PYTHON [--rounds N] [--size 224]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import bench_model_dir
from helpers.paths import REPO_ROOT


def worker(model_dir: Path, fmt: str, size: int) -> None:
    """Load the network in ``fmt`` ("caffe", "onnx", "onnx, no Winograd"), say so, then time one pass per
    line of stdin."""
    import cv2
    import numpy as np

    import helpers
    from helpers.backends.opencv import read_onnx_network
    from helpers.model.model_files import model_paths

    paths = model_paths(model_dir=model_dir)
    helpers.onnx_file_of(paths, log=None)  # written once, before anything is timed
    start = time.perf_counter()
    net = read_onnx_network(paths, log=None) if fmt.startswith("onnx") else helpers.load_model(model_dir=model_dir)
    loaded = time.perf_counter() - start
    if fmt.endswith("no Winograd"):
        net.net.enableWinograd(False)  # direct 3x3 convolutions instead of Winograd's
    blob = np.random.default_rng(0).uniform(-50, 50, (1, 1, size, size)).astype(np.float32)
    net.setInput(blob)
    net.forward()  # OpenCV sets the network up on the first pass
    print(json.dumps({"opencv": cv2.__version__, "threads": cv2.getNumThreads(), "load_s": loaded}), flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        net.setInput(blob)
        net.forward()
        print(json.dumps({"ms": (time.perf_counter() - start) * 1000}), flush=True)


class Worker:
    """A worker process: ``python -m bench.opencv_generations --worker ...`` under ``python``."""

    def __init__(self, python: str, fmt: str, model_dir: Path, size: int) -> None:
        self.process = subprocess.Popen(
            [python, "-m", "bench.opencv_generations", "--worker", fmt, "--model-dir", str(model_dir),
             "--size", str(size)], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = json.loads(self.process.stdout.readline())
        self.label = f"OpenCV {self.info['opencv']}, {fmt}"
        self.times: list[float] = []

    def one_pass(self) -> float:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        ms = json.loads(self.process.stdout.readline())["ms"]
        self.times.append(ms)
        return ms

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other_python", nargs="?", help="a Python with the other OpenCV generation")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--worker", choices=["caffe", "onnx", "onnx, no Winograd"], help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.model_dir, args.worker, args.size)
        return
    if not args.other_python:
        parser.error("name the Python of the other OpenCV generation (e.g. build/lanes/opencv4/bin/python)")
    from bench.photo_speed import machine

    model_dir = bench_model_dir()
    print("Machine:", machine())
    majors = {}
    for python in (sys.executable, args.other_python):
        version = subprocess.run([python, "-c", "import cv2; print(cv2.__version__)"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        majors[int(version.split(".")[0])] = python
    if sorted(majors) != [4, 5]:
        sys.exit(f"need one Python with OpenCV 4 and one with OpenCV 5, got OpenCV {sorted(majors)}")
    workers = [Worker(majors[4], "caffe", model_dir, args.size), Worker(majors[5], "onnx", model_dir, args.size),
               Worker(majors[4], "onnx", model_dir, args.size),
               Worker(majors[5], "onnx, no Winograd", model_dir, args.size)]
    ratios: dict[str, list[float]] = {w.label: [] for w in workers}
    for round_ in range(args.rounds):
        order = workers[round_ % len(workers):] + workers[:round_ % len(workers)]
        times = {w.label: w.one_pass() for w in order}
        for label in ratios:
            ratios[label].append(times[label] / times[workers[0].label])
    for w in workers:
        w.close()
    print(f"\nOne {args.size} x {args.size} pass, {args.rounds} interleaved rounds, "
          f"full-size model from {model_dir}:\n")
    print("| OpenCV, file | threads | load (s) | median ms a pass | time / OpenCV 4 Caffe's (median) |")
    print("|---|---|---|---|---|")
    for w in workers:
        print(f"| {w.label} | {w.info['threads']} | {w.info['load_s']:.2f} | {statistics.median(w.times):.0f} | "
              f"{statistics.median(ratios[w.label]):.2f} |")
    print(f"\nWriting the ONNX file from the Caffe files (once per model, here): {_write_time(model_dir):.1f} s")


def _write_time(model_dir: Path) -> float:
    """Seconds ``helpers.onnx_file_of`` takes to write the ONNX file, in a fresh folder of links to the files."""
    import helpers
    from helpers.model.model_files import model_paths

    paths = model_paths(model_dir=model_dir)
    with tempfile.TemporaryDirectory() as folder:
        for path in paths.files:
            os.link(path, Path(folder) / path.name)
        start = time.perf_counter()
        helpers.onnx_file_of(model_paths(model_dir=Path(folder)), log=None)
        return time.perf_counter() - start


if __name__ == "__main__":
    main()
