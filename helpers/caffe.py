"""Read a Caffe network description into plain Python data (needs only NumPy).

The colourisation model comes as Caffe files. The ``.prototxt`` is protobuf *text*: a list
of ``layer { name: ... type: ... bottom: ... top: ... convolution_param { ... } }`` blocks,
each reading the blobs named by ``bottom`` and writing those named by ``top``. This module

* parses that text (``parse_prototxt``) into nested dicts of lists, and
* turns the layers, together with their weights, into a ``Graph``: a list of simple
  operations (convolution, per-channel affine, ReLU, temperature, softmax) that any runtime
  can rebuild, as the faster back ends of ``helpers.backends`` do for ONNX Runtime and
  OpenVINO (the ``--backend`` option of ``python -m helpers``).

The weights are not read here: OpenCV parses the binary ``.caffemodel`` (in
``helpers.model.read_network``) and ``read_graph`` takes them from the caller, so this module
never has to second-guess Caffe's binary format. ``tools/standin_model.py``, which writes
stand-in ``.caffemodel`` files for the tests, sizes their weights with ``parse_prototxt``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

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
    output: str = "class8_ab",
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
        elif kind == "Scale" and name == "conv8_313_rh":
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
