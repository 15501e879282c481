"""``--backend auto`` (helpers.backends.auto): the fastest back end whose colours match OpenCV's,
checked once per model, machine and temperature, then remembered in the cache folder."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from helpers import backends
from helpers.backends import auto, load, load_model
from helpers.model.model_files import ModelLoadError, model_paths
from tools.standin_model import PROTOTXT_NAME, PTS_NAME, WEIGHTS_NAME, random_weights, write_caffemodel

HAVE_OPENVINO = "openvino" in backends.available_backends()
needs_openvino = pytest.mark.skipif(not HAVE_OPENVINO, reason="openvino is not installed on this machine")


def colours(net, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    net.setInput(rng.uniform(-50, 50, (1, 1, 64, 64)).astype(np.float32))
    return net.forward()


@pytest.fixture(scope="module")
def small_model(tmp_path_factory, bins):
    """Three convolutions, so that one (the middle) is quantised in int8: the first and the
    head never are (``helpers.model.caffe.Graph.quantizable``)."""
    folder = tmp_path_factory.mktemp("small")
    conv = 'layer {{ name: "{0}" type: "Convolution" bottom: "{1}" top: "{0}"\n  convolution_param {{ {2} }} }}\n'
    relu = 'layer {{ name: "relu_{0}" type: "ReLU" bottom: "{0}" top: "{0}" }}\n'
    (folder / PROTOTXT_NAME).write_text(
        'name: "Small"\nlayer { name: "data_l" type: "Input" top: "data_l"\n'
        "  input_param { shape { dim: 1 dim: 1 dim: 224 dim: 224 } } }\n"
        + conv.format("conv1", "data_l", "num_output: 8 kernel_size: 3 pad: 1") + relu.format("conv1")
        + conv.format("conv2", "conv1", "num_output: 16 kernel_size: 4 stride: 4") + relu.format("conv2")
        + conv.format("conv8_313", "conv2", "num_output: 313 kernel_size: 1")
        + 'layer { name: "conv8_313_rh" type: "Scale" bottom: "conv8_313" top: "conv8_313_rh"\n'
        "  scale_param { bias_term: false } }\n"
        'layer { name: "class8_313_rh" type: "Softmax" bottom: "conv8_313_rh" top: "class8_313_rh" }\n'
        + conv.format("class8_ab", "class8_313_rh", "num_output: 2 kernel_size: 1"))
    np.save(folder / PTS_NAME, bins)
    write_caffemodel(folder / WEIGHTS_NAME, random_weights(folder / PROTOTXT_NAME))
    return folder


@pytest.fixture
def fake_speed(monkeypatch):
    """Make the timing deterministic: each candidate's ms from a table (default 100)."""
    table = {}
    monkeypatch.setattr(auto, "_time_pass", lambda net: table.get(backends.backend_label(net), 100.0))
    return table


def test_first_run_checks_and_remembers_second_run_only_rebuilds(tiny_model, tmp_path, fake_speed, monkeypatch):
    fake_speed.update({"opencv fp32": 300.0, "openvino fp32": 100.0, "onnxruntime fp32": 200.0})
    paths, lines = model_paths(model_dir=tiny_model), []
    first = backends.load_auto(paths, folder=tmp_path, log=lines.append, tolerance=0.0)
    assert "Choosing the fastest back end" in lines[0]
    verdict_files = list((tmp_path / "backends").glob("*.json"))
    assert len(verdict_files) == 1
    verdict = json.loads(verdict_files[0].read_text())
    expected = "openvino fp32" if HAVE_OPENVINO else ("onnxruntime fp32" if "onnxruntime" in
                                                       backends.available_backends() else "opencv fp32")
    assert backends.backend_label(first) == expected
    labels = {f"{c['backend']} {c['precision']}": c for c in verdict["candidates"]}
    assert set(labels) >= {f"{name} fp32" for name in backends.available_backends()}
    for label, candidate in labels.items():
        if label.endswith("fp32"):
            assert candidate["accepted"] and candidate["error"] < auto.FP32_TOLERANCE, label
        else:  # tolerance 0: no reduced precision passes
            assert not candidate["accepted"] and candidate["error"] > 0, label

    remembered = backends.remembered_choice(paths, folder=tmp_path, tolerance=0.0)
    assert remembered == verdict
    assert backends.remembered_choice(paths, folder=tmp_path, tolerance=0.0, temperature=0.2) is None
    table = backends.choice_table(remembered).splitlines()
    assert [line.split("  <-")[0].split()[:2] for line in table if "<- chosen" in line] == [expected.split()]
    assert len(table) == 1 + len(verdict["candidates"])

    monkeypatch.setattr(auto, "choose_backend", lambda *a, **k: pytest.fail("checked again"))
    lines.clear()
    second = backends.load_auto(paths, folder=tmp_path, log=lines.append, tolerance=0.0)
    assert backends.backend_label(second) == expected
    assert "remembered in" in lines[-1] and len(lines) == 1
    reference = load_model(model_dir=tiny_model)
    assert np.abs(colours(second) - colours(reference)).max() < 0.05


def test_the_fastest_accepted_candidate_wins(tiny_model, tmp_path, fake_speed):
    fake_speed.update({"opencv fp32": 50.0, "openvino fp32": 100.0, "onnxruntime fp32": 200.0})
    net = backends.load_auto(model_paths(model_dir=tiny_model), folder=tmp_path, log=None, tolerance=0.0)
    assert backends.backend_label(net) == "opencv fp32"  # the slowest elsewhere, the fastest here
    assert type(net) is type(load_model(model_dir=tiny_model))  # OpenCV's, as load_model gives it


