"""The network as an ONNX file, made from the Caffe files: what OpenCV 5 reads.

The authors released the model as Caffe files only, and OpenCV 5 removed its Caffe importer
(``cv2.dnn.readNetFromCaffe``). So this module writes the SAME network, with the same weights,
in ONNX, the open format that OpenCV 5 reads (and ONNX Runtime, OpenVINO, Netron, ...).
``helpers.model.caffe`` reads the prototxt and the weights, and ``onnx_model`` writes one ONNX node
per layer::

    data_l          (N, 1, H, W)          input: L (0..100) minus 50
      bw_conv1_1 ... conv8_313            Conv, Mul + Add (the BatchNorms), Relu, ConvTranspose
    conv8_313       (N, 313, H/4, W/4)    output: the 313 scores of each point
      conv8_313_rh  Mul by inv_temperature  input (1,): 1 / T, the annealed mean's temperature
      class8_313_rh Softmax over the 313 bins
      class8_ab     Conv 1x1, weights (2, 313, 1, 1): the 313 ab cluster centres
    class8_ab       (N, 2, H/4, W/4)      output: the expected a and b

The two steps that the Caffe model leaves to its user (notebook 02, section 3) are in the file:
the cluster centres as the 1x1 convolution ``class8_ab``, and the temperature as an INPUT, so
another ``T`` costs nothing; the scores are a second output, so the explorer can redo the last
steps in NumPy (``helpers.ab_from_scores``).

``onnx_for`` writes the file once, beside the weights (``colorization_release_v2.onnx``), or in
the cache folder where the model's folder is read-only or already holds another file of that
name (never replaced); and again only when the Caffe files change: the file's metadata holds a
digest of the three files it was made from, which ``onnx_metadata`` reads without loading the
129 MB. The file is written under a temporary
name and renamed, so a killed run never leaves half of one. No download, no PyTorch: only the
``onnx`` package, to write it.

Introduced in notebook 02_photo (section 2: one network, two file formats).
"""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..common.files import file_digest, write_bytes
from ..paths import cache_folder
from .caffe import Graph
from .layers import COLOUR, INPUT, INV_TEMPERATURE, SCORES
from .protobuf import WireFormatError, fields

OPSET = 17
"""The ONNX operator set the model is written in (OpenCV 4.10+, OpenCV 5 and ONNX Runtime 1.19+ run it)."""
FORMAT = 1
"""Bumped when ``onnx_model`` writes something else: files of an older format are made again."""
SOURCE_KEY = "colorize.source"
"""Metadata key: the digest of the Caffe files the ONNX file was made from (``source_digest``)."""
_METADATA_FIELD, _KEY_FIELD, _VALUE_FIELD = 14, 1, 2
"""``ModelProto.metadata_props``, and the key and value of a ``StringStringEntryProto`` (onnx.proto)."""


def onnx_model(graph: Graph, *, scores: bool = True, metadata: dict[str, str] | None = None):
    """The network as an ONNX model, node by node.

    Parameters
    ----------
    graph : helpers.model.caffe.Graph
        From ``helpers.model.model_files.read_model_graph``.
    scores : bool
        Also output ``SCORES`` (what OpenCV 5 reads: the explorer needs the scores);
        the faster back ends leave it out.
    metadata : dict, optional
        Written as the model's ``metadata_props``.

    Returns
    -------
    onnx.ModelProto
        Inputs ``data_l`` (N, 1, H, W) and ``inv_temperature`` (1,); outputs ``class8_ab``
        (N, 2, H/4, W/4) and, with ``scores``, ``conv8_313`` (N, 313, H/4, W/4). Sizes are dynamic.
    """
    try:
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError("The package onnx, which writes the network as an ONNX file for OpenCV 5, is not "
                          "installed. Fix: pip install -r requirements.txt") from None

    nodes, initializers = [], []

    def const(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    values = {graph.input: INPUT}
    for op in graph.ops:
        x, out = values[op.source], op.name
        if op.kind in ("conv", "deconv"):
            inputs = [x] + [const(f"{op.name}.{part}", w) for part, w in zip(("weight", "bias"), op.weights)]
            nodes.append(helper.make_node(
                "Conv" if op.kind == "conv" else "ConvTranspose", inputs, [out], name=op.name,
                kernel_shape=list(op.weights[0].shape[2:]), strides=list(op.stride),
                pads=[*op.pad, *op.pad], dilations=list(op.dilation),
            ))
        elif op.kind == "affine":
            scale, shift = (w.reshape(1, -1, 1, 1) for w in op.weights)
            nodes.append(helper.make_node("Mul", [x, const(f"{op.name}.gamma", scale)], [f"{out}.scaled"],
                                          name=f"{op.name}.scale"))
            nodes.append(helper.make_node("Add", [f"{out}.scaled", const(f"{op.name}.beta", shift)], [out],
                                          name=op.name))
        elif op.kind == "relu":
            nodes.append(helper.make_node("Relu", [x], [out], name=op.name))
        elif op.kind == "temperature":
            nodes.append(helper.make_node("Mul", [x, INV_TEMPERATURE], [out], name=op.name))
        elif op.kind == "softmax":
            nodes.append(helper.make_node("Softmax", [x], [out], name=op.name, axis=1))
        values[op.name] = out
    if values[graph.output] != COLOUR:
        nodes.append(helper.make_node("Identity", [values[graph.output]], [COLOUR]))
    outputs = [helper.make_tensor_value_info(COLOUR, TensorProto.FLOAT, ["N", 2, "h", "w"])]
    if scores:
        if values.get(SCORES) != SCORES:
            raise ValueError(f"The network has no layer {SCORES!r} (its 313 scores) to output.")
        outputs.append(helper.make_tensor_value_info(SCORES, TensorProto.FLOAT, ["N", 313, "h", "w"]))
    onnx_graph = helper.make_graph(
        nodes, "colorization",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", 1, "H", "W"]),
         helper.make_tensor_value_info(INV_TEMPERATURE, TensorProto.FLOAT, [1])],
        outputs, initializers,
        doc_string="Colorful Image Colorization (Zhang, Isola, Efros, ECCV 2016), converted from the released Caffe "
                   "files. data_l: L (0..100) minus 50; inv_temperature: 1 / T (2.606 in the paper).",
    )
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8,
                              producer_name="colorize-tutorial helpers")
    helper.set_model_props(model, metadata or {})
    return model


