"""Back to a video: colourised frames encoded at their source's times, with the source's sound.

``frames_to_video`` reads a frames folder (``helpers.video.frames_folder``): its PNG frames and the
manifest that holds each frame's timestamp and names the source video. It encodes the frames as
H.264 at those times (``helpers.media.encode.write_video``; variable frame rate stays variable, so
the sound stays in sync), adds every sound stream of the source (``helpers.media.sound``), and checks
the file (``helpers.media.video_check``) before it is given its name. ``output_path`` says where
``colorize_video`` writes.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..common.background import in_parallel
from ..common.files import atomic_path, remove_stale_parts
from ..media.encode import frame_durations, output_format, write_video
from ..media.probe import DEFAULT_FPS, VideoError
from ..media.video_check import Reassembly, check_video
from ..paths import COLORIZED_VIDEOS
from .frames_folder import MANIFEST, frames_folder_lock, numbered_frames, read_manifest


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
    See ``helpers.media.encode.write_video`` for the encoder settings.
    """
    frames_dir, out_path = Path(frames_dir), Path(out_path)
    container = output_format(out_path)  # a suffix with no container: an error before any work
    with frames_folder_lock(frames_dir):
        manifest = read_manifest(frames_dir)
        if not manifest or not manifest.get("time_base"):
            raise VideoError(f"{frames_dir} has no {MANIFEST} with frame times: colourise the frames with "
                             "colorize_frames first.")
        frames = numbered_frames(frames_dir)
        time_base = Fraction(manifest["time_base"])
        all_pts = manifest["pts"]
        pts = [all_pts[n - 1] if n - 1 < len(all_pts) else None for n, _ in frames]
        if None in pts:
            raise VideoError(f"The times of some frames in {frames_dir} are unknown (an interrupted run): run the "
                             "colourisation again to complete them.")
        durations = frame_durations(pts, manifest.get("fps", DEFAULT_FPS), time_base)
        source = Path(manifest["video"]["source"])
        first_time = float(pts[0] * time_base)
        first_image = cv2.imread(str(frames[0][1]))
        if first_image is None:
            raise VideoError(f"{frames[0][1]} is damaged; delete it and colourise again.")
        height, width = first_image.shape[:2]

        def images() -> Iterator[tuple[int, int, np.ndarray]]:
            # PNG decoding in two more threads (OpenCV releases Python's lock) while this one encodes:
            # with one, the encoder waited for it half the time
            read = in_parallel(lambda path: (path, cv2.imread(str(path))), (path for _, path in frames))
            for (path, img), p, d in zip(tqdm(read, total=len(frames), unit="frame", desc="writing",
                                              disable=not progress), pts, durations):
                if img is None or img.shape[:2] != (height, width):
                    raise VideoError(f"{path} is damaged or not the size of the first frame; delete it and "
                                     "colourise again.")
                yield p - pts[0], d, img

        span = float((pts[-1] + durations[-1] - pts[0]) * time_base)
        fps = len(frames) / span if span > 0 else DEFAULT_FPS
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
