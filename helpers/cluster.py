"""More than one machine: a video's frame ranges, or a folder's photos, spread over Dask workers.

A 90-minute film is about 135,000 frames: half a day in exact mode on one laptop. Dask
(https://distributed.dask.org) runs the same Python functions on many processes or machines:

* ``start_cluster(n)`` starts n worker processes on this machine (``LocalCluster``, bound to
  127.0.0.1, dashboard too); ``connect(address)`` joins a cluster started elsewhere with
  ``dask scheduler`` and ``dask worker``. Both give a ``dask.distributed.Client``.
* ``colorize_video(video, net, client=client)`` (``helpers.video``) sends each missing segment
  of a few seconds (``helpers.segments``) to a worker as a ``Job``. The segment grid is fixed
  and each segment starts afresh, so every frame comes out exactly as in a one-process run.
* Each worker decodes its own segment from the video file (the path must be visible to it: a
  shared folder), seeking to it (``video_io.frame_times``), colourises and encodes it with the
  loop a one-process run uses (``helpers.one_pass.run_job``) and its own copy of the model
  (loaded once per worker process, ``worker_net``), and returns the segment as H.264 bytes: a
  few seconds of video, about what the output itself takes (``colorize_segment``).
* The client writes the segments atomically and keeps the manifest and the lock, as a
  one-process run does: an interrupted run resumes, and only missing segments are sent.
* A worker that cannot see the model files gets them from the client, once (``ship_model``).

Damage in a video is a result, not an error: the range reports it as a one-process run
would, and is not retried. A worker that dies mid-range is replaced and its ranges run again.

Introduced in notebook 03_video ("More than one machine").
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from dask.distributed import Client, LocalCluster, WorkerPlugin, as_completed

from .backends import backend_label, load_backend, runtime
from .colorize import colorize
from .files import file_digest, write_bytes
from .model import ModelLoadError, get_temperature, load_model, model_paths, set_temperature
from .one_pass import Job, JobResult, run_job
from .segments import segment_path
from .video_io import DecodeError, SeekError

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
"""The environment variable Dask itself reads for a cluster's address (``tcp://host:8786``)."""


# --------------------------------------------------------------------------- the cluster
def start_cluster(workers: int, *, dashboard: bool = True):
    """A ``Client`` of ``workers`` new worker processes on this machine, for this session.

    Everything listens on 127.0.0.1 only: no other machine can reach the workers or the
    dashboard (``client.dashboard_link``; ``dashboard=False``: on any free port, without a
    warning when 8787 is taken). Each worker runs one task at a time with
    cores / ``workers`` threads for OpenCV and the network, so the cores are shared, not
    oversubscribed. Close it with ``client.close(); client.cluster.close()`` (or use ``with``).
    """
    if workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}.")
    # the dashboard on Dask's usual port, or another free one if that is taken (Dask says so)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:8787" if dashboard else "127.0.0.1:0")
    client = Client(cluster)
    client.run(_import_runtimes)  # while this process loads its own network (the command line does that meanwhile)
    return client