def source_digest(prototxt: Path, weights: Path, points: Path) -> str:
    """Which Caffe files an ONNX file was made from, and by which ``FORMAT``, as one string.

    Examples
    --------
    >>> source_digest(*paths.files)   # doctest: +SKIP
    '1:9f2c...:4be0...:77a1...'
    """
    return ":".join([str(FORMAT)] + [file_digest(path) for path in (prototxt, weights, points)])


def onnx_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, read without loading the rest (its weights).

    Returns an empty dict for a file that is missing, empty, truncated or not ONNX.
    """
    try:
        with open(path, "rb") as f:
            # Not closed here: the views below keep the map alive until they are gone.
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return {}
    metadata = {}
    try:
        for number, wire, entry in fields(memoryview(mapped)):
            if number == _METADATA_FIELD and wire == 2:
                parts = {n: bytes(v).decode("utf-8", "replace") for n, w, v in fields(entry) if w == 2}
                metadata[parts.get(_KEY_FIELD, "")] = parts.get(_VALUE_FIELD, "")
    except WireFormatError:
        return {}
    return metadata


def onnx_path(weights: Path, digest: str) -> tuple[Path, Path]:
    """Where the ONNX file of ``weights`` goes: beside them, or (read-only folder) in the cache folder."""
    beside = weights.with_suffix(".onnx")
    tag = hashlib.blake2b(digest.encode(), digest_size=6).hexdigest()
    cached = cache_folder() / "onnx" / f"{weights.stem}-{tag}.onnx"
    return beside, cached


def onnx_for(prototxt: Path, weights: Path, points: Path, read_graph: Callable[[], Graph],
             log: Callable[[str], None] | None = None) -> Path:
    """The ONNX file of these Caffe files, written first if it is missing or was made from others.

    Parameters
    ----------
    prototxt, weights, points : Path
        The three model files (``helpers.model.ModelPaths.files``).
    read_graph : callable
        Returns the network as a ``Graph`` (``helpers.model.model_files.read_model_graph``); called only
        when the file must be written.
    log : callable, optional
        Told, in one line, that the file is being written (it takes a few seconds).

    Returns
    -------
    Path
        ``<weights>.onnx`` beside the weights, or a file in the cache folder when the weights'
        folder cannot be written or holds a file of that name that this module did not write.
    """
    digest = source_digest(prototxt, weights, points)
    beside, cached = onnx_path(weights, digest)
    found = {path: onnx_metadata(path) for path in (beside, cached)}
    for path, metadata in found.items():
        if metadata.get(SOURCE_KEY) == digest:
            return path
    if log:
        log(f"Writing the network as ONNX (once, for OpenCV 5): {beside.name} ...")
    model = onnx_model(read_graph(), metadata={SOURCE_KEY: digest, "colorize.caffe_files": ", ".join(
        p.name for p in (prototxt, weights, points))})
    data = model.SerializeToString()
    del model  # its weights: 129 MB, as many as the bytes about to be written
    # Beside the weights only where nothing else has that name: an ONNX file of the user's own (or one
    # we cannot read) is never replaced.
    if not beside.exists() or SOURCE_KEY in found[beside]:
        try:
            return write_bytes(beside, data)
        except OSError:  # a read-only model folder (a shared copy): the user's own cache instead
            pass
    return write_bytes(cached, data)
