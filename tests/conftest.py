"""Shared fixtures: tiny and oracle Caffe networks, the full-size stand-in, sample images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import helpers
from helpers.model.model_files import opencv_reads_caffe
from helpers.paths import MODEL_DIR, REPO_ROOT
from tools.standin_model import make_standin_model_dir, tiny_model_dir

STANDIN_DIR = REPO_ROOT / "build" / "standin-model"
"""The full-size stand-in: the prototxt and cluster centres shipped in model/, generated weights."""


def needs_opencv_4(test):
    """Run ``test`` only where OpenCV reads Caffe files (OpenCV 4); it is marked ``opencv4``, which
    .ci/run's OpenCV-4 lane selects, so it runs in CI whichever OpenCV the main lane has."""
    reason = "needs OpenCV 4's Caffe reader (OpenCV 5 has none): .ci/run's OpenCV-4 lane runs it"
    return pytest.mark.opencv4(pytest.mark.skipif(not opencv_reads_caffe(), reason=reason)(test))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """``--backend auto`` remembers its choice in a cache folder: one of the test session's own
    (also for the command lines and notebook kernels the tests start), never the user's."""
    os.environ["COLORIZE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


def synthetic_bins() -> np.ndarray:
    """313 ab points on a 10-unit grid closest to the origin: a stand-in for pts_in_hull.npy."""
    grid = np.array([(a, b) for a in range(-110, 111, 10) for b in range(-110, 111, 10)], dtype=np.int64)
    order = np.argsort(np.hypot(grid[:, 0], grid[:, 1]), kind="stable")
    return grid[order[:313]]


@pytest.fixture(scope="session")
def bins() -> np.ndarray:
    return synthetic_bins()


@pytest.fixture
def make_tiny_model(tmp_path_factory, bins):
    """Factory: a tiny model folder from (weights, bias)."""

    def make(weights=None, bias=None, seed=0):
        rng = np.random.default_rng(seed)
        if weights is None:
            weights = rng.standard_normal((313, 1, 4, 4)).astype(np.float32) * 0.02
        if bias is None:
            bias = rng.standard_normal(313).astype(np.float32)
        return tiny_model_dir(tmp_path_factory.mktemp("tiny"), bins, weights, bias)

    return make


@pytest.fixture
def tiny_model(make_tiny_model) -> Path:
    """A tiny network with random weights: its output depends on the input."""
    return make_tiny_model()


@pytest.fixture
def net(tiny_model):
    """``tiny_model`` loaded with OpenCV's network (a test module may define its own ``net``)."""
    return helpers.load_model(model_dir=tiny_model)


def one_hot_oracle(make_tiny_model, bins, k: int) -> tuple[Path, np.ndarray]:
    """An oracle whose output is exactly bin k's ab everywhere (logit 40 above the others)."""
    bias = np.zeros(313, np.float32)
    bias[k] = 40.0
    return make_tiny_model(weights=np.zeros((313, 1, 4, 4), np.float32), bias=bias), bins[k].astype(np.float32)


@pytest.fixture(scope="session")
def standin_model() -> Path:
    """The real prototxt (shipped in model/) with generated full-size weights."""
    return make_standin_model_dir(STANDIN_DIR, source=MODEL_DIR)


@pytest.fixture(scope="session")
def notebook_model(standin_model) -> Path:
    """The model the notebooks run with: the full-size stand-in, so nothing is downloaded."""
    return standin_model


def textured(height: int, width: int, seed: int, *, coarse_sigma: float = 30, low: int = 30,
             high: int = 225) -> np.ndarray:
    """A gray picture with fine texture (for optical flow) and large shapes (for the cut detector),
    values ``low .. high``: a stand-in for a photo in the flicker and keyframe tests."""
    import cv2

    rng = np.random.default_rng(seed)
    fine = cv2.GaussianBlur(rng.uniform(0, 1, (height, width)).astype(np.float32), (0, 0), 2)
    coarse = cv2.GaussianBlur(rng.uniform(0, 1, (height, width)).astype(np.float32), (0, 0), coarse_sigma)
    picture = cv2.normalize(fine, None, 0, 1, cv2.NORM_MINMAX) + 2 * cv2.normalize(coarse, None, 0, 1, cv2.NORM_MINMAX)
    return cv2.normalize(picture, None, low, high, cv2.NORM_MINMAX).astype(np.uint8)


def wait_for_jupyter(url: str, process, log_path: Path, what: str, timeout: float = 90) -> None:
    """Poll JupyterLab's status ``url`` until it answers; fail with the end of its log if ``process`` ends or
    ``timeout`` seconds pass."""
    import time
    import urllib.request

    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                pytest.fail(f"{what} did not start JupyterLab:\n" + log_path.read_text()[-3000:])
            time.sleep(0.5)


PREVIEW_FRAMES = 16
"""Frames notebook 03 colourises in the test runs (its parameters cell says None: all)."""
PLAIN_FRAMES = 8
"""Frames notebook 03 colourises by hand in its section 2 in the test runs (the cell says 24)."""


def prepare_notebook(nb) -> None:
    """Papermill-style: set the parameters cell for a short run."""
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = cell.source.replace("MAX_FRAMES = None", f"MAX_FRAMES = {PREVIEW_FRAMES}")
            cell.source = cell.source.replace("PLAIN_FRAMES = 24", f"PLAIN_FRAMES = {PLAIN_FRAMES}")


@pytest.fixture
def gray_image() -> np.ndarray:
    """A 97 x 130 gray gradient with a bright square: odd sizes on purpose."""
    y, x = np.mgrid[0:97, 0:130]
    img = (40 + 150 * x / 129).astype(np.uint8)
    img[20:60, 30:80] = 220
    return img
