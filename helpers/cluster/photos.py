"""A folder's photos spread over Dask workers: each file coloured on a worker, sent back as pictures.

Used by the command line (``python -m helpers photos --dask``); the cluster is started or joined
with ``helpers.cluster.start_cluster`` or ``connect``.

Introduced in notebook 04_faster_video (section 4, "More than one machine").
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from dask.distributed import KilledWorker, as_completed

from ..colorize import colorize, colour_under_alpha
from ..model import get_temperature, set_temperature
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

    from ..image_files import open_image_file

    with worker_model(spec) as net:
        set_temperature(net, temperature)
        try:
            same_file(path, fingerprint)
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
    # a wrong path or folder shows at once, before anything is shipped
    with ready_workers(client, net, jobs[0][0], variant, model_dir) as (check, _):
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
