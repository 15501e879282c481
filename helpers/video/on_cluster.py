"""A video's segments spread over Dask workers: the cluster's side of ``colorize_video(..., client=client)``.

``colorize_video(video, net, client=client)`` (``helpers.video``) sends each missing segment
of a few seconds (``helpers.video.segments``) to a worker as a ``Job``. The segment grid is fixed
and each segment starts afresh, so every frame comes out exactly as in a one-process run.

* Each worker decodes its own segment from the video file (the path must be visible to it: a
  shared folder), seeking to it (``media.decode.frame_times``), colourises and encodes it with the
  loop a one-process run uses (``helpers.video.one_pass.run_job``) and its own copy of the model
  (loaded once per worker process, ``helpers.cluster.worker_net``), and returns the segment as
  H.264 bytes: a few seconds of video, about what the output itself takes (``colorize_segment``).
* The client writes the segments atomically and keeps the manifest and the lock, as a
  one-process run does: an interrupted run resumes, and only missing segments are sent.

Damage in a video is a result, not an error: the range reports it as a one-process run
would, and is not retried. A worker that dies mid-range is replaced and its ranges run again
(everything a range needs is a task Dask can compute again, nothing is scattered); a lost
scheduler or a cancelled run ends in one line (``ClusterError``) and the same command finishes it.

Introduced in notebook 04_faster_video (section 4, "More than one machine").
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from dask.distributed import KilledWorker, wait

from ..cluster.workers import (
    RUN_LOST,
    ClusterError,
    ModelCheck,
    NetSpec,
    key_name,
    ready_workers,
    same_file,
    this_worker,
    tidy_up,
    why_stopped,
    worker_model,
)
from ..common.files import write_bytes
from ..media.probe import DecodeError, SeekError
from .one_pass import Job, JobResult, run_job
from .segments import segment_path

NO_WORKER_SECONDS = 120
"""How long a run waits while no connected worker has proved the model (all died, or refused) before it stops."""
WATCH_SECONDS = 5


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
    """Compute one job's segments on a worker (``helpers.video.one_pass.run_job``, the loop a one-process
    run uses) in a scratch folder, and return their bytes; runs where Dask puts it."""
    started = time.perf_counter()
    same_file(job.video, fingerprint)
    with worker_model(spec) as net, tempfile.TemporaryDirectory(prefix="colorize-") as scratch:
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
    sent.worker, sent.seconds = this_worker(), time.perf_counter() - started
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
    frame table ``times`` (``media.decode.frame_times``)), and write the segments they send back,
    atomically, into ``frames_dir``. Returns the jobs' results in the jobs' order. Called with the
    frames folder's lock held. ``on_segment(cell)`` is called after each segment is written;
    ``notes`` gets a line per worker (frames, speed) and one per worker that was refused.

    Raises ``ClusterError`` when the run cannot go on (the scheduler is lost, the run was
    cancelled, a segment killed its workers, no worker can run the model): the segments
    written so far are kept, and the same call finishes the rest.
    """
    jobs = [replace(job, video=os.path.abspath(job.video)) for job in jobs]  # as the client sees it, for all
    with ready_workers(client, net, jobs[0].video, variant, model_dir) as (check, fingerprint):
        return _run_segments(client, check, jobs, fingerprint, frames_dir, bar, times, on_segment, notes)


def _run_segments(client, check: ModelCheck, jobs: list[Job], fingerprint: tuple[int, str], frames_dir: Path, bar,
                  times: list[int] | None, on_segment, notes: list[str] | None) -> list[JobResult]:
    run, name = uuid.uuid4().hex[:8], key_name(jobs[0].video)
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
        raise ClusterError(f"The Dask run stopped ({why_stopped(exc)}): {_kept(frames_dir)}") from None
    finally:
        tidy_up(client, pending, check, notes, [f"Dask worker {worker}: {frames} frames, {frames / seconds:.1f} "
                                                 "frames/s" for worker, (frames, seconds) in sorted(tallies.items())
                                                 if seconds])
    return [result for result in results if result is not None]


def _proved_workers(client, check: ModelCheck) -> list[str]:
    """The connected workers that hold ``check``'s resource: the ones that can run the tasks."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return [address for address, worker in workers.items() if worker.get("resources", {}).get(check.resource)]



def _kept(frames_dir: Path) -> str:
    kept = len(list(frames_dir.glob("segment_*.mp4")))
    return f"{kept} segment(s) kept in {frames_dir}; run the same command again to finish"
