"""The command line: python -m helpers photo|fetch."""

from __future__ import annotations

import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from helpers.__main__ import main
from helpers.images import read_image
from helpers.paths import INPUT_IMAGES, REPO_ROOT
from tools.standin_model import WEIGHTS_NAME


@pytest.fixture
def model_env(tiny_model, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    return tiny_model


@pytest.fixture
def photos(tmp_path, gray_image):
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), gray_image)
    cv2.imwrite(str(folder / "b.jpg"), gray_image[:50, :71])
    return folder


def test_folder_is_colourised_at_full_resolution(model_env, photos, tmp_path, capsys):
    out = tmp_path / "out" / "new"
    assert main(["photo", str(photos), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_color.png", "b_color.jpg"]
    assert read_image(out / "a_color.png").shape == (97, 130, 3)
    assert read_image(out / "b_color.jpg").shape == (50, 71, 3)
    assert "2 image(s) colourised" in capsys.readouterr().out


def test_temperature_and_size_options_change_the_result(model_env, photos, tmp_path):
    results = {}
    for name, options in {"default": [], "hot": ["--temperature", "1.0"], "big": ["--size", "448"]}.items():
        out = tmp_path / name
        assert main(["photo", str(photos / "a.png"), "--out", str(out), *options]) == 0
        results[name] = read_image(out / "a_color.png")
    assert not np.array_equal(results["default"], results["hot"])
    assert not np.array_equal(results["default"], results["big"])


def test_bad_path_is_reported_and_fails(model_env, tmp_path, capsys):
    assert main(["photo", str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "out")]) == 1
    assert "missing.jpg: no such file or folder" in capsys.readouterr().err


def test_bad_file_in_a_folder_does_not_stop_the_others(model_env, photos, tmp_path, capsys):
    (photos / "c_broken.jpg").write_bytes(b"not a jpeg at all")
    out = tmp_path / "out"
    assert main(["photo", str(photos), "--out", str(out)]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["a_color.png", "b_color.jpg"]
    captured = capsys.readouterr()
    assert "c_broken.jpg" in captured.err
    assert "2 image(s) colourised" in captured.out and "1 failed" in captured.out


def test_inputs_are_never_overwritten(model_env, photos, capsys):
    """Writing into the input folder, where a_color.png already exists as an input."""
    shutil.copy(photos / "a.png", photos / "a_color.png")
    before = (photos / "a_color.png").read_bytes()
    assert main(["photo", str(photos), "--out", str(photos)]) == 0
    assert (photos / "a_color.png").read_bytes() == before
    assert {"a_color_2.png", "a_color_color.png", "b_color.jpg"} <= {p.name for p in photos.iterdir()}


def test_opencv_5_is_refused(model_env, photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cv2, "__version__", "5.0.0")
    assert main(["photo", str(photos), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "OpenCV 5.0.0" in err and "opencv-python-headless>=4.8,<5" in err
    assert not (tmp_path / "out").exists()


def test_corrupt_model_is_refused(tiny_model, photos, tmp_path, monkeypatch, capsys):
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model, broken)
    (broken / WEIGHTS_NAME).write_bytes(b"\x0a\xff\xff\xff" * 100)
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(broken))
    assert main(["photo", str(photos), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert WEIGHTS_NAME in err and "damaged" in err
    assert not (tmp_path / "out").exists()


def test_bad_size_is_refused_before_any_work(model_env, photos, tmp_path, capsys):
    for size in ("100", "4096"):
        with pytest.raises(SystemExit) as exit_:
            main(["photo", str(photos), "--out", str(tmp_path / "out"), "--size", size])
        assert exit_.value.code == 2 and "multiple of 8 from 32 to 1024" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_fetch_with_own_model_folder(model_env, capsys):
    assert main(["fetch"]) == 0
    assert str(model_env) in capsys.readouterr().out


def test_fetch_with_own_model_folder_missing_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tmp_path))
    assert main(["fetch"]) == 1
    assert "missing" in capsys.readouterr().err


def test_demo_colourises_the_samples(model_env, tmp_path):
    """What `make demo` runs, on the real sample folder, with a stand-in model."""
    out = tmp_path / "demo"
    assert main(["photo", str(INPUT_IMAGES), "--out", str(out)]) == 0
    samples = sorted(p for p in INPUT_IMAGES.iterdir() if p.suffix == ".jpg")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}_color.jpg" for p in samples)
    for sample in samples:
        assert read_image(out / f"{sample.stem}_color.jpg").shape[:2] == read_image(sample).shape[:2]


def test_module_entry_point_and_help():
    """`python -m helpers ... --help` works as a real process and explains the options."""
    result = subprocess.run([sys.executable, "-m", "helpers", "photo", "--help"],
                            capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    for word in ("--out", "--temperature", "--size", "--variant", "COLORIZE_MODEL_DIR", "Exit status"):
        assert word in result.stdout
    result = subprocess.run([sys.executable, "-m", "helpers", "fetch", "--help"],
                            capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert "--mirror" in result.stdout and "v2_norebal" in result.stdout
