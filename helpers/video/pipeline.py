"""Colourise a video frame by frame, never losing work, and put it back together with its sound.

The pipeline, and the module that holds each step:

1. ``colorize_frames`` (here) decodes the video (``helpers.video_io``), colourises each frame
   at full resolution, every frame with the network or only keyframes (``helpers.video.keyframes``),
   and saves it as ``colorized_frames/<video>/frame_000001.png``. The folder's manifest
   (``helpers.video.frames_folder``) records the video, the settings and every frame's timestamp:
   running again skips the frames already done, so an interrupted run resumes where it
   stopped, and frames of another video or other settings are never mixed in. While a run
   works in a frames folder it holds the folder's lock: a second run on the same folder stops
   at once with a clear message instead of mixing frames.
2. ``smooth_frames`` and ``measure_flicker`` (here) calm and measure the colour flicker of a
   frames folder (``helpers.video.flicker``).
3. ``frames_to_video`` (``helpers.video.reassemble``) encodes the frames as an H.264 video at their
   original times, adds every sound stream of the source, and checks the result before it is
   given its name.
4. ``colorize_video`` (here) does it all: 1, then 2 if asked, then 3.

Everything the notebook uses is importable from here: ``from helpers import video``.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..backends import backend_label
from ..colorize import DEFAULT_SIZE, check_size
from ..files import remove_stale_parts
from .flicker import DEFAULT_STRENGTH, FlickerMeter, FrameFlicker, TemporalSmoother
from .frames_folder import (
    MANIFEST,
    TimestampRecorder,
    folder_identity,
    frame_file_ok,
    frame_path,
    frames_folder_lock,
    numbered_frames,
    prepare_frames_folder,
    read_manifest,
    settings_name,
    write_manifest,
)
from ..images import write_image
from .keyframes import KEYFRAME_INTERVAL
from ..model import get_temperature, model_id, set_temperature
from .one_pass import Job, JobResult, Recipe, coloured_frames, run_job
from ..paths import COLORIZED_FRAMES
from .reassemble import Reassembly, frames_to_video, output_path
from ..restoration import check_steps
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
from ..video_io import DEINTERLACE, VideoError, VideoInfo, frame_times, probe_video, read_frames

__all__ = ["VideoError", "VideoInfo", "probe_video", "read_frames", "colorize_frames", "frames_to_video",
           "colorize_video", "smooth_frames", "measure_flicker", "frame_path", "read_manifest", "output_path",
           "default_frames_dir", "frame_settings"]

_OPEN_SEGMENT = 2**62
"""``colorize_frames`` writes frames, not segments: its jobs are one endless segment."""


@dataclass
class FramesReport:
    """What ``colorize_frames`` did."""

    frames_dir: Path
    first: int
    """Number of the first frame of the range (1 = the video's first frame)."""
    done: int = 0
    """Frames of the range now on disk, computed or reused."""
    computed: int = 0
    reused: int = 0
    redone: int = 0
    """Frame files found damaged and computed again."""
    network_passes: int = 0
    """Frames the network ran on: all computed ones in exact mode, only keyframes in fast mode."""
    decode_error: str | None = None
    """Why decoding stopped early, if it did; the frames before it are kept."""
    decode_notes: list[str] = field(default_factory=list)
    """Damage FFmpeg stepped over (those frames may show it)."""
    deinterlaced: bool = False
    seek_fallbacks: int = 0
    """With Dask: ranges whose worker could not seek as the frame table said, so decoded from the start."""
    deleted: int = 0
    """Frames of other settings or another video that ``restart`` deleted from the folder."""
    cluster_notes: list[str] = field(default_factory=list)
    """With Dask: a line per worker (frames, speed) and one per worker that was refused."""
    new_frames: list[int] = field(default_factory=list, repr=False)


# --------------------------------------------------------------------------- colourising
def model_name(net, variant: str = "v2") -> str:
    """The model as the frames' manifest records it: the weights file (``model_id``), and what runs
    ``net`` unless it is OpenCV, so frames of two back ends or precisions never mix."""
    runtime = backend_label(net)
    return model_id(variant) if runtime == "opencv fp32" else f"{model_id(variant)}; {runtime}"


def frame_settings(net, *, size: int = DEFAULT_SIZE, model: str | None = None, mode: str = "exact",
                   keyframe_interval: int = KEYFRAME_INTERVAL, deinterlace: str = "auto", smooth: float = 0.0,
                   restore: Sequence[str] = ()) -> dict:
    """The settings that change the colourised frames, as the manifest records them (``net``'s
    temperature included): frames of other settings are never mixed in, and get another folder."""
    settings = {"temperature": round(get_temperature(net), 6), "size": size, "model": model or model_name(net),
                "deinterlace": deinterlace}
    if mode == "fast":
        settings.update(mode="fast", keyframe_interval=keyframe_interval)
    if smooth:
        settings["smooth"] = smooth
    if restore:
        settings["restore"] = list(restore)
    return settings


def default_frames_dir(video: str | os.PathLike, settings: dict) -> Path:
    """``colorized_frames/<video stem>/<settings_name>``: a folder per video and per settings, so an
    exact and a fast run of one video (or two temperatures) keep their frames side by side."""
    return COLORIZED_FRAMES / Path(video).stem / settings_name(settings)


def _check_options(size: int, mode: str, deinterlace: str, start: int, max_frames: int | None,
                   keyframe_interval: int) -> None:
    """ValueError for options no run can use, before any work (``colorize_frames``, ``colorize_video``)."""
    check_size(size)
    if mode not in ("exact", "fast"):
        raise ValueError(f'mode must be "exact" (the network on every frame) or "fast" (keyframes and optical '
                         f"flow), got {mode!r}.")
    if deinterlace not in DEINTERLACE:
        raise ValueError(f"deinterlace must be one of {', '.join(DEINTERLACE)}, got {deinterlace!r}.")
    if start < 0 or (max_frames is not None and max_frames < 1) or keyframe_interval < 1:
        raise ValueError(f"Need start >= 0, max_frames >= 1 and keyframe_interval >= 1; got start={start}, "
                         f"max_frames={max_frames}, keyframe_interval={keyframe_interval}.")


def colorize_frames(
    video: str | os.PathLike | VideoInfo,
    net: cv2.dnn.Net,
    *,
    frames_dir: str | os.PathLike | None = None,
    temperature: float | None = None,
    size: int = DEFAULT_SIZE,
    model: str | None = None,
    start: int = 0,
    max_frames: int | None = None,
    restart: bool = False,
    mode: str = "exact",
    keyframe_interval: int = KEYFRAME_INTERVAL,
    deinterlace: str = "auto",
    progress: bool = True,
) -> FramesReport:
    """Colourise every frame of a video into PNG files, resuming any earlier run.

    Parameters
    ----------
    video : path or VideoInfo
        The black-and-white video, or what ``probe_video`` said of it.
    net : cv2.dnn.Net
        From ``load_model``.
    frames_dir : path, optional
        Where the frames go; by default a folder per video and settings,
        ``colorized_frames/<video stem>/<settings>`` (``default_frames_dir``).
    temperature, size
        As for ``colorize``; ``temperature=None`` keeps the network's.
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
    Each frame is written to a temporary name and renamed, so a frame file is either
    complete or absent; a damaged one (say, from a full disk) is recognised and redone.
    """
    _check_options(size, mode, deinterlace, start, max_frames, keyframe_interval)
    info = probe_video(video)
    if temperature is not None:
        set_temperature(net, temperature)
    settings = frame_settings(net, size=size, model=model, mode=mode, keyframe_interval=keyframe_interval,
                              deinterlace=deinterlace)
    frames_dir = Path(frames_dir) if frames_dir else default_frames_dir(info.path, settings)
    with frames_folder_lock(frames_dir):
        manifest, deleted = prepare_frames_folder(frames_dir, folder_identity(info, settings), restart)
        timestamps = TimestampRecorder(manifest, info)
        report = FramesReport(frames_dir=frames_dir, first=start + 1, deleted=deleted,
                              deinterlaced=deinterlace == "on" or (deinterlace == "auto" and info.interlaced))
        estimate = max(0, info.frames_estimate - start)
        bar = tqdm(total=min(estimate, max_frames or estimate) or None, unit="frame", desc=info.path.name,
                   disable=not progress)
        writer = ThreadPoolExecutor(max_workers=1)  # PNG encoding overlaps the next frame's work
        writes: deque = deque()

        def save(index: int, img_bgr: np.ndarray) -> None:
            path = frame_path(frames_dir, index + 1)
            writes.append(writer.submit(write_image, path, img_bgr))
            while len(writes) > 2:
                writes.popleft().result()
            report.computed += 1
            report.new_frames.append(index + 1)
            report.done += 1
            bar.update()

        try:
            _colour_missing_frames(info, net, frames_dir, manifest, timestamps, report, save, bar, start=start,
                                   max_frames=max_frames, recipe=Recipe(mode, size, get_temperature(net),
                                                                        keyframe_interval, deinterlace))
        except KeyboardInterrupt:
            raise Stopped(max(report.new_frames, default=start) + 1, kept="frames written") from None
        finally:
            writer.shutdown(wait=True)  # even when interrupted: every computed frame reaches the disk
            bar.close()
            write_manifest(frames_dir, manifest)
        for write in writes:
            write.result()  # a failed write (disk full...) is an error, not a silent gap
    if report.done == 0 and not report.decode_error:
        raise VideoError(f"{info.path.name} ends before frame {start + 1}: there is nothing to colourise from there "
                         "on (start counts frames from 0).")
    if report.decode_error:
        warnings.warn(report.decode_error, stacklevel=2)
    return report


def _start_bar_at(bar, done: int) -> None:
    """Start the progress bar at ``done`` frames found on disk. Unlike ``bar.update(done)``, its
    speed and time left count only the frames computed now (a resumed run once claimed 1,265 frames/s)."""
    bar.n = bar.last_print_n = bar.initial = done
    bar.refresh()


def _colour_missing_frames(info: VideoInfo, net, frames_dir: Path, manifest: dict, timestamps: TimestampRecorder,
                           report: FramesReport, save, bar, *, start: int, max_frames: int | None,
                           recipe: Recipe) -> None:
    """The frames of ``start .. start + max_frames - 1`` that are not on disk, colourised by the loop
    ``colorize_video`` uses (``one_pass.coloured_frames``), one run of missing frames at a time, so a
    resumed run gives exactly the frames an uninterrupted one would have. The video's length is not
    trusted from its header: unless an earlier run decoded to the end (``frame_count``), the last
    run goes on until the frames end."""
    shape = (info.height, info.width)
    stop = math.inf if max_frames is None else start + max_frames
    if manifest.get("frame_count") is not None:
        stop = min(stop, manifest["frame_count"])
    done = {number - 1 for number, path in numbered_frames(frames_dir, complete=False)
            if start <= number - 1 < stop and frame_file_ok(path, shape)}
    report.reused = report.done = len(done)
    _start_bar_at(bar, report.done)
    open_ended = not math.isfinite(stop)
    end = max(done, default=start - 1) + 1 if open_ended else int(stop)
    runs: list[list[int]] = []
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
    jobs = [Job(str(info.path), first, last, _OPEN_SEGMENT, recipe) for first, last in runs]
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
            report.decode_error = _decoding_stopped(*result.decode_error, frames_dir)
            manifest["frame_count"] = result.decode_error[1]
            return
        if result.end is not None:
            manifest["frame_count"] = result.end
        past_end = result.beyond_end
    untimed = sorted(number - 1 for number, _ in numbered_frames(frames_dir, complete=False)
                     if not timestamps.knows(number - 1))
    if untimed:  # frames a killed run saved without their times (it saves the manifest last)
        for frame in read_frames(info, start=untimed[0], max_frames=untimed[-1] + 1 - untimed[0],
                                 deinterlace=recipe.deinterlace):
            timestamps.add(frame.index, frame.pts)


# --------------------------------------------------------------------------- flicker
def _gray_and_colour(colourised: Path, source: str | os.PathLike | None = None,
                     first: int = 1) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(number, gray input frame, colourised frame)`` for every colourised frame, streamed: from a
    frames folder (its manifest names the input) or a colourised video (``source`` is the input,
    ``first`` the number of its frame the video starts with)."""
    if colourised.is_file():
        if source is None:
            raise ValueError(f"To measure the flicker of {colourised.name}, give the video it was made from "
                             "(source=...).")
        sources = read_frames(source, start=first - 1)
        for frame, original in zip(read_frames(colourised, deinterlace="off"), sources):
            height, width = original.image.shape[:2]
            yield (first + frame.index, cv2.cvtColor(original.image, cv2.COLOR_BGR2GRAY),
                   frame.image[:height, :width])  # without the row or column that made the size even
        return
    manifest = read_manifest(colourised) or {}
    if "video" not in manifest:
        raise VideoError(f"{colourised} has no {MANIFEST}: colourise the frames with colorize_frames first.")
    frames = numbered_frames(colourised)
    sources = read_frames(manifest["video"]["source"], start=frames[0][0] - 1, max_frames=len(frames),
                          deinterlace=manifest["settings"].get("deinterlace", "auto"))
    for (number, path), source_frame in zip(frames, sources):
        yield number, cv2.cvtColor(source_frame.image, cv2.COLOR_BGR2GRAY), cv2.imread(str(path))


def measure_flicker(colourised: str | os.PathLike, *, source: str | os.PathLike | None = None, first: int = 1,
                    progress: bool = True) -> tuple[list[FrameFlicker], dict]:
    """Flicker of colourised frames, measured against the motion of the gray input (``FlickerMeter``).

    ``colourised`` is a colourised video (``colorize_video``'s output; ``source``: the video it
    was made from, ``first``: the number of the source frame it starts with, ``report.frames.first``)
    or a frames folder (the input is the one its manifest names). ``progress`` shows a bar.

    Returns
    -------
    per_frame : list of FrameFlicker
        One entry per frame after the first; ``frame`` is the frame's number in the source
        (1 = the video's first frame), as in the frame file names.
    summary : dict
        ``FlickerMeter.summary()``: means over frames that are not scene cuts, and mean chroma.
    """
    colourised = Path(colourised)
    meter = FlickerMeter()
    per_frame = []
    total = probe_video(colourised).frames_estimate if colourised.is_file() else len(numbered_frames(colourised))
    for number, gray, colour in tqdm(_gray_and_colour(colourised, source, first), total=total, unit="frame",
                                     desc="measuring flicker", disable=not progress):
        result = meter.update(gray, colour)
        if result is not None:
            per_frame.append(dataclasses.replace(result, frame=number))
    return per_frame, meter.summary()


def smooth_frames(
    frames_dir: str | os.PathLike,
    *,
    out_dir: str | os.PathLike | None = None,
    strength: float = DEFAULT_STRENGTH,
    progress: bool = True,
) -> Path:
    """Smooth the colour of colourised frames over time (``TemporalSmoother``) into ``out_dir``.

    ``out_dir`` is ``<frames_dir>_smooth`` by default; it gets a copy of the manifest, so
    ``frames_to_video`` finds the frames' times and sound. The network does not run again:
    this takes about 20 ms a frame, so the smoothed frames are simply made anew each time (old
    ones in ``out_dir`` are replaced). The colourised frames are not changed.
    """
    frames_dir = Path(frames_dir)
    out_dir = Path(out_dir) if out_dir else frames_dir.with_name(frames_dir.name + "_smooth")
    if out_dir.resolve() == frames_dir.resolve():
        raise ValueError("out_dir must differ from frames_dir: the colourised frames are kept as they are.")
    with frames_folder_lock(frames_dir), frames_folder_lock(out_dir):
        for old in out_dir.glob("frame_*.png"):
            old.unlink()
        smoother = TemporalSmoother(strength)
        total = len(numbered_frames(frames_dir))
        for number, gray, colour in tqdm(_gray_and_colour(frames_dir), total=total, unit="frame",
                                         desc="smoothing", disable=not progress):
            write_image(frame_path(out_dir, number), smoother(gray, colour))
        write_manifest(out_dir, {**read_manifest(frames_dir), "smoothed": {"strength": strength}})
    return out_dir


# --------------------------------------------------------------------------- all together, in one pass
class Stopped(KeyboardInterrupt):
    """Ctrl+C (or ■ in a notebook) during ``colorize_video`` or ``colorize_frames``: one line for
    people, not a traceback. ``kept``: what a rerun finds done."""

    def __init__(self, frame: int, kept: str = "finished segments") -> None:
        super().__init__(f"stopped at frame {frame}; run the same command to resume (the {kept} are kept)")
        self.frame = frame

    def _render_traceback_(self) -> list[str]:  # what IPython shows instead of a traceback
        return [f"Stopped: {self}"]


@dataclass
class VideoReport:
    """What ``colorize_video`` did."""

    video: Path
    frames: FramesReport
    source: VideoInfo
    written: Reassembly
    replaced: bool = False
    """``video`` existed before this run, which replaced it."""
    segments_computed: int = 0
    segments_reused: int = 0
    segments_bytes: int = 0
    """Disk space the segments take in the frames folder."""
    png_bytes: int = 0
    """Disk space of ``frame_*.png`` files in the frames folder (``keep_frames``, or an earlier version's)."""

    def __str__(self) -> str:
        f, w = self.frames, self.written
        lines = [f"{self.video}: {w.frames} frames, {w.duration:.2f} s"
                 + (" (it replaced the video of an earlier run)" if self.replaced else "")]
        if f.deleted:
            lines.append(f"restart: deleted {f.deleted} frames of other settings or another video in {f.frames_dir}")
        lines += [f"segments in {f.frames_dir}: {self.segments_computed} computed ({f.computed} frames, "
                  f"{f.network_passes} network passes), {self.segments_reused} reused ({f.reused} frames), "
                  f"{self.segments_bytes / 1e6:.1f} MB" + (f"; {f.redone} frames of damaged segments redone"
                                                           if f.redone else ""), w.check, *w.sound_notes]
        if self.png_bytes:
            lines.append(f"the frames folder also holds frames as PNG files ({self.png_bytes / 1e6:.0f} MB, from "
                         "colorize_frames or keep_frames): the video is made without them")
        if f.deinterlaced:
            lines.append("the source is interlaced: frames were deinterlaced (bwdif) before colourising")
        if f.decode_notes:
            lines.append(f"FFmpeg stepped over damage in the source ({len(f.decode_notes)} messages; those frames "
                         f"may show it): {f.decode_notes[0]}")
        if f.decode_error:
            lines.append(f.decode_error)
        return "\n".join(lines + f.cluster_notes)


def colorize_video(
    video: str | os.PathLike | VideoInfo,
    net: cv2.dnn.Net,
    *,
    out: str | os.PathLike | None = None,
    frames_dir: str | os.PathLike | None = None,
    temperature: float | None = None,
    size: int = DEFAULT_SIZE,
    model: str | None = None,
    start: int = 0,
    max_frames: int | None = None,
    restart: bool = False,
    mode: str = "exact",
    keyframe_interval: int = KEYFRAME_INTERVAL,
    deinterlace: str = "auto",
    smooth: bool | float = False,
    restore: Sequence[str] = (),
    keep_frames: bool = False,
    progress: bool = True,
    client=None,
    variant: str = "v2",
    model_dir: str | os.PathLike | None = None,
) -> VideoReport:
    """Colourise a video into ``colorized_videos/<stem>_color.mp4``, with its sound, in one pass.

    Frames are decoded, colourised and encoded as they come (``helpers.video.one_pass``), in segments
    of a few seconds kept in the frames folder (``helpers.video.segments``): an interrupted run
    resumes from the last finished segment, and the folder holds about the output's size, not a
    PNG per frame. The output is the segments joined by stream copy (nothing is encoded twice)
    with every sound stream of the source, checked before it gets its name.

    Parameters
    ----------
    video : path or VideoInfo
        The black-and-white video, or what ``probe_video`` said of it.
    net : cv2.dnn.Net
        From ``load_model``.
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
        the segments (H.264 at ``video_io.CRF``) rather than kept as the network made them.
    progress : bool
        Show a progress bar with frames per second and time left.
    client, variant, model_dir
        Spread the segments over a Dask cluster (``helpers.cluster``); the workers send back
        encoded segments, the same bytes as a one-process run.

    Raises
    ------
    Stopped
        Ctrl+C: says at which frame; the finished segments are kept.
    FolderInUseError
        Another run works in ``frames_dir``; nothing was touched.
    """
    _check_options(size, mode, deinterlace, start, max_frames, keyframe_interval)
    strength = (DEFAULT_STRENGTH if smooth is True else float(smooth)) if smooth else 0.0
    source = probe_video(video)
    out = output_path(source.path, out)
    if temperature is not None:
        set_temperature(net, temperature)
    steps = check_steps(restore)
    settings = frame_settings(net, size=size, model=model, mode=mode, keyframe_interval=keyframe_interval,
                              deinterlace=deinterlace, smooth=strength, restore=steps)
    recipe = Recipe(mode, size, get_temperature(net), keyframe_interval, deinterlace, strength, steps)
    frames_dir = Path(frames_dir) if frames_dir else default_frames_dir(source.path, settings)
    if segment_cell(out) is not None and out.parent.resolve() == frames_dir.resolve():
        raise VideoError(f"The output {out} would take the place of a segment in the frames folder: choose another "
                         "name or folder.")
    length = segment_length(source.fps, keyframe_interval if mode == "fast" else None)
    with frames_folder_lock(frames_dir):
        manifest, deleted = prepare_frames_folder(frames_dir, folder_identity(source, settings), restart)
        report = FramesReport(frames_dir=frames_dir, first=start + 1, deleted=deleted,
                              deinterlaced=deinterlace == "on" or (deinterlace == "auto" and source.interlaced))
        stop = math.inf if max_frames is None else start + max_frames
        checked = manifest.setdefault("checked", {})
        present = _checked_segments(frames_dir, start, stop, report, checked, progress=progress)
        times = frame_times(source) if client is not None else None  # where Dask workers seek to
        plan = plan_segments(start, stop, length, present, frame_count=manifest.get("frame_count"),
                             known=len(times) if times else source.frames_estimate)
        report.reused = sum(len(cell) for cell in plan.reuse)
        estimate = (min(stop, source.frames_estimate) if source.frames_estimate else stop) - start
        bar = tqdm(total=int(estimate) if math.isfinite(estimate) and estimate > 0 else None, unit="frame",
                   desc=source.path.name, disable=not progress)
        _start_bar_at(bar, report.reused)
        jobs = _jobs(plan, str(source.path), length, recipe, b_frames=not source.variable_rate,
                     one_per_segment=client is not None)
        results: list[JobResult] = []
        position = [start]  # the next frame to come through: where Ctrl+C stopped

        def advance(index: int) -> None:
            position[0] = index + 1
            bar.update()

        def finished(cell: range) -> None:  # the segment is checked: a rerun need not decode it again
            checked[segment_path(frames_dir, cell).name] = _stamp(segment_path(frames_dir, cell))
            write_manifest(frames_dir, manifest)
            position[0] = max(position[0], cell.stop)  # with Dask, the frames come a segment at a time

        try:
            if client is not None and jobs:
                from ..cluster import colorize_segments  # Dask is imported only when it is used

                results = colorize_segments(client, net, jobs, frames_dir, bar, times=times, variant=variant,
                                            model_dir=model_dir, on_segment=finished, notes=report.cluster_notes)
            else:
                results = _run_here(jobs, net, frames_dir, keep_frames=keep_frames, on_frame=advance,
                                    on_segment=finished)
        except KeyboardInterrupt:
            raise Stopped(position[0] + 1) from None
        finally:
            bar.close()
            _record_results(results, manifest, report, frames_dir)
            write_manifest(frames_dir, manifest)
        segments = _final_segments(frames_dir, start, stop, length, manifest.get("frame_count"), checked)
        write_manifest(frames_dir, manifest)
        if not segments:
            if report.decode_error:
                raise VideoError(report.decode_error)
            raise VideoError(f"{source.path.name} ends before frame {start + 1}: there is nothing to colourise from "
                             "there on (start counts frames from 0).")
        replaced = out.exists()
        remove_stale_parts(out.parent, out.name)  # a killed run's half-written video
        written = join_segments(segments, out, fps=source.fps, audio_from=source.path)
        if keep_frames:
            _keep_frames(frames_dir, segments, manifest, source)
    computed = {cell for result in results for cell in result.segments}
    if report.decode_error:
        warnings.warn(report.decode_error, stacklevel=2)
    return VideoReport(out, report, source, written, replaced, segments_computed=len(computed),
                       segments_reused=len(segments) - len(computed),
                       segments_bytes=sum(s.path.stat().st_size for s in segments),
                       png_bytes=sum(p.stat().st_size for p in frames_dir.glob("frame_*.png")))


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
        report.decode_error = _decoding_stopped(*manifest["decode_error"], frames_dir)
    report.done = report.computed + report.reused


def _decoding_stopped(message: str, index: int, frames_dir: Path) -> str:
    """The report's line for a video whose frame ``index`` (0-based) could not be decoded."""
    return f"Decoding stopped at frame {index + 1}: {message}. The frames before it are kept in {frames_dir}."


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
