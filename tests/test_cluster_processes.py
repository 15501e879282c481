"""Dask as an operator runs it: a ``dask scheduler`` and ``dask worker`` processes, each in its own
working folder, without the model, on loopback; the command line in a third folder with relative
paths. Output identical to one process; a late worker with another model is refused and none of
its work is used; kill -9 of the worker, the scheduler or the client, then the same command: the
same output, and never a traceback."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.videos import make_video, same_frames, same_segments

distributed = pytest.importorskip("dask.distributed")
SLOW = """
import time
from helpers.video import on_cluster

real = on_cluster.__dict__.setdefault("real_run_job", on_cluster.run_job)  # Dask may run this file more than once


def slow(*args, **kwargs):  # a segment takes a while: time to kill things while they work
    time.sleep(float({seconds}))
    return real(*args, **kwargs)


on_cluster.run_job = slow
"""
OTHER_MODEL = """
from pathlib import Path
from helpers.cluster import workers

workers.find_model = lambda spec: Path({folder!r})  # this machine has another model of the same sizes
"""
NO_MODEL = """
import dataclasses
from helpers.cluster import workers

real = workers.__dict__.setdefault("real_find_model", workers.find_model)  # Dask may run this file more than once
workers.find_model = lambda spec: real(dataclasses.replace(spec, model_dir="/nowhere"))  # no shared model folder
"""
ELSEWHERE = """
from helpers.cluster import workers

workers.file_fingerprint = lambda path: "No such file or directory"  # a machine without the shared folder
"""


def _dask_command() -> list[str]:
    return [str(Path(sys.executable).with_name("dask"))]


class Cluster:
    """A scheduler and workers as separate processes, each in its own folder under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root, self.workers, self.scheduler = root, [], None
        self.file = root / "scheduler.json"
        self.env = {k: v for k, v in os.environ.items() if k != "COLORIZE_MODEL_DIR"}  # workers have no model

    def _start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        log = open(folder / "log.txt", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen([*_dask_command(), *args], cwd=folder, stdout=log, stderr=log,
                                env={**self.env, **(env or {})})

    def start_scheduler(self) -> str:
        self.file.unlink(missing_ok=True)
        self.scheduler = self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                                   "--dashboard-address", "127.0.0.1:0",
                                                   "--scheduler-file", str(self.file)])
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)  # written in full
        return self.address

    @property
    def address(self) -> str:
        return json.loads(self.file.read_text())["address"]

    def add_worker(self, preload: str | None = None) -> subprocess.Popen:
        name = f"worker{len(self.workers) + 1}"
        args = ["worker", "--scheduler-file", str(self.file), "--nthreads", "1", "--host", "127.0.0.1",
                "--dashboard-address", "127.0.0.1:0"]
        if preload:
            script = self.root / f"{name}_preload.py"
            script.write_text(preload)
            args += ["--preload", str(script)]
        worker = self._start(name, args, env={"COLORIZE_CACHE_DIR": str(self.root / name / "cache")})  # its own
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int) -> list[str]:
        with distributed.Client(self.address, timeout="30s") as client:
            client.wait_for_workers(n, timeout=90)
            return list(client.scheduler_info(n_workers=-1)["workers"])

    def worker_pids(self) -> dict[str, int]:
        with distributed.Client(self.address, timeout="30s") as client:
            return client.run(os.getpid)

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def operator(tmp_path):
    running = Cluster(tmp_path / "cluster")
    yield running
    running.stop()


@pytest.fixture
def desk(tmp_path, tiny_model):
    """The client's folder: a video under a relative path, and what the command needs."""
    folder = tmp_path / "desk"
    (folder / "films").mkdir(parents=True)
    make_video(folder / "films" / "clip.mp4", n=120, fps=10, size=(64, 48), audio=12.0, gop=12)
    return folder, {**os.environ, "COLORIZE_MODEL_DIR": str(tiny_model)}


