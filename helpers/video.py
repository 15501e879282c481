"""Colourise a video frame by frame, never losing work, and put it back together with its sound.

The pipeline, and the module that holds each step:

1. ``colorize_frames`` (here) decodes the video (``helpers.video_io``), colourises each frame
   at full resolution, every frame with the network or only keyframes (``helpers.keyframes``),
   and saves it as ``colorized_frames/<video>/frame_000001.png``. The folder's manifest
   (``helpers.frames_folder``) records the video, the settings and every frame's timestamp:
   running again skips the frames already done, so an interrupted run resumes where it
   stopped, and frames of another video or other settings are never mixed in. While a run
   works in a frames folder it holds the folder's lock: a second run on the same folder stops
   at once with a clear message instead of mixing frames.
2. ``smooth_frames`` and ``measure_flicker`` (here) calm and measure the colour flicker of a
   frames folder (``helpers.flicker``).
3. ``frames_to_video`` (``helpers.reassemble``) encodes the frames as an H.264 video at their
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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from .backends import backend_label
from .colorize import DEFAULT_SIZE, check_size, colorize
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
from .images import write_image
from .keyframes import KEYFRAME_INTERVAL, KeyframePropagator, feed_range, network_predictor
from .model import get_temperature, model_id, set_temperature
from .paths import COLORIZED_FRAMES
from .reassemble import Reassembly, frames_to_video, output_path
from .video_io import DEINTERLACE, DecodeError, Frame, VideoError, VideoInfo, probe_video, read_frames

__all__ = ["VideoError", "VideoInfo", "probe_video", "read_frames", "colorize_frames", "frames_to_video",
           "colorize_video", "smooth_frames", "measure_flicker", "frame_path", "read_manifest", "output_path",
           "default_frames_dir", "frame_settings"]

_TO_THE_END = 2**62
"""A run's end when the video's length is not known yet: it goes on until the frames end."""


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
    new_frames: list[int] = field(default_factory=list, repr=False)


# --------------------------------------------------------------------------- colourising
def model_name(net, variant: str = "v2") -> str:
    """The model as the frames' manifest records it: the weights file (``model_id``), and what runs
    ``net`` unless it is OpenCV, so frames of two back ends or precisions never mix."""
    runtime = backend_label(net)
    return model_id(variant) if runtime == "opencv fp32" else f"{model_id(variant)}; {runtime}"


def frame_settings(net, *, size: int = DEFAULT_SIZE, model: str | None = None, mode: str = "exact",
                   keyframe_interval: int = KEYFRAME_INTERVAL, deinterlace: str = "auto") -> dict:
    """The settings that change the colourised frames, as the manifest records them (``net``'s
    temperature included): frames of other settings are never mixed in, and get another folder."""
    settings = {"temperature": round(get_temperature(net), 6), "size": size, "model": model or model_name(net),
                "deinterlace": deinterlace}
    if mode == "fast":
        settings.update(mode="fast", keyframe_interval=keyframe_interval)
    return settings


def default_frames_dir(video: str | os.PathLike, settings: dict) -> Path:
    """``colorized_frames/<video stem>/<settings_name>``: a folder per video and per settings, so an
    exact and a fast run of one video (or two temperatures) keep their frames side by side."""
    return COLORIZED_FRAMES / Path(video).stem / settings_name(settings)


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
    client=None,
    variant: str = "v2",
    model_dir: str | os.PathLike | None = None,
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
    client : dask.distributed.Client, optional
        Spread the work over a Dask cluster (``helpers.cluster``): ranges of a few seconds go
        to the workers, which decode the video themselves (its path must be visible to them)
        and send the frames back; the frames are the same as without ``client``.
    variant, model_dir
        With ``client``: what ``net`` was loaded with (``load_model(variant, model_dir=...)``),
        for the workers to load the same; each worker's colours are checked against ``net``'s.

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
    check_size(size)
    if mode not in ("exact", "fast"):
        raise ValueError(f'mode must be "exact" (the network on every frame) or "fast" (keyframes and optical '
                         f"flow), got {mode!r}.")
    if deinterlace not in DEINTERLACE:
        raise ValueError(f"deinterlace must be one of {', '.join(DEINTERLACE)}, got {deinterlace!r}.")
    if start < 0 or (max_frames is not None and max_frames < 1) or keyframe_interval < 1:
        raise ValueError(f"Need start >= 0, max_frames >= 1 and keyframe_interval >= 1; got start={start}, "
                         f"max_frames={max_frames}, keyframe_interval={keyframe_interval}.")
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
            report.redone += path.exists()
            writes.append(writer.submit(write_image, path, img_bgr))
            while len(writes) > 2:
                writes.popleft().result()
            report.computed += 1
            report.new_frames.append(index + 1)
            report.done += 1
            bar.update()

        def frames(first: int, count: int | None) -> Iterator[Frame]:
            """Decoded frames with their timestamps recorded; damage ends the stream and is reported.
            When the video ends before ``count`` frames, the manifest learns its true length."""
            seen = first
            try:
                for frame in timestamps.record(read_frames(info, start=first, max_frames=count,
                                                           deinterlace=deinterlace, notes=report.decode_notes)):
                    seen = frame.index + 1
                    yield frame
            except DecodeError as exc:
                report.decode_error = (f"Decoding stopped at frame {exc.index + 1}: {exc}. "
                                       f"The frames before it are kept in {frames_dir}.")
                manifest["frame_count"] = exc.index
                return
            if seen > first and (count is None or seen < first + count):
                manifest["frame_count"] = seen

        try:
            if client is not None:
                from .cluster import colorize_ranges  # Dask is imported only when it is used

                colorize_ranges(client, info, net, frames_dir, manifest, timestamps, report, bar, start=start,
                                max_frames=max_frames, mode=mode, size=size, keyframe_interval=keyframe_interval,
                                deinterlace=deinterlace, variant=variant, model_dir=model_dir)
            elif mode == "exact":
                for frame in frames(start, max_frames):
                    if frame_file_ok(frame_path(frames_dir, frame.index + 1), frame.image.shape[:2]):
                        report.reused += 1
                        report.done += 1
                        bar.update()
                    else:
                        save(frame.index, colorize(frame.image, net, size=size))
                        report.network_passes += 1
            else:
                _fast_frames(info, net, frames_dir, frames, start, max_frames, manifest.get("frame_count"), size,
                             keyframe_interval, report, save, bar)
            if not report.decode_error:
                _record_missing_times(frames_dir, frames, timestamps)
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


def _record_missing_times(frames_dir: Path, frames, timestamps: TimestampRecorder) -> None:
    """Decode again, only for their times (no network, no files), the frames on disk whose time the
    manifest lacks: a killed run saves frames but not the manifest. (Exact mode decodes every frame
    anyway; fast mode and Dask skip the frames already done.)"""
    untimed = sorted(number - 1 for number, _ in numbered_frames(frames_dir, complete=False)
                     if not timestamps.knows(number - 1))
    if untimed:
        for _ in frames(untimed[0], untimed[-1] + 1 - untimed[0]):
            pass


def _fast_frames(info: VideoInfo, net: cv2.dnn.Net, frames_dir: Path, frames, start: int, max_frames: int | None,
                 frame_count: int | None, size: int, keyframe_interval: int, report: FramesReport, save, bar) -> None:
    """Fast mode of ``colorize_frames``: the missing frames of the range, by keyframe propagation.

    Each run of missing frames is fed from the grid keyframe at or before it (``feed_range``),
    so a resumed run gives exactly the frames an uninterrupted one would have. The video's
    length is not trusted from its header: unless an earlier run decoded to the end
    (``frame_count``), the last run goes on until the frames end.
    """
    shape = (info.height, info.width)
    stop = math.inf if max_frames is None else start + max_frames
    stop = min(stop, frame_count) if frame_count is not None else stop
    done = {int(p.stem.split("_")[1]) - 1 for p in frames_dir.glob("frame_*.png") if frame_file_ok(p, shape)}
    done = {i for i in done if start <= i < stop}
    report.reused = report.done = len(done)
    bar.update(report.done)
    open_ended = stop == math.inf
    end = max(done, default=start - 1) + 1 if open_ended else int(stop)
    missing = [i for i in range(start, end) if i not in done]
    if open_ended:
        missing.append(end)  # and everything after the last frame on disk, to the video's end
    runs: list[range] = []
    for i in missing:
        last = open_ended and i == end
        run = feed_range(i, i + 1, _TO_THE_END, keyframe_interval)
        run = range(run.start, _TO_THE_END) if last else run
        if runs and run.start <= runs[-1].stop:
            runs[-1] = range(runs[-1].start, max(runs[-1].stop, run.stop))
        else:
            runs.append(run)
    propagator = KeyframePropagator(network_predictor(net, size=size), keyframe_interval=keyframe_interval)
    for run in runs:
        count = None if run.stop >= _TO_THE_END else len(run)
        for index, img_bgr, _ in propagator.run((f.index, f.image) for f in frames(run.start, count)):
            if start <= index < stop and index not in done:
                save(index, img_bgr)
        if report.decode_error:
            break
    report.network_passes = propagator.network_calls


# --------------------------------------------------------------------------- flicker
def _gray_and_colour(frames_dir: Path) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(number, gray input frame, colourised frame)`` for every colourised frame, streamed."""
    manifest = read_manifest(frames_dir) or {}
    if "video" not in manifest:
        raise VideoError(f"{frames_dir} has no {MANIFEST}: colourise the frames with colorize_frames first.")
    frames = numbered_frames(frames_dir)
    sources = read_frames(manifest["video"]["source"], start=frames[0][0] - 1, max_frames=len(frames),
                          deinterlace=manifest["settings"].get("deinterlace", "auto"))
    for (number, path), source in zip(frames, sources):
        yield number, cv2.cvtColor(source.image, cv2.COLOR_BGR2GRAY), cv2.imread(str(path))


