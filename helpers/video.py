"""Colourise a video frame by frame, never losing work, and put it back together with its sound.

1. ``probe_video`` reads what a video is: frames per second, frame count, size, sound or not.
2. ``colorize_frames`` streams the frames (a reader thread decodes the next frame while the
   network works on this one), colourises each at full resolution and saves it as
   ``colorized_frames/<video>/frame_000001.png``. A ``manifest.json`` beside the frames
   records the video and the settings: running again skips the frames already done, so an
   interrupted run resumes where it stopped, and frames of another video or other settings
   are never mixed in.
3. ``frames_to_video`` streams the frames into ffmpeg: an H.264 MP4 that plays in browsers,
   with the original sound.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from .colorize import DEFAULT_SIZE, check_size, colorize
from .flicker import DEFAULT_STRENGTH, FlickerMeter, FrameFlicker, TemporalSmoother
from .images import write_image
from .keyframes import KEYFRAME_INTERVAL, KeyframePropagator, feed_range, network_predictor
from .model import get_temperature, model_id, set_temperature
from .paths import COLORIZED_FRAMES, COLORIZED_VIDEOS

DEFAULT_FPS = 25.0
"""Used when a video's frame rate is missing or nonsense (0 or NaN): the PAL film/TV rate."""
FRAME_PATTERN = "frame_{:06d}.png"
"""Six digits: enough for 11 hours at 25 fps, and file listings sort in frame order."""
MANIFEST = "manifest.json"


class VideoError(ValueError):
    """A video that cannot be read, or frames that do not make a video."""


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe_video`` finds out about a video file."""

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int
    has_audio: bool

    @property
    def duration(self) -> float:
        """Length in seconds: frames / fps."""
        return self.frame_count / self.fps


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
    new_frames: list[int] = field(default_factory=list, repr=False)


# --------------------------------------------------------------------------- ffmpeg
def ffmpeg_exe() -> str | None:
    """The ffmpeg program: the one bundled with imageio-ffmpeg, else one on the PATH, else None."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def _has_audio(path: Path) -> bool:
    exe = ffmpeg_exe()
    if exe is None:
        return False
    result = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return re.search(r"Stream #\d+:\d+.*: Audio:", result.stderr) is not None


# --------------------------------------------------------------------------- reading
def probe_video(path: str | os.PathLike | VideoInfo) -> VideoInfo:
    """Frames per second, frame count, size and sound of a video file.

    Given a ``VideoInfo`` (a video probed already), returns it as it is: probing runs ffmpeg.

    Raises
    ------
    FileNotFoundError
        No such file.
    VideoError
        Not a video OpenCV can decode, or a video without frames.

    Notes
    -----
    A frame rate of 0 or NaN in the file's metadata (seen in some old digitised footage) is
    replaced by ``DEFAULT_FPS`` with a warning.
    """
    if isinstance(path, VideoInfo):
        return path
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such video file: {path}" + (" (it is a folder)" if path.is_dir() else ""))
    cap = cv2.VideoCapture(str(path))
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            raise VideoError(f"Could not read {path} as a video: the file is not a video, is damaged, "
                             "or has no frames.")
        fps = cap.get(cv2.CAP_PROP_FPS)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    if not (fps > 0 and math.isfinite(fps)):
        warnings.warn(f"{path.name} says its frame rate is {fps}; using {DEFAULT_FPS} fps instead.", stacklevel=2)
        fps = DEFAULT_FPS
    if count <= 0:  # some containers do not store it: count by decoding
        count = sum(1 for _ in read_frames(path))
    return VideoInfo(path, float(fps), count, frame.shape[1], frame.shape[0], _has_audio(path))


_END = object()


def read_frames(path: str | os.PathLike, *, start: int = 0, max_frames: int | None = None,
                buffer: int = 8) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, frame_bgr)`` for each frame, decoded ahead by a background thread.

    ``index`` counts from 0 at the video's first frame. At most ``buffer`` decoded frames wait
    in memory, whatever the video's length.
    """
    frames: queue.Queue = queue.Queue(maxsize=buffer)
    stop = threading.Event()

    def decode() -> None:
        cap = cv2.VideoCapture(str(path))
        try:
            index = 0
            while index < start and cap.grab():  # seeking is imprecise in many codecs: step instead
                index += 1
            while not stop.is_set() and (max_frames is None or index < start + max_frames):
                ok, frame = cap.read()
                if not ok:
                    break
                frames.put((index, frame))
                index += 1
        except Exception as exc:  # noqa: BLE001 - handed to the reading side
            frames.put(exc)
        finally:
            cap.release()
            frames.put(_END)

    thread = threading.Thread(target=decode, daemon=True)
    thread.start()
    try:
        while (item := frames.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock the decoder if the consumer stopped early
            try:
                frames.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def _in_background(func, items, depth: int = 4) -> Iterator:
    """``func(item)`` for each item, in order, computed up to ``depth`` items ahead in a thread.

    For PNG encoding and decoding: OpenCV releases Python's lock while it works, so this runs
    on the second core while the first propagates colour or feeds ffmpeg.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(func, item))
            if len(pending) > depth:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# --------------------------------------------------------------------------- colourising
