"""The fast back ends (helpers.backends) compute what OpenCV computes, and reduced precision
is used only when an accuracy check allows it.

The ONNX Runtime and OpenVINO tests skip when those packages are missing (ONNX Runtime:
``pip install -e ".[fast]"``; OpenVINO is in requirements.txt, for the machines it has
wheels for); the rest runs everywhere. ``--backend auto``: tests/test_auto_backend.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import backends
from helpers.backends import available, load_model
from helpers.lab.temperature import DEFAULT_TEMPERATURE
from helpers.model.model_files import ModelLoadError, model_paths
from helpers.model.net import set_temperature
from tests.conftest import one_hot_oracle
from tools.standin_model import PROTOTXT_NAME, PTS_NAME, WEIGHTS_NAME, random_weights, write_caffemodel

FP32_TOLERANCE = 1e-2
"""Largest |Δab| allowed between a fast back end in fp32 and OpenCV."""


INSTALLED = backends.available_backends()
FAST = [
    pytest.param(name, marks=pytest.mark.skipif(name not in INSTALLED, reason=f"{name} is not installed "
                                                 '(pip install -e ".[fast]")'))
    for name in ("onnxruntime", "openvino")
]


def run(net, blob: np.ndarray) -> np.ndarray:
    net.setInput(blob)
    return net.forward()


def inputs(batch: int, size: int, seed: int = 0) -> np.ndarray:
    """(batch, 1, size, size) float32 network inputs: smooth shapes plus noise, L - 50."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    images = [50 * np.sin(6 * x + 4 * y + k) * np.cos(5 * y - k) + rng.normal(0, 5, (size, size))
              for k in range(batch)]
    return np.clip(np.stack(images), -50, 50)[:, np.newaxis].astype(np.float32)


# --------------------------------------------------------------------------- always
def test_opencv_is_always_available_and_listed_first():
    names = backends.available_backends()
    assert names[0] == "opencv"
    assert set(names) <= set(backends.BACKENDS)
    assert backends.available_precisions("opencv") == ["fp32"]


def test_every_known_back_end_has_one_way_to_be_built():
    """A back end added to ``available.BACKENDS`` needs its build function in ``load.RUNTIMES``, and back."""
    from helpers.backends.load import RUNTIMES

    assert list(RUNTIMES) == list(backends.BACKENDS)


