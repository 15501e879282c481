"""Colourise a video in one pass, never losing work, and put it back together with its sound: ``colorize_video``.

The pipeline, and the module that holds each step:

1. ``colorize_frames`` (``helpers.video.frames``) colourises each frame into a PNG file of a
   frames folder (``helpers.video.frames_folder``), resuming any earlier run.
2. ``smooth_frames`` and ``measure_flicker`` (``helpers.video.smoothing``) calm and measure the
   colour flicker of a frames folder (``helpers.video.flicker``).
3. ``frames_to_video`` (``helpers.video.reassemble``) encodes the frames as an H.264 video at
   their original times, adds every sound stream of the source, and checks the result before it
   is given its name.
4. ``colorize_video`` (here) does it all in one pass, as a short recipe: plan what the frames
   folder lacks (``helpers.video.segments``), compute it here (``helpers.video.one_pass``) or on a
   Dask cluster (``helpers.video.on_cluster``), then join the segments with the sound.

Everything the notebook uses is importable from the package: ``from helpers import video``.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..common.files import remove_stale_parts
from ..common.images import write_image
from ..media.decode import frame_times, read_frames
from ..media.probe import VideoError, VideoInfo, probe_video
from ..model.net import ColorizationNet
from .frames import folder_for_run, nothing_to_colourise, progress_bar, start_bar_at
from .frames_folder import TimestampRecorder, frame_file_ok, frame_path, write_manifest
from .one_pass import Job, JobResult, Recipe, run_job
from .options import VideoOptions, takes_options
from .reassemble import output_path
from .reports import FramesReport, Stopped, VideoReport, decoding_stopped
from .segments import (
    Plan,
    Segment,
    join_segments,
    plan_segments,
    read_segment,
    segment_cell,
    segment_files,
    segment_length,
    segment_path,
)


@takes_options(VideoOptions)
def colorize_video(video: str | os.PathLike | VideoInfo, net: ColorizationNet, **options) -> VideoReport:
    """Colourise a video into ``colorized_videos/<stem>_color.mp4``, with its sound, in one pass.

    Frames are decoded, colourised and encoded as they come (``helpers.video.one_pass``), in segments
    of a few seconds kept in the frames folder (``helpers.video.segments``): an interrupted run
    resumes from the last finished segment, and the folder holds about the output's size, not a
    PNG per frame. The output is the segments joined by stream copy (nothing is encoded twice)
    with every sound stream of the source, checked before it gets its name.

    Parameters
    ----------
    video, net
        As for ``colorize_frames``: the black-and-white video (or its ``VideoInfo``), and the network.
    out : path, optional
        A file (``.mp4``, ``.mkv`` or ``.mov``) or an existing folder; checked before any work
        (``output_path``). An existing file is replaced, and the report says so.
    frames_dir : path, optional
        Where the segments go; by default a folder per video and settings,
        ``colorized_frames/<video stem>/<settings>`` (``default_frames_dir``).
    temperature, size, model, start, max_frames, restart, mode, keyframe_interval, deinterlace
        As for ``colorize_frames``.
    smooth : bool or float
        Smooth the colour over time (``TemporalSmoother``; a float is its strength).
    restore : sequence of str
        Restoration steps run on the gray frames before colouring (``helpers.restoration``:
        ``RESTORE_STEPS``, e.g. ``["deflicker"]``); a frames folder of their own.
    keep_frames : bool
        Also keep every frame as ``frame_000001.png`` in the frames folder, for retouching
        (``frames_to_video`` makes a video of them again). With ``client`` they are decoded from
        the segments (H.264 at ``media.encode.CRF``) rather than kept as the network made them.
    progress : bool
        Show a progress bar with frames per second and time left.
    client, variant, model_dir
        Spread the segments over a Dask cluster (``helpers.cluster``); the workers send back
        encoded segments, the same bytes as a one-process run.

    The options are ``VideoOptions`` (checked before any work).

    Raises
    ------
    Stopped
        Ctrl+C: says at which frame; the finished segments are kept.
    FolderInUseError
        Another run works in ``frames_dir``; nothing was touched.
    """
    opts = VideoOptions.given(options, to="colorize_video")
    source = probe_video(video)
    out = output_path(source.path, opts.out)
    settings = opts.settings(net)
    frames_dir = opts.folder(source.path, settings)
    if segment_cell(out) is not None and out.parent.resolve() == frames_dir.resolve():
        raise VideoError(f"The output {out} would take the place of a segment in the frames folder: choose another "
                         "name or folder.")
    with folder_for_run(source, settings, opts) as (manifest, report):
        run = _plan_run(source, manifest, report, opts, opts.recipe(net))
        results = _compute(run, net, opts)
        segments = _final_chain(run)
        replaced = out.exists()
        remove_stale_parts(out.parent, out.name)  # a killed run's half-written video
        written = join_segments(segments, out, fps=source.fps, audio_from=source.path)
        if opts.keep_frames:
            _keep_frames(frames_dir, segments, manifest, source)
    computed = {cell for result in results for cell in result.segments}
    if report.decode_error:
        warnings.warn(report.decode_error, stacklevel=2)
    return VideoReport(out, report, source, written, replaced, segments_computed=len(computed),
                       segments_reused=len(segments) - len(computed),
                       segments_bytes=sum(s.path.stat().st_size for s in segments),
                       png_bytes=sum(p.stat().st_size for p in frames_dir.glob("frame_*.png")))


@dataclass
class _Run:
    """One ``colorize_video`` run in its frames folder (held locked): the frames it covers, what it
    found done and the jobs that compute the rest."""

    source: VideoInfo
    manifest: dict
    report: FramesReport
    start: int
    stop: float
    """One past the last frame asked for; ``math.inf``: to the video's end."""
    length: int
    """Frames per segment: the grid (``segment_length``)."""
    jobs: list[Job]
    times: list[int] | None
    """The frame table Dask workers seek with (``media.decode.frame_times``); None in one process."""
    position: int = 0
    """The next frame to come through: where Ctrl+C stopped."""

    @property
    def frames_dir(self) -> Path:
        return self.report.frames_dir

    @property
    def checked(self) -> dict:
        """The manifest's record of the segments checked (``_checked_segments``)."""
        return self.manifest.setdefault("checked", {})

    def finished(self, cell: range) -> None:
        """A segment is written and checked: a rerun need not decode it again."""
        path = segment_path(self.frames_dir, cell)
        self.checked[path.name] = _stamp(path)
        write_manifest(self.frames_dir, self.manifest)
        self.position = max(self.position, cell.stop)  # with Dask, the frames come a segment at a time


