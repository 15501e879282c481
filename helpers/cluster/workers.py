"""The client's model and input on every Dask worker: loaded once per worker, proved before any work.

* Before any work, every worker proves the client's model on a test input (``ModelCheck``, a
  worker plugin: also workers that join later or restart), and the input's path (made
  absolute on the client) must show every worker the same file (``check_workers_see``).
* A worker that cannot see the model files fetches them from the client, once per machine,
  straight from it, not through the scheduler (``helpers.cluster.model_server``).
* Each worker process loads its own copy of the model once (``worker_net``) and runs one task
  at a time with it (``one_at_a_time``).

A lost scheduler or a cancelled run ends in one line (``ClusterError``) and the same command finishes it.

Introduced in notebook 04_faster_video (section 4, "More than one machine").
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from dask.distributed import LocalCluster, WorkerPlugin, get_worker
from distributed.comm import CommClosedError

from ..backends import runtime
from ..backends.auto import backend_label
from ..backends.available import BackendUnavailableError
from ..backends.load import load_network
from ..common.files import file_digest
from ..model.fetch import ModelDownloadError, ModelFile
from ..model.model_files import ModelLoadError, model_paths
from ..model.net import get_temperature, set_temperature
from ..paths import cache_folder
from .model_server import ModelServer, fetch_served, own_address
from .start import threads_per_worker


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
one_at_a_time = threading.Lock()  # a network is not safe to run from two threads at once


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
        try:  # what the client checked and chose, built the same way (int8 calibrated on the same photos)
            net = load_network(model_paths(spec.variant, folder), backend=spec.backend, precision=spec.precision)
        except (ValueError, BackendUnavailableError) as exc:
            raise ModelLoadError(f"This worker cannot run the model as {spec.backend} {spec.precision}, as the "
                                 f"client does ({exc}). Use --backend opencv on clusters of unlike machines.") from None
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
    A worker that cannot see the model files first fetches ``files`` (``helpers.cluster.model_server``)."""
    with one_at_a_time:
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
    (``helpers.cluster.model_server``). Gives the check: its ``resource`` is what the tasks ask for.

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


@contextmanager
def ready_workers(client, net, path: str, variant: str = "v2", model_dir: str | os.PathLike | None = None):
    """While inside: every worker sees ``path`` (absolute) as this process does (checked before anything
    is shipped, ``check_workers_see``) and proves the client's network (``prepare_workers``).
    Gives ``(check, fingerprint of path)``."""
    fingerprint = check_workers_see(client, path)
    with prepare_workers(client, net, variant, model_dir) as check:
        yield check, fingerprint


@contextmanager
def worker_model(spec: NetSpec):
    """On a worker, while inside: this process's network for ``spec`` (``worker_net``), run by one task at a time."""
    with one_at_a_time:
        yield worker_net(spec)


def same_file(path: str, fingerprint: tuple[int, str]) -> None:
    """On a worker, before its work: a worker that joined late must see the client's file too."""
    why = _differs(path, file_fingerprint(path), fingerprint)
    if why:
        raise ClusterError(f"Dask worker {this_worker()} {why}: {SHARED_PATH}")


def this_worker() -> str:
    try:
        return get_worker().address
    except ValueError:  # not on a worker: called directly, in this process
        return "(this process)"


def key_name(path: str) -> str:
    """A file's name as a part of Dask task keys (the dashboard shows them): letters, digits and '_'."""
    return "".join(c if c.isalnum() else "_" for c in Path(path).stem)[:40] or "video"



def why_stopped(exc: BaseException) -> str:
    """Why a run on the cluster stopped, in a few words (Dask's own messages run to many lines)."""
    if isinstance(exc, CommClosedError) or "scheduler-connection-lost" in str(exc):
        return "the connection to the Dask scheduler was lost"
    if isinstance(exc, CancelledError):
        return "its work was cancelled on the cluster"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no message'}"



def tidy_up(client, pending, check: ModelCheck, notes: list[str] | None, lines: list[str]) -> None:
    """After a run, finished or not: the workers stop what is left, and the report gets its lines."""
    try:
        client.cancel(list(pending))  # interrupted: the workers stop too
        lines += refused(client, check)
    except (*RUN_LOST, OSError):
        pass  # the scheduler is gone: nothing to stop, no one to ask
    if notes is not None:
        notes += lines
