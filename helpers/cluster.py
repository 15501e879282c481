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
* Before any work, every worker proves the client's model on a test input (``ModelCheck``, a
  worker plugin: also workers that join later or restart), and the input's path (made
  absolute on the client) must show every worker the same file (``check_workers_see``).
  A worker that cannot see the model files fetches them from the client, once per machine,
  straight from it, not through the scheduler (``helpers.model_server``).

Damage in a video is a result, not an error: the range reports it as a one-process run
would, and is not retried. A worker that dies mid-range is replaced and its ranges run again
(everything a range needs is a task Dask can compute again, nothing is scattered); a lost
scheduler or a cancelled run ends in one line (``ClusterError``) and the same command finishes it.

Introduced in notebook 04_faster_video (section 4, "More than one machine").
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import threading
import time
import uuid
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from dask.distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed, get_worker, wait
from distributed.comm import CommClosedError

from .backends import backend_label, load_backend, runtime
from .colorize import colorize, colour_under_alpha
from .fetch import ModelDownloadError, ModelFile
from .files import file_digest, write_bytes
from .model import ModelLoadError, get_temperature, model_paths, set_temperature
from .model_server import ModelServer, fetch_served, own_address
from .one_pass import Job, JobResult, run_job
from .paths import cache_folder
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


_nets: dict[NetSpec, object] = {}
_one_at_a_time = threading.Lock()  # a network is not safe to run from two threads at once


def find_model(spec: NetSpec) -> Path | None:
    """The folder of ``spec``'s model files as this worker sees them: the client's folder, this
    machine's usual one (``$COLORIZE_MODEL_DIR`` or ``model/``), or the copy fetched from a client."""
    candidates = [Path(spec.model_dir)]
    try:
        candidates.append(model_paths(spec.variant).prototxt.parent)
    except (ModelLoadError, OSError, ValueError):
        pass
    candidates.append(fetched_folder(spec))
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
                                 "places and the copy fetched from a client).")
        if spec.precision == "fp32":  # what the client checked and chose: built as it is
            net = load_backend(spec.backend, model_paths(spec.variant, folder))
        else:  # int8 and bf16 are calibrated; auto remembers how, on this machine (quietly: the client said it)
            from .backends import load_auto

            net = load_auto(model_paths(spec.variant, folder), log=None)
        if backend_label(net) != f"{spec.backend} {spec.precision}":
            raise ModelLoadError(f"This worker runs the model as {backend_label(net)}, the client as {spec.backend} "
                                 f"{spec.precision}: their frames would differ. Use --backend opencv (or an fp32 "
                                 "back end) on clusters of unlike machines.")
        _nets[spec] = net
    return _nets[spec]


PROBE_TOLERANCE = 0.05
"""Largest ab difference allowed between a worker's network and the client's on the test input:
the same model on two CPUs may differ in the last bits of a float, another model by far more."""


def _probe_colours(net) -> np.ndarray:
    ramp = np.linspace(-50, 50, 32 * 32, dtype=np.float32).reshape(1, 1, 32, 32)
    net.setInput(ramp)
    return np.array(net.forward(), np.float32)


_verdicts: dict[str, str] = {}  # ModelCheck.resource -> "" (proved) or why this worker was refused


class ModelCheck(WorkerPlugin):
    """A Dask worker plugin: load the client's network on this worker and prove that it gives the
    client's colours (on a test input) before the worker gets any work.

    Dask runs ``setup`` on every worker there is when the plugin is registered, and on every
    worker that joins or restarts later, so no worker is ever left unchecked. Loading takes
    seconds, so it runs in a thread, not in the worker's event loop (which must keep talking
    to the scheduler). A worker that passes gets the Dask resource ``resource``, which every
    task of the run asks for: only proved workers run them, one at a time each, and a run never
    mixes the colours of two models. One that fails keeps the reason for the report (``refused``).
    """

    def __init__(self, spec: NetSpec, expected: np.ndarray, temperature: float,
                 files: tuple[ModelFile, ...] | None = None) -> None:
        self.spec, self.expected, self.temperature, self.files = spec, expected, temperature, files
        token = hashlib.blake2b(repr((spec, temperature)).encode() + expected.tobytes(), digest_size=8).hexdigest()
        self.resource = f"colorize-model-{token}"

    async def setup(self, worker) -> None:
        verdict = await asyncio.to_thread(_prove, self.spec, self.expected, self.temperature, self.files)
        _verdicts[self.resource] = verdict
        if not verdict:
            await worker.set_resources(**{self.resource: 1})

    async def teardown(self, worker) -> None:
        if _verdicts.pop(self.resource, None) == "":
            await worker.set_resources(**{self.resource: 0})


