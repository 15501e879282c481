"""Start or join a Dask cluster, and say what it is: the first step of a run on many processes or machines.

``start_cluster(n)`` starts n worker processes on this machine (``LocalCluster``, bound to
127.0.0.1, dashboard too); ``connect(address)`` joins a cluster started elsewhere with
``dask scheduler`` and ``dask worker``. Both give a ``dask.distributed.Client``.

Introduced in notebook 04_faster_video (section 4, "More than one machine").
"""

from __future__ import annotations

import logging
import os

from dask.distributed import Client, LocalCluster

from ..paths import SCHEDULER_ENV


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


def quiet_logs() -> None:
    """Keep Dask's own log lines (reconnection attempts, with tracebacks) off the user's terminal:
    the command line says in one line what went wrong (``ClusterError``)."""
    for name in ["distributed", *[n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]]:
        logger = logging.getLogger(name)  # Dask's configuration gives some of them levels of their own
        logger.setLevel(logging.CRITICAL)
        for handler in logger.handlers:
            handler.setLevel(logging.CRITICAL)
