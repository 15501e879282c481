"""The Makefile: `make lab` as root (Docker, cloud notebooks, CI) and with the user's JupyterLab options."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from helpers.paths import REPO_ROOT
from tests.conftest import wait_for_jupyter

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
JUPYTER = REPO_ROOT / ".venv" / "bin" / "jupyter"
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
"""The environment without the settings of a make that runs these tests (`make test`)."""


def dry_run(*arguments: str) -> str:
    """The commands `make -n` would run; -o keeps make from reinstalling the environment."""
    result = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.ready", *arguments], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True, env=CLEAN_ENV)
    return result.stdout


def jupyter_command(output: str) -> str:
    [line] = [line for line in output.splitlines() if "jupyter lab" in line]
    return line


def test_lab_as_root_adds_allow_root():
    assert "--allow-root" in jupyter_command(dry_run("lab", "USER_ID=0")).split()


def test_lab_as_another_user_does_not():
    assert "--allow-root" not in jupyter_command(dry_run("lab", "USER_ID=1000")).split()


def test_lab_finds_out_who_runs_it():
    expected = os.geteuid() == 0
    assert ("--allow-root" in jupyter_command(dry_run("lab")).split()) == expected


def test_lab_passes_jupyter_args_through():
    command = jupyter_command(dry_run("lab", "JUPYTER_ARGS=--no-browser --port 9999"))
    assert command.split()[-4:] == ["--no-browser", "--port", "9999", "notebooks/"]


def test_standin_needs_no_download():
    assert dry_run("standin").strip().endswith("python -m tools.standin_model build/standin-model")


def test_the_first_set_up_says_what_it_does_and_shows_pips_progress():
    """The first `make` was silent for a minute (pip --quiet)."""
    result = subprocess.run(["make", "--no-print-directory", "-n", "-B", ".venv/.ready"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True, env=CLEAN_ENV)
    [pip] = [line for line in result.stdout.splitlines() if "pip install" in line]
    assert "--quiet" not in pip and "-r requirements.txt" in pip
    assert "Installing the Python packages into .venv" in result.stdout.split(pip)[0]  # said before it starts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_lab_answers(env: dict, tmp_path: Path, timeout: float = 90) -> str:
    """Run `make lab` with ``env`` (and JupyterLab's folders in ``tmp_path``) until JupyterLab answers on
    our port with our token; stop it and return what make printed."""
    port, token = _free_port(), secrets.token_hex(16)
    args = f"--no-browser --port {port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token}"
    env = {**env, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log_path = tmp_path / "make-lab.log"
    with open(log_path, "w") as log:
        make = subprocess.Popen(["make", "-o", ".venv/.ready", "lab", f"JUPYTER_ARGS={args}"], cwd=REPO_ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_jupyter(f"http://127.0.0.1:{port}/api/status?token={token}", make, log_path, "make lab",
                             timeout=timeout)
        finally:
            os.killpg(make.pid, signal.SIGTERM)  # make and the JupyterLab it started
            try:
                make.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
    return log_path.read_text()


@pytest.mark.skipif(not JUPYTER.is_file(), reason="no .venv with JupyterLab (make lab sets it up)")
def test_make_lab_really_starts_jupyterlab(tiny_model, tmp_path):
    """As whoever runs the tests (root in containers and CI): JupyterLab starts, with our port and token."""
    printed = _make_lab_answers({**CLEAN_ENV, "COLORIZE_MODEL_DIR": str(tiny_model)},  # `make lab` downloads nothing
                                tmp_path)
    assert "COLORIZE_MODEL_DIR is set" in printed


@pytest.mark.skipif(not JUPYTER.is_file(), reason="no .venv with JupyterLab (make lab sets it up)")
def test_make_lab_starts_jupyterlab_offline_without_the_weights(tmp_path):
    """No network (every download refused at once) and no weights: JupyterLab still answers, and says why."""
    env = {**{k: v for k, v in CLEAN_ENV.items() if k != "COLORIZE_MODEL_DIR"},
           "COLORIZE_MODEL_MIRROR": str(tmp_path / "no-mirror"),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}  # offline, quickly
    printed = _make_lab_answers(env, tmp_path, timeout=120)
    weights = REPO_ROOT / "model" / "colorization_release_v2.caffemodel"
    if not weights.is_file():  # (a developer's machine may have fetched them: then nothing failed)
        assert "JupyterLab starts anyway: notebook 01 needs no model" in printed
