"""More than one machine: a folder's photos, or a video's segments, spread over Dask workers.

A 90-minute film is about 135,000 frames: half a day in exact mode on one laptop. Dask
(https://distributed.dask.org) runs the same Python functions on many processes or machines.
The room's modules, in the order a run uses them:

* ``start``: ``start_cluster(n)`` (worker processes on this machine) or ``connect(address)``
  (a cluster started elsewhere); both give a ``dask.distributed.Client``.
* ``workers``: the client's model on every worker, proved before any work (``prepare_workers``),
  and the input seen by every worker as the client sees it (``check_workers_see``).
* ``model_server``: the model files sent to workers that lack them, straight from the client.
* ``photos``: a folder's photos coloured on the workers (``colorize_files``).

A video's segments on the cluster are ``helpers.video.on_cluster`` (``colorize_video(...,
client=client)``): the video room ranks above this one.

Introduced in notebook 04_faster_video (section 4, "More than one machine").
"""

from .photos import colorize_file, colorize_files
from .start import SCHEDULER_ENV, connect, describe, quiet_logs, start_cluster, threads_per_worker
from .workers import (
    PROBE_TOLERANCE,
    RUN_LOST,
    ClusterError,
    ModelCheck,
    NetSpec,
    check_workers_see,
    fetched_folder,
    file_fingerprint,
    find_model,
    prepare_workers,
    refused,
    verdicts,
    worker_net,
)

__all__ = ["SCHEDULER_ENV", "start_cluster", "connect", "describe", "threads_per_worker", "quiet_logs", "NetSpec",
           "find_model", "worker_net", "PROBE_TOLERANCE", "ModelCheck", "prepare_workers", "verdicts", "refused",
           "fetched_folder", "ClusterError", "RUN_LOST", "file_fingerprint", "check_workers_see",
           "colorize_file", "colorize_files"]
