"""Colourise a video frame by frame, never losing work, and put it back together with its sound.

1. ``colorize_frames`` decodes the video (``helpers.video_io``), colourises each frame at full
   resolution and saves it as ``colorized_frames/<video>/frame_000001.png``. A
   ``manifest.json`` beside the frames records the video, the settings and every frame's
   timestamp: running again skips the frames already done, so an interrupted run resumes
   where it stopped, and frames of another video or other settings are never mixed in.
   While a run works in a frames folder it holds the folder's lock: a second run on the same
   folder stops at once with a clear message instead of mixing frames.
2. ``frames_to_video`` encodes the frames as an H.264 video at their original times (variable
   frame rate stays variable, so the sound stays in sync), adds every sound stream of the
   source, and checks the result before it is given its name.
3. ``colorize_video`` does both, with ``smooth_frames`` in between if asked.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from .background import ahead
from .colorize import DEFAULT_SIZE, check_size, colorize
from .files import FolderLock, atomic_path, remove_stale_parts, write_bytes
from .flicker import DEFAULT_STRENGTH, FlickerMeter, FrameFlicker, TemporalSmoother
from .images import write_image
from .keyframes import KEYFRAME_INTERVAL, KeyframePropagator, feed_range, network_predictor
from .model import get_temperature, model_id, set_temperature
from .paths import COLORIZED_FRAMES, COLORIZED_VIDEOS
from .video_check import check_video
from .video_io import (
    DEINTERLACE,
    DecodeError,
    Frame,
    VideoError,
    VideoInfo,
    output_format,
    probe_video,
    read_frames,
    write_video,
)

__all__ = ["VideoError", "VideoInfo", "probe_video", "read_frames", "colorize_frames", "frames_to_video",
           "colorize_video", "smooth_frames", "measure_flicker", "frame_path", "output_path"]

FRAME_PATTERN = "frame_{:06d}.png"
"""Six digits: enough for 11 hours at 25 fps, and file listings sort in frame order."""
MANIFEST = "manifest.json"
_TO_THE_END = 2**62
"""A run's end when the video's length is not known yet: it goes on until the frames end."""
MANIFEST_VERSION = 2
"""Version 2 records every frame's timestamp; folders of version 1 are redone with ``restart``."""


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
    new_frames: list[int] = field(default_factory=list, repr=False)


# --------------------------------------------------------------------------- the frames folder
def frame_path(frames_dir: str | os.PathLike, number: int) -> Path:
    """Where frame ``number`` (1 = the first frame) is saved."""
    return Path(frames_dir) / FRAME_PATTERN.format(number)