def _plan_run(source: VideoInfo, manifest: dict, report: FramesReport, opts: VideoOptions, recipe: Recipe) -> _Run:
    """Plan or resume: the segments on disk are checked and reused, the missing ones become jobs."""
    length = segment_length(source.fps, opts.keyframe_interval if opts.mode == "fast" else None)
    stop = math.inf if opts.max_frames is None else opts.start + opts.max_frames
    present = _checked_segments(report.frames_dir, opts.start, stop, report, manifest.setdefault("checked", {}),
                                progress=opts.progress)
    times = frame_times(source) if opts.client is not None else None  # where Dask workers seek to
    plan = plan_segments(opts.start, stop, length, present, frame_count=manifest.get("frame_count"),
                         known=len(times) if times else source.frames_estimate)
    report.reused = sum(len(cell) for cell in plan.reuse)
    jobs = _jobs(plan, str(source.path), length, recipe, b_frames=not source.variable_rate,
                 one_per_segment=opts.client is not None)
    return _Run(source, manifest, report, opts.start, stop, length, jobs, times, position=opts.start)


def _compute(run: _Run, net, opts: VideoOptions) -> list[JobResult]:
    """Run the jobs here or on the cluster (``opts.client``), with a bar; the results go into the
    report and the manifest, even when stopped."""
    source = run.source
    estimate = (min(run.stop, source.frames_estimate) if source.frames_estimate else run.stop) - run.start
    bar = progress_bar(estimate, source.path.name, show=opts.progress)
    start_bar_at(bar, run.report.reused)
    results: list[JobResult] = []

    def advance(index: int) -> None:
        run.position = index + 1
        bar.update()

    try:
        if opts.client is not None and run.jobs:
            from .on_cluster import colorize_segments  # Dask is imported only when it is used

            results = colorize_segments(opts.client, net, run.jobs, run.frames_dir, bar, times=run.times,
                                        variant=opts.variant, model_dir=opts.model_dir, on_segment=run.finished,
                                        notes=run.report.cluster_notes)
        else:
            results = _run_here(run.jobs, net, run.frames_dir, keep_frames=opts.keep_frames, on_frame=advance,
                                on_segment=run.finished)
    except KeyboardInterrupt:
        raise Stopped(run.position + 1) from None
    finally:
        bar.close()
        _record_results(results, run.manifest, run.report, run.frames_dir)
        write_manifest(run.frames_dir, run.manifest)
    return results


