"""The sample photos coloured by this Python's OpenCV at a few temperatures: Caffe files on OpenCV 4, the
ONNX file on OpenCV 5. tests/test_opencv_generations.py runs it under the other generation's Python and
compares; ``python tests/opencv_colours.py MODEL_DIR OUT.npz`` writes the colours to a file."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

import helpers
from helpers.paths import INPUT_IMAGES

TEMPERATURES = (0.2, helpers.DEFAULT_TEMPERATURE, 1.0)


def sample_colours(model_dir: Path) -> dict[str, np.ndarray]:
    """``{"<photo>@<T>": img_bgr}`` for every sample photo and temperature, with ``--backend opencv``."""
    net = helpers.load_model(model_dir=model_dir)
    photos = {path.stem: helpers.read_image(path) for path in sorted(INPUT_IMAGES.glob("*.jpg"))}
    colours = {}
    for temperature in TEMPERATURES:
        for name, colour in zip(photos, helpers.colorize_batch(list(photos.values()), net, temperature=temperature)):
            colours[f"{name}@{temperature:.4f}"] = colour
    return colours


if __name__ == "__main__":
    model_dir, out = map(Path, sys.argv[1:3])
    np.savez(out, opencv=np.array(cv2.__version__), **sample_colours(model_dir))