_PNG_START = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _frame_ok(path: Path, shape: tuple[int, int]) -> bool:
    """A complete PNG of ``shape`` (height, width): checked from its first and last bytes, without decoding."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
            f.seek(-len(_PNG_END), os.SEEK_END)
            tail = f.read()
    except OSError:
        return False
    size = (int.from_bytes(head[20:24], "big"), int.from_bytes(head[16:20], "big"))
    return head[:16] == _PNG_START and tail == _PNG_END and size == tuple(shape)


_held: dict[Path, list] = {}
_held_guard = threading.Lock()


@contextmanager
def frames_folder_lock(frames_dir: Path) -> Iterator[None]:
    """Hold ``frames_dir``'s ``FolderLock`` (re-entrant within this process: ``colorize_video`` holds it
    across ``colorize_frames`` and ``frames_to_video``). Another process gets ``FolderInUseError``."""
    key = Path(frames_dir).resolve()
    with _held_guard:
        entry = _held.get(key)
        if entry is None:
            lock = FolderLock(key, "frames folder").__enter__()
            entry = _held[key] = [lock, 0]
            remove_stale_parts(key)  # temporary files of killed runs: nobody else can be writing now
        entry[1] += 1
    try:
        yield
    finally:
        with _held_guard:
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                entry[0].__exit__(None, None, None)


def read_manifest(frames_dir: str | os.PathLike) -> dict | None:
    """The ``manifest.json`` of a frames folder, None if there is none.

    Raises
    ------
    VideoError
        The manifest cannot be read (say, a disk that filled up): run again with ``restart``.
    """
    path = Path(frames_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, OSError) as exc:
        raise VideoError(f"{path} is damaged and cannot be read ({exc}). Run again with restart=True "
                         "(command line: --restart) to start this folder afresh.") from None
    return manifest


def _write_manifest(frames_dir: Path, manifest: dict) -> None:
    write_bytes(frames_dir / MANIFEST, json.dumps(manifest, indent=1).encode())


def _identity(info: VideoInfo, settings: dict) -> dict:
    """What must match for frames to be reused: the video file and the settings."""
    stat = info.path.stat()
    return {"version": MANIFEST_VERSION,
            "video": {"source": str(info.path.resolve()), "bytes": stat.st_size, "mtime": stat.st_mtime,
                      "width": info.width, "height": info.height},
            "settings": settings}


def _prepare_frames_dir(frames_dir: Path, identity: dict, restart: bool) -> dict:
    """Check (or with ``restart``, clear) the frames folder; returns its manifest. Call with the lock held."""
    try:
        old = read_manifest(frames_dir)
    except VideoError:
        if not restart:
            raise
        old = {}
    same = old is not None and all(old.get(key) == value for key, value in identity.items())
    if old is not None and not same:
        if not restart:
            changed = _differences(old, identity)
            raise VideoError(
                f"{frames_dir} holds frames of another video or other settings (different: {', '.join(changed)}). "
                "To keep them, choose another frames folder; to replace them, run again with restart=True "
                "(command line: --restart).")
        for old_frame in frames_dir.glob("frame_*.png"):
            old_frame.unlink()
    elif old is None and any(frames_dir.glob("frame_*.png")):
        raise VideoError(f"{frames_dir} holds frames without a {MANIFEST}: they may belong to another video. "
                         "Move them away or choose another frames folder.")
    manifest = dict(old) if same else {**identity, "time_base": None, "pts": [], "frame_count": None}
    _write_manifest(frames_dir, manifest)
    return manifest


def _differences(old: dict, new: dict) -> list[str]:
    if old.get("version") != new["version"]:
        return ["made by an older version of this tutorial"]
    return sorted(key for section in ("video", "settings") for key, value in new[section].items()
                  if (old.get(section) or {}).get(key) != value)


class _Timestamps:
    """Records each decoded frame's timestamp into the manifest as frames stream past."""

    def __init__(self, manifest: dict, info: VideoInfo) -> None:
        self.manifest = manifest
        manifest["time_base"] = str(info.time_base)
        manifest["fps"] = info.fps  # for the length of the last frame of a one-frame video
        # pixel shape, for the output; turned with the picture
        manifest["sample_aspect"] = str(1 / info.sample_aspect if info.rotation in (90, 270) else info.sample_aspect)
        self.pts: list = manifest["pts"]

    def record(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            if len(self.pts) <= frame.index:
                self.pts.extend([None] * (frame.index + 1 - len(self.pts)))
            self.pts[frame.index] = frame.pts
            yield frame


# --------------------------------------------------------------------------- colourising
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
        Where the frames go; ``colorized_frames/<video stem>/`` by default.
    temperature, size
        As for ``colorize``; ``temperature=None`` keeps the network's.
    model : str, optional
        Which model ``net`` is, recorded in the manifest so that frames of two models never
        mix; by default ``model_id()``: the weights file that ``load_model()`` reads.
    start, max_frames : int
        Colourise only frames ``start + 1 .. start + max_frames`` (a quick preview).
    restart : bool
        Delete frames made with another video or other settings (or a damaged manifest)
        instead of refusing.
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
    frames_dir = Path(frames_dir) if frames_dir else COLORIZED_FRAMES / info.path.stem
    if temperature is not None:
        set_temperature(net, temperature)
    settings = {"temperature": round(get_temperature(net), 6), "size": size, "model": model or model_id(),
                "deinterlace": deinterlace}
    if mode == "fast":
        settings.update(mode="fast", keyframe_interval=keyframe_interval)
    with frames_folder_lock(frames_dir):
        manifest = _prepare_frames_dir(frames_dir, _identity(info, settings), restart)
        timestamps = _Timestamps(manifest, info)
        report = FramesReport(frames_dir=frames_dir, first=start + 1,
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
            if mode == "exact":
                for frame in frames(start, max_frames):
                    if _frame_ok(frame_path(frames_dir, frame.index + 1), frame.image.shape[:2]):
                        report.reused += 1
                        report.done += 1
                        bar.update()
                    else:
                        save(frame.index, colorize(frame.image, net, size=size))
                        report.network_passes += 1
            else:
                _fast_frames(info, net, frames_dir, frames, start, max_frames, manifest.get("frame_count"), size,
                             keyframe_interval, report, save, bar)
        finally:
            writer.shutdown(wait=True)  # even when interrupted: every computed frame reaches the disk
            bar.close()
            _write_manifest(frames_dir, manifest)
        for write in writes:
            write.result()  # a failed write (disk full...) is an error, not a silent gap
    if report.done == 0 and not report.decode_error:
        raise VideoError(f"{info.path.name} ends before frame {start + 1}: there is nothing to colourise from there "
                         "on (start counts frames from 0).")
    if report.decode_error:
        warnings.warn(report.decode_error, stacklevel=2)
    return report


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
    done = {int(p.stem.split("_")[1]) - 1 for p in frames_dir.glob("frame_*.png") if _frame_ok(p, shape)}
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


# --------------------------------------------------------------------------- writing
def _numbered_frames(frames_dir: Path) -> list[tuple[int, Path]]:
    found = sorted((int(p.stem.split("_")[1]), p) for p in Path(frames_dir).glob("frame_*.png"))
    if not found:
        raise VideoError(f"No frame_*.png files in {frames_dir}: colourise the frames first.")
    numbers = [n for n, _ in found]
    missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise VideoError(f"{len(missing)} frame(s) missing in {frames_dir}: {shown}. Run the colourisation again "
                         "to fill them in.")
    return found


@dataclass
class Reassembly:
    """What ``frames_to_video`` wrote."""

    path: Path
    frames: int
    duration: float
    check: str
    """What was checked after writing, in words."""
    sound_notes: list[str]


def frames_to_video(
    frames_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    audio: bool = True,
    progress: bool = True,
) -> Reassembly:
    """Encode ``frame_*.png`` files as an H.264 video at their source's times, with its sound.

    Parameters
    ----------
    frames_dir : path
        Folder of ``frame_000001.png``... and the ``manifest.json`` that ``colorize_frames``
        wrote (it names the source video and holds each frame's timestamp). The frames must be
        consecutive (a gap is an error).
    out_path : path
        The video to write: ``.mp4`` (plays in browsers), ``.mkv`` or ``.mov``; its folder is
        created. It is written under a temporary name, checked, and only then renamed, so a
        failed run never leaves half a video.
    audio : bool
        Add the source's sound streams, from the time of the first frame, cut to the
        frames' length.

    Returns
    -------
    Reassembly
        The path, the frame count, the duration, what the check found, notes on the sound.

    Notes
    -----
    Each frame keeps its source timestamp, so variable-rate video (phones) keeps its rhythm
    and the sound stays in sync. The last frame lasts as long as the one before it.
    See ``helpers.video_io.write_video`` for the encoder settings.
    """
    frames_dir, out_path = Path(frames_dir), Path(out_path)
    container = output_format(out_path)  # a suffix with no container: an error before any work
    with frames_folder_lock(frames_dir):
        manifest = read_manifest(frames_dir)
        if not manifest or not manifest.get("time_base"):
            raise VideoError(f"{frames_dir} has no {MANIFEST} with frame times: colourise the frames with "
                             "colorize_frames first.")
        frames = _numbered_frames(frames_dir)
        time_base = Fraction(manifest["time_base"])
        all_pts = manifest["pts"]
        pts = [all_pts[n - 1] if n - 1 < len(all_pts) else None for n, _ in frames]
        if None in pts:
            raise VideoError(f"The times of some frames in {frames_dir} are unknown (an interrupted run): run the "
                             "colourisation again to complete them.")
        last_step = pts[-1] - pts[-2] if len(pts) > 1 else max(1, round(1 / (manifest.get("fps", 25) * time_base)))
        durations = [b - a for a, b in zip(pts, pts[1:])] + [last_step]
        source = Path(manifest["video"]["source"])
        first_time = float(pts[0] * time_base)
        first_image = cv2.imread(str(frames[0][1]))
        if first_image is None:
            raise VideoError(f"{frames[0][1]} is damaged; delete it and colourise again.")
        height, width = first_image.shape[:2]

        def images() -> Iterator[tuple[int, int, np.ndarray]]:
            # PNG decoding in a second thread (OpenCV releases Python's lock) while this one encodes
            read = ahead(((path, cv2.imread(str(path))) for _, path in frames), buffer=4)
            for (path, img), p, d in zip(tqdm(read, total=len(frames), unit="frame", desc="writing",
                                              disable=not progress), pts, durations):
                if img is None or img.shape[:2] != (height, width):
                    raise VideoError(f"{path} is damaged or not the size of the first frame; delete it and "
                                     "colourise again.")
                yield p - pts[0], d, img

        span = float((pts[-1] + durations[-1] - pts[0]) * time_base)
        fps = len(frames) / span if span > 0 else 25.0
        with_sound = audio and source.is_file()  # a source without sound simply adds no stream
        remove_stale_parts(out_path.parent, out_path.name)  # a killed run's half-written video
        with atomic_path(out_path) as tmp:
            written = write_video(tmp, images(), time_base=time_base, fps=fps,
                                  sample_aspect=Fraction(manifest.get("sample_aspect", "1")),
                                  audio_from=source if with_sound else None, audio_start=first_time,
                                  audio_end=first_time + span, container=container,
                                  variable_rate=len(set(durations[:-1])) > 1)
            times = [float((p - pts[0]) * time_base) for p in pts]
            check = check_video(tmp, times, span, written.audio_ends, name=out_path.name)
    if audio and not with_sound:
        written.notes.append(f"no sound: {source} is missing")
    elif audio and not written.audio_ends and not written.notes:
        written.notes.append("the source has no sound")
    notes = written.notes
    return Reassembly(out_path, len(frames), span, check, notes)


def output_path(video: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Where ``colorize_video`` writes: ``out``, or ``<out>/<name>_color.mp4`` if ``out`` is a folder
    (an existing one, or a name ending in ``/``).

    Raises
    ------
    VideoError
        ``out`` is the input video itself (also through a link), or its suffix names no
        container this project writes (.mp4, .mkv, .mov).
    """
    video = Path(video)
    if out is None:
        out = COLORIZED_VIDEOS / f"{video.stem}_color.mp4"
    folder = str(out).endswith(("/", os.sep))  # Path() would drop the slash that says "a folder"
    out = Path(out)
    if folder or out.is_dir():
        out = out / f"{video.stem}_color.mp4"
    if out.exists() and out.samefile(video) or out.resolve() == video.resolve():
        raise VideoError(f"The output {out} is the input video: it would be replaced. Choose another name "
                         f"(default: {video.stem}_color.mp4).")
    output_format(out)
    return out


# --------------------------------------------------------------------------- flicker
def _gray_and_colour(frames_dir: Path) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(number, gray input frame, colourised frame)`` for every colourised frame, streamed."""
    manifest = read_manifest(frames_dir) or {}
    if "video" not in manifest:
        raise VideoError(f"{frames_dir} has no {MANIFEST}: colourise the frames with colorize_frames first.")
    frames = _numbered_frames(frames_dir)
    sources = read_frames(manifest["video"]["source"], start=frames[0][0] - 1, max_frames=len(frames),
                          deinterlace=manifest["settings"].get("deinterlace", "auto"))
    for (number, path), source in zip(frames, sources):
        yield number, cv2.cvtColor(source.image, cv2.COLOR_BGR2GRAY), cv2.imread(str(path))


def measure_flicker(frames_dir: str | os.PathLike) -> tuple[list[FrameFlicker], dict]:
    """Flicker of colourised frames, measured against the motion of the gray input (``FlickerMeter``).

    The input video is the one named in the folder's manifest.

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
    for number, gray, colour in _gray_and_colour(Path(frames_dir)):
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
        total = len(_numbered_frames(frames_dir))
        for number, gray, colour in tqdm(_gray_and_colour(frames_dir), total=total, unit="frame",
                                         desc="smoothing", disable=not progress):
            write_image(frame_path(out_dir, number), smoother(gray, colour))
        _write_manifest(out_dir, {**read_manifest(frames_dir), "smoothed": {"strength": strength}})
    return out_dir


# --------------------------------------------------------------------------- all together
@dataclass
class VideoReport:
    """What ``colorize_video`` did."""

    video: Path
    frames: FramesReport
    source: VideoInfo
    written: Reassembly

    def __str__(self) -> str:
        f, w = self.frames, self.written
        lines = [f"{self.video}: {w.frames} frames, {w.duration:.2f} s",
                 f"frames in {f.frames_dir}: {f.computed} computed ({f.network_passes} network passes), "
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
    keyframe_interval, deinterlace), with ``smooth`` ``smooth_frames``, then
    ``frames_to_video``, which checks the result against the frames' times.
    """
    source = probe_video(video)
    out = output_path(source.path, out)
    frames_dir = Path(frames_dir) if frames_dir else COLORIZED_FRAMES / source.path.stem
    with frames_folder_lock(frames_dir):
        frames = colorize_frames(source, net, frames_dir=frames_dir, progress=progress, **options)
        video_frames = smooth_frames(frames.frames_dir, progress=progress) if smooth else frames.frames_dir
        written = frames_to_video(video_frames, out, progress=progress)
    return VideoReport(out, frames, source, written)
