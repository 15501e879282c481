"""The network's files and what it is: download, Caffe and ONNX read by hand, layer names, the network interface.

Introduced in notebook 02_photo. Loading a network to run is ``helpers.backends``' job. The
names notebooks 01 to 05 use are here (``helpers.model.describe_model``...); ``layers``,
``protobuf`` and ``caffe`` need no OpenCV.
"""

from .model_files import (
    ModelLoadError,
    ModelPaths,
    describe_model,
    get_model_files,
    is_standin,
    load_cluster_centres,
    model_paths,
)

__all__ = ["ModelLoadError", "ModelPaths", "describe_model", "get_model_files", "is_standin",
           "load_cluster_centres", "model_paths"]
