"""Colourise a video frame by frame into PNG files, never losing work: ``colorize_frames``.

``colorize_frames`` decodes the video (``helpers.media.probe``), colourises each frame at full
resolution, every frame with the network or only keyframes (``helpers.video.keyframes``), and
saves it as ``colorized_frames/<video>/frame_000001.png``. The folder's manifest
(``helpers.video.frames_folder``) records the video, the settings and every frame's timestamp:
running again skips the frames already done, so an interrupted run resumes where it stopped,
and frames of another video or other settings are never mixed in. While a run works in a
frames folder it holds the folder's lock: a second run on the same folder stops at once with a
clear message instead of mixing frames.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..common.images import write_image
from ..media.decode import read_frames
from ..media.probe import VideoError, VideoInfo, probe_video
from ..model.net import ColorizationNet
from .frames_folder import (
    TimestampRecorder,
    folder_identity,
    frame_file_ok,
    frame_path,
    frames_folder_lock,
    numbered_frames,
    prepare_frames_folder,
    write_manifest,
)
from .one_pass import OPEN_END, Job, JobResult, Recipe, coloured_frames
from .options import FrameOptions, takes_options
from .reports import FramesReport, Stopped, decoding_stopped

WAITING_WRITES = 2
"""Frames encoded as PNG while the next one is worked on: enough to overlap, little memory."""


def progress_bar(total: float | None, desc: str, *, show: bool = True) -> tqdm:
    """A bar of frames with their speed and time left; ``total`` None (or not a positive finite
    number): unknown. ``show=False``: no bar."""
    known = total is not None and math.isfinite(total) and total > 0
    return tqdm(total=int(total) if known else None, unit="frame", desc=desc, disable=not show)


def start_bar_at(bar: tqdm, done: int) -> None:
    """Start the progress bar at ``done`` frames found on disk. Unlike ``bar.update(done)``, its
    speed and time left count only the frames computed now (a resumed run once claimed 1,265 frames/s)."""
    bar.n = bar.last_print_n = bar.initial = done
    bar.refresh()


def nothing_to_colourise(video: Path, start: int) -> VideoError:
    """The error for a range that starts after the video's last frame."""
    return VideoError(f"{video.name} ends before frame {start + 1}: there is nothing to colourise from there on "
                      "(start counts frames from 0).")


@contextmanager
def folder_for_run(info: VideoInfo, settings: dict, opts: FrameOptions) -> Iterator[tuple[dict, FramesReport]]:
    """While inside, the run's frames folder is locked, checked (or with ``restart``, cleared of frames
    of other settings): gives its manifest and the run's new report. FolderInUseError: another run has it."""
    frames_dir = opts.folder(info.path, settings)
    with frames_folder_lock(frames_dir):
        manifest, deleted = prepare_frames_folder(frames_dir, folder_identity(info, settings), opts.restart)
        yield manifest, FramesReport(frames_dir=frames_dir, first=opts.start + 1, deleted=deleted,
                                     deinterlaced=opts.deinterlaces(info.interlaced))


@takes_options(FrameOptions)
def colorize_frames(video: str | os.PathLike | VideoInfo, net: ColorizationNet, **options) -> FramesReport:
    """Colourise every frame of a video into PNG files, resuming any earlier run.

    Parameters
    ----------
    video : path or VideoInfo
        The black-and-white video, or what ``probe_video`` said of it.
    net : ColorizationNet
        From ``load_model``.
    frames_dir : path, optional
        Where the frames go; by default a folder per video and settings,
        ``colorized_frames/<video stem>/<settings>`` (``default_frames_dir``).
    temperature, size
        As for ``colorize``: the annealed-mean temperature T in (0, 10] (the paper's 0.38), and the
        network's input size.
    model : str, optional
        Which model ``net`` is, recorded in the manifest so that frames of two models never
        mix; by default ``model_name(net)``: the weights file that ``load_model()`` reads, and
        what runs ``net`` unless it is OpenCV ("openvino fp32"...).
    start, max_frames : int
        Colourise only frames ``start + 1 .. start + max_frames`` (a quick preview).
    restart : bool
        Delete frames made with another video or other settings (or a damaged manifest)
        instead of refusing (``FramesReport.deleted`` says how many). Only a ``frames_dir``
        given by the caller can hold those: the default folder is named after the settings.
    mode : {"exact", "fast"}
        ``"exact"`` runs the network on every frame. ``"fast"`` runs it on keyframes only (the
        first frame of each shot and at least every ``keyframe_interval`` frames) and carries
        the colour to the frames in between along the optical flow (``KeyframePropagator``).
    keyframe_interval : int
        ``K`` of fast mode: at most this many frames from one keyframe to the next.
    deinterlace : {"auto", "on", "off"}
        ``auto`` deinterlaces frames the video marks as interlaced (most digitised tape).
    progress : bool
        Show a progress bar with frames per second and time left.

    Returns
    -------
    FramesReport
        How many frames were computed, reused or redone, and any decoding error.

    Raises
    ------
    FolderInUseError
        Another run works in ``frames_dir``; nothing was touched.

    Notes
    -----
    The options are ``FrameOptions`` (checked before any work). Each frame is written to a
    temporary name and renamed, so a frame file is either complete or absent; a damaged one
    (say, from a full disk) is recognised and redone.
    """
    opts = FrameOptions.given(options, to="colorize_frames")
    info = probe_video(video)
    with folder_for_run(info, opts.settings(net), opts) as (manifest, report):
        _write_frames(info, net, manifest, report, opts)
    if report.done == 0 and not report.decode_error:
        raise nothing_to_colourise(info.path, opts.start)
    if report.decode_error:
        warnings.warn(report.decode_error, stacklevel=2)
    return report


