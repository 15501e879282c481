"""Read a Caffe network into plain Python data (needs only NumPy).

The colourisation model comes as Caffe files. The ``.prototxt`` is protobuf *text*: a list
of ``layer { name: ... type: ... bottom: ... top: ... convolution_param { ... } }`` blocks,
each reading the blobs named by ``bottom`` and writing those named by ``top``. The
``.caffemodel`` is the same kind of message in protobuf's *binary* form, with the weights.
This module

* parses the text (``parse_prototxt``) into nested dicts of lists;
* reads the weights out of the binary file (``read_caffemodel``), so the network can be
  rebuilt where OpenCV no longer reads Caffe files (OpenCV 5 removed its Caffe importer);
* turns the layers, together with their weights, into a ``Graph``: a list of simple
  operations (convolution, per-channel affine, ReLU, temperature, softmax) that any runtime
  can rebuild: ``helpers.model.onnx_file`` writes it as the ONNX file that OpenCV 5 reads, and the
  faster back ends of ``helpers.backends`` build it for ONNX Runtime and OpenVINO.

``tools/standin_model.py``, which writes stand-in ``.caffemodel`` files for the tests, sizes
their weights with ``parse_prototxt``.

Introduced in notebook 02_photo (section 2: one network, two file formats).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .layers import COLOUR, SCALED_SCORES
from .protobuf import WireFormatError, fields, packed_ints

_TOKEN = re.compile(r"#[^\n]*|\"[^\"]*\"|'[^']*'|[{}]|[^\s{}:]+:?")


class GraphError(ValueError):
    """The layers and weights do not make a network that ``read_graph`` can describe."""


class UnsupportedLayerError(GraphError):
    """A layer of a kind (or with an option) that the colourisation network does not use."""


def parse_prototxt(text: str) -> dict[str, list]:
    """Protobuf text format as nested dicts of lists.

    Every key maps to a list, because protobuf fields may repeat; values are strings
    (quotes removed) or nested dicts.

    Examples
    --------
    >>> parse_prototxt('layer { name: "conv1" convolution_param { pad: 1 } }')
    {'layer': [{'name': ['conv1'], 'convolution_param': [{'pad': ['1']}]}]}
    """
    tokens = [t for t in _TOKEN.findall(text) if not t.startswith("#")]
    pos = 0

    def block() -> dict[str, list]:
        nonlocal pos
        out: dict[str, list] = {}
        while pos < len(tokens) and tokens[pos] != "}":
            key = tokens[pos].rstrip(":")
            pos += 1
            if tokens[pos] == "{":
                pos += 1
                value: object = block()
                pos += 1  # the closing brace
            else:
                value = tokens[pos].strip("\"'")
                pos += 1
            out.setdefault(key, []).append(value)
        return out

    return block()


@dataclass
class Op:
    """One operation of a ``Graph``; values are named by the op that made them.

    Attributes
    ----------
    kind : {"conv", "deconv", "affine", "relu", "temperature", "softmax"}
        ``affine`` is ``x * weights[0] + weights[1]`` per channel (a BatchNorm);
        ``temperature`` multiplies by ``1 / T``, which a runtime feeds in as a second input;
        ``softmax`` runs over the channels.
    name : str
        The Caffe layer's name.
    source : str
        The op whose output this one reads (or the graph's input).
    weights : list of float32 ndarray
        conv: ``(C_out, C_in, k, k)`` and the bias ``(C_out,)`` if any; deconv: Caffe's
        ``(C_in, C_out, k, k)`` and the bias; affine: scale and shift ``(C,)``.
    stride, pad, dilation : (int, int)
        Height and width; conv and deconv only.
    """

    kind: str
    name: str
    source: str
    weights: list[np.ndarray] = field(default_factory=list)
    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)


@dataclass
class Graph:
    """A network as a list of ops in running order, from ``input`` to the op named ``output``."""

    ops: list[Op]
    input: str
    output: str

    def quantizable(self) -> list[Op]:
        """The convolutions worth 8 bits: all but the first (one input channel, cheap) and the
        head (logits and the 1x1 expectation), whose errors the softmax would amplify."""
        head = {op.source for op in self.ops if op.kind in ("temperature", "softmax")} | {self.output}
        return [
            op for op in self.ops
            if op.kind in ("conv", "deconv") and op.source != self.input and op.name not in head
        ]


def _param(layer: dict, block: str, key: str, default: str | float) -> str | float:
    """The first value of ``key`` in the ``block`` of a parsed layer, e.g. ``convolution_param``."""
    return layer.get(block, [{}])[0].get(key, [default])[0]


def _pair(param: dict, key: str, default: int) -> tuple[int, int]:
    """``pad: 1`` or ``pad_h: 1 pad_w: 2`` as (height, width)."""
    values = [int(v) for v in param.get(key, [])]
    if values:
        return (values[0], values[-1])
    return (int(param.get(f"{key}_h", [default])[0]), int(param.get(f"{key}_w", [default])[0]))


def read_graph(
    prototxt: str,
    blobs: Callable[[str, list[str]], Sequence[np.ndarray]],
    output: str = COLOUR,
) -> Graph:
    """Describe the network of ``prototxt`` as a ``Graph`` of plain ops.

    Parameters
    ----------
    prototxt : str
        The text of the ``.prototxt`` file.
    blobs : callable
        ``blobs(layer_name, tops)`` returns the layer's weights as stored by Caffe (an empty
        list for a layer without any), e.g. read from OpenCV's net.
    output : str
        The blob that is the network's result.

    Returns
    -------
    Graph

    Raises
    ------
    UnsupportedLayerError
        A layer the colourisation network does not use (pooling, grouped convolution, ...).
    GraphError
        A layer without its weights, or reading a blob no earlier layer makes; no input
        layer or no ``output``.

    Notes
    -----
    Caffe's BatchNorm stores running sums and a scale factor; they become one ``affine`` op.
    The Scale layer ``conv8_313_rh`` (``1 / T``) becomes a ``temperature`` op, so the
    temperature can change without rebuilding. ReLU runs in place in Caffe (its top is its
    bottom): the graph names values by op instead, so each op reads the last writer.
    """
    current: dict[str, str] = {}  # Caffe blob name -> the op that wrote it last
    ops: list[Op] = []
    first_input = ""
    for layer in parse_prototxt(prototxt).get("layer", []):
        name, kind = layer["name"][0], layer["type"][0]
        bottoms, tops = layer.get("bottom", []), layer.get("top", [])
        if kind == "Input":
            first_input = first_input or tops[0]
            current[tops[0]] = tops[0]
            continue
        if kind == "Silence":
            continue
        if not bottoms or bottoms[0] not in current:
            raise GraphError(f"Layer {name!r} reads {bottoms}, which no earlier layer makes.")
        source = current[bottoms[0]]
        weights = [np.asarray(b, np.float32) for b in blobs(name, tops)]
        if kind in ("Convolution", "Deconvolution", "BatchNorm") and not weights:
            raise GraphError(f"Layer {name!r} ({kind}) has no weights: the prototxt and the weights do not "
                             "belong together.")

        if kind in ("Convolution", "Deconvolution"):
            p = layer.get("convolution_param", [{}])[0]
            if int(_param(layer, "convolution_param", "group", 1)) != 1:
                raise UnsupportedLayerError(f"Layer {name!r} is a grouped convolution.")
            op = Op("conv" if kind == "Convolution" else "deconv", name, source,
                    [weights[0]] + ([weights[1].ravel()] if len(weights) > 1 else []),
                    _pair(p, "stride", 1), _pair(p, "pad", 0), _pair(p, "dilation", 1))
        elif kind == "BatchNorm":
            eps = float(_param(layer, "batch_norm_param", "eps", 1e-5))
            mean, var = weights[0].ravel(), weights[1].ravel()
            factor = weights[2].ravel()[0] if len(weights) > 2 else 1.0
            factor = 0.0 if factor == 0 else 1.0 / factor  # Caffe's moving-average scale factor
            scale = 1.0 / np.sqrt(var * factor + eps)
            op = Op("affine", name, source, [scale, -mean * factor * scale])
        elif kind == "Scale" and name == SCALED_SCORES:
            op = Op("temperature", name, source)
        elif kind == "ReLU":
            if float(_param(layer, "relu_param", "negative_slope", 0)) != 0:
                raise UnsupportedLayerError(f"Layer {name!r} is a leaky ReLU.")
            op = Op("relu", name, source)
        elif kind == "Softmax":
            if int(_param(layer, "softmax_param", "axis", 1)) != 1:
                raise UnsupportedLayerError(f"Layer {name!r} is a softmax over another axis than the channels.")
            op = Op("softmax", name, source)
        else:
            raise UnsupportedLayerError(f"Layer {name!r} is a {kind} layer.")
        ops.append(op)
        current[tops[0]] = op.name
    if not first_input or output not in current:
        raise GraphError(f"There is no input layer or no {output} output: not the colourisation network.")
    return Graph(ops, first_input, current[output])


# --------------------------------------------------------------------------- binary weights
# Field numbers of caffe.proto (see helpers.model.protobuf for the wire format):
_NET_LAYER, _NET_LAYER_V1 = 100, 2             # NetParameter.layer, and .layers of files before 2015
_LAYER_NAME, _LAYER_BLOBS = 1, 7               # LayerParameter
_LAYER_V1_NAME, _LAYER_V1_BLOBS = 4, 6         # V1LayerParameter
_BLOB_LEGACY_DIMS = (1, 2, 3, 4)               # BlobProto num, channels, height, width
_BLOB_DATA, _BLOB_SHAPE, _BLOB_DOUBLE_DATA = 5, 7, 8
_SHAPE_DIM = 1                                 # BlobShape.dim


class CaffeModelError(ValueError):
    """A ``.caffemodel`` that is not a readable Caffe network (truncated, or another kind of file)."""


def _blob(data: memoryview) -> np.ndarray:
    """A ``BlobProto`` as a read-only float32 array of its shape."""
    shape: list[int] = []
    legacy = dict.fromkeys(_BLOB_LEGACY_DIMS, 1)
    chunks: list[np.ndarray] = []
    for number, wire, value in fields(data):
        if number == _BLOB_DATA:
            if wire == 2:     # packed: one run of little-endian float32
                chunks.append(np.frombuffer(value, "<f4"))
            else:             # one float32 per field (wire type 5)
                chunks.append(np.array([value], np.uint32).view("<f4"))
        elif number == _BLOB_DOUBLE_DATA:
            chunks.append(np.frombuffer(value, "<f8") if wire == 2
                          else np.array([value], np.uint64).view("<f8"))
        elif number == _BLOB_SHAPE:
            for dim_number, _, dims in fields(value):
                if dim_number == _SHAPE_DIM:
                    shape += packed_ints(dims)
        elif number in legacy and wire == 0:
            legacy[number] = value
    if len(chunks) == 1:  # the usual case: a view of the file's bytes, copied only if misaligned
        values = chunks[0].astype(np.float32, copy=not chunks[0].flags.aligned)
    else:
        values = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if not shape:
        shape = [legacy[n] for n in _BLOB_LEGACY_DIMS]
    if int(np.prod(shape)) != values.size:
        raise CaffeModelError(f"a blob of shape {tuple(shape)} holds {values.size} values")
    return values.reshape(shape)


def read_caffemodel(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
    """The weights of a binary ``.caffemodel``: each layer's name and its blobs.

    Parameters
    ----------
    path : path
        A ``.caffemodel`` file (a protobuf ``NetParameter``).

    Returns
    -------
    dict of str to list of float32 ndarray
        Layer name -> its blobs as Caffe stores them, e.g. a convolution's
        ``(C_out, C_in, k, k)`` kernel and ``(C_out,)`` bias, a BatchNorm's running mean,
        variance and scale factor. Layers without weights are left out.

    Raises
    ------
    CaffeModelError
        The file is truncated or not a Caffe model.

    Notes
    -----
    Only the fields the network needs are read (``caffe.proto``: ``NetParameter.layer`` = 100,
    ``LayerParameter`` name 1 and blobs 7, ``BlobProto`` data 5 and shape 7); files written
    before Caffe's 2015 format (``layers`` = 2) are read too. The file is read once and the blobs
    are views of its bytes (read-only), so the 129 MB weights cost 129 MB of memory, not twice that.

    Examples
    --------
    >>> weights = read_caffemodel("model/colorization_release_v2.caffemodel")  # doctest: +SKIP
    >>> weights["conv8_313"][0].shape                                           # doctest: +SKIP
    (313, 256, 1, 1)
    """
    data = memoryview(Path(path).read_bytes())
    if not data:
        raise CaffeModelError("the file is empty")
    try:
        return _layers(data)
    except WireFormatError as exc:
        raise CaffeModelError(str(exc)) from None


def _layers(data: memoryview) -> dict[str, list[np.ndarray]]:
    layers: dict[str, list[np.ndarray]] = {}
    for number, wire, value in fields(data):
        if number not in (_NET_LAYER, _NET_LAYER_V1) or wire != 2:
            continue
        name_field, blobs_field = (_LAYER_NAME, _LAYER_BLOBS) if number == _NET_LAYER else (_LAYER_V1_NAME,
                                                                                          _LAYER_V1_BLOBS)
        name, blobs = None, []
        for field_number, field_wire, field_value in fields(value):
            if field_number == name_field and field_wire == 2:
                name = bytes(field_value).decode("utf-8", "replace")
            elif field_number == blobs_field and field_wire == 2:
                blobs.append(_blob(field_value))
        if name is not None and blobs:
            layers[name] = blobs
    if not layers:
        raise CaffeModelError("it holds no layer with weights: not a Caffe model")
    return layers