def _prove(spec: NetSpec, expected: np.ndarray, temperature: float, files: tuple[ModelFile, ...] | None = None) -> str:
    """"" when this worker's network for ``spec`` gives the ``expected`` colours; else why not, in words.
    A worker that cannot see the model files first fetches ``files`` (``helpers.model_server``)."""
    with _one_at_a_time:
        try:
            if find_model(spec) is None and files:
                fetch_served(files, fetched_folder(spec))
            net = worker_net(spec)
            set_temperature(net, temperature)
            colours = _probe_colours(net)
        except ModelDownloadError as exc:
            return f"cannot fetch the model from the client: {exc}"
        except (ModelLoadError, OSError, RuntimeError, ValueError, ImportError) as exc:
            return f"cannot load the model: {exc}"
    if colours.shape != expected.shape or np.abs(colours - expected).max() > PROBE_TOLERANCE:
        return ("gives other colours than this process: it loads another model than net (pass the folder net was "
                "loaded from as model_dir) or runs it differently (try --backend opencv)")
    return ""


def _verdict(resource: str) -> str | None:
    return _verdicts.get(resource)


def verdicts(client, resource: str) -> dict[str, str | None]:
    """Each worker's verdict on the model of ``resource``: "" proved, a reason, or None (not checked yet)."""
    return client.run(_verdict, resource)


@contextmanager
def prepare_workers(client, net, variant: str = "v2", model_dir: str | os.PathLike | None = None):
    """While inside: every worker, now and later, proves the client's network before it gets work
    (``ModelCheck``), and workers that cannot see the model files fetch them from this process
    (``helpers.model_server``). Gives the check: its ``resource`` is what the tasks ask for.

    Raises ``ModelLoadError`` when every worker fails (with a reason); workers that fail while
    others pass are named by ``refused``.
    """
    spec = NetSpec.of(net, variant, model_dir, threads=threads_per_worker(client))
    with _serving(client, spec) as files:
        check = ModelCheck(spec, _probe_colours(net), get_temperature(net), files)
        client.register_plugin(check, name=check.resource)  # returns once the workers there are now are checked
        reasons = {address: verdict for address, verdict in verdicts(client, check.resource).items() if verdict}
        if reasons and len(reasons) == len(client.scheduler_info(n_workers=-1)["workers"]):
            address, reason = next(iter(reasons.items()))
            more = f" (and {len(reasons) - 1} more worker(s) failed too)" if len(reasons) > 1 else ""
            raise ModelLoadError(f"Dask worker {address} {reason}{more}")
        yield check


@contextmanager
def _serving(client, spec: NetSpec):
    """The model files served to the workers while inside (their ``ModelFile`` entries), or None
    where every worker is on this machine and sees them."""
    local = isinstance(getattr(client, "cluster", None), LocalCluster)
    if local and all(client.run(_sees_model, spec).values()):
        yield None
        return
    files = model_paths(spec.variant, Path(spec.model_dir)).files
    with ModelServer(files, own_address(client.scheduler.address)) as served:
        yield served


def _sees_model(spec: NetSpec) -> bool:
    return find_model(spec) is not None


def fetched_folder(spec: NetSpec) -> Path:
    """Where a worker keeps the model files it fetched from a client: its cache folder, so once per machine."""
    return cache_folder() / "models" / spec.digest


def refused(client, check: ModelCheck) -> list[str]:
    """One line for each worker that failed ``check``: its address and why."""
    return [f"Dask worker {address} got no work: it {reason}"
            for address, reason in verdicts(client, check.resource).items() if reason]


# --------------------------------------------------------------------------- the same input on every machine
FINGERPRINT_BYTES = 1 << 20
"""How much of a file ``file_fingerprint`` reads: enough to tell two files apart, cheap on any disk."""
NO_WORKER_SECONDS = 120
"""How long a run waits while no connected worker has proved the model (all died, or refused) before it stops."""
WATCH_SECONDS = 5


class ClusterError(OSError):
    """The cluster cannot go on: a worker does not see the input, the scheduler was lost... (one line for people)."""


RUN_LOST = (CancelledError, CommClosedError, TimeoutError, asyncio.TimeoutError)
"""What waiting on the cluster raises when the scheduler is gone or the work was cancelled."""
SHARED_PATH = "every worker must see the input under the same path (a shared folder)"


