"""A folder's photos spread over Dask workers: each file coloured on a worker, sent back as pictures.

Used by the command line (``python -m helpers photos --dask``); the cluster is started or joined
with ``helpers.cluster.start_cluster`` or ``connect``.

Introduced in notebook 04_faster_video (section 4, "More than one machine").
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from dask.distributed import KilledWorker, as_completed

from ..photo.image_file import ColourisedFile, colorize_image_file
from .workers import (
    RUN_LOST,
    ClusterError,
    ModelCheck,
    NetSpec,
    file_fingerprint,
    key_name,
    ready_workers,
    same_file,
    tidy_up,
    why_stopped,
    worker_model,
)


def colorize_file(path: str, spec: NetSpec, keep_all: bool, size: int, temperature: float,
                  fingerprint: tuple[int, str]) -> ColourisedFile | str:
    """On a worker: the pictures of one image file colourised (all of them if ``keep_all``, else the first),
    or why it could not be (damaged, too large, not seen by the worker...): reported, not retried."""
    with worker_model(spec) as net:
        try:
            same_file(path, fingerprint)
            return colorize_image_file(path, net, temperature=temperature, size=size, keep_all=keep_all)
        except MemoryError:
            return "not enough memory to colourise this picture: shrink it, or use workers with more memory"
        except (OSError, ValueError) as exc:
            return str(exc)


def colorize_files(client, net, jobs: list[tuple[Path, bool]], *, temperature: float, size: int, variant: str = "v2",
                   model_dir: str | os.PathLike | None = None, notes: list[str] | None = None):
    """Send image files to the workers; yield ``(index in jobs, ColourisedFile or why it failed)`` as each
    one is done.

    ``jobs``: (path, keep every picture); relative paths are made absolute here, and the workers
    must see the files under those paths (checked: a worker that does not is named). ``notes``
    gets a line for each worker that was refused. Raises ``ClusterError`` when the run cannot go on.
    """
    jobs = [(os.path.abspath(path), keep_all) for path, keep_all in jobs]
    if not jobs:
        return
    # a wrong path or folder shows at once, before anything is shipped
    with ready_workers(client, net, jobs[0][0], variant, model_dir) as (check, _):
        yield from _run_files(client, check, jobs, temperature, size, notes)


def _run_files(client, check: ModelCheck, jobs: list[tuple[str, bool]], temperature: float, size: int,
               notes: list[str] | None):
    run = uuid.uuid4().hex[:8]
    futures = {}
    for n, (path, keep_all) in enumerate(jobs):
        fingerprint = file_fingerprint(path)
        if isinstance(fingerprint, str):
            yield n, fingerprint
            continue
        futures[client.submit(colorize_file, path, check.spec, keep_all, size, temperature, fingerprint,
                              resources={check.resource: 1}, key=f"colorize-photo-{key_name(path)}-{n}-{run}")] = n
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
        raise ClusterError(f"The Dask run stopped ({why_stopped(exc)}); the photos finished before are "
                           "saved") from None
    finally:
        tidy_up(client, pending, check, notes, [])
