"""Benchmark: the fast back ends (helpers.backends) versus OpenCV's DNN module.

Runs the full-size stand-in model (real architecture, generated weights: speed does not
depend on weight values) on one 224 x 224 input, batch 1, with every back end and precision
this machine offers, and prints for each its median time and its speed-up over OpenCV,
measured in this one run. The measurements are interleaved (each round runs every variant
once, in a rotating order) and each ratio is the median over rounds of the OpenCV time in
that round divided by the variant's time, so drift on a shared machine cancels out.

The accuracy columns compare with OpenCV (fp32) and with the fp32 build of the same back end
on the sample photos; with the random stand-in weights they say nothing about the real
model (``load_fast_backend`` checks that on your machine with the real weights).

Run from the repository root::

    python -m bench.backend_speed [--repeats N] [--size 224] [--batch 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bench.photo_speed import machine
from helpers import backends
from helpers.model.model_files import model_paths
from helpers.paths import REPO_ROOT
from tools.standin_model import make_standin_model_dir


def _softmax_head_ms(size: int, batch: int, repeats: int = 20) -> float:
    """Time of logits -> softmax(z / T) -> expected ab in NumPy: the alternative to feeding
    1 / T into the graph as a second input."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((batch, 313, size // 4, size // 4), dtype=np.float32)
    centres = rng.standard_normal((2, 313), dtype=np.float32)

    def head() -> np.ndarray:
        z = logits * np.float32(2.606)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        return np.einsum("kc,nchw->nkhw", centres, z, optimize=True) / z.sum(axis=1, keepdims=True)

    head()
    start = time.perf_counter()
    for _ in range(repeats):
        head()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()

    paths = model_paths(model_dir=make_standin_model_dir(REPO_ROOT / "build" / "standin-model"))
    images = backends.load_sample_images()
    variants: dict[str, object] = {}
    build_s: dict[str, float] = {}
    for name in backends.available_backends():
        for precision in backends.available_precisions(name):
            start = time.perf_counter()
            variants[f"{name} {precision}"] = backends.load_network(
                paths, backend=name, precision=precision,
                calibration=backends.Calibration(backends.network_inputs(images, 224)))
            build_s[f"{name} {precision}"] = time.perf_counter() - start

    rng = np.random.default_rng(0)
    blob = (rng.uniform(0, 100, (args.batch, 1, args.size, args.size)) - 50).astype(np.float32)

    def run(net) -> np.ndarray:
        net.setInput(blob)
        return net.forward()

    for net in variants.values():  # warm up: first passes compile and allocate
        run(net)
        run(net)
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(args.repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            run(variants[name])
            times[name].append(time.perf_counter() - start)

    reference = times["opencv fp32"]
    check = backends.network_inputs(images, 224)

    def predict(net) -> np.ndarray:
        net.setInput(check)
        return net.forward()

    ab = {name: predict(net) for name, net in variants.items()}
    print(f"machine: {machine()}")
    print(f"input {args.batch} x 1 x {args.size} x {args.size}, {args.repeats} interleaved rounds, "
          f"full-size stand-in (random weights)")
    print(f"{'back end':<20} {'build s':>8} {'median ms':>10} {'speed-up':>9}   "
          f"{'max|Δab| vs OpenCV':>18} {'mean|Δab| vs own fp32':>21}")
    for name in names:
        ratio = statistics.median(r / t for r, t in zip(reference, times[name]))
        own_fp32 = ab[name.split()[0] + " fp32"]
        print(f"{name:<20} {build_s[name]:8.1f} {statistics.median(times[name]) * 1000:10.1f} {ratio:8.2f}x   "
              f"{np.abs(ab[name] - ab['opencv fp32']).max():18.3f} {np.abs(ab[name] - own_fp32).mean():21.3f}")
    print("(accuracy on random weights says nothing about the real model: load_fast_backend checks that)")
    for name in names:
        if name != "opencv fp32":
            ratio = statistics.median(r / t for r, t in zip(reference, times[name]))
            print(f"RATIO opencv time / {name} time  {ratio:.2f}")
    fastest = min(statistics.median(t) for t in times.values()) * 1000
    head_ms = _softmax_head_ms(args.size, args.batch)
    print(f"NumPy softmax head instead of 1/T as a graph input: {head_ms:.1f} ms "
          f"= {head_ms / fastest:.1%} of the fastest forward pass ({fastest:.0f} ms)")


if __name__ == "__main__":
    main()
