"""helpers.model.caffe reads the prototxt into plain ops, and needs nothing but NumPy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers.model.caffe import GraphError, UnsupportedLayerError, parse_prototxt, read_graph
from helpers.paths import MODEL_DIR, REPO_ROOT
from tools.standin_model import PROTOTXT_NAME, encode_caffemodel, random_weights, tiny_prototxt


def test_prototxt_text_becomes_nested_lists():
    text = """name: "net"  # a comment
    layer { name: 'a' top: "x" top: "y" param { pad: 1 } }
    layer { name: "b" }"""
    assert parse_prototxt(text) == {
        "name": ["net"],
        "layer": [{"name": ["a"], "top": ["x", "y"], "param": [{"pad": ["1"]}]}, {"name": ["b"]}],
    }


def blobs_from(layers):
    """A ``blobs`` callable over ``(name, type, blobs)`` triples, as tools/standin_model.py writes them."""
    by_name = {name: blobs for name, _, blobs in layers}
    return lambda name, tops: by_name.get(name, [])


def test_the_real_prototxt_becomes_the_expected_ops():
    prototxt = MODEL_DIR / PROTOTXT_NAME
    layers = random_weights(prototxt)
    graph = read_graph(prototxt.read_text(), blobs_from(layers))
    kinds = [op.kind for op in graph.ops]
    assert graph.input == "data_l" and graph.output == "class8_ab"
    assert (kinds.count("conv"), kinds.count("deconv"), kinds.count("affine"), kinds.count("relu")) == (23, 1, 7, 22)
    assert kinds[-3:] == ["temperature", "softmax", "conv"]
    first = graph.ops[0]  # bw_conv1_1: Caffe names a layer and its output differently
    assert (first.name, first.source, first.pad) == ("bw_conv1_1", "data_l", (1, 1))
    # ReLU runs in place in Caffe; in the graph each op reads the op before it
    assert graph.ops[1].kind == "relu" and graph.ops[1].source == "bw_conv1_1"
    dilated = [op for op in graph.ops if op.dilation != (1, 1)]
    assert dilated and all(op.dilation == op.pad == (2, 2) for op in dilated)
    quantized = {op.name for op in graph.quantizable()}
    assert "bw_conv1_1" not in quantized and "conv8_313" not in quantized and "class8_ab" not in quantized
    assert "conv8_1" in quantized  # the deconvolution


def test_batchnorm_becomes_the_affine_that_caffe_computes():
    # Caffe stores running sums and their scale factor: mean = blobs[0] / factor, var = blobs[1] / factor
    mean, var, factor, eps = np.array([1.0, -2.0]), np.array([4.0, 0.25]), 999.982, 1e-5
    text = """layer { name: "in" type: "Input" top: "in" }
    layer { name: "bn" type: "BatchNorm" bottom: "in" top: "class8_ab" }"""
    stored = [mean * factor, var * factor, np.array([factor])]
    (op,) = read_graph(text, lambda name, tops: stored).ops
    x = np.array([3.0, 5.0])
    np.testing.assert_allclose(x * op.weights[0] + op.weights[1], (x - mean) / np.sqrt(var + eps), rtol=1e-5)


def test_unknown_layers_and_missing_weights_are_named():
    tiny = tiny_prototxt()
    pooled = tiny.replace('layer { name: "conv8_313_rh"', 'layer { name: "pool" type: "Pooling" bottom: "conv8_313" '
                          'top: "conv8_313" }\nlayer { name: "conv8_313_rh"')
    weights = blobs_from([("conv8_313", "", [np.zeros((313, 1, 4, 4))]), ("class8_ab", "", [np.zeros((2, 313, 1, 1))])])
    assert len(read_graph(tiny, weights).ops) == 4
    with pytest.raises(UnsupportedLayerError, match="'pool' is a Pooling"):
        read_graph(pooled, weights)
    with pytest.raises(GraphError, match="'conv8_313' .*no weights"):
        read_graph(tiny, lambda name, tops: [])
    with pytest.raises(GraphError, match="no class8_ab"):
        read_graph(tiny[:tiny.index('layer { name: "class8_ab"')], weights)


def test_the_reader_needs_neither_opencv_nor_the_fast_packages(tmp_path):
    # Empty packages in place of helpers/__init__.py and helpers/model/__init__.py, which load OpenCV:
    # only caffe.py and what it imports.
    (tmp_path / "w.caffemodel").write_bytes(encode_caffemodel([("c", "Convolution", [np.ones((2, 1, 1, 1))])]))
    code = (
        "import sys, types\n"
        "for m in ('cv2', 'onnx', 'onnxruntime', 'openvino'): sys.modules[m] = None\n"
        f"for name, path in [('helpers', {str(REPO_ROOT / 'helpers')!r}), "
        f"('helpers.model', {str(REPO_ROOT / 'helpers' / 'model')!r})]:\n"
        "    sys.modules[name] = types.ModuleType(name)\n"
        "    sys.modules[name].__path__ = [path]\n"
        "import helpers.model.caffe as caffe\n"
        "print(caffe.parse_prototxt('a: 1'))\n"
        f"print(caffe.read_caffemodel({str(tmp_path / 'w.caffemodel')!r})['c'][0].shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["{'a': ['1']}", "(2, 1, 1, 1)"]
