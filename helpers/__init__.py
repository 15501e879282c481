"""Helpers shared by the colourisation notebooks and the ``python -m helpers`` command line.

Typical use::

    import helpers
    helpers.fetch_model()                 # once: downloads the model into model/
    net = helpers.load_model()
    img_bgr = helpers.colorize("input_images/coffee.jpg", net)
"""

try:
    import cv2  # noqa: F401 - every module below needs it: a broken install is explained here, once
except ImportError as _error:
    from .opencv_install import explain_import_error

    explain_import_error(_error)

from . import compare
from .backends import load_model
from .colorize import (
    DEFAULT_SIZE,
    ab_from_scores,
    colorize,
    colorize_batch,
    network_input,
    predict_ab,
    predict_scores,
)
from .fetch import ModelDownloadError, fetch_model
from .images import read_image, to_float_bgr, write_image
from .lab import bgr_to_lab, lab_to_bgr, lightness
from .model import (
    ModelLoadError,
    ModelPaths,
    available_variants,
    get_model_files,
    onnx_file_of,
    opencv_reads_caffe,
)
from .net import get_temperature, set_temperature
from .opencv_install import OpenCvInstallError, check_opencv
from .temperature import DEFAULT_TEMPERATURE

__all__ = [
    "compare",
    "ab_from_scores",
    "DEFAULT_SIZE",
    "DEFAULT_TEMPERATURE",
    "ModelDownloadError",
    "ModelLoadError",
    "bgr_to_lab",
    "ModelPaths",
    "available_variants",
    "check_opencv",
    "colorize",
    "colorize_batch",
    "fetch_model",
    "get_model_files",
    "get_temperature",
    "lab_to_bgr",
    "lightness",
    "load_model",
    "network_input",
    "onnx_file_of",
    "opencv_reads_caffe",
    "OpenCvInstallError",
    "predict_ab",
    "predict_scores",
    "read_image",
    "set_temperature",
    "to_float_bgr",
    "write_image",
]
