"""Loading the network: the real architecture, damaged files, OpenCV 5, custom model folders."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

import helpers
import helpers.common.opencv_install
import helpers.lab.temperature
import helpers.model.model_files
import helpers.model.net
import tools.standin_model
from helpers.backends import load_model
from helpers.backends.opencv import OpenCvOnnxBackend
from helpers.common.opencv_install import OpenCvInstall, OpenCvInstallError
from helpers.model.model_files import STANDIN_MARKER, ModelLoadError, describe_model, model_paths
from helpers.paths import REPO_ROOT
from tests.conftest import needs_opencv_4
from tools.standin_model import PROTOTXT_NAME, PTS_NAME, WEIGHTS_NAME, find_source_dir
from tools.standin_model import main as standin_main


def test_real_architecture_with_generated_weights(standin_model):
    net = load_model(model_dir=standin_model)
    assert len(net.getLayerNames()) > 30  # the full network, not the tiny one (OpenCV 5 fuses more)
    rng = np.random.default_rng(0)
    L_small = rng.uniform(-50, 50, (2, 224, 224)).astype(np.float32)
    ab = helpers.predict_ab(net, L_small)
    assert ab.shape == (2, 56, 56, 2)
    assert np.isfinite(ab).all()
    assert not np.allclose(ab[0], ab[1])  # each image of the batch gets its own colours
    # the cluster centres bound the expectation: ab stays inside their range
    points = np.load(standin_model / PTS_NAME)
    assert (ab >= points.min(0) - 1e-3).all() and (ab <= points.max(0) + 1e-3).all()


def test_real_architecture_temperature_takes_effect_after_a_forward_pass(standin_model):
    net = load_model(model_dir=standin_model)
    L_small = np.random.default_rng(1).uniform(-50, 50, (1, 224, 224)).astype(np.float32)
    first = helpers.predict_ab(net, L_small)
    helpers.set_temperature(net, 1.0)
    washed = helpers.predict_ab(net, L_small)
    helpers.set_temperature(net, helpers.DEFAULT_TEMPERATURE)
    again = helpers.predict_ab(net, L_small)
    assert np.abs(first - washed).max() > 0.1
    np.testing.assert_allclose(first, again, atol=1e-4)
    # a higher temperature averages over more bins: the colours come out less saturated
    assert np.hypot(*washed.reshape(-1, 2).T).mean() < np.hypot(*first.reshape(-1, 2).T).mean()


def test_other_input_sizes_work(standin_model):
    net = load_model(model_dir=standin_model)
    ab = helpers.predict_ab(net, np.zeros((1, 160, 160), np.float32))
    assert ab.shape == (1, 40, 40, 2)


def copy_model(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_truncated_weights_give_a_clear_message(tiny_model, tmp_path):
    folder = copy_model(tiny_model, tmp_path / "m")
    weights = folder / WEIGHTS_NAME
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelLoadError) as info:
        load_model(model_dir=folder)
    message = str(info.value)
    assert WEIGHTS_NAME in message and "damaged" in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    "content, expected",
    [(b"", "empty"), (b"<!DOCTYPE html><html><body>Sign in</body></html>", "HTML page")],
)
def test_empty_or_html_weights(tiny_model, tmp_path, content, expected):
    folder = copy_model(tiny_model, tmp_path / "m")
    (folder / WEIGHTS_NAME).write_bytes(content)
    with pytest.raises(ModelLoadError, match=expected):
        load_model(model_dir=folder)


def test_missing_file_names_it(tiny_model, tmp_path):
    folder = copy_model(tiny_model, tmp_path / "m")
    (folder / PTS_NAME).unlink()
    with pytest.raises(ModelLoadError, match="pts_in_hull.npy is missing"):
        load_model(model_dir=folder)


def test_missing_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(model_dir=tmp_path / "nowhere")


def test_wrong_network_is_refused(tiny_model, tmp_path):
    folder = copy_model(tiny_model, tmp_path / "m")
    prototxt = folder / PROTOTXT_NAME
    prototxt.write_text(prototxt.read_text().replace("class8_ab", "some_other_layer"))
    with pytest.raises(ModelLoadError, match="class8_ab"):
        load_model(model_dir=folder)


def test_cluster_centres_are_read_without_pickle(tiny_model, tmp_path):
    folder = copy_model(tiny_model, tmp_path / "m")
    np.save(folder / PTS_NAME, np.array([{"not": "numbers"}], dtype=object), allow_pickle=True)
    with pytest.raises(ModelLoadError, match="not a readable .npy"):
        load_model(model_dir=folder)
    np.save(folder / PTS_NAME, np.zeros((313, 3)))
    with pytest.raises(ModelLoadError, match=r"\(313, 3\)"):
        load_model(model_dir=folder)


def test_own_model_folder_with_other_file_names(tiny_model, tmp_path, monkeypatch):
    folder = tmp_path / "my model"
    folder.mkdir()
    shutil.copy(tiny_model / PROTOTXT_NAME, folder / "mine.prototxt")
    shutil.copy(tiny_model / WEIGHTS_NAME, folder / "mine.caffemodel")
    shutil.copy(tiny_model / PTS_NAME, folder / "centres.npy")
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(folder))
    paths = model_paths()
    assert (paths.prototxt.name, paths.weights.name, paths.points.name) == (
        "mine.prototxt", "mine.caffemodel", "centres.npy")
    assert not paths.managed
    net = load_model()
    assert helpers.predict_ab(net, np.zeros((1, 64, 64), np.float32)).shape == (1, 16, 16, 2)


def test_managed_folder_catches_truncation_by_size(tiny_model, tmp_path, monkeypatch):
    """In model/ the registry's sizes are known: a short file is named as truncated before OpenCV sees it."""
    monkeypatch.delenv("COLORIZE_MODEL_DIR", raising=False)
    folder = copy_model(tiny_model, tmp_path / "model")
    monkeypatch.setattr(helpers.model.model_files, "MODEL_DIR", folder)
    (folder / PROTOTXT_NAME).write_bytes((tiny_model / PROTOTXT_NAME).read_bytes())
    with pytest.raises(ModelLoadError) as info:
        load_model()
    assert "truncated" in str(info.value) and "python -m helpers fetch" in str(info.value)


