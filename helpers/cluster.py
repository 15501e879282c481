"""More than one machine: a video's frame ranges, or a folder's photos, spread over Dask workers.

A 90-minute film is about 135,000 frames: half a day in exact mode on one laptop. Dask
(https://distributed.dask.org) runs the same Python functions on many processes or machines:

* ``start_cluster(n)`` starts n worker processes on this machine (``LocalCluster``, bound to
  127.0.0.1, dashboard too); ``connect(address)`` joins a cluster started elsewhere with
  ``dask scheduler`` and ``dask worker``. Both give a ``dask.distributed.Client``.
* ``colorize_frames(video, net, client=client)`` (``helpers.video``) cuts the video into ranges
  of a few seconds (``frame_ranges``), aligned to the keyframe grid, so every frame comes out
  exactly as in a one-process run (``keyframes.feed_range``).
* Each worker decodes its own range from the video file (the path must be visible to it: a
  shared folder), seeking to it (``video_io.frame_times``), colourises it with its own copy
  of the model (loaded once per worker process, ``worker_net``), and returns the frames as PNG
  bytes with their times (``colorize_range``). Workers write nothing.
* The client writes the frames atomically and keeps the manifest and the lock, as a
  one-process run does: an interrupted run resumes, and only missing ranges are sent.
* A worker that cannot see the model files gets them from the client, once (``ship_model``).

Damage in a video is a result, not an error: the range reports it as a one-process run
would, and is not retried. A worker that dies mid-range is replaced and its ranges run again.

Introduced in notebook 03_video ("More than one machine").
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from dask.distributed import Client, LocalCluster, WorkerPlugin, as_completed

from .backends import backend_label, load_backend, runtime
from .colorize import colorize
from .files import file_digest, write_bytes
from .frames_folder import frame_file_ok, frame_path
from .keyframes import KeyframePropagator, feed_range, network_predictor
from .model import ModelLoadError, get_temperature, load_model, model_paths, set_temperature
from .video_io import DecodeError, SeekError, frame_times, read_frames

RANGE_SECONDS = 6
"""A range is at most about this many seconds of video (whole keyframe intervals): long enough
that the network pass fast mode repeats at its end and the scheduling cost little; short enough
that a killed worker loses little and a 10 s clip still spreads."""
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


# --------------------------------------------------------------------------- ranges of a video
@dataclass(frozen=True)
class RangeJob:
    """One task: colourise frames ``first .. stop - 1`` (``stop`` None: to the video's end)."""

    video: str
    first: int
    stop: int | None
    skip: frozenset[int]
    """Frames already on disk: decoded for their times, not colourised again."""
    mode: str
    size: int
    temperature: float
    keyframe_interval: int
    deinterlace: str


@dataclass
class RangeResult:
    """What a worker sends back: the frames as PNG bytes (None for skipped ones), with their times."""

    first: int
    frames: list[tuple[int, int, bytes | None]] = field(default_factory=list)
    network_passes: int = 0
    end: int | None = None
    """The video's true length when it ended inside this range (decoded, not from the header)."""
    decode_error: tuple[str, int] | None = None
    decode_notes: list[str] = field(default_factory=list)
    seeked: bool = True
    """False when seeking disagreed with the frame table and the range was decoded from the start."""


def frame_ranges(start: int, stop: float, known_frames: int, fps: float, keyframe_interval: int,
                 workers: int = 1, boundary_cost: float = 0.0) -> list[range]:
    """Cut frames ``start .. stop - 1`` into equal ranges of whole keyframe intervals on the keyframe
    grid, at most about ``RANGE_SECONDS`` long. Any cut on the grid gives the frames of a whole run
    (``keyframes.feed_range``); the length is the one that should finish soonest on ``workers``
    workers: rounds of ranges (the last round may leave workers idle), plus ``boundary_cost``
    frames of work per cut (fast mode repeats a network pass at each), shared by the workers.
    On a tie, the shorter ranges: a killed worker loses less.

    ``known_frames``: the length as far as it is known (frame table or header). The last range
    is open-ended (``stop`` of ``2**62``) unless ``stop`` is finite: the video decides where it ends.
    """
    k = keyframe_interval
    end = stop if math.isfinite(stop) else max(known_frames, start + 1)
    total, workers = end - start, max(1, workers)
    longest = max(1, math.ceil(RANGE_SECONDS * (fps if fps > 0 else 25) / k))

    def finish(length: int) -> float:
        count = math.ceil(total / length)
        return math.ceil(count / workers) * length + (count - 1) * boundary_cost / workers

    length = min((k * j for j in range(1, longest + 1)), key=lambda n: (finish(n), n))
    ranges = []
    cell = start - start % length
    while cell < end:
        ranges.append(range(max(cell, start), int(min(cell + length, end))))
        cell += length
    if not math.isfinite(stop):
        ranges[-1] = range(ranges[-1].start, 2**62)
    return ranges


BOUNDARY_COST = 8
"""Frames of work one extra keyframe pass is worth (fast mode, each range boundary): a pass costs
about as much as carrying the colour to 5-10 frames (bench/fast_video's profile)."""


def colorize_range(job: RangeJob, spec: NetSpec, times: list[int] | None) -> RangeResult:
    """Colourise one range on a worker (see ``RangeJob``); runs where Dask puts it."""
    with _one_at_a_time:
        net = worker_net(spec)
        set_temperature(net, job.temperature)
        if times is not None:
            try:
                return _colorize_range(job, net, times)
            except (SeekError, DecodeError):
                pass  # decode from the first frame instead: slower, but exactly as a one-process run
        return replace(_colorize_range(job, net, None), seeked=False)


def _colorize_range(job: RangeJob, net, times: list[int] | None) -> RangeResult:
    result = RangeResult(job.first)
    stop = math.inf if job.stop is None or job.stop >= 2**62 else job.stop
    if job.mode == "fast":
        feed = feed_range(job.first, int(min(stop, 2**62)), 2**62, job.keyframe_interval)
        feed_start, count = feed.start, (None if stop == math.inf else len(feed))
    else:
        feed_start, count = job.first, (None if stop == math.inf else int(stop) - job.first)
    pts_of: dict[int, int] = {}
    seen = feed_start

    def frames():
        nonlocal seen
        try:
            for frame in read_frames(job.video, start=feed_start, max_frames=count, deinterlace=job.deinterlace,
                                     notes=result.decode_notes, times=times):
                pts_of[frame.index] = frame.pts
                seen = frame.index + 1
                yield frame
        except DecodeError as exc:
            if times is not None:
                raise  # let colorize_range decode from the start: the same frames and message as one process
            result.decode_error = (str(exc), exc.index)

    encoded: list = []
    with ThreadPoolExecutor(max_workers=1) as encoder:  # PNG encoding overlaps the next frame's work

        def keep(index: int, img_bgr: np.ndarray | None) -> None:
            png = None if img_bgr is None else encoder.submit(lambda: cv2.imencode(".png", img_bgr)[1].tobytes())
            encoded.append((index, pts_of[index], png))

        if job.mode == "fast":
            propagator = KeyframePropagator(network_predictor(net, size=job.size),
                                            keyframe_interval=job.keyframe_interval)
            for index, img_bgr, _ in propagator.run((f.index, f.image) for f in frames()):
                if job.first <= index < stop:
                    keep(index, None if index in job.skip else img_bgr)
            result.network_passes = propagator.network_calls
        else:
            for frame in frames():
                if frame.index in job.skip:
                    keep(frame.index, None)
                else:
                    keep(frame.index, colorize(frame.image, net, size=job.size))
                    result.network_passes += 1
    result.frames = [(index, pts, png and png.result()) for index, pts, png in encoded]
    if result.decode_error is not None:
        result.end = result.decode_error[1]
    elif count is None or seen < feed_start + count:
        result.end = seen  # the frames ended inside this range (or before it: then seen == feed_start)
    return result


def colorize_ranges(client, info, net, frames_dir: Path, manifest: dict, timestamps, report, bar, *, start: int,
                    max_frames: int | None, mode: str, size: int, keyframe_interval: int, deinterlace: str,
                    variant: str = "v2", model_dir: str | os.PathLike | None = None) -> None:
    """The client's side of ``helpers.video.colorize_frames(..., client=client)``: send the missing
    ranges to the workers, write what comes back, and fill in ``report`` and the manifest as a
    one-process run does. Called with the frames folder's lock held."""
    spec = prepare_workers(client, net, variant, model_dir)
    times = frame_times(info)
    stop = math.inf if max_frames is None else start + max_frames
    if manifest.get("frame_count") is not None:  # an earlier run decoded to the end
        stop = min(stop, manifest["frame_count"])
    shape = (info.height, info.width)
    done = {int(p.stem.split("_")[1]) - 1 for p in frames_dir.glob("frame_*.png") if frame_file_ok(p, shape)}
    done = {i for i in done if start <= i < stop}
    report.reused = report.done = len(done)
    bar.update(report.done)
    temperature = get_temperature(net)
    jobs = []
    workers = len(client.scheduler_info()["workers"])
    known = len(times) if times else info.frames_estimate
    for r in frame_ranges(start, stop, known, info.fps, keyframe_interval, workers,
                          BOUNDARY_COST if mode == "fast" else 0.0):
        open_ended = r.stop >= 2**62
        if not open_ended and all(i in done for i in r):
            continue  # on disk already: not sent
        skip = frozenset(i for i in done if i >= r.start and (open_ended or i < r.stop))
        jobs.append(RangeJob(str(info.path), r.start, None if open_ended else r.stop, skip, mode, size, temperature,
                             keyframe_interval, deinterlace))
    if not jobs:
        return
    table = client.scatter(times, broadcast=True) if times else None  # sent once, not once per range
    futures = [client.submit(colorize_range, job, spec, table, pure=False, retries=1) for job in jobs]
    ends, errors = [], []
    try:
        for future in as_completed(futures):
            result: RangeResult = future.result()
            future.release()
            for index, pts, png in result.frames:
                timestamps.add(index, pts)
                if png is not None:
                    path = frame_path(frames_dir, index + 1)
                    report.redone += path.exists()
                    write_bytes(path, png)
                    report.computed += 1
                    report.done += 1
                    report.new_frames.append(index + 1)
                    bar.update()
            report.network_passes += result.network_passes
            report.decode_notes += result.decode_notes
            report.seek_fallbacks += not result.seeked
            if result.end is not None:
                ends.append(result.end)
            if result.decode_error is not None:
                errors.append(result.decode_error)
    finally:
        client.cancel([f for f in futures if not f.done()])  # interrupted: the workers stop too
    report.new_frames.sort()
    if errors:  # as a one-process run: decoding stops at the first damage; nothing after it is kept
        message, index = min(errors, key=lambda e: e[1])
        report.decode_error = (f"Decoding stopped at frame {index + 1}: {message}. The frames before it are kept "
                               f"in {frames_dir}.")
        for number in [n for n in report.new_frames if n > index]:
            frame_path(frames_dir, number).unlink(missing_ok=True)
            report.new_frames.remove(number)
            report.computed -= 1
            report.done -= 1
        del timestamps.pts[index:]
        manifest["frame_count"] = index
    elif ends:
        manifest["frame_count"] = min(ends)


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
