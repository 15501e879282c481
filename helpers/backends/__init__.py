"""Faster CPU back ends for the colourisation network (optional: ``pip install -e ".[fast]"``).

OpenCV's DNN module runs the Caffe model as it is. ONNX Runtime and OpenVINO can run the
SAME network faster: it is rebuilt, layer by layer, from the same three files OpenCV reads
(the prototxt, the caffemodel and ``pts_in_hull.npy``). Three precisions:

* ``"fp32"`` - the same numbers as OpenCV up to float rounding (|Δab| below 0.01 on a model
  whose logits are spread like a trained one's; OpenCV's own Winograd convolutions differ by as much);
* ``"bf16"`` - OpenVINO only, on CPUs with AVX-512 BF16 or AMX: faster, slightly different;
* ``"int8"`` - the big convolutions in 8-bit integers, calibrated on the sample photos:
  fastest, and the colours change a little.

Reduced precision changes the colours, and by how much depends on the weights, so
``load_fast_backend`` measures it on your machine with your model on the sample photos and
keeps fp32 when the change is too large, saying so.

Every back end behaves like an OpenCV net (a ``helpers.model.net.ColorizationNet``), so the rest
of the project does not care which one it has::

    net = load_network(helpers.model.model_paths(), backend="openvino")
    net.setInput(blob)        # (N, 1, S, S) float32: L - 50, S a multiple of 8
    ab = net.forward()        # (N, 2, S/4, S/4) float32
    net.set_temperature(0.2)  # takes effect on the next forward pass, no rebuild

Introduced with the ``--backend`` option of ``python -m helpers``. The modules, in the order
a network goes through them:

* ``available`` - which back ends and precisions this machine has;
* ``load`` - the one loader: ``RUNTIMES``, ``load_network``, ``load_model``, ``load_fast_backend``, ``load_auto``;
* ``auto`` - ``--backend auto``: decides which back end and precision are fastest here, and remembers it;
* ``opencv`` - OpenCV's DNN module: the Caffe files on OpenCV 4, the ONNX file on OpenCV 5;
* ``onnx_backend``, ``openvino_backend`` - the network rebuilt for each runtime, and run;
* ``quantize`` - int8: which convolutions, calibrated on which photos (``Calibration``);
* ``runtime`` - ``Backend``, what every back end but OpenCV 4's ``cv2.dnn.Net`` shares.

The Caffe files are read by ``helpers.model.caffe``, which needs none of the optional packages.

Introduced in notebook 04_faster_video (section 3, faster back ends); notebook 02_photo runs OpenCV's.
"""

from ..model.model_files import read_model_graph
from ..paths import CACHE_ENV, cache_folder
from .auto import DEFAULT_TOLERANCE, backend_label, choice_table, choose_backend, remembered_choice
from .available import (
    BACKENDS,
    INSTALL_HINT,
    PRECISIONS,
    BackendUnavailableError,
    available_backends,
    available_precisions,
)
from .load import (
    RUNTIMES,
    PrecisionFallbackWarning,
    check_accuracy,
    load_auto,
    load_fast_backend,
    load_model,
    load_network,
)
from .onnx_backend import OnnxRuntimeBackend
from .openvino_backend import OpenVinoBackend
from .quantize import Calibration, load_sample_images, network_inputs
from .runtime import Backend

__all__ = [
    "BACKENDS",
    "CACHE_ENV",
    "RUNTIMES",
    "Calibration",
    "DEFAULT_TOLERANCE",
    "INSTALL_HINT",
    "PRECISIONS",
    "Backend",
    "BackendUnavailableError",
    "OnnxRuntimeBackend",
    "OpenVinoBackend",
    "PrecisionFallbackWarning",
    "available_backends",
    "available_precisions",
    "backend_label",
    "cache_folder",
    "choice_table",
    "check_accuracy",
    "choose_backend",
    "load_auto",
    "load_fast_backend",
    "load_model",
    "load_network",
    "load_sample_images",
    "network_inputs",
    "read_model_graph",
    "remembered_choice",
]