def _final_chain(run: _Run) -> list[Segment]:
    """The segments that make the video, in order; VideoError when there are none."""
    segments = _final_segments(run.frames_dir, run.start, run.stop, run.length, run.manifest.get("frame_count"),
                               run.checked)
    write_manifest(run.frames_dir, run.manifest)
    if not segments:
        if run.report.decode_error:
            raise VideoError(run.report.decode_error)
        raise nothing_to_colourise(run.source.path, run.start)
    return segments


def _checked_segments(frames_dir: Path, start: int, stop: float, report: FramesReport, checked: dict, *,
                      progress: bool = True) -> list[range]:
    """The segments in the folder that a run from ``start`` to ``stop`` may use, each checked; damaged ones
    (a full disk, a copy cut short) are deleted, to be computed again.

    A segment is decoded frame by frame unless ``checked`` (the manifest's record of the segments
    this project wrote or checked) holds its size and time of change: then its packets are counted
    and their times checked, in milliseconds instead of a second, so a film resumes at once.
    """
    good = []
    found = sorted(((cell, path, _stamp(path)) for cell, path in segment_files(frames_dir).items()
                    if cell.stop > start and cell.start < stop), key=lambda item: item[0].start)
    unknown = sum(checked.get(path.name) != stamp for _, path, stamp in found)
    for cell, path, stamp in tqdm(found, unit="segment", desc="checking segments",
                                  disable=not progress or unknown < 10):
        try:
            read_segment(path, cell, decode=checked.get(path.name) != stamp)
        except (VideoError, OSError):
            path.unlink(missing_ok=True)
            checked.pop(path.name, None)
            report.redone += len(cell)
            continue
        checked[path.name] = stamp
        good.append(cell)
    return good


def _stamp(path: Path) -> list[int]:
    """Size and time of last change: a segment file changed since it was checked differs in one of them."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _jobs(plan: Plan, video: str, length: int, recipe: Recipe, *, b_frames: bool,
          one_per_segment: bool = False) -> list[Job]:
    """The plan's segments as jobs: runs of consecutive segments, each decoded in one go (or one job
    per segment, for Dask workers); the last one to the video's end when the plan says so."""
    runs: list[list[range]] = []
    for cell in plan.compute:
        if runs and runs[-1][-1].stop == cell.start and not one_per_segment:
            runs[-1].append(cell)
        else:
            runs.append([cell])
    jobs = [Job(video, run[0].start, run[-1].stop, length, recipe, b_frames) for run in runs]
    if plan.open_end and jobs:
        jobs[-1] = dataclasses.replace(jobs[-1], stop=None)
    return jobs