def _import_runtimes() -> None:
    """Import what loading a network needs, ahead of it (about 1 s per worker)."""
    import importlib

    for name in ("openvino", "onnxruntime"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def connect(address: str | None = None):
    """A ``Client`` of a running cluster: ``address`` (``tcp://host:8786``), else ``$DASK_SCHEDULER_ADDRESS``."""
    address = address or os.environ.get(SCHEDULER_ENV)
    if not address:
        raise ValueError(f"No cluster address: give one (tcp://host:8786) or set {SCHEDULER_ENV}.")
    try:
        return Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise OSError(f"Could not reach the Dask scheduler at {address} ({exc}). Is `dask scheduler` running there, "
                      "and is its port open to this machine?") from None


def describe(client) -> str:
    """One line for people: how many workers, and where the dashboard is."""
    workers = client.scheduler_info()["workers"]
    return f"Dask: {len(workers)} worker(s); dashboard: {client.dashboard_link}"


def threads_per_worker(client) -> int | None:
    """Threads for OpenCV and the network in each worker: cores / workers on a cluster of this
    machine (so N x threads = cores), None (the worker's default) on other machines."""
    if not isinstance(getattr(client, "cluster", None), LocalCluster):
        return None
    workers = len(client.scheduler_info()["workers"]) or 1
    return max(1, (os.cpu_count() or 1) // workers)


# --------------------------------------------------------------------------- the model on workers
@dataclass(frozen=True)
class NetSpec:
    """What a worker needs to load the client's network: the same files, runtime and precision."""

    variant: str
    model_dir: str
    """Where the client found the model files (workers look there first)."""
    digest: str
    """BLAKE2b of the weights: names the copy sent to workers that lack the files."""
    sizes: tuple[int, int, int]
    """The three files' sizes: a worker's copy must match them (and give the client's colours)."""
    backend: str
    precision: str
    threads: int | None = None
    """Threads for OpenCV and the network (``threads_per_worker``)."""

    @classmethod
    def of(cls, net, variant: str = "v2", model_dir: str | os.PathLike | None = None,
           threads: int | None = None) -> NetSpec:
        """The spec of ``net``, loaded by ``load_model(variant, model_dir=model_dir, ...)``."""
        paths = model_paths(variant, Path(model_dir) if model_dir else None)
        backend, precision = backend_label(net).split()
        return cls(variant, str(paths.prototxt.parent.resolve()), file_digest(paths.weights),
                   tuple(path.stat().st_size for path in paths.files), backend, precision, threads)


_shipped: dict[str, Path] = {}  # digest -> folder of files the client sent to this worker
_nets: dict[NetSpec, object] = {}
_one_at_a_time = threading.Lock()  # a network is not safe to run from two threads at once


def find_model(spec: NetSpec) -> Path | None:
    """The folder of ``spec``'s model files as this worker sees them: the client's folder, this
    machine's usual one (``$COLORIZE_MODEL_DIR`` or ``model/``), or a copy the client sent."""
    candidates = [Path(spec.model_dir)]
    try:
        candidates.append(model_paths(spec.variant).prototxt.parent)
    except (ModelLoadError, OSError, ValueError):
        pass
    candidates += [_shipped[spec.digest]] if spec.digest in _shipped else []
    for folder in candidates:
        # the sizes here; that the weights are the same is checked by their colours (prepare_workers)
        try:
            if tuple(p.stat().st_size for p in model_paths(spec.variant, folder).files) == spec.sizes:
                return folder
        except (ModelLoadError, OSError, ValueError):
            continue
    return None


def worker_net(spec: NetSpec):
    """This worker process's network for ``spec``: loaded on first use, then kept (one per process)."""
    if spec not in _nets:
        _nets.clear()  # one model per worker process: let the last one go before loading another
        if spec.threads:
            runtime.set_threads(spec.threads)
        folder = find_model(spec)
        if folder is None:
            raise ModelLoadError(f"This worker cannot see the model files (looked in {spec.model_dir}, the usual "
                                 "places and what the client sent).")
        if spec.precision == "fp32":  # what the client checked and chose: built as it is
            net = load_backend(spec.backend, model_paths(spec.variant, folder))
        else:  # int8 and bf16 are calibrated; auto remembers how, on this machine
            net = load_model(spec.variant, model_dir=folder, backend="auto")
        if backend_label(net) != f"{spec.backend} {spec.precision}":
            raise ModelLoadError(f"This worker runs the model as {backend_label(net)}, the client as {spec.backend} "
                                 f"{spec.precision}: their frames would differ. Use --backend opencv (or an fp32 "
                                 "back end) on clusters of unlike machines.")
        _nets[spec] = net
    return _nets[spec]


def prepare_workers(client, net, variant: str = "v2", model_dir: str | os.PathLike | None = None) -> NetSpec:
    """Make every worker load the client's network, once, and check that it is the same.

    Workers that cannot see the model files get them (``ship_model``). Each worker then runs
    the network on a small test input; its colours must match ``net``'s, so frames made by
    different workers can never differ (another model, another runtime...).
    """
    spec = NetSpec.of(net, variant, model_dir, threads=threads_per_worker(client))
    ship_model(client, spec)
    expected = _probe_colours(net)
    for address, colours in client.run(_worker_probe, spec, get_temperature(net)).items():
        if isinstance(colours, str):
            raise ModelLoadError(f"Dask worker {address} cannot load the model: {colours}")
        if colours.shape != expected.shape or np.abs(colours - expected).max() > PROBE_TOLERANCE:
            raise ModelLoadError(f"Dask worker {address} gives other colours than this process: it loads another "
                                 f"model than net (pass the folder net was loaded from as model_dir) or runs it "
                                 f"differently (try --backend opencv).")
    return spec


PROBE_TOLERANCE = 0.05
"""Largest ab difference allowed between a worker's network and the client's on the test input:
the same model on two CPUs may differ in the last bits of a float, another model by far more."""


def _probe_colours(net) -> np.ndarray:
    ramp = np.linspace(-50, 50, 32 * 32, dtype=np.float32).reshape(1, 1, 32, 32)
    net.setInput(ramp)
    return np.array(net.forward(), np.float32)


def _worker_probe(spec: NetSpec, temperature: float):
    with _one_at_a_time:
        try:
            net = worker_net(spec)
            set_temperature(net, temperature)
            return _probe_colours(net)
        except (ModelLoadError, OSError, RuntimeError, ValueError, ImportError) as exc:
            return str(exc)


def ship_model(client, spec: NetSpec, source: str | os.PathLike | None = None) -> list[str]:
    """Send the model files to the workers that cannot see them; returns their addresses.

    The three files (about 130 MB) travel once per worker, inside a worker plugin, so a worker
    that restarts gets them again. They go to the worker's own scratch folder. ``source``: where
    this process reads them (``spec.model_dir`` by default).
    """
    missing = [address for address, found in client.run(_sees_model, spec).items() if not found]
    if missing:
        paths = model_paths(spec.variant, Path(source or spec.model_dir))
        files = {path.name: path.read_bytes() for path in paths.files}
        client.register_plugin(_ModelFiles(spec.digest, files), name=f"colorize-model-{spec.digest[:16]}")
    return missing


def _sees_model(spec: NetSpec) -> bool:
    return find_model(spec) is not None


class _ModelFiles(WorkerPlugin):
    """A Dask worker plugin that writes the model files into the worker's scratch folder."""

    def __init__(self, digest: str, files: dict[str, bytes]) -> None:
        self.digest, self.files = digest, files

    def setup(self, worker) -> None:
        folder = Path(worker.local_directory) / f"colorize-model-{self.digest[:16]}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        _shipped[self.digest] = folder


# --------------------------------------------------------------------------- segments of a video
@dataclass
class SegmentsResult:
    """What a worker sends back for a ``Job``: its segments as encoded bytes, and what happened."""

    result: JobResult
    files: list[tuple[str, bytes]] = field(default_factory=list)
    """(segment file name, its bytes): a few seconds of H.264 each."""
    seeked: bool = True
    """False when seeking disagreed with the frame table and the job was decoded from the start."""


def colorize_segment(job: Job, spec: NetSpec, times: list[int] | None) -> SegmentsResult:
    """Compute one job's segments on a worker (``helpers.one_pass.run_job``, the loop a one-process
    run uses) in a scratch folder, and return their bytes; runs where Dask puts it."""
    with _one_at_a_time, tempfile.TemporaryDirectory(prefix="colorize-") as scratch:
        net = worker_net(spec)
        folder = Path(scratch)
        if times is not None:
            try:
                return _collect(run_job(job, net, folder, times=times), folder, seeked=True)
            except (SeekError, DecodeError):
                for partial in folder.iterdir():  # decode from the first frame instead: exactly as one process
                    partial.unlink()
        return _collect(run_job(job, net, folder), folder, seeked=False)


def _collect(result: JobResult, folder: Path, *, seeked: bool) -> SegmentsResult:
    files = [(segment_path(folder, cell).name, segment_path(folder, cell).read_bytes()) for cell in result.segments]
    return SegmentsResult(result, files, seeked)


def colorize_segments(client, net, jobs: list[Job], frames_dir: Path, bar, *, times: list[int] | None = None,
                      variant: str = "v2", model_dir: str | os.PathLike | None = None,
                      on_segment=None) -> list[JobResult]:
    """The client's side of ``helpers.video.colorize_video(..., client=client)``: send each job (a
    segment) to the workers, which decode the video themselves (seeking to their part, with the
    frame table ``times`` (``video_io.frame_times``) sent once), and write the segments they send back,
    atomically, into ``frames_dir``. Returns the jobs' results in the jobs' order. Called with the
    frames folder's lock held. ``on_segment(cell)`` is called after each segment is written."""
    spec = prepare_workers(client, net, variant, model_dir)
    table = client.scatter(times, broadcast=True) if times else None  # sent once, not once per segment
    futures = {client.submit(colorize_segment, job, spec, table, pure=False, retries=1): n
               for n, job in enumerate(jobs)}
    results: list[JobResult | None] = [None] * len(jobs)
    try:
        for future in as_completed(futures):
            sent: SegmentsResult = future.result()
            future.release()
            for cell, (name, data) in zip(sent.result.segments, sent.files):
                write_bytes(frames_dir / name, data)
                if on_segment is not None:
                    on_segment(cell)
            bar.update(sum(len(cell) for cell in sent.result.segments))
            results[futures[future]] = sent.result
            sent.result.seek_fallback = not sent.seeked
    finally:
        client.cancel([f for f in futures if not f.done()])  # interrupted: the workers stop too
    return [result for result in results if result is not None]


# --------------------------------------------------------------------------- photos
@dataclass
class FileResult:
    """A colourised image file, as a worker sends it back: the pictures and what the file said."""

    count: int
    loop: int | None
    dpi: tuple[float, float] | None
    pictures: list = field(default_factory=list)
    error: str | None = None
    """Why the file could not be colourised (damaged, too large...): reported, not retried."""


def colorize_file(path: str, spec: NetSpec, keep_all: bool, size: int, temperature: float) -> FileResult:
    """Colourise the pictures of one image file on a worker (all of them if ``keep_all``, else the first)."""
    from itertools import islice

    from .image_files import open_image_file

    with _one_at_a_time:
        net = worker_net(spec)
        set_temperature(net, temperature)
        try:
            source = open_image_file(path)
            keep = source.count if keep_all else 1
            pictures = [replace(p, image=colorize(p.image, net, size=size)) for p in islice(source.pictures(), keep)]
        except MemoryError:
            return FileResult(0, None, None, error="not enough memory to colourise this picture: shrink it, or "
                              "use workers with more memory")
        except (OSError, ValueError) as exc:
            return FileResult(0, None, None, error=str(exc))
        return FileResult(source.count, source.loop, source.dpi, pictures)


def colorize_files(client, net, jobs: list[tuple[Path, bool]], *, size: int, variant: str = "v2",
                   model_dir: str | os.PathLike | None = None):
    """Send image files to the workers; yield ``(index in jobs, FileResult)`` as each one is done.

    ``jobs``: (path, keep every picture). The paths must be visible to the workers.
    """
    spec = prepare_workers(client, net, variant, model_dir)
    temperature = get_temperature(net)
    futures = {client.submit(colorize_file, str(path), spec, keep_all, size, temperature, pure=False, retries=1): n
               for n, (path, keep_all) in enumerate(jobs)}
    try:
        for future in as_completed(futures):
            result = future.result()
            future.release()
            yield futures[future], result
    finally:
        client.cancel([f for f in futures if not f.done()])