@needs_openvino
def test_int8_is_used_only_within_the_tolerance_and_its_calibration_is_kept(small_model, tmp_path, fake_speed,
                                                                            monkeypatch):
    fake_speed.update({"openvino int8": 10.0})
    paths = model_paths(model_dir=small_model)
    strict = backends.load_auto(paths, folder=tmp_path / "strict", log=None, tolerance=1e-6)
    assert backends.backend_label(strict) != "openvino int8"
    loose = backends.load_auto(paths, folder=tmp_path / "loose", log=None, tolerance=1e6)
    assert backends.backend_label(loose) == "openvino int8"
    verdict = json.loads(next((tmp_path / "loose" / "backends").glob("*.json")).read_text())
    assert verdict["saved"]["ranges"]  # the calibrated input ranges of the int8 convolutions

    def no_calibration(*args, **kwargs):
        raise AssertionError("calibrated again")

    monkeypatch.setattr(load, "calibrated_ranges", no_calibration)  # the loader builds what auto chose
    again = backends.load_auto(paths, folder=tmp_path / "loose", log=None, tolerance=1e6)
    assert backends.backend_label(again) == "openvino int8"
    assert np.array_equal(colours(again), colours(loose))


def test_another_model_or_temperature_is_checked_again(make_tiny_model, tmp_path, fake_speed):
    a, b = model_paths(model_dir=make_tiny_model(seed=0)), model_paths(model_dir=make_tiny_model(seed=1))
    for paths, temperature in ((a, 0.38), (b, 0.38), (a, 0.2), (a, 0.38)):
        backends.load_auto(paths, folder=tmp_path, temperature=temperature, log=None)
    assert len(list((tmp_path / "backends").glob("*.json"))) == 3


def test_a_damaged_verdict_is_checked_again_and_replaced(tiny_model, tmp_path, fake_speed):
    paths = model_paths(model_dir=tiny_model)
    backends.load_auto(paths, folder=tmp_path, log=None)
    (verdict,) = (tmp_path / "backends").glob("*.json")
    verdict.write_text('{"chosen": ')
    lines = []
    net = backends.load_auto(paths, folder=tmp_path, log=lines.append)
    assert "Choosing" in lines[0]
    assert json.loads(verdict.read_text())["chosen"]["backend"] == backends.backend_label(net).split()[0]


def test_an_unwritable_cache_folder_costs_only_the_memory(tiny_model, tmp_path, fake_speed):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    lines = []
    net = backends.load_auto(model_paths(model_dir=tiny_model), folder=blocker, log=lines.append)
    assert "not remembered" in lines[-1]
    assert colours(net).shape == (1, 2, 16, 16)


def test_a_missing_model_file_is_said_as_load_model_says_it(tiny_model, tmp_path):
    (tiny_model / "colorization_release_v2.caffemodel").unlink()
    with pytest.raises(ModelLoadError, match="is missing"):
        backends.load_auto(model_paths(model_dir=tiny_model), folder=tmp_path, log=None)


def test_without_the_fast_packages_auto_is_opencv(tiny_model, tmp_path):
    code = (
        "import sys\n"
        "for m in ('onnxruntime', 'openvino'): sys.modules[m] = None\n"
        "from helpers import backends\n"
        "from helpers.backends import load_model\n"
        f"net = load_model(model_dir={str(tiny_model)!r}, backend='auto')\n"
        "print('LABEL', backends.backend_label(net))\n"
    )
    env_cache = {"COLORIZE_CACHE_DIR": str(tmp_path)}
    import os

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **env_cache})
    assert result.returncode == 0, result.stderr
    assert "LABEL opencv fp32" in result.stdout
    assert "opencv (fp32)" in result.stdout  # it said what it checked


def test_the_command_line_uses_auto_by_default_and_says_what_it_chose(tiny_model, tmp_path, gray_image):
    import os


    cv2.imwrite(str(tmp_path / "photo.png"), gray_image)
    env = {**os.environ, "COLORIZE_MODEL_DIR": str(tiny_model), "COLORIZE_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "helpers", "photo", str(tmp_path / "photo.png"), "--out", str(tmp_path / "out")]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert first.returncode == 0, first.stderr
    assert "Choosing the fastest back end" in first.stdout
    chosen = next(line for line in first.stdout.splitlines() if line.startswith("Model ("))
    second = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert second.returncode == 0, second.stderr
    assert "Choosing" not in second.stdout and "remembered in" in second.stdout
    assert chosen in second.stdout
    help_text = subprocess.run([sys.executable, "-m", "helpers", "photo", "--help"], capture_output=True,
                               text=True, timeout=60, env=env).stdout
    assert "{auto,opencv" in help_text and "auto (default)" in help_text


def test_the_decision_is_the_fastest_accepted_candidate_alone():
    """auto.fastest, the rule apart from the measuring: rejected or untimed candidates never win; a tie keeps
    the first."""
    reference = auto.Candidate("opencv", "fp32", error=0.0, ms=300.0, accepted=True)
    quick_but_wrong = auto.Candidate("openvino", "int8", error=5.0, ms=10.0, accepted=False)
    fp32 = auto.Candidate("openvino", "fp32", error=0.001, ms=100.0, accepted=True)
    broken = auto.Candidate("onnxruntime", "fp32", note="could not be built")
    assert auto.fastest([reference, quick_but_wrong, fp32, broken]) is fp32
    assert auto.fastest([reference, quick_but_wrong, broken]) is reference
    tie = auto.Candidate("onnxruntime", "fp32", error=0.001, ms=300.0, accepted=True)
    assert auto.fastest([reference, tie]) is reference