def frame_path(frames_dir: Path, number: int) -> Path:
    """Where frame ``number`` (1 = the first frame) is saved."""
    return Path(frames_dir) / FRAME_PATTERN.format(number)


def _frame_ok(path: Path, shape: tuple[int, int]) -> bool:
    if not path.is_file():
        return False
    img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    return img is not None and img.shape[:2] == shape


def _manifest(info: VideoInfo, settings: dict) -> dict:
    stat = info.path.stat()
    return {
        "source": str(info.path.resolve()),
        "bytes": stat.st_size,
        "mtime": stat.st_mtime,
        "frame_count": info.frame_count,
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "settings": settings,
    }


def _prepare_frames_dir(frames_dir: Path, manifest: dict, restart: bool) -> None:
    path = frames_dir / MANIFEST
    if path.is_file():
        old = json.loads(path.read_text())
        if old != manifest:
            if not restart:
                changed = sorted(k for k in manifest if old.get(k) != manifest[k])
                raise VideoError(
                    f"{frames_dir} holds frames of another video or other settings "
                    f"(different: {', '.join(changed)}). To keep them, choose another frames folder; "
                    "to replace them, run again with restart=True (command line: --restart)."
                )
            for old_frame in frames_dir.glob("frame_*.png"):
                old_frame.unlink()
    elif frames_dir.is_dir() and any(frames_dir.glob("frame_*.png")):
        raise VideoError(f"{frames_dir} holds frames without a {MANIFEST}: they may belong to another video. "
                         "Move them away or choose another frames folder.")
    frames_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, path)


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
        Delete frames made with another video or other settings instead of refusing.
    mode : {"exact", "fast"}
        ``"exact"`` runs the network on every frame. ``"fast"`` runs it on keyframes only (the
        first frame of each shot and at least every ``keyframe_interval`` frames) and carries
        the colour to the frames in between along the optical flow (``KeyframePropagator``).
    keyframe_interval : int
        ``K`` of fast mode: at most this many frames from one keyframe to the next.
    progress : bool
        Show a progress bar with frames per second and time left.

    Returns
    -------
    FramesReport
        How many frames were computed, reused or redone, and any decoding error.

    Notes
    -----
    Each frame is written to a temporary name and renamed, so a frame file is either
    complete or absent; a damaged one (say, from a full disk) fails to decode and is redone.
    """
    check_size(size)
    if mode not in ("exact", "fast"):
        raise ValueError(f'mode must be "exact" (the network on every frame) or "fast" (keyframes and optical '
                         f"flow), got {mode!r}.")
    info = probe_video(video)
    frames_dir = Path(frames_dir) if frames_dir else COLORIZED_FRAMES / info.path.stem
    if temperature is not None:
        set_temperature(net, temperature)
    settings = {"temperature": round(get_temperature(net), 6), "size": size, "model": model or model_id()}
    if mode == "fast":  # only then, so folders made in exact mode keep matching
        settings.update(mode="fast", keyframe_interval=keyframe_interval)
    _prepare_frames_dir(frames_dir, _manifest(info, settings), restart)

    last = info.frame_count if max_frames is None else min(info.frame_count, start + max_frames)
    report = FramesReport(frames_dir=frames_dir, first=start + 1)
    expected = max(0, last - start)
    bar = tqdm(total=expected, unit="frame", desc=info.path.name, disable=not progress)
    index = start - 1

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

    try:
        if mode == "exact":
            for index, frame in read_frames(info.path, start=start, max_frames=expected):
                if _frame_ok(frame_path(frames_dir, index + 1), frame.shape[:2]):
                    report.reused += 1
                    report.done += 1
                    bar.update()
                else:
                    save(index, colorize(frame, net, size=size))
                    report.network_passes += 1
        else:
            index = _fast_frames(info, net, frames_dir, range(start, last), size, keyframe_interval, report, save,
                                 bar)
    finally:
        writer.shutdown(wait=True)  # even when interrupted: every computed frame reaches the disk
        bar.close()
    for write in writes:
        write.result()  # a failed write (disk full...) is an error, not a silent gap
    if report.done < expected:
        report.decode_error = (
            f"Decoding {info.path.name} stopped after frame {index + 1} of {last}: the file is damaged "
            f"or truncated. The {report.done} frames before it are kept in {frames_dir}."
        )
        warnings.warn(report.decode_error, stacklevel=2)
    return report


def _fast_frames(info: VideoInfo, net: cv2.dnn.Net, frames_dir: Path, wanted: range, size: int,
                 keyframe_interval: int, report: FramesReport, save, bar) -> int:
    """Fast mode of ``colorize_frames``: the missing frames of ``wanted``, by keyframe propagation.

    Each run of missing frames is fed from the grid keyframe at or before it (``feed_range``),
    so a resumed run gives exactly the frames an uninterrupted one would have.
    """
    shape = (info.height, info.width)
    missing = [i for i in wanted if not _frame_ok(frame_path(frames_dir, i + 1), shape)]
    report.reused = report.done = len(wanted) - len(missing)
    bar.update(report.done)
    runs: list[range] = []
    for i in missing:
        run = feed_range(i, i + 1, info.frame_count, keyframe_interval)
        if runs and run.start <= runs[-1].stop:
            runs[-1] = range(runs[-1].start, max(runs[-1].stop, run.stop))
        else:
            runs.append(run)
    todo = set(missing)
    propagator = KeyframePropagator(network_predictor(net, size=size), keyframe_interval=keyframe_interval)
    index = wanted.start - 1
    for run in runs:
        for index, img_bgr, _ in propagator.run(read_frames(info.path, start=run.start, max_frames=len(run))):
            if index in todo:
                save(index, img_bgr)
    report.network_passes = propagator.network_calls
    return index


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


def _even(img: np.ndarray) -> np.ndarray:
    """Pad to even width and height by repeating the last row/column: yuv420p needs even sizes."""
    h, w = img.shape[:2]
    return cv2.copyMakeBorder(img, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE) if (h % 2 or w % 2) else img


def frames_to_video(
    frames_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    fps: float,
    audio_from: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Stream ``frame_*.png`` files into an H.264 MP4 that browsers play, with the sound of ``audio_from``.

    Parameters
    ----------
    frames_dir : path
        Folder of ``frame_000001.png``...; the frames must be consecutive (a gap is an error).
    out_path : path
        The video to write (``.mp4``); its folder is created. Written to a temporary name and
        renamed, so a failed run never leaves half a video.
    fps : float
        Frames per second, normally the source's.
    audio_from : path, optional
        The original video: its sound, if it has any, is copied in, starting at the time of
        the first frame, and cut to the frames' length.

    Returns
    -------
    Path
        ``out_path``. The frames stay on disk.

    Notes
    -----
    ``-pix_fmt yuv420p`` (what browsers decode) needs even width and height, so odd frames get
    one repeated row or column. ``-movflags +faststart`` puts the index first so playback starts
    before the download ends. ``-map 1:a:0?`` makes the sound optional. ``-crf 18`` is close to
    visually lossless; ``-preset veryfast`` encodes about twice as fast as the default at a
    similar size (measured on 640 x 480 frames), so reassembly stays a small part of the run.
    Without ffmpeg, OpenCV writes an ``mp4v`` file without sound instead,
    with a warning: it plays in desktop players but usually not in browsers.
    """
    frames = _numbered_frames(Path(frames_dir))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    first = cv2.imread(str(frames[0][1]))
    height, width = _even(first).shape[:2]
    fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.stem}.", suffix=out_path.suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    exe = ffmpeg_exe()
    try:
        if exe is None:
            warnings.warn("ffmpeg was not found (pip install imageio-ffmpeg): writing an mp4v video WITHOUT sound "
                          "with OpenCV; it may not play in a browser.", stacklevel=2)
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
            for _, path in tqdm(frames, unit="frame", desc="writing", disable=not progress):
                writer.write(_even(cv2.imread(str(path))))
            writer.release()
        else:
            _ffmpeg_write(exe, frames, tmp, width, height, fps, audio_from, progress)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