def test_without_a_caffe_reader_the_onnx_file_is_read(tiny_model, monkeypatch):
    """OpenCV 5 (no readNetFromCaffe): load_model gives the network of the ONNX file, same colours."""
    caffe_or_not = load_model(model_dir=tiny_model)
    monkeypatch.setattr(helpers.model.model_files, "opencv_reads_caffe", lambda: False)
    net = load_model(model_dir=tiny_model, temperature=0.5)
    assert isinstance(net, OpenCvOnnxBackend) and helpers.get_temperature(net) == 0.5
    assert (tiny_model / WEIGHTS_NAME).with_suffix(".onnx").is_file()
    helpers.set_temperature(caffe_or_not, 0.5)
    img = np.random.default_rng(2).integers(0, 256, (40, 56), np.uint8)
    a, b = helpers.colorize(img, caffe_or_not), helpers.colorize(img, net)
    assert np.abs(a.astype(int) - b).max() <= 1


def test_a_broken_opencv_stops_loading_with_the_fix(tiny_model, monkeypatch):
    broken = OpenCvInstall({"opencv-python-headless": "5.1.0.95"}, None, "the cv2 folder holds no OpenCV")
    monkeypatch.setattr(helpers.common.opencv_install, "find_opencv", lambda: broken)
    with pytest.raises(OpenCvInstallError, match="--force-reinstall"):
        load_model(model_dir=tiny_model)


def test_unknown_variant():
    with pytest.raises(ValueError, match="v2_norebal"):
        load_model("v3")


@pytest.mark.parametrize("temperature", [0, -1, 11])
def test_bad_temperature(tiny_model, temperature):
    with pytest.raises(ValueError, match="temperature"):
        load_model(model_dir=tiny_model, temperature=temperature)


@needs_opencv_4
def test_the_reported_default_temperature_sets_the_default_exactly(tiny_model):
    """get_temperature rounds to 6 decimals; setting that value back (a Dask worker does, from the
    client's) must give the default's scale 2.606 to the bit, or the colours differ in the last bit."""
    net = load_model(model_dir=tiny_model)
    scale = helpers.model.net._scale_layer(net).blobs[0].flat[0]
    assert scale == np.float32(2.606)
    helpers.set_temperature(net, 0.5)
    helpers.set_temperature(net, helpers.get_temperature(load_model(model_dir=tiny_model)))
    assert helpers.model.net._scale_layer(net).blobs[0].flat[0] == scale
    helpers.set_temperature(net, 0.38)  # a nearby value is itself, not the default
    assert helpers.model.net._scale_layer(net).blobs[0].flat[0] == np.float32(1 / 0.38)


# --------------------------------------------------------------------------- which model is in use


def test_describe_a_stand_in(standin_model, tiny_model):
    for folder in (standin_model, tiny_model):
        text = describe_model(model_dir=folder)
        assert text.startswith(f"a STAND-IN with random weights in {folder}")
        assert "colours are noise" in text and "python -m helpers fetch" in text
        assert helpers.model.is_standin(model_dir=folder)
    assert "random weights, seed 0" in describe_model(model_dir=standin_model)


def test_describe_your_own_model_folder(tiny_model, tmp_path, monkeypatch):
    folder = copy_model(tiny_model, tmp_path / "mine")
    (folder / STANDIN_MARKER).unlink()
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(folder))
    assert not helpers.model.is_standin()
    assert describe_model() == (f"your own model files in {folder} (from COLORIZE_MODEL_DIR): "
                                f"{PROTOTXT_NAME}, {WEIGHTS_NAME}, {PTS_NAME}")


@pytest.mark.parametrize("variant", ["v2", "v2_norebal"])
def test_describe_the_released_weights(variant, tmp_path, monkeypatch):
    monkeypatch.delenv("COLORIZE_MODEL_DIR", raising=False)
    monkeypatch.setattr(helpers.model.model_files, "MODEL_DIR", tmp_path)
    weights = model_paths(variant).weights.name
    assert describe_model(variant) == f"the authors' released weights {weights} (variant {variant}) in {tmp_path}"