def file_fingerprint(path: str) -> tuple[int, str] | str:
    """``(size, BLAKE2b of the first MiB)`` of ``path`` as this machine sees it, or why it cannot be read."""
    try:
        with open(path, "rb") as file:
            head = file.read(FINGERPRINT_BYTES)
            size = os.fstat(file.fileno()).st_size
    except OSError as exc:
        return exc.strerror or str(exc)
    return size, hashlib.blake2b(head, digest_size=16).hexdigest()


def _differs(path: str, theirs, ours: tuple[int, str]) -> str | None:
    """Why a worker's ``file_fingerprint`` of ``path`` is not the client's, in words; None: it is the same."""
    if isinstance(theirs, str):
        return f"cannot read {path} ({theirs})"
    if tuple(theirs) != ours:
        return f"sees another file at {path} ({'another size' if theirs[0] != ours[0] else 'other contents'})"
    return None


def check_workers_see(client, path: str) -> tuple[int, str]:
    """Check that every worker sees ``path`` (absolute) as this process does, before anything is sent;
    returns its fingerprint. Raises ``ClusterError`` naming a worker that does not."""
    ours = file_fingerprint(path)
    if isinstance(ours, str):
        raise ClusterError(f"Cannot read {path}: {ours}")
    wrong = {address: why for address, theirs in client.run(file_fingerprint, path).items()
             if (why := _differs(path, theirs, ours))}
    if wrong:
        address, why = next(iter(wrong.items()))
        more = f" (and {len(wrong) - 1} more worker(s))" if len(wrong) > 1 else ""
        raise ClusterError(f"Dask worker {address} {why}{more}: {SHARED_PATH}")
    return ours


def _same_file(path: str, fingerprint: tuple[int, str]) -> None:
    """On a worker, before its work: a worker that joined late must see the client's file too."""
    why = _differs(path, file_fingerprint(path), fingerprint)
    if why:
        raise ClusterError(f"Dask worker {_this_worker()} {why}: {SHARED_PATH}")


def _this_worker() -> str:
    try:
        return get_worker().address
    except ValueError:  # not on a worker: called directly, in this process
        return "(this process)"


def _key_name(path: str) -> str:
    """A file's name as a part of Dask task keys (the dashboard shows them): letters, digits and '_'."""
    return "".join(c if c.isalnum() else "_" for c in Path(path).stem)[:40] or "video"


# --------------------------------------------------------------------------- segments of a video
@dataclass
class SegmentsResult:
    """What a worker sends back for a ``Job``: its segments as encoded bytes, and what happened."""

    result: JobResult
    files: list[tuple[str, bytes]] = field(default_factory=list)
    """(segment file name, its bytes): a few seconds of H.264 each."""
    seeked: bool = True
    """False when seeking disagreed with the frame table and the job was decoded from the start."""
    worker: str = ""
    seconds: float = 0.0
    """The worker's time for the job."""


def colorize_segment(job: Job, spec: NetSpec, times: list[int] | None,
                     fingerprint: tuple[int, str]) -> SegmentsResult:
    """Compute one job's segments on a worker (``helpers.one_pass.run_job``, the loop a one-process
    run uses) in a scratch folder, and return their bytes; runs where Dask puts it."""
    started = time.perf_counter()
    _same_file(job.video, fingerprint)
    with _one_at_a_time, tempfile.TemporaryDirectory(prefix="colorize-") as scratch:
        net = worker_net(spec)
        folder = Path(scratch)
        sent = None
        if times is not None:
            try:
                sent = _collect(run_job(job, net, folder, times=times), folder, seeked=True)
            except (SeekError, DecodeError):
                for partial in folder.iterdir():  # decode from the first frame instead: exactly as one process
                    partial.unlink()
        if sent is None:
            sent = _collect(run_job(job, net, folder), folder, seeked=False)
    sent.worker, sent.seconds = _this_worker(), time.perf_counter() - started
    return sent


def _collect(result: JobResult, folder: Path, *, seeked: bool) -> SegmentsResult:
    files = [(segment_path(folder, cell).name, segment_path(folder, cell).read_bytes()) for cell in result.segments]
    return SegmentsResult(result, files, seeked)


def _the_table(times: list[int]) -> list[int]:
    return times