def _ffmpeg_write(exe: str, frames: list[tuple[int, Path]], out: Path, width: int, height: int,
                  fps: float, audio_from: str | os.PathLike | None, progress: bool) -> None:
    rate = str(Fraction(fps).limit_denominator(1001))  # 29.97 -> 30000/1001, exactly
    cmd = [exe, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
           "-framerate", rate, "-i", "-"]
    if audio_from is not None:
        offset = (frames[0][0] - 1) / fps
        # -t cuts the sound to the frames' length; -shortest would buffer and grow with the video
        cmd += ["-ss", f"{offset:.6f}", "-t", f"{len(frames) / fps:.6f}", "-i", str(audio_from),
                "-map", "0:v:0", "-map", "1:a:0?", "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-crf", "18", "-movflags", "+faststart",
            str(out)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=log)
        try:
            images = _in_background(lambda item: (item[1], cv2.imread(str(item[1]))), frames)
            for path, img in tqdm(images, total=len(frames), unit="frame", desc="writing", disable=not progress):
                if img is None or _even(img).shape[:2] != (height, width):
                    raise VideoError(f"{path} is damaged or not the size of the first frame; "
                                     "delete it and colourise again.")
                process.stdin.write(_even(img).tobytes())
        except BrokenPipeError:
            pass  # ffmpeg stopped: its log below says why
        finally:
            process.stdin.close()
            code = process.wait()
        if code != 0:
            log.seek(0)
            raise VideoError(f"ffmpeg failed (exit {code}) writing {out.name}:\n"
                             + log.read().decode(errors="replace")[-2000:])


