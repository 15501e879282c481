"""Benchmarks: ratios and speeds measured in one run (see each module's docstring for how to run it)."""

import os
from pathlib import Path

from helpers.model.fetch import MODEL_DIR_ENV
from helpers.paths import REPO_ROOT
from tools.standin_model import make_standin_model_dir


def bench_model_dir() -> Path:
    """``$COLORIZE_MODEL_DIR`` if set, else the full-size stand-in in build/standin-model (made if missing):
    real architecture, generated weights, so speed is the real model's."""
    folder = os.environ.get(MODEL_DIR_ENV)
    return Path(folder) if folder else make_standin_model_dir(REPO_ROOT / "build" / "standin-model")
