"""Helpers shared by the colourisation notebooks, the ``python -m helpers`` command line, Dask and the classroom app.

Typical use (the names below are the ones the notebooks teach)::

    import helpers
    helpers.fetch_model()                 # once: downloads the model into model/
    net = helpers.load_model()
    img_bgr = helpers.colorize("input_images/coffee.jpg", net)

The package is in rooms, lowest first. A module imports from its own room and from the rooms
above it in this list, never from a room below it, and never from this ``__init__``
(``tests/test_architecture.py`` checks it)::

    paths.py      the project's folders and the environment variables that move them  (every notebook)
    common/       plumbing: safe files, images and image files, a worker thread  (02)
    lab/          the Lab colour space, the 313 ab bins, the temperature, their pictures  (01)
    media/        video files in and out with PyAV, their sound, motion between frames  (03)
    model/        the network's files: download, Caffe and ONNX read by hand, layer names  (02)
    restoration/  old film and photos repaired: flicker, dust, scratches, grain, frame rate  (05)
    backends/     the runtimes that run the network, and the one loader (load_model)  (02, 04)
    photo/        the colourisation recipe, one image file colourised, before/after  (02)
    cluster/      Dask: workers that get the model and prove it, photos spread over them  (04)
    video/        a video colourised: frames, segments, one pass, flicker, keyframes  (03, 04)
    widgets/      what the notebooks show: wipes, the explorer, the upload box, players  (02-05)
    classroom/    the classroom app: phones send photos, the class watches  (docs/teaching.md)
    cli/          the command line, ``python -m helpers``  (README)

Where a change goes: a new back end is a module in ``backends/``, its build function in
``backends/load.py``'s ``RUNTIMES`` and its packages and precisions in ``backends/available.py``; a
new video filter is a module in ``restoration/`` and a step in ``restoration/steps.py``; a new page
of the app is a handler in ``classroom/handlers.py`` and a route in ``classroom/server.py``; a new
command is a module in ``cli/`` and a line in ``cli/__init__.py``'s ``COMMANDS``.
"""

try:
    import cv2  # noqa: F401 - every module below needs it: a broken install is explained here, once
except ImportError as _error:
    from .common.opencv_install import explain_import_error

    explain_import_error(_error)

from .backends.load import load_model
from .common.images import read_image, to_float_bgr, write_image
from .common.opencv_install import OpenCvInstallError, check_opencv
from .lab.colour_space import bgr_to_lab, lab_to_bgr, lightness
from .lab.temperature import DEFAULT_TEMPERATURE
from .model.fetch import ModelDownloadError, fetch_model
from .model.model_files import (
    ModelLoadError,
    ModelPaths,
    available_variants,
    get_model_files,
    onnx_file_of,
    opencv_reads_caffe,
)
from .model.net import DEFAULT_SIZE, get_temperature, network_input, set_temperature
from .photo import compare
from .photo.colorize import ab_from_scores, colorize, colorize_batch, predict_ab, predict_scores

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