def _video(desk, *args) -> subprocess.Popen:
    folder, env = desk
    return subprocess.Popen([sys.executable, "-m", "helpers", "video", "films/clip.mp4", "--backend", "opencv",
                             "--frames-dir", "frames", "--out", "clip_color.mp4", *map(str, args)], cwd=folder,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(run: subprocess.Popen) -> tuple[int, str, str]:
    out, err = run.communicate(timeout=240)
    return run.returncode, out, err


def _one_process(desk, tmp_path, *args) -> Path:
    """The reference: the same command without Dask, in another folder."""
    folder, env = desk
    reference = tmp_path / "reference"
    result = subprocess.run([sys.executable, "-m", "helpers", "video", str(folder / "films" / "clip.mp4"), "--backend",
                             "opencv", "--frames-dir", str(reference), "--out", str(tmp_path / "reference.mp4"),
                             *map(str, args)], env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    return reference


def _wait_for_segments(folder: Path, n: int, run: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while len(list(folder.glob("segment_*.mp4"))) < n:
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "no segment came"
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_separate_processes_and_relative_paths_give_the_one_process_segments(mode, operator, desk, tmp_path):
    operator.start_scheduler()
    operator.add_worker()
    operator.add_worker()
    operator.wait_for_workers(2)
    code, out, err = _finish(_video(desk, "--mode", mode, "--scheduler", operator.address))
    assert code == 0, err[-2000:]
    assert "Traceback" not in err and "Dask: 2 worker(s)" in out
    assert len([line for line in out.splitlines() if line.startswith("Dask worker ")]) >= 1  # frames per worker
    assert same_segments(desk[0] / "frames", _one_process(desk, tmp_path, "--mode", mode))


def test_a_late_worker_with_another_model_is_refused_and_none_of_its_work_is_used(operator, desk, tmp_path,
                                                                               make_tiny_model):
    operator.start_scheduler()
    operator.add_worker(SLOW.format(seconds=0.7))
    operator.wait_for_workers(1)
    run = _video(desk, "--scheduler", operator.address)
    _wait_for_segments(desk[0] / "frames", 1, run)
    operator.add_worker(OTHER_MODEL.format(folder=str(make_tiny_model(seed=5))))  # joins mid-run
    late = set(operator.wait_for_workers(2))
    code, out, err = _finish(run)
    assert code == 0, err[-2000:]
    refused = [line for line in out.splitlines() if "got no work: it gives other colours" in line]
    assert len(refused) == 1 and any(address in refused[0] for address in late), out
    assert same_segments(desk[0] / "frames", _one_process(desk, tmp_path))


def test_kill_9_of_the_worker_then_of_the_scheduler_then_of_the_client(operator, desk, tmp_path):
    """Each kill, then the same command: the output of an uninterrupted run, and never a traceback."""
    reference = _one_process(desk, tmp_path)
    frames = desk[0] / "frames"
    operator.start_scheduler()
    operator.add_worker(SLOW.format(seconds=0.5))
    operator.wait_for_workers(1)

    # the only worker's process, mid-segment: its nanny starts a new one, which proves the model again
    run = _video(desk, "--scheduler", operator.address)
    _wait_for_segments(frames, 1, run)
    [pid] = operator.worker_pids().values()
    os.kill(pid, signal.SIGKILL)
    code, out, err = _finish(run)
    assert code == 0 and "Traceback" not in err, err[-2000:]
    assert same_segments(frames, reference)

    # the scheduler: one line, exit 1; a new scheduler and worker, the same command finishes
    for segment in list(frames.glob("segment_*.mp4"))[1:]:
        segment.unlink()
    run = _video(desk, "--scheduler", operator.address)
    _wait_for_segments(frames, 2, run)
    operator.scheduler.kill()
    code, out, err = _finish(run)
    assert code == 1 and "Traceback" not in err, err[-3000:]
    assert "connection to the Dask scheduler was lost" in err and "run the same command again to finish" in err
    operator.stop()
    operator.workers.clear()
    operator.start_scheduler()
    operator.add_worker(SLOW.format(seconds=0.5))
    operator.wait_for_workers(1)

    # the client, killed while it waits: the rerun reuses what it wrote, and finishes
    run = _video(desk, "--scheduler", operator.address)
    time.sleep(2)
    run.kill()
    run.wait()
    code, out, err = _finish(_video(desk, "--scheduler", operator.address))
    assert code == 0 and "Traceback" not in err, err[-2000:]
    assert same_segments(frames, reference)
    assert same_frames(desk[0] / "clip_color.mp4", tmp_path / "reference.mp4")


def test_a_worker_that_does_not_see_the_video_is_named_before_anything_is_sent(operator, desk):
    operator.start_scheduler()
    operator.add_worker(ELSEWHERE)
    [address] = operator.wait_for_workers(1)
    code, out, err = _finish(_video(desk, "--scheduler", operator.address))
    assert code == 1 and "Traceback" not in err, err[-2000:]
    wanted = str(desk[0] / "films" / "clip.mp4")  # the relative path, made absolute by the client
    assert f"Dask worker {address} cannot read {wanted} (No such file or directory)" in err, err
    assert not list((desk[0] / "frames").glob("segment_*"))


def test_a_worker_without_the_model_fetches_it_from_the_client_not_through_the_scheduler(operator, desk, tmp_path,
                                                                                       tiny_model):
    operator.start_scheduler()
    operator.add_worker(NO_MODEL)
    operator.wait_for_workers(1)
    code, out, err = _finish(_video(desk, "--scheduler", operator.address))
    assert code == 0 and "Traceback" not in err, err[-2000:]
    fetched = next((operator.root / "worker1" / "cache" / "models").iterdir())
    weights = next(tiny_model.glob("*.caffemodel"))
    assert (fetched / weights.name).read_bytes() == weights.read_bytes()
    with distributed.Client(operator.address, timeout="30s") as client:  # what the scheduler holds for workers
        held = client.run_on_scheduler(lambda dask_scheduler: len(pickle.dumps(dask_scheduler.worker_plugins)))
    assert held < 100_000
    assert same_segments(desk[0] / "frames", _one_process(desk, tmp_path))
