"""The network as ONNX (what OpenCV 5 reads): the weights read without OpenCV, the file written once
and again only for other Caffe files, and the same colours as the Caffe model on OpenCV 4."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import helpers
from helpers.backends.opencv import OpenCvOnnxBackend, read_onnx_network
from helpers.model import onnx_file
from helpers.model.caffe import CaffeModelError, read_caffemodel
from helpers.model.model_files import ModelLoadError, model_paths, read_model_graph
from helpers.model.protobuf import field, varint
from helpers.paths import INPUT_IMAGES
from helpers.photo.colorize import ab_from_scores, cluster_centres_of, gives_scores, predict_scores
from tests.conftest import needs_opencv_4, one_hot_oracle
from tools.standin_model import PROTOTXT_NAME, WEIGHTS_NAME, encode_caffemodel, random_weights

TEMPERATURES = (0.2, helpers.DEFAULT_TEMPERATURE, 1.0)


# --------------------------------------------------------------------------- the weights, without OpenCV
def test_the_weights_come_back_as_they_were_written(tmp_path):
    prototxt = helpers.paths.MODEL_DIR / PROTOTXT_NAME
    layers = random_weights(prototxt, seed=3)
    (tmp_path / WEIGHTS_NAME).write_bytes(encode_caffemodel(layers))
    read = read_caffemodel(tmp_path / WEIGHTS_NAME)
    assert list(read) == [name for name, _, _ in layers]
    for name, _, blobs in layers:
        assert len(read[name]) == len(blobs)
        for got, expected in zip(read[name], blobs):
            assert got.dtype == np.float32 and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected.astype(np.float32))  # written as float32


def _legacy_blob(array: np.ndarray) -> bytes:
    """A BlobProto of Caffe's first format: num, channels, height, width and one float per field."""
    dims = b"".join(varint(n << 3) + varint(d) for n, d in zip((1, 2, 3, 4), array.shape))
    values = b"".join(varint(5 << 3 | 5) + np.float32(v).tobytes() for v in array.ravel())
    return dims + values


def test_files_of_caffes_first_format_are_read_too(tmp_path):
    # V1LayerParameter (NetParameter.layers = 2): name 4, blobs 6; blobs with 4 legacy dimensions
    kernel = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
    layer = field(4, b"conv1") + varint(5 << 3) + varint(4) + field(6, _legacy_blob(kernel))
    path = tmp_path / "old.caffemodel"
    path.write_bytes(field(1, b"net") + field(2, layer))
    np.testing.assert_array_equal(read_caffemodel(path)["conv1"][0], kernel)


@pytest.mark.parametrize("damage", ["truncated", "empty", "html", "no layers"])
def test_a_damaged_caffemodel_is_refused_clearly(tmp_path, damage):
    whole = encode_caffemodel([("conv", "Convolution", [np.ones((4, 1, 3, 3), np.float32)])])
    data = {"truncated": whole[:-7], "empty": b"", "html": b"<html><body>Not found</body></html>",
            "no layers": field(1, b"just a name")}[damage]
    path = tmp_path / "w.caffemodel"
    path.write_bytes(data)
    with pytest.raises(CaffeModelError):
        read_caffemodel(path)


