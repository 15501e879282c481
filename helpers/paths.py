"""Folders of the project, anchored on the repository root (never on the working directory).

Notebooks run with ``notebooks/`` as their working directory and the command line runs from
anywhere, so every path is built from this file's location instead.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR_ENV = "COLORIZE_OUTPUT_DIR"
"""Environment variable: the folder to put the colorized_* folders in instead of the repository."""
OUTPUT_ROOT = Path(os.environ.get(OUTPUT_DIR_ENV) or REPO_ROOT)
"""Where the colorized_* folders are: the repository, or $COLORIZE_OUTPUT_DIR (e.g. when the
repository is read-only, or to keep test runs apart from your own results)."""

MODEL_DIR = REPO_ROOT / "model"
NOTEBOOKS = REPO_ROOT / "notebooks"
INPUT_IMAGES = REPO_ROOT / "input_images"
INPUT_VIDEO = REPO_ROOT / "input_video"
COLORIZED_IMAGES = OUTPUT_ROOT / "colorized_images"
COLORIZED_FRAMES = OUTPUT_ROOT / "colorized_frames"
COLORIZED_VIDEOS = OUTPUT_ROOT / "colorized_videos"

CACHE_ENV = "COLORIZE_CACHE_DIR"
"""Environment variable: the cache folder to use instead of your user cache folder."""

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
"""Environment variable: the Dask scheduler (``tcp://host:8786``) to use when none is given (Dask's
own name for it; the command line's ``--scheduler`` and notebook 04)."""


def cache_folder() -> Path:
    """Where the package keeps what it measured or made once (``--backend auto``'s verdicts, an ONNX
    file for a read-only model folder): ``$COLORIZE_CACHE_DIR``, else your user cache folder
    (``~/.cache/colorize-tutorial`` on Linux, as ``pooch.os_cache`` says)."""
    folder = os.environ.get(CACHE_ENV)
    if folder:
        return Path(folder)
    import pooch

    return Path(pooch.os_cache("colorize-tutorial"))
