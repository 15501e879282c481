"""Benchmark: peak memory (RSS) of each notebook's kernel with the full-size stand-in model.

Binder gives each user 2 GB; the goal is a peak below 1.5 GB per notebook. Each notebook is
run top to bottom with nbclient; a last cell asks the kernel for its own peak RSS
(``ru_maxrss``, which on Linux counts in KiB).

Run from the repository root:  python -m bench.notebook_memory
"""

from __future__ import annotations

import os
import resource  # noqa: F401  (imported here only to fail early on systems without it)

import nbformat
from nbclient import NotebookClient

from helpers.paths import NOTEBOOKS, REPO_ROOT
from tools.standin_model import make_standin_model_dir

GOAL_GB = 1.5
PEAK_CELL = "import resource; print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def peak_rss_gb(path) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    return int(text.split("PEAK_RSS_KIB")[1].split()[0]) / 1024**2


def main() -> None:
    model_dir = make_standin_model_dir(REPO_ROOT / "build" / "standin-model")
    os.environ["COLORIZE_MODEL_DIR"] = str(model_dir)  # the kernels inherit it
    print(f"full-size stand-in model: {model_dir}; goal: peak kernel RSS < {GOAL_GB} GB (Binder allows 2 GB)")
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        gb = peak_rss_gb(path)
        verdict = "ok" if gb < GOAL_GB else "OVER THE GOAL"
        print(f"{path.name:28s} peak RSS {gb:5.2f} GB   RATIO to goal {gb / GOAL_GB:.2f}   {verdict}")


if __name__ == "__main__":
    main()