def colorize_segments(client, net, jobs: list[Job], frames_dir: Path, bar, *, times: list[int] | None = None,
                      variant: str = "v2", model_dir: str | os.PathLike | None = None, on_segment=None,
                      notes: list[str] | None = None) -> list[JobResult]:
    """The client's side of ``helpers.video.colorize_video(..., client=client)``: send each job (a
    segment) to the workers, which decode the video themselves (seeking to their part, with the
    frame table ``times`` (``video_io.frame_times``)), and write the segments they send back,
    atomically, into ``frames_dir``. Returns the jobs' results in the jobs' order. Called with the
    frames folder's lock held. ``on_segment(cell)`` is called after each segment is written;
    ``notes`` gets a line per worker (frames, speed) and one per worker that was refused.

    Raises ``ClusterError`` when the run cannot go on (the scheduler is lost, the run was
    cancelled, a segment killed its workers, no worker can run the model): the segments
    written so far are kept, and the same call finishes the rest.
    """
    jobs = [replace(job, video=os.path.abspath(job.video)) for job in jobs]  # as the client sees it, for all
    fingerprint = check_workers_see(client, jobs[0].video)  # before anything is shipped
    with prepare_workers(client, net, variant, model_dir) as check:
        return _run_segments(client, check, jobs, fingerprint, frames_dir, bar, times, on_segment, notes)


def _run_segments(client, check: ModelCheck, jobs: list[Job], fingerprint: tuple[int, str], frames_dir: Path, bar,
                  times: list[int] | None, on_segment, notes: list[str] | None) -> list[JobResult]:
    run, name = uuid.uuid4().hex[:8], _key_name(jobs[0].video)
    # the frame table as a task, not scattered data: if the worker that holds it dies, Dask computes it again
    table = client.submit(_the_table, times, key=f"frame-table-{name}-{run}") if times else None
    futures = {client.submit(colorize_segment, job, check.spec, table, fingerprint, resources={check.resource: 1},
                             key=f"colorize-{name}-frames-{job.first + 1}-{job.stop or 'end'}-{run}"): n
               for n, job in enumerate(jobs)}
    results: list[JobResult | None] = [None] * len(jobs)
    tallies: dict[str, list[float]] = {}  # worker -> [frames, seconds]
    pending, alone_since = set(futures), None
    try:
        while pending:
            try:
                done, pending = wait(pending, timeout=WATCH_SECONDS, return_when="FIRST_COMPLETED")
            except (TimeoutError, asyncio.TimeoutError):
                alone_since = None if _proved_workers(client, check) else alone_since or time.monotonic()
                if alone_since is not None and time.monotonic() - alone_since > NO_WORKER_SECONDS:
                    raise ClusterError(f"no connected Dask worker has proved the model for {NO_WORKER_SECONDS} s "
                                       "(start workers)") from None
                continue
            for future in done:
                sent: SegmentsResult = future.result()
                future.release()
                for cell, (file_name, data) in zip(sent.result.segments, sent.files):
                    write_bytes(frames_dir / file_name, data)
                    if on_segment is not None:
                        on_segment(cell)
                frames = sum(len(cell) for cell in sent.result.segments)
                bar.update(frames)
                tally = tallies.setdefault(sent.worker, [0, 0.0])
                tally[0] += frames
                tally[1] += sent.seconds
                results[futures[future]] = sent.result
                sent.result.seek_fallback = not sent.seeked
    except KilledWorker as exc:
        raise ClusterError(f"a segment stopped the Dask workers that ran it ({exc}; out of memory?): "
                           f"{_kept(frames_dir)}") from None
    except ClusterError as exc:
        raise ClusterError(f"{exc}: {_kept(frames_dir)}") from None
    except RUN_LOST as exc:
        raise ClusterError(f"The Dask run stopped ({_why_stopped(exc)}): {_kept(frames_dir)}") from None
    finally:
        _tidy_up(client, pending, check, notes, [f"Dask worker {worker}: {frames} frames, {frames / seconds:.1f} "
                                                 "frames/s" for worker, (frames, seconds) in sorted(tallies.items())
                                                 if seconds])
    return [result for result in results if result is not None]


