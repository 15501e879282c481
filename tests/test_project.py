"""The repository itself: one list of dependencies, samples with sources, ignored weights."""

from __future__ import annotations

import re
import subprocess

import cv2
import pytest

from helpers.paths import INPUT_IMAGES, REPO_ROOT

NAMED_BY_THE_OWNER = {"jupyterlab", "opencv-python-headless", "numpy", "matplotlib", "imutils",
                      "ipywidgets", "pooch", "tqdm", "av", "pillow", "openvino", "dask", "segno", "onnx"}
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
"""The Pythons the project supports, each a lane of .ci/run."""


def pyproject() -> dict:
    """pyproject.toml, read with tomllib (Python 3.11+: on 3.10 the tests that need it are skipped)."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib comes with Python 3.11")
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def requirement_names(path):
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(re.split(r"[<>=!~\[ ;]", line)[0].lower())
    return names


def test_requirements_name_every_dependency_and_allow_both_opencv_generations():
    assert requirement_names(REPO_ROOT / "requirements.txt") == NAMED_BY_THE_OWNER
    text = (REPO_ROOT / "requirements.txt").read_text()
    # OpenCV 4 reads the Caffe files, 5 the ONNX file; 4.10 is the first built for NumPy 2
    assert re.search(r"^opencv-python-headless>=4\.10,<6$", text, re.M)
    assert "opencv-python>" not in text and "opencv-python=" not in text  # the libGL-hungry wheel
    # OpenVINO has wheels for some machines only: elsewhere it is left out (auto then uses OpenCV)
    assert re.search(r'^openvino>=[\d.]+,<\d+; platform_machine == "x86_64"', text, re.M)


def test_each_python_gets_the_pyav_it_has_wheels_for():
    from packaging.requirements import Requirement

    lines = [line for line in (REPO_ROOT / "requirements.txt").read_text().splitlines() if line.startswith("av")]
    wanted = {"3.10": "17.1.0", "3.11": "18.1.0", "3.12": "19.0.2", "3.13": "19.0.2"}  # the newest of each
    unwanted = {"3.10": "18.1.0", "3.11": "19.0.2", "3.12": "20.0.0", "3.13": "20.0.0"}
    for python in PYTHONS:
        chosen = [r for r in map(Requirement, lines) if r.marker.evaluate({"python_version": python})]
        assert len(chosen) == 1, python
        assert wanted[python] in chosen[0].specifier and unwanted[python] not in chosen[0].specifier, python


def test_the_supported_pythons_are_said_alike_everywhere():
    project = pyproject()
    assert project["project"]["requires-python"] == ">=3.10"
    assert "sys.version_info >= (3, 10)" in (REPO_ROOT / "Makefile").read_text()
    assert "Python 3.10 to 3.13" in (REPO_ROOT / "README.md").read_text()
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert all(f":{python}" in ci for python in PYTHONS if python != "3.11")  # a lane each; 3.11 is the main one


def test_pyproject_takes_its_dependencies_from_requirements_txt():
    project = pyproject()
    assert project["project"]["dynamic"] == ["dependencies"]
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]


def test_environment_yml_installs_requirements_txt_and_the_package():
    """conda and Binder use requirements.txt too, so the two can never drift apart."""
    lines = [line.strip() for line in (REPO_ROOT / "environment.yml").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    deps = lines[lines.index("dependencies:") + 1:]
    assert deps[0].startswith("- python=") and "- pip" in deps and "- pip:" in deps
    pip_section = deps[deps.index("- pip:") + 1:]
    assert pip_section == ["- -r requirements.txt", "- -e ."]
    conda_packages = [d for d in deps if d.startswith("- ") and not d.startswith("- pip") and "python=" not in d
                      and d not in pip_section]
    assert conda_packages == [], "packages belong in requirements.txt, not environment.yml"


def test_samples_are_small_gray_and_documented():
    samples = sorted(p for p in INPUT_IMAGES.iterdir() if p.is_file() and p.suffix in (".jpg", ".png"))
    assert 4 <= len(samples) <= 6
    sources = (INPUT_IMAGES / "SOURCES.md").read_text()
    for sample in samples:
        img = cv2.imread(str(sample), cv2.IMREAD_UNCHANGED)
        assert img.ndim == 2, f"{sample.name} should be a gray image"
        assert max(img.shape) <= 1000
        assert sample.name in sources
    assert sources.count("CC0") + sources.lower().count("public domain") >= len(samples)


def test_ground_truth_matches_its_gray_version():
    truths = list((INPUT_IMAGES / "ground_truth").iterdir())
    assert truths
    for truth in truths:
        color = cv2.imread(str(truth))
        gray = cv2.imread(str(INPUT_IMAGES / truth.name), cv2.IMREAD_GRAYSCALE)
        assert color.shape[:2] == gray.shape
        assert color.std(axis=2).mean() > 5  # really in colour
        assert abs(cv2.cvtColor(color, cv2.COLOR_BGR2GRAY).astype(int) - gray).mean() < 3


@pytest.mark.parametrize("path", ["model/colorization_release_v2.caffemodel",
                                  "model/colorization_release_v2_norebal.caffemodel",
                                  "model/my_own.prototxt", "model/other_centres.npy", "colorized_images/x_color.jpg",
                                  "colorized_frames/clip/frame_000001.png", ".venv/bin/python",
                                  "build/standin-model/colorization_release_v2.caffemodel"])
def test_weights_and_outputs_are_git_ignored(path):
    result = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO_ROOT)
    assert result.returncode == 0, f"{path} should be ignored by git"


@pytest.mark.parametrize("path", ["model/registry.json", "model/README.md", "model/.gitattributes",
                                  "model/colorization_deploy_v2.prototxt", "model/pts_in_hull.npy"])
def test_model_registry_readme_and_the_two_small_model_files_are_tracked(path):
    """The prototxt and cluster centres ship with the repository: a fresh clone works offline."""
    assert subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO_ROOT).returncode == 1
    assert subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=REPO_ROOT,
                          capture_output=True).returncode == 0, f"{path} is not committed"


def test_shipped_model_files_keep_their_bytes_in_every_checkout():
    """A CRLF conversion (Windows, core.autocrlf) would change the prototxt's hash."""
    for path, expected in [("model/colorization_deploy_v2.prototxt", "-text"), ("model/pts_in_hull.npy", "binary")]:
        result = subprocess.run(["git", "check-attr", "text", "binary", "--", path], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=True)
        assert f"{path}: text: unset" in result.stdout, result.stdout
        if expected == "binary":
            assert f"{path}: binary: set" in result.stdout, result.stdout


def test_model_readme_has_the_licence_and_the_citation():
    readme = (REPO_ROOT / "model" / "README.md").read_text()
    assert "Copyright (c) 2016, Richard Zhang, Phillip Isola, Alexei A. Efros" in readme
    assert "Redistributions in binary form must reproduce the above copyright notice" in readme
    assert "@inproceedings{zhang2016colorful" in readme


def test_binder_badge_opens_an_existing_notebook():
    readme = (REPO_ROOT / "README.md").read_text()
    badge = re.search(r"\(https://mybinder\.org/v2/gh/[^)\s]+\?urlpath=lab/tree/([^)\s]+)\)", readme)
    assert badge, "README has a Binder badge"
    assert badge.group(1) == "notebooks/01_lab_colour_space.ipynb"
    assert (REPO_ROOT / badge.group(1)).is_file()


def test_binder_set_up():
    assert not (REPO_ROOT / "binder").exists(), "a binder/ folder would make Binder ignore the root files"
    post_build = (REPO_ROOT / "postBuild").read_text().splitlines()
    assert post_build[0].startswith("#!") and "set -e" in post_build
    assert any("pip install" in line and "-e ." in line for line in post_build)
    assert "python -m helpers fetch" in post_build
    assert (REPO_ROOT / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