# --------------------------------------------------------------------------- flicker
def _gray_and_colour(video: Path, frames_dir: Path) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(number, gray input frame, colourised frame)`` for every colourised frame, streamed."""
    frames = _numbered_frames(frames_dir)
    sources = read_frames(video, start=frames[0][0] - 1, max_frames=len(frames))
    for (number, path), (_, frame) in zip(frames, sources):
        yield number, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.imread(str(path))


def measure_flicker(video: str | os.PathLike, frames_dir: str | os.PathLike) -> tuple[list[FrameFlicker], dict]:
    """Flicker of colourised frames, measured against the motion of the gray input (``FlickerMeter``).

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
    for number, gray, colour in _gray_and_colour(Path(video), Path(frames_dir)):
        result = meter.update(gray, colour)
        if result is not None:
            per_frame.append(dataclasses.replace(result, frame=number))
    return per_frame, meter.summary()


def smooth_frames(
    video: str | os.PathLike,
    frames_dir: str | os.PathLike,
    *,
    out_dir: str | os.PathLike | None = None,
    strength: float = DEFAULT_STRENGTH,
    progress: bool = True,
) -> Path:
    """Smooth the colour of colourised frames over time (``TemporalSmoother``) into ``out_dir``.

    ``out_dir`` is ``<frames_dir>_smooth`` by default. The network does not run again: this
    takes about 20 ms a frame, so the smoothed frames are simply made anew each time (old ones
    in ``out_dir`` are replaced). The colourised frames are not changed.
    """
    frames_dir = Path(frames_dir)
    out_dir = Path(out_dir) if out_dir else frames_dir.with_name(frames_dir.name + "_smooth")
    if out_dir.resolve() == frames_dir.resolve():
        raise ValueError("out_dir must differ from frames_dir: the colourised frames are kept as they are.")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("frame_*.png"):
        old.unlink()
    smoother = TemporalSmoother(strength)
    total = len(_numbered_frames(frames_dir))
    for number, gray, colour in tqdm(_gray_and_colour(Path(video), frames_dir), total=total, unit="frame",
                                     desc="smoothing", disable=not progress):
        write_image(frame_path(out_dir, number), smoother(gray, colour))
    return out_dir


# --------------------------------------------------------------------------- all together
@dataclass
class VideoReport:
    """What ``colorize_video`` did."""

    video: Path
    frames: FramesReport
    source: VideoInfo
    output: VideoInfo

    def __str__(self) -> str:
        f = self.frames
        lines = [f"{self.video}: {self.output.frame_count} frames, {self.output.duration:.2f} s, "
                 f"{'with' if self.output.has_audio else 'without'} sound",
                 f"frames in {f.frames_dir}: {f.computed} computed ({f.network_passes} network passes), "
                 f"{f.reused} reused"
                 + (f", {f.redone} damaged ones redone" if f.redone else "")]
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

    ``colorize_frames`` (which takes the ``options``: temperature, size, model, start,
    max_frames, restart), then with ``smooth`` ``smooth_frames``, then ``frames_to_video``;
    the output is checked against the frames: same count.
    """
    source = probe_video(video)
    frames = colorize_frames(source, net, frames_dir=frames_dir, progress=progress, **options)
    video_frames = smooth_frames(source.path, frames.frames_dir, progress=progress) if smooth else frames.frames_dir
    out = Path(out) if out else COLORIZED_VIDEOS / f"{source.path.stem}_color.mp4"
    frames_to_video(video_frames, out, fps=source.fps, audio_from=source.path if source.has_audio else None,
                    progress=progress)
    output = probe_video(out)
    written = len(_numbered_frames(video_frames))
    if output.frame_count != written:
        raise VideoError(f"{out} has {output.frame_count} frames but {written} were written: please report this.")
    return VideoReport(out, frames, source, output)


def describe(info: VideoInfo) -> str:
    """One line about a video, for people."""
    return (f"{info.path.name}: {info.width} x {info.height}, {info.fps:g} fps, {info.frame_count} frames "
            f"({info.duration:.2f} s), {'with' if info.has_audio else 'no'} sound")

