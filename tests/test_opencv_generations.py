"""OpenCV 5 (the ONNX file) and OpenCV 4 (the Caffe files) colour the sample photos alike: within one grey
level, at three temperatures, with the same stand-in weights. Each generation runs in its own Python:
this one, and the one named by OTHER_OPENCV_PYTHON (.ci/run sets it to its OpenCV-4 lane's)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.paths import REPO_ROOT
from tests.opencv_colours import sample_colours

OTHER_ENV = "OTHER_OPENCV_PYTHON"
OTHER = os.environ.get(OTHER_ENV)


@pytest.mark.skipif(not OTHER, reason=f"{OTHER_ENV} names no Python with the other OpenCV generation "
                    "(.ci/run sets it to its OpenCV-4 lane)")
def test_both_opencv_generations_give_the_same_colours(standin_model, tmp_path):
    if not Path(OTHER).is_file():
        pytest.fail(f"{OTHER_ENV}={OTHER} does not exist")
    theirs_file = tmp_path / "theirs.npz"
    other = subprocess.Popen([OTHER, str(REPO_ROOT / "tests" / "opencv_colours.py"), str(standin_model),
                              str(theirs_file)], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    ours = sample_colours(standin_model)  # meanwhile, here
    assert other.wait(timeout=900) == 0, other.stderr.read()[-3000:]
    theirs = np.load(theirs_file)
    generations = {int(cv2.__version__.split(".")[0]), int(str(theirs["opencv"]).split(".")[0])}
    assert generations == {4, 5}, f"expected OpenCV 4 and 5, got {cv2.__version__} and {theirs['opencv']}"
    assert set(ours) == set(theirs.files) - {"opencv"} and len(ours) == 15  # 5 photos x 3 temperatures
    for key, colour in ours.items():
        difference = np.abs(colour.astype(int) - theirs[key])
        assert difference.max() <= 1, f"{key}: {difference.max()} grey levels apart"