def test_a_truncated_model_is_a_model_load_error_with_the_fix(standin_model, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    for path in standin_model.iterdir():
        (folder / path.name).write_bytes(path.read_bytes() if path.name != WEIGHTS_NAME
                                         else path.read_bytes()[:-1000])
    with pytest.raises(ModelLoadError, match="truncated") as info:
        read_model_graph(model_paths(model_dir=folder))
    assert str(folder) in str(info.value)


@needs_opencv_4
def test_the_weights_are_those_opencv_4_reads(standin_model):
    import cv2

    paths = model_paths(model_dir=standin_model)
    net = cv2.dnn.readNetFromCaffe(str(paths.prototxt), str(paths.weights))
    checked = 0
    for name, blobs in read_caffemodel(paths.weights).items():
        layer_id = net.getLayerId(name)
        if layer_id < 0:  # OpenCV names bw_conv1_1 after its output
            layer_id = net.getLayerId("conv1_1")
        theirs = net.getLayer(layer_id).blobs
        for ours, its in zip(blobs, theirs, strict=True):
            np.testing.assert_array_equal(ours, its.reshape(ours.shape))
            checked += 1
    assert checked > 50


# --------------------------------------------------------------------------- the file
def _network_outputs(path):
    import onnx

    model = onnx.load(str(path))
    return model, [o.name for o in model.graph.output], [i.name for i in model.graph.input]


def test_the_onnx_file_holds_the_network_with_both_added_steps(standin_model, tmp_path):
    paths = model_paths(model_dir=standin_model)
    path = helpers.onnx_file_of(paths)
    assert path == paths.weights.with_suffix(".onnx")
    model, outputs, inputs = _network_outputs(path)
    assert inputs == ["data_l", "inv_temperature"] and outputs == ["class8_ab", "conv8_313"]
    ops = [node.op_type for node in model.graph.node]
    assert ops[-3:] == ["Mul", "Softmax", "Conv"]  # 1 / T, the softmax, the expectation
    kernel = next(t for t in model.graph.initializer if t.name == "class8_ab.weight")
    from onnx import numpy_helper

    np.testing.assert_array_equal(numpy_helper.to_array(kernel).reshape(2, -1).T,
                                  np.load(paths.points).astype(np.float32))
    assert onnx_file.onnx_metadata(path)[onnx_file.SOURCE_KEY] == onnx_file.source_digest(*paths.files)
    assert stat.S_IMODE(path.stat().st_mode) & 0o044  # readable by others, as the umask allows


def _copy(folder, dst):
    dst.mkdir()
    for path in folder.iterdir():
        if path.suffix != ".onnx":
            (dst / path.name).write_bytes(path.read_bytes())
    return dst


def test_the_file_is_written_once_and_again_only_for_other_weights(tiny_model, tmp_path):
    folder = _copy(tiny_model, tmp_path / "m")
    paths = model_paths(model_dir=folder)
    said = []
    first = helpers.onnx_file_of(paths, log=said.append)
    made = first.stat().st_mtime_ns
    assert len(said) == 1 and helpers.onnx_file_of(paths, log=said.append) == first
    assert len(said) == 1 and first.stat().st_mtime_ns == made  # not written again
    # other weights under the same name: written again, and they give other colours
    before = read_onnx_network(paths, log=None)
    rng = np.random.default_rng(9)
    bins = np.load(paths.points)
    from tools.standin_model import tiny_model_dir

    tiny_model_dir(folder, bins, rng.standard_normal((313, 1, 4, 4)).astype(np.float32),
                   rng.standard_normal(313).astype(np.float32))
    after = read_onnx_network(paths, log=said.append)
    assert len(said) == 2
    blob = rng.uniform(-50, 50, (1, 1, 32, 32)).astype(np.float32)
    before.setInput(blob)
    after.setInput(blob)
    assert np.abs(before.forward() - after.forward()).max() > 1


def test_a_file_of_ours_from_other_files_is_replaced(tiny_model, tmp_path):
    folder = _copy(tiny_model, tmp_path / "m")
    paths = model_paths(model_dir=folder)
    path = helpers.onnx_file_of(paths, log=None)
    good = path.read_bytes()
    digest = onnx_file.source_digest(*paths.files).encode()
    path.write_bytes(good.replace(digest, b"0" * len(digest), 1))  # as if made by another version of the files
    assert onnx_file.SOURCE_KEY in onnx_file.onnx_metadata(path)
    assert helpers.onnx_file_of(paths, log=None) == path and path.read_bytes() == good


@pytest.mark.parametrize("theirs", [b"\x08\x07" + b"an ONNX file of the user's own" * 10, b"half of a file"])
def test_an_onnx_file_we_did_not_write_is_never_replaced(tiny_model, tmp_path, monkeypatch, theirs):
    folder = _copy(tiny_model, tmp_path / "m")
    (folder / WEIGHTS_NAME).with_suffix(".onnx").write_bytes(theirs)
    monkeypatch.setenv("COLORIZE_CACHE_DIR", str(tmp_path / "cache"))
    path = helpers.onnx_file_of(model_paths(model_dir=folder), log=None)
    assert path.parent == tmp_path / "cache" / "onnx"
    assert (folder / WEIGHTS_NAME).with_suffix(".onnx").read_bytes() == theirs
    assert onnx_file.onnx_metadata(path) and read_onnx_network(model_paths(model_dir=folder), log=None).path == path


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_a_read_only_model_folder_gets_its_onnx_file_in_the_cache(tiny_model, tmp_path, monkeypatch):
    folder = _copy(tiny_model, tmp_path / "shared")
    folder.chmod(0o555)
    monkeypatch.setenv("COLORIZE_CACHE_DIR", str(tmp_path / "cache"))
    try:
        path = helpers.onnx_file_of(model_paths(model_dir=folder), log=None)
    finally:
        folder.chmod(0o755)
    assert path.parent == tmp_path / "cache" / "onnx" and not list(folder.glob("*.onnx"))


def test_a_read_only_model_folder_as_root_too(tiny_model, tmp_path, monkeypatch):
    """Root may write anywhere, so the fallback is tested by a write that fails."""
    folder = _copy(tiny_model, tmp_path / "shared")
    monkeypatch.setenv("COLORIZE_CACHE_DIR", str(tmp_path / "cache"))
    real_write = onnx_file.write_bytes

    def refuse_beside(path, data):
        if path.parent == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real_write(path, data)

    monkeypatch.setattr(onnx_file, "write_bytes", refuse_beside)
    path = helpers.onnx_file_of(model_paths(model_dir=folder), log=None)
    assert path.parent == tmp_path / "cache" / "onnx" and path.is_file()
    assert helpers.onnx_file_of(model_paths(model_dir=folder), log=None) == path  # found there next time


# --------------------------------------------------------------------------- the network it gives
def test_an_oracle_gives_exactly_its_bin(make_tiny_model, bins):
    folder, expected = one_hot_oracle(make_tiny_model, bins, 57)
    net = read_onnx_network(model_paths(model_dir=folder), log=None)
    ab = helpers.predict_ab(net, np.zeros((2, 64, 64), np.float32))
    assert ab.shape == (2, 16, 16, 2)
    np.testing.assert_allclose(ab, np.broadcast_to(expected, ab.shape), atol=1e-3)


def test_temperature_scores_and_centres_work_as_on_the_caffe_network(standin_model):
    net = read_onnx_network(model_paths(model_dir=standin_model), log=None)
    assert isinstance(net, OpenCvOnnxBackend) and gives_scores(net)
    L_small = np.random.default_rng(4).uniform(-50, 50, (1, 224, 224)).astype(np.float32)
    default = helpers.predict_ab(net, L_small)
    scores = predict_scores(net, L_small)
    helpers.set_temperature(net, 1.0)
    assert helpers.get_temperature(net) == 1.0
    washed = helpers.predict_ab(net, L_small)
    np.testing.assert_array_equal(predict_scores(net, L_small), scores)  # the scores ignore T
    np.testing.assert_allclose(ab_from_scores(scores, 1.0, cluster_centres_of(net)), washed, atol=1e-3)
    assert np.hypot(*washed.reshape(-1, 2).T).mean() < np.hypot(*default.reshape(-1, 2).T).mean()
    helpers.set_temperature(net, helpers.get_temperature(read_onnx_network(model_paths(model_dir=standin_model),
                                                                          log=None)))
    np.testing.assert_array_equal(helpers.predict_ab(net, L_small), default)  # the default, to the bit


@needs_opencv_4
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_onnx_colours_equal_caffe_colours_within_one_grey_level(standin_model, temperature):
    """In one process on OpenCV 4: the two file formats give the same photo. (OpenCV 5 against
    OpenCV 4 is tests/test_opencv_generations.py.)"""
    caffe = helpers.load_model(model_dir=standin_model)
    onnx = read_onnx_network(model_paths(model_dir=standin_model), log=None)
    photos = [helpers.read_image(INPUT_IMAGES / name) for name in ("chelsea_cat.jpg", "rocket_launch.jpg")]
    for a, b in zip(helpers.colorize_batch(photos, caffe, temperature=temperature),
                    helpers.colorize_batch(photos, onnx, temperature=temperature)):
        assert np.abs(a.astype(int) - b).max() <= 1


def test_no_folder_to_write_the_file_in_is_a_clear_error(tiny_model, tmp_path, monkeypatch):
    folder = _copy(tiny_model, tmp_path / "shared")

    def disk_full(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(onnx_file, "write_bytes", disk_full)
    with pytest.raises(ModelLoadError, match="No space left on device.*COLORIZE_CACHE_DIR"):
        helpers.onnx_file_of(model_paths(model_dir=folder), log=None)
    assert not list(folder.glob("*.onnx")) and not list(folder.glob(".*.part"))