def _proved_workers(client, check: ModelCheck) -> list[str]:
    """The connected workers that hold ``check``'s resource: the ones that can run the tasks."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return [address for address, worker in workers.items() if worker.get("resources", {}).get(check.resource)]


def _why_stopped(exc: BaseException) -> str:
    """Why a run on the cluster stopped, in a few words (Dask's own messages run to many lines)."""
    if isinstance(exc, CommClosedError) or "scheduler-connection-lost" in str(exc):
        return "the connection to the Dask scheduler was lost"
    if isinstance(exc, CancelledError):
        return "its work was cancelled on the cluster"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no message'}"


def quiet_logs() -> None:
    """Keep Dask's own log lines (reconnection attempts, with tracebacks) off the user's terminal:
    the command line says in one line what went wrong (``ClusterError``)."""
    for name in ["distributed", *[n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]]:
        logger = logging.getLogger(name)  # Dask's configuration gives some of them levels of their own
        logger.setLevel(logging.CRITICAL)
        for handler in logger.handlers:
            handler.setLevel(logging.CRITICAL)


def _kept(frames_dir: Path) -> str:
    kept = len(list(frames_dir.glob("segment_*.mp4")))
    return f"{kept} segment(s) kept in {frames_dir}; run the same command again to finish"


def _tidy_up(client, pending, check: ModelCheck, notes: list[str] | None, lines: list[str]) -> None:
    """After a run, finished or not: the workers stop what is left, and the report gets its lines."""
    try:
        client.cancel(list(pending))  # interrupted: the workers stop too
        lines += refused(client, check)
    except (*RUN_LOST, OSError):
        pass  # the scheduler is gone: nothing to stop, no one to ask
    if notes is not None:
        notes += lines


# --------------------------------------------------------------------------- photos
@dataclass
class FileResult:
    """A colourised image file, as a worker sends it back: the pictures and what the file said."""

    count: int
    loop: int | None
    dpi: tuple[float, float] | None
    pictures: list = field(default_factory=list)
    error: str | None = None
    """Why the file could not be colourised (damaged, too large, not seen by the worker...): reported, not retried."""


def colorize_file(path: str, spec: NetSpec, keep_all: bool, size: int, temperature: float,
                  fingerprint: tuple[int, str]) -> FileResult:
    """Colourise the pictures of one image file on a worker (all of them if ``keep_all``, else the first)."""
    from itertools import islice

    from .image_files import open_image_file

    with _one_at_a_time:
        net = worker_net(spec)
        set_temperature(net, temperature)
        try:
            _same_file(path, fingerprint)
            source = open_image_file(path)
            keep = source.count if keep_all else 1
            pictures = [replace(p, image=colour_under_alpha(p, colorize(p.image, net, size=size)))
                        for p in islice(source.pictures(), keep)]
        except MemoryError:
            return FileResult(0, None, None, error="not enough memory to colourise this picture: shrink it, or "
                              "use workers with more memory")
        except (OSError, ValueError) as exc:
            return FileResult(0, None, None, error=str(exc))
        return FileResult(source.count, source.loop, source.dpi, pictures)


def colorize_files(client, net, jobs: list[tuple[Path, bool]], *, size: int, variant: str = "v2",
                   model_dir: str | os.PathLike | None = None, notes: list[str] | None = None):
    """Send image files to the workers; yield ``(index in jobs, FileResult)`` as each one is done.

    ``jobs``: (path, keep every picture); relative paths are made absolute here, and the workers
    must see the files under those paths (checked: a worker that does not is named). ``notes``
    gets a line for each worker that was refused. Raises ``ClusterError`` when the run cannot go on.
    """
    jobs = [(os.path.abspath(path), keep_all) for path, keep_all in jobs]
    if not jobs:
        return
    check_workers_see(client, jobs[0][0])  # a wrong path or folder shows at once, before anything is shipped
    with prepare_workers(client, net, variant, model_dir) as check:
        yield from _run_files(client, check, jobs, get_temperature(net), size, notes)


def _run_files(client, check: ModelCheck, jobs: list[tuple[str, bool]], temperature: float, size: int,
               notes: list[str] | None):
    run = uuid.uuid4().hex[:8]
    futures = {}
    for n, (path, keep_all) in enumerate(jobs):
        fingerprint = file_fingerprint(path)
        if isinstance(fingerprint, str):
            yield n, FileResult(0, None, None, error=fingerprint)
            continue
        futures[client.submit(colorize_file, path, check.spec, keep_all, size, temperature, fingerprint,
                              resources={check.resource: 1}, key=f"colorize-photo-{_key_name(path)}-{n}-{run}")] = n
    pending = set(futures)
    try:
        for future in as_completed(futures):
            result = future.result()
            future.release()
            pending.discard(future)
            yield futures[future], result
    except KilledWorker as exc:
        raise ClusterError(f"a photo stopped the Dask workers that ran it ({exc}; out of memory?)") from None
    except RUN_LOST as exc:
        raise ClusterError(f"The Dask run stopped ({_why_stopped(exc)}); the photos finished before are "
                           "saved") from None
    finally:
        _tidy_up(client, pending, check, notes, [])