def _run_here(jobs: list[Job], net, frames_dir: Path, *, keep_frames: bool, on_frame, on_segment) -> list[JobResult]:
    """Run the jobs in this process, in order, until the video ends or a decoding error stops it."""
    results: list[JobResult] = []
    for job in jobs:
        last = results[-1] if results else None
        if last and (last.decode_error or last.beyond_end or (last.end is not None and last.end <= job.first)):
            break  # the video ended (or is damaged) before this job's frames
        results.append(run_job(job, net, frames_dir, keep_frames=frames_dir if keep_frames else None,
                               on_frame=on_frame, on_segment=on_segment))
    return results


def _record_results(results: list[JobResult], manifest: dict, report: FramesReport, frames_dir: Path) -> None:
    """Fill in the report, and the video's true length and damage in the manifest."""
    for result in results:
        report.computed += sum(len(cell) for cell in result.segments)
        report.new_frames += [n + 1 for cell in result.segments for n in cell]
        report.network_passes += result.network_passes
        report.decode_notes += result.decode_notes
        report.seek_fallbacks += result.seek_fallback
    errors = [result.decode_error for result in results if result.decode_error]
    ends = [result.end for result in results if result.end is not None]
    if errors:  # as a one-process run: decoding stops at the first damage
        message, index = min(errors, key=lambda e: e[1])
        manifest["decode_error"] = [message, index]
        ends.append(index)
    if ends:
        manifest["frame_count"] = min(ends + ([manifest["frame_count"]] if manifest.get("frame_count") else []))
    if manifest.get("decode_error"):
        report.decode_error = decoding_stopped(*manifest["decode_error"], frames_dir)
    report.done = report.computed + report.reused


def _final_segments(frames_dir: Path, start: int, stop: float, length: int, frame_count: int | None,
                    checked: dict) -> list[Segment]:
    """The segments that make the video, in order from ``start``: at each step the grid's cell, cut to
    ``stop`` (or the video's end). Segments that overlap them but are not the grid's (a preview's
    of other frames) are deleted: whole cells, and the video's last one, stay for later runs."""
    stop = min(stop, frame_count) if frame_count is not None else stop
    files = segment_files(frames_dir)
    chain, position = [], start
    while position < stop:
        expected = range(position, int(min(position - position % length + length, stop)))
        if expected not in files and math.isinf(stop):  # the length unknown: the longest one there
            expected = max((cell for cell in files if cell.start == position), key=len, default=None)
        if expected not in files:
            break
        chain.append(expected)
        position = expected.stop

    def kept(cell: range) -> bool:
        return cell.start % length == 0 and (len(cell) == length or cell.stop == frame_count)

    for cell, path in files.items():
        if cell not in chain and cell.start < position and cell.stop > start and not kept(cell):
            path.unlink(missing_ok=True)
            checked.pop(path.name, None)
    return [read_segment(files[cell], cell, decode=False) for cell in chain]


def _keep_frames(frames_dir: Path, segments: list[Segment], manifest: dict, source: VideoInfo) -> None:
    """Every frame as a PNG too, for retouching, with the manifest's times for ``frames_to_video``:
    frames the run wrote as they came are kept; others are decoded from their segment."""
    shape = (source.height, source.width)
    for segment in segments:
        if all(frame_file_ok(frame_path(frames_dir, n + 1), shape) for n in segment.cell):
            continue
        for n, image in zip(segment.cell, _decoded_segment(segment.path)):
            write_image(frame_path(frames_dir, n + 1), image[:shape[0], :shape[1]])
    timestamps = TimestampRecorder(manifest, source)
    for segment in segments:
        for n, pts in zip(segment.cell, segment.pts):
            timestamps.add(n, pts)
    write_manifest(frames_dir, manifest)


def _decoded_segment(path: Path) -> Iterator[np.ndarray]:
    for frame in read_frames(path, deinterlace="off"):
        yield frame.image