def test_importing_works_without_the_fast_packages():
    # sys.modules[name] = None makes `import name` raise ImportError, as if not installed.
    code = (
        "import sys\n"
        "for m in ('onnx', 'onnxruntime', 'openvino'): sys.modules[m] = None\n"
        "from helpers import backends\n"
        "assert backends.available_backends() == ['opencv'], backends.available_backends()\n"
        "try:\n"
        "    backends.load_network(None, backend='openvino')\n"
        "except backends.BackendUnavailableError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "pip install -r requirements.txt" in result.stdout and "--backend auto" in result.stdout


def test_a_missing_package_says_how_to_install_it(monkeypatch, tiny_model):
    monkeypatch.setattr(available, "_importable", lambda module: module != "onnxruntime")
    assert "onnxruntime" not in backends.available_backends()
    with pytest.raises(backends.BackendUnavailableError, match=r'pip install -e "\.\[fast\]"'):
        backends.load_network(model_paths(model_dir=tiny_model), backend="onnxruntime")


def test_unknown_back_end_or_precision_is_refused(tiny_model):
    paths = model_paths(model_dir=tiny_model)
    with pytest.raises(ValueError, match="Unknown back end"):
        backends.load_network(paths, backend="tensorflow")
    with pytest.raises(ValueError, match="offers fp32"):
        backends.load_network(paths, backend="opencv", precision="int8")
    with pytest.raises(ValueError, match="Unknown precision"):
        backends.load_fast_backend("opencv", paths, precisions=("fp16",))


def test_check_accuracy_measures_mean_ab_difference(make_tiny_model, bins, gray_image):
    folder_a, ab_a = one_hot_oracle(make_tiny_model, bins, 3)
    folder_b, ab_b = one_hot_oracle(make_tiny_model, bins, 40)
    a, b = load_model(model_dir=folder_a), load_model(model_dir=folder_b)
    expected = np.abs(ab_a - ab_b).mean()
    assert expected > 1
    assert backends.check_accuracy(a, b, [gray_image, gray_image[::-1]]) == pytest.approx(expected, abs=1e-3)
    assert backends.check_accuracy(a, a, [gray_image]) == 0.0


# --------------------------------------------------------------------------- tiny network
@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("size", [224, 160])
def test_fp32_matches_opencv_on_the_tiny_network_at_every_temperature(name, size, tiny_model):
    reference = load_model(model_dir=tiny_model)
    fast = backends.load_network(model_paths(model_dir=tiny_model), backend=name)
    assert fast.precision == "fp32"
    blob = inputs(batch=2, size=size)
    outputs = {}
    for temperature in (DEFAULT_TEMPERATURE, 1.0, 0.1):  # changed in place: no rebuild
        set_temperature(reference, temperature)
        fast.set_temperature(temperature)
        assert fast.get_temperature() == pytest.approx(temperature, abs=1e-6)
        expected, outputs[temperature] = run(reference, blob), run(fast, blob)
        assert outputs[temperature].shape == (2, 2, size // 4, size // 4)
        assert outputs[temperature].dtype == np.float32
        assert np.abs(outputs[temperature] - expected).max() < FP32_TOLERANCE, temperature
    assert np.abs(outputs[1.0] - outputs[0.1]).max() > 1  # the temperature really took effect
    assert not np.allclose(outputs[1.0][0], outputs[1.0][1])  # each image gets its own colours


@pytest.mark.parametrize("name", FAST)
def test_backend_behaves_like_an_opencv_net(name, tiny_model):
    fast = backends.load_network(model_paths(model_dir=tiny_model), backend=name, temperature=0.5)
    assert fast.get_temperature() == 0.5
    with pytest.raises(RuntimeError, match="setInput"):
        fast.forward()
    with pytest.raises(ValueError, match=r"\(N, 1, S, S\)"):
        fast.setInput(np.zeros((1, 3, 64, 64), np.float32))
    with pytest.raises(ValueError, match="temperature"):
        fast.set_temperature(0)
    first = run(fast, inputs(1, 64, seed=1).astype(np.float64))  # other dtypes are converted
    kept = first.copy()
    second = run(fast, inputs(1, 64, seed=2))
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(first, kept)  # an earlier result is not overwritten
    assert np.array_equal(run(fast, inputs(3, 96)).shape, (3, 2, 24, 24))  # a new shape needs no rebuild


@pytest.mark.parametrize("name", FAST)
def test_an_unsupported_layer_is_named(name, tiny_model, tmp_path):
    folder = shutil.copytree(tiny_model, tmp_path / "m")
    prototxt = folder / PROTOTXT_NAME
    prototxt.write_text(prototxt.read_text().replace(
        'layer { name: "conv8_313_rh"',
        'layer { name: "pool" type: "Pooling" bottom: "conv8_313" top: "conv8_313"\n'
        '  pooling_param { pool: MAX kernel_size: 1 stride: 1 } }\nlayer { name: "conv8_313_rh"'))
    with pytest.raises(ModelLoadError, match="'pool'.*Pooling.*opencv"):
        backends.load_network(model_paths(model_dir=folder), backend=name)


@pytest.mark.parametrize("name", FAST)
def test_fast_precision_is_kept_when_the_check_passes(name, tiny_model, gray_image):
    lines = []
    fast = backends.load_fast_backend(name, model_paths(model_dir=tiny_model), sample_images=[gray_image],
                                      tolerance=1.0, log=lines.append)
    assert fast.precision in ("int8", "bf16")
    assert fast.accuracy is not None and fast.accuracy <= 1.0
    assert len(lines) == 1 and fast.precision in lines[0] and "tolerance" in lines[0]


# --------------------------------------------------------------------------- full size
@pytest.fixture(scope="module")
def tame_model(standin_model, tmp_path_factory):
    """The full-size stand-in with its logits scaled down 10x (std about 2 instead of 20), and
    Caffe's BatchNorm scale factor not 1 (as in the released weights).

    With the raw random weights the softmax is nearly one-hot and ties between bins turn
    float32 rounding (1e-5 relative) into ab jumps of 0.05: OpenCV's own Winograd and direct
    convolutions differ by that much. A trained model spreads its logits (at T = 1 its colours
    are greyish), so this is the realistic case for a 1e-2 comparison.
    """
    out = tmp_path_factory.mktemp("tame-standin")
    for name in (PROTOTXT_NAME, PTS_NAME):
        shutil.copyfile(standin_model / name, out / name)
    layers = []
    for name, kind, blobs in random_weights(out / PROTOTXT_NAME, seed=0):
        if name == "conv8_313":
            blobs = [b * np.float32(0.1) for b in blobs]
        elif kind == "BatchNorm":  # stored the way Caffe stores them: sums, with the scale factor
            factor = np.float32(999.982)
            blobs = [blobs[0] * factor, blobs[1] * factor, np.array([factor], np.float32)]
        layers.append((name, kind, blobs))
    write_caffemodel(out / WEIGHTS_NAME, layers)
    return out


@pytest.fixture(scope="module")
def full_size_reference(tame_model):
    """OpenCV's output on a batch of two sample photos, at 224 and 160, with direct (exact) convolutions.

    OpenCV's default 3x3 Winograd convolutions are themselves up to 0.01 away from this on this
    model (0.05 on the raw stand-in), so the exact direct convolution is the reference."""
    # The temperature is set by load_model, before the first pass: OpenCV ignores later
    # set_temperature calls on a net with Winograd off (seen with OpenCV 4.14).
    net = load_model(model_dir=tame_model)
    getattr(net, "net", net).enableWinograd(False)  # OpenCV 5: the cv2.dnn.Net inside the ONNX file's network
    images = backends.load_sample_images()[:2]
    blobs = {size: backends.network_inputs(images, size) for size in (224, 160)}
    return blobs, {size: run(net, blob) for size, blob in blobs.items()}


@pytest.mark.parametrize("name", FAST)
def test_fp32_matches_opencv_on_the_full_size_network(name, tame_model, full_size_reference):
    fast = backends.load_network(model_paths(model_dir=tame_model), backend=name)
    blobs, expected = full_size_reference
    for size, blob in blobs.items():
        ab = run(fast, blob)
        assert ab.shape == expected[size].shape == (2, 2, size // 4, size // 4)
        assert np.abs(ab - expected[size]).max() < FP32_TOLERANCE, size


REDUCED = [pytest.param(name, precision, marks=param.marks, id=f"{name}-{precision}")
           for param in FAST for name in param.values for precision in ("int8", "bf16")
           if not (name == "onnxruntime" and precision == "bf16")]


@pytest.mark.parametrize(("name", "precision"), REDUCED)
def test_reduced_precision_differs_from_fp32_but_stays_sane(name, precision, tame_model):
    if precision not in backends.available_precisions(name):
        pytest.skip(f"this CPU has no native {precision}")
    paths = model_paths(model_dir=tame_model)
    images = backends.load_sample_images()[:2]
    fast = backends.load_network(paths, backend=name, precision=precision,
                                  calibration=backends.Calibration(backends.network_inputs(images, 224)))
    assert fast.precision == precision
    blob = backends.network_inputs(images, 224)
    ab, ab_fp32 = run(fast, blob), run(backends.load_network(paths, backend=name), blob)
    assert np.isfinite(ab).all()
    assert np.abs(ab - ab_fp32).mean() > 1e-3  # really computed in another precision
    # an expectation over the bin centres stays within their range (a broken head would not)
    points = np.load(tame_model / PTS_NAME)
    ab_points = ab.transpose(0, 2, 3, 1).reshape(-1, 2)
    assert (ab_points >= points.min(0) - 0.5).all() and (ab_points <= points.max(0) + 0.5).all()


@pytest.mark.parametrize("name", FAST)
def test_failed_accuracy_check_falls_back_to_fp32_and_says_so(name, tame_model):
    lines = []
    with pytest.warns(backends.PrecisionFallbackWarning, match="tolerance 0.0"):
        net = backends.load_fast_backend(name, model_paths(model_dir=tame_model), tolerance=0.0,
                                         sample_images=backends.load_sample_images()[:1], log=lines.append)
    assert net.precision == "fp32" and net.accuracy is None
    assert len(lines) == 1 and "fp32" in lines[0] and "falling back" in lines[0]


def test_cli_photo_with_a_fast_backend(tiny_model, tmp_path, monkeypatch, capsys):
    """`--backend` loads the faster runtime (after its accuracy check) and colourises like OpenCV."""
    pytest.importorskip("onnxruntime", reason='onnxruntime is not installed (pip install -e ".[fast]")')
    import cv2
    import numpy as np

    from helpers.cli import main

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    photo = tmp_path / "in" / "gray.png"
    photo.parent.mkdir()
    cv2.imwrite(str(photo), np.tile(np.linspace(30, 220, 90).astype(np.uint8), (60, 1)))
    assert main(["photo", str(photo), "--out", str(tmp_path / "cv"), "--backend", "opencv"]) == 0
    assert main(["photo", str(photo), "--out", str(tmp_path / "ort"), "--backend", "onnxruntime"]) == 0
    assert "onnxruntime" in capsys.readouterr().out
    a, b = (cv2.imread(str(tmp_path / d / "gray_color.png")) for d in ("cv", "ort"))
    assert np.abs(a.astype(int) - b).max() <= 2
