"""Benchmark: how much does the photo pipeline add to the network's own cost?

Colourises a 1280 x 960 photo with the full-size stand-in model (real architecture, generated
weights: speed does not depend on weight values) and prints ratios measured in this one run:

* pipeline time / bare forward-pass time   (goal <= 1.10: the pipeline adds little)
* per-image time in a batch of 8 / one by one

Run from the repository root:  python -m bench.photo_speed [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import cv2
import numpy as np

import helpers
from helpers.paths import INPUT_IMAGES, REPO_ROOT
from tools.standin_model import make_standin_model_dir


def machine() -> str:
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        names = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")]
        model = names[0] if names else "?"
        wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile")
        flags = " ".join(flag for flag in wanted if f" {flag}" in info)
    except OSError:
        model = platform.processor() or "?"
    return (f"{model}, {os.cpu_count()} cores, flags: {flags or 'none of interest'}; "
            f"OpenCV {cv2.__version__} with {cv2.getNumThreads()} threads; Python {platform.python_version()}")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    model_dir = make_standin_model_dir(REPO_ROOT / "build" / "standin-model")
    net = helpers.load_model(model_dir=model_dir)
    gray = cv2.resize(helpers.read_image(INPUT_IMAGES / "coffee.jpg"), (1280, 960), interpolation=cv2.INTER_CUBIC)
    blob = helpers.network_input(helpers.lightness(gray))[np.newaxis, np.newaxis]

    def forward():
        net.setInput(blob)
        net.forward()

    batch = [gray] * 8
    forward(), helpers.colorize(gray, net), helpers.colorize_batch(batch, net)  # warm up
    t_forward, t_pipeline, t_batch = [], [], []
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both alike
        t_forward.append(timed(forward))
        t_pipeline.append(timed(lambda: helpers.colorize(gray, net)))
    for _ in range(max(2, args.repeats // 3)):
        t_batch.append(timed(lambda: helpers.colorize_batch(batch, net)) / len(batch))

    f, p, b = (statistics.median(t) for t in (t_forward, t_pipeline, t_batch))
    print(f"machine: {machine()}")
    print(f"image 1280x960, network input 224x224, {args.repeats} repeats, medians")
    print(f"bare forward pass            {f * 1000:7.1f} ms")
    print(f"pipeline (read L .. BGR out) {p * 1000:7.1f} ms")
    print(f"batch of 8, per image        {b * 1000:7.1f} ms")
    print(f"RATIO pipeline / forward     {p / f:.3f}   (goal <= 1.10)")
    print(f"RATIO batch-of-8 / one-by-one per image {b / p:.3f}   (< 1 means batching helps)")


if __name__ == "__main__":
    main()
