"""Benchmark: peak memory (RSS) of each notebook's kernel, and how long its Run All takes, with
the full-size stand-in model (the real architecture, generated weights: the real model's cost).

Binder gives each user 2 GB; the goal is a peak below 1.5 GB per notebook. The times are the
ones docs/teaching.md quotes for planning a lesson; a learner's first Run All also includes
choosing the fastest runtime once (10-20 s, in the first video notebook). Each notebook is
run top to bottom with nbclient; a last cell asks the kernel for its own peak RSS
(``ru_maxrss``, which on Linux counts in KiB). Binder counts every process, so a thread here
also samples the RSS of the kernel and all its child processes together (notebook 03's Dask
workers) every 0.1 s: the peak of that sum is printed too.

Results go to a temporary folder (the learner's colorized_* folders are left alone).

Run from the repository root:  python -m bench.notebook_memory [01 03 ...]
"""

from __future__ import annotations

import os
import platform
import resource  # noqa: F401  (imported here only to fail early on systems without it)
import sys
import tempfile
import threading
import time

import nbformat
import psutil
from nbclient import NotebookClient

from helpers.paths import NOTEBOOKS, REPO_ROOT
from tools.standin_model import make_standin_model_dir

GOAL_GB = 1.5
PEAK_CELL = "import resource; print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def peak_rss_gb(path) -> tuple[float, float, float]:
    """(the kernel's own peak RSS, the peak of the kernel and its children's RSS together, in GB;
    seconds from the first cell to the last)."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            total = 0
            for child in psutil.Process().children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        NotebookClient(nb, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    return int(text.split("PEAK_RSS_KIB")[1].split()[0]) / 1024**2, peak[0] / 1024**3, seconds


def main() -> None:
    model_dir = make_standin_model_dir(REPO_ROOT / "build" / "standin-model")
    os.environ["COLORIZE_MODEL_DIR"] = str(model_dir)  # the kernels inherit it
    print(f"full-size stand-in model: {model_dir}; goal: peak kernel RSS < {GOAL_GB} GB (Binder allows 2 GB)")
    print(f"this machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    wanted = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="notebook-bench-") as outputs:
        os.environ["COLORIZE_OUTPUT_DIR"] = outputs
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            if not wanted or path.name[:2] in wanted:
                report(path)


def report(path) -> None:
    """Run ``path`` and print its line."""
    gb, together, seconds = peak_rss_gb(path)
    verdict = "ok" if gb < GOAL_GB else "OVER THE GOAL"
    print(f"{path.name:28s} Run All {seconds:5.0f} s   peak RSS {gb:5.2f} GB   RATIO to goal {gb / GOAL_GB:.2f}   "
          f"{verdict};   kernel and its child processes together: {together:5.2f} GB (Binder's limit: 2 GB)",
          flush=True)


if __name__ == "__main__":
    main()