# --------------------------------------------------------------------------- the stand-in builder


def test_stand_in_is_built_from_the_shipped_files_alone(standin_model, tmp_path, monkeypatch):
    """make standin on a fresh clone: model/ is the source, nothing outside the repository is needed."""
    assert find_source_dir() == REPO_ROOT / "model"
    monkeypatch.chdir(tmp_path)  # not the repository: the source comes from the repository's own model/
    out = standin_model  # what `make standin` writes (reused here: 129 MB take seconds to generate)
    assert standin_main([str(out)]) == 0
    for name in (PROTOTXT_NAME, PTS_NAME):
        assert (out / name).read_bytes() == (REPO_ROOT / "model" / name).read_bytes()
    assert (out / STANDIN_MARKER).read_text().startswith("random weights, seed 0")
    assert len(load_model(model_dir=out).getLayerNames()) > 30


def test_stand_in_without_its_source_files_says_how_to_restore_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tools.standin_model, "REPO_ROOT", tmp_path)
    assert standin_main([str(tmp_path / "standin")]) == 1
    err = capsys.readouterr().err
    assert f"{PROTOTXT_NAME} and {PTS_NAME} missing from {tmp_path / 'model'}" in err
    assert "git checkout model/" in err


class OwnTemperature:
    """A network that keeps its own temperature, as the fast back ends do; no OpenCV layers."""

    def __init__(self) -> None:
        self.temperature = 0.5

    def setInput(self, blob):
        self.blob = blob

    def forward(self):
        return np.zeros((len(self.blob), 2, 1, 1), np.float32)

    def set_temperature(self, temperature):
        self.temperature = temperature

    def get_temperature(self):
        return self.temperature


def test_a_network_that_keeps_its_own_temperature_is_handed_it(tiny_model):
    own = OwnTemperature()
    assert isinstance(own, helpers.model.net.KeepsTemperature) and isinstance(own, helpers.model.net.ColorizationNet)
    helpers.set_temperature(own, 0.2)
    assert own.temperature == 0.2 and helpers.get_temperature(own) == 0.2
    with pytest.raises(ValueError, match="temperature"):  # checked before it is handed on
        helpers.set_temperature(own, 0)
    assert own.temperature == 0.2
    net = load_model(model_dir=tiny_model)  # OpenCV 4's net has no temperature of its own, OpenCV 5's has
    assert isinstance(net, helpers.model.net.ColorizationNet)
    assert isinstance(net, helpers.model.net.KeepsTemperature) == (not helpers.model.model_files.opencv_reads_caffe())
    helpers.set_temperature(net, 0.2)
    assert helpers.get_temperature(net) == 0.2


def test_a_network_without_a_temperature_is_named():
    with pytest.raises(TypeError, match="list has no temperature.*load_model"):
        helpers.set_temperature([], 0.5)
    with pytest.raises(TypeError, match="str has no temperature"):
        helpers.get_temperature("net")


# --------------------------------------------------------------------------- temperature, and no import cycle


def test_one_rule_says_when_two_temperatures_are_the_same():
    """A temperature read back from a network (float32 1 / T) is the one set; a nearby one is not."""
    read_back = helpers.lab.temperature.temperature_of_scale(np.float32(1 / 0.38))
    assert read_back != 0.38 or np.float32(1 / 0.38) == 1 / 0.38  # float32 rounding: not equal as floats...
    assert helpers.lab.temperature.same_temperature(read_back, 0.38)  # ...but the same temperature
    assert helpers.lab.temperature.same_temperature(helpers.lab.temperature.temperature_key(DEFAULT), DEFAULT)
    assert not helpers.lab.temperature.same_temperature(0.38, DEFAULT)  # 0.38 is not the default 0.38373
    assert not helpers.lab.temperature.same_temperature(0.5, 0.500002)
    assert helpers.lab.temperature.same_temperature(0.5, 0.5000004)
    assert helpers.lab.temperature.temperature_key(DEFAULT) == 0.38373


DEFAULT = helpers.lab.temperature.DEFAULT_TEMPERATURE

def test_layers_and_temperature_need_no_opencv_or_numpy():
    """Pure Python: empty packages in place of helpers/__init__.py and helpers/model/__init__.py (which load
    OpenCV), cv2 and numpy blocked."""
    code = ("import sys, types\nfor m in ('cv2', 'numpy'): sys.modules[m] = None\n"
            f"for name, path in [('helpers', {str(REPO_ROOT / 'helpers')!r}), "
            f"('helpers.model', {str(REPO_ROOT / 'helpers' / 'model')!r})]:\n"
            "    sys.modules[name] = types.ModuleType(name)\n"
            "    sys.modules[name].__path__ = [path]\n"
            "from helpers.lab.temperature import same_temperature\nfrom helpers.model.layers import COLOUR\n"
            "print(COLOUR, same_temperature(0.38, 0.3800001))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["class8_ab", "True"]