def measure_flicker(frames_dir: str | os.PathLike, *, progress: bool = True) -> tuple[list[FrameFlicker], dict]:
    """Flicker of colourised frames, measured against the motion of the gray input (``FlickerMeter``).

    The input video is the one named in the folder's manifest. ``progress`` shows a bar.

    Returns
    -------
    per_frame : list of FrameFlicker
        One entry per frame after the first; ``frame`` is the frame's number (1 = the video's
        first frame), as in the frame file names.
    summary : dict
        ``FlickerMeter.summary()``: means over frames that are not scene cuts, and mean chroma.
    """
    meter = FlickerMeter()
    per_frame = []
    total = len(numbered_frames(Path(frames_dir)))
    for number, gray, colour in tqdm(_gray_and_colour(Path(frames_dir)), total=total, unit="frame",
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


# --------------------------------------------------------------------------- all together
@dataclass
class VideoReport:
    """What ``colorize_video`` did."""

    video: Path
    frames: FramesReport
    source: VideoInfo
    written: Reassembly
    replaced: bool = False
    """``video`` existed before this run, which replaced it."""

    def __str__(self) -> str:
        f, w = self.frames, self.written
        lines = [f"{self.video}: {w.frames} frames, {w.duration:.2f} s"
                 + (" (it replaced the video of an earlier run)" if self.replaced else "")]
        if f.deleted:
            lines.append(f"restart: deleted {f.deleted} frames of other settings or another video in {f.frames_dir}")
        lines += [f"frames in {f.frames_dir}: {f.computed} computed ({f.network_passes} network passes), "
                  f"{f.reused} reused" + (f", {f.redone} damaged ones redone" if f.redone else ""),
                  w.check, *w.sound_notes]
        if f.deinterlaced:
            lines.append("the source is interlaced: frames were deinterlaced (bwdif) before colourising")
        if f.decode_notes:
            lines.append(f"FFmpeg stepped over damage in the source ({len(f.decode_notes)} messages; those frames "
                         f"may show it): {f.decode_notes[0]}")
        if f.decode_error:
            lines.append(f.decode_error)
        return "\n".join(lines)


def colorize_video(
    video: str | os.PathLike | VideoInfo,
    net: cv2.dnn.Net,
    *,
    out: str | os.PathLike | None = None,
    frames_dir: str | os.PathLike | None = None,
    smooth: bool = False,
    progress: bool = True,
    **options,
) -> VideoReport:
    """Colourise a video into ``colorized_videos/<stem>_color.mp4``, with its sound.

    ``out`` may be a file (``.mp4``, ``.mkv`` or ``.mov``) or an existing folder; it is
    checked before any work (``output_path``). Then ``colorize_frames`` (which takes the
    ``options``: temperature, size, model, start, max_frames, restart, mode,
    keyframe_interval, deinterlace, client, variant, model_dir), with ``smooth`` ``smooth_frames``, then
    ``frames_to_video``, which checks the result against the frames' times.
    """
    source = probe_video(video)
    out = output_path(source.path, out)
    if frames_dir is None:
        if options.get("temperature") is not None:
            set_temperature(net, options["temperature"])
        keys = ("size", "model", "mode", "keyframe_interval", "deinterlace")
        frames_dir = default_frames_dir(source.path, frame_settings(net, **{k: options[k] for k in keys
                                                                              if options.get(k) is not None}))
    frames_dir = Path(frames_dir)
    with frames_folder_lock(frames_dir):
        frames = colorize_frames(source, net, frames_dir=frames_dir, progress=progress, **options)
        video_frames = smooth_frames(frames.frames_dir, progress=progress) if smooth else frames.frames_dir
        replaced = out.exists()
        written = frames_to_video(video_frames, out, progress=progress)
    return VideoReport(out, frames, source, written, replaced)
