"""A broken OpenCV install is named, and the fix it prints repairs it: also in a real virtual
environment where one OpenCV package was installed and uninstalled over another."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from helpers.common.opencv_install import (
    PACKAGES,
    REQUIREMENT,
    OpenCvInstall,
    OpenCvInstallError,
    OpenCvInstallWarning,
    check_opencv,
    find_opencv,
    opencv_problem,
)
from helpers.paths import REPO_ROOT

PYTHON = "/home/ada/venv/bin/python"


def fix_commands(message: str) -> list[str]:
    """The command lines a message asks the user to type (indented under 'Fix')."""
    return [line.strip() for line in message.split("Fix", 1)[1].splitlines()[1:] if line.startswith("    ")]


def test_a_working_single_opencv_is_fine():
    assert opencv_problem(OpenCvInstall({"opencv-python-headless": "5.1.0.95"}, "5.1.0", None, PYTHON)) is None
    assert opencv_problem(OpenCvInstall({}, "4.9.0", None, PYTHON)) is None  # conda's or the system's OpenCV


@pytest.mark.parametrize("case, packages, version, error, words", [
    ("half uninstalled", {"opencv-python-headless": "4.14.0.94"}, None, "the cv2 folder holds no OpenCV",
     ["opencv-python-headless 4.14.0.94", "gone or mixed"]),
    ("two packages", {"opencv-python-headless": "4.14.0.94", "opencv-python": "5.1.0.95"}, "5.1.0", None,
     ["works for now", "opencv-python 5.1.0.95", "share one cv2 folder"]),
    ("built for NumPy 1", {"opencv-python": "4.8.1.78"}, None, "ImportError: numpy.core.multiarray failed to import",
     ["NumPy 2", "4.10"]),
    ("desktop build without libGL", {"opencv-python": "5.1.0.95"}, None,
     "ImportError: libGL.so.1: cannot open shared object file", ["headless", "OpenGL"]),
    ("none", {}, None, "ModuleNotFoundError: No module named 'cv2'", ["not installed"]),
])
def test_each_broken_install_is_named_with_a_fix(case, packages, version, error, words):
    message = opencv_problem(OpenCvInstall(packages, version, error, PYTHON))
    for word in words:
        assert word in message, case
    commands = fix_commands(message)
    # every OpenCV package pip lists goes, then the one asked for comes back with all its files
    if packages:
        assert commands[0] == f"{PYTHON} -m pip uninstall -y " + " ".join(packages)
    assert commands[-1] == f'{PYTHON} -m pip install --force-reinstall --no-deps "{REQUIREMENT}"'


def test_check_raises_only_when_opencv_does_not_work():
    with pytest.raises(OpenCvInstallError, match="gone or mixed"):
        check_opencv(OpenCvInstall({"opencv-python": "5.1.0.95"}, None, "no __version__", PYTHON))
    with pytest.warns(OpenCvInstallWarning, match="share one cv2 folder"):
        said = check_opencv(OpenCvInstall({p: "5.1.0.95" for p in PACKAGES[:2]}, "5.1.0", None, PYTHON))
    assert said.startswith("OpenCV 5.1.0 (opencv-python-headless 5.1.0.95, opencv-python 5.1.0.95)")
    assert "ONNX" in said and "Caffe" in check_opencv(OpenCvInstall({}, "4.14.0", None, PYTHON))


def test_the_requirement_is_what_requirements_txt_asks_for():
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    assert REQUIREMENT in lines


def test_this_environment_works():
    install = find_opencv()
    assert install.works and opencv_problem(install) is None, opencv_problem(install)


def _fake_cv2(tmp_path: Path) -> dict:
    """An environment whose ``import cv2`` finds a folder without OpenCV (what an uninstall leaves)."""
    (tmp_path / "fake" / "cv2").mkdir(parents=True, exist_ok=True)
    (tmp_path / "fake" / "cv2" / "__init__.py").write_text("")
    return {**os.environ, "PYTHONPATH": f"{tmp_path / 'fake'}{os.pathsep}{REPO_ROOT}"}


def test_the_command_line_says_what_is_wrong_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "helpers", "photo", str(REPO_ROOT / "input_images")],
                            env=_fake_cv2(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "holds no OpenCV" in result.stderr
    assert f"{sys.executable} -m pip install --force-reinstall" in result.stderr
    # --help needs no OpenCV
    assert subprocess.run([sys.executable, "-m", "helpers", "--help"], env=_fake_cv2(tmp_path),
                          capture_output=True, timeout=120).returncode == 0


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True,
                   capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def broken_venv(tmp_path_factory):
    """A virtual environment where the classic breakage really happened: the headless OpenCV, then the
    desktop one over it, then the desktop one uninstalled (its uninstall deletes the shared cv2 files)."""
    version = importlib.metadata.version("opencv-python-headless")
    numpy_version = importlib.metadata.version("numpy")
    folder = tmp_path_factory.mktemp("venv") / "broken"
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    try:
        _pip(python, "install", f"opencv-python-headless=={version}", f"numpy=={numpy_version}")
        _pip(python, "install", "--no-deps", f"opencv-python=={version}")
    except subprocess.CalledProcessError as exc:
        if os.environ.get("REQUIRE_NETWORK") == "1":
            raise
        pytest.skip(f"pip could not install OpenCV {version} (offline?): {exc.stderr.decode()[-300:]}")
    _pip(python, "uninstall", "-y", "opencv-python")
    return python


def _diagnose(python: Path) -> subprocess.CompletedProcess:
    """helpers/common/opencv_install.py run as a script: the environment has OpenCV and NumPy, nothing else."""
    script = REPO_ROOT / "helpers" / "common" / "opencv_install.py"
    return subprocess.run([str(python), str(script)], capture_output=True, text=True, timeout=120)


def test_the_printed_fix_repairs_a_really_broken_install(broken_venv):
    result = subprocess.run([str(broken_venv), "-c", "import cv2; cv2.__version__"], capture_output=True, text=True)
    # the breakage is real: no cv2 at all, or a folder without OpenCV, while pip lists the headless one
    assert "No module named 'cv2'" in result.stderr or "has no attribute '__version__'" in result.stderr
    diagnosis = _diagnose(broken_venv)
    assert diagnosis.returncode == 1 and "opencv-python-headless" in diagnosis.stdout
    assert "gone or mixed" in diagnosis.stdout
    for command in fix_commands(diagnosis.stdout):
        subprocess.run(command, shell=True, check=True, capture_output=True, timeout=600)
    repaired = _diagnose(broken_venv)
    assert repaired.returncode == 0 and repaired.stdout.startswith("OpenCV "), repaired.stdout
    works = subprocess.run([str(broken_venv), "-c", "import cv2; print(cv2.dnn.readNetFromONNX)"],
                           capture_output=True, text=True)
    assert works.returncode == 0, works.stderr
