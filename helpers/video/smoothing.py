"""Measure and calm the colour flicker of colourised frames, against the motion of the gray input.

``measure_flicker`` and ``smooth_frames`` work on what ``colorize_frames`` or ``colorize_video``
made; the meter and the smoother themselves are ``helpers.video.flicker``.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..common.images import write_image
from ..media.decode import read_frames
from ..media.probe import VideoError, probe_video
from .flicker import DEFAULT_STRENGTH, FlickerMeter, FrameFlicker, TemporalSmoother
from .frames_folder import MANIFEST, frame_path, frames_folder_lock, numbered_frames, read_manifest, write_manifest


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