class _FrameWriter:
    """Frames saved as PNG files in a thread of their own: PNG encoding overlaps the next frame's work."""

    def __init__(self, report: FramesReport, bar: tqdm) -> None:
        self.report, self.bar = report, bar
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.writes: deque = deque()

    def save(self, index: int, img_bgr: np.ndarray) -> None:
        """Save frame ``index`` (0-based) as ``frame_<index + 1>.png``, and count it."""
        self.writes.append(self.pool.submit(write_image, frame_path(self.report.frames_dir, index + 1), img_bgr))
        while len(self.writes) > WAITING_WRITES:
            self.writes.popleft().result()
        self.report.computed += 1
        self.report.new_frames.append(index + 1)
        self.report.done += 1
        self.bar.update()

    def close(self) -> None:
        """Wait for the writes, even when interrupted: every computed frame reaches the disk."""
        self.pool.shutdown(wait=True)

    def check(self) -> None:
        """A failed write (disk full...) is an error, not a silent gap."""
        for write in self.writes:
            write.result()


def _write_frames(info: VideoInfo, net, manifest: dict, report: FramesReport, opts: FrameOptions) -> None:
    """The missing frames of the range colourised and saved, with a bar; the manifest saved even when stopped."""
    estimate = max(0, info.frames_estimate - opts.start)
    bar = progress_bar(min(estimate, opts.max_frames or estimate) or None, info.path.name, show=opts.progress)
    writer = _FrameWriter(report, bar)
    try:
        _colour_missing_frames(info, net, manifest, TimestampRecorder(manifest, info), report, writer.save, bar,
                               start=opts.start, max_frames=opts.max_frames, recipe=opts.recipe(net))
    except KeyboardInterrupt:
        raise Stopped(max(report.new_frames, default=opts.start) + 1, kept="frames written") from None
    finally:
        writer.close()
        bar.close()
        write_manifest(report.frames_dir, manifest)
    writer.check()


def _missing_runs(frames_dir: Path, shape: tuple[int, int], start: int, stop: float,
                  report: FramesReport) -> list[list[int | None]]:
    """The runs ``[first, stop]`` of frames of ``start .. stop - 1`` not on disk (complete and of
    ``shape``); with no known ``stop``, the last run's stop is None: it goes on to the video's end."""
    done = {number - 1 for number, path in numbered_frames(frames_dir, complete=False)
            if start <= number - 1 < stop and frame_file_ok(path, shape)}
    report.reused = report.done = len(done)
    open_ended = not math.isfinite(stop)
    end = max(done, default=start - 1) + 1 if open_ended else int(stop)
    runs: list[list[int | None]] = []
    for index in (i for i in range(start, end) if i not in done):
        if runs and runs[-1][1] == index:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    if open_ended:  # the last run goes on to the video's end: nothing after it is on disk
        if runs and runs[-1][1] == end:
            runs[-1][1] = None
        else:
            runs.append([end, None])
    return runs


def _colour_missing_frames(info: VideoInfo, net, manifest: dict, timestamps: TimestampRecorder,
                           report: FramesReport, save, bar, *, start: int, max_frames: int | None,
                           recipe: Recipe) -> None:
    """The frames of ``start .. start + max_frames - 1`` that are not on disk, colourised by the loop
    ``colorize_video`` uses (``one_pass.coloured_frames``), one run of missing frames at a time, so a
    resumed run gives exactly the frames an uninterrupted one would have. The video's length is not
    trusted from its header: unless an earlier run decoded to the end (``frame_count``), the last
    run goes on until the frames end."""
    frames_dir = report.frames_dir
    stop = math.inf if max_frames is None else start + max_frames
    if manifest.get("frame_count") is not None:
        stop = min(stop, manifest["frame_count"])
    runs = _missing_runs(frames_dir, (info.height, info.width), start, stop, report)
    start_bar_at(bar, report.done)
    # frames, not segments: each job is one endless segment
    jobs = [Job(str(info.path), first, last, OPEN_END, recipe) for first, last in runs]
    past_end = False
    for job in jobs:
        if past_end or (manifest.get("frame_count") is not None and job.first >= manifest["frame_count"]):
            break  # the video ends before this run of frames
        result = JobResult()
        for frame, img in coloured_frames(job, net, result):
            timestamps.add(frame.index, frame.pts)
            report.redone += frame_path(frames_dir, frame.index + 1).exists()
            save(frame.index, img)
        report.network_passes += result.network_passes
        report.decode_notes += result.decode_notes
        if result.decode_error is not None:
            report.decode_error = decoding_stopped(*result.decode_error, frames_dir)
            manifest["frame_count"] = result.decode_error[1]
            return
        if result.end is not None:
            manifest["frame_count"] = result.end
        past_end = result.beyond_end
    _time_untimed(info, frames_dir, timestamps, recipe.deinterlace)


def _time_untimed(info: VideoInfo, frames_dir: Path, timestamps: TimestampRecorder, deinterlace: str) -> None:
    """The times of frames a killed run saved without them (it saves the manifest last), decoded again."""
    untimed = sorted(number - 1 for number, _ in numbered_frames(frames_dir, complete=False)
                     if not timestamps.knows(number - 1))
    if untimed:
        for frame in read_frames(info, start=untimed[0], max_frames=untimed[-1] + 1 - untimed[0],
                                 deinterlace=deinterlace):
            timestamps.add(frame.index, frame.pts)
