"""A video brought to a new frame rate (``video --fps``, ``--interpolate``): new frames made along the
optical flow, repeated frames of old film recognised, the sound copied as it is.

Run on the colourised video, after colouring: the new frames are made from coloured ones, so
their colours come along the motion too, and the network never runs on a made frame. The frames
are made by ``helpers.restoration.frame_rate`` (``Resampler``), the video written with the sound of the
input (``media.encode.write_video``) and checked, decoded frame by frame and against its times,
before it gets its name. Taught in notebook 05_restoration.

Old film transferred to video by repeating frames (16 frames/s shown at 25: about one frame in
three twice) judders. The repeats are found from the pictures (``frame_rate.find_duplicates``);
they are dropped and the distinct frames spread evenly at the rate the film was shot at, before
new frames are made: the film plays at its real speed, smoothly. The duration, and so the sound,
stays the same.

Film shot at 16-18 frames/s and stored with each frame once at 24 plays too fast, and nothing in
the pictures says so: ``shot_at`` (``--shot-at 18``) is the user's word for it. Each frame is then
shown for 1/18 s: the film lasts longer, so a sound added later no longer matches and is left out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..common.files import atomic_path, remove_stale_parts
from ..media.decode import read_frames
from ..media.encode import output_format, write_video
from ..media.probe import VideoError, probe_video
from ..media.video_check import check_video, stream_times
from .frame_rate import Duplicates, Resampler, find_duplicates, frame_differences, output_count, real_times

TIME_BASE = Fraction(1, 90_000)
"""Unit of the new video's timestamps: the MPEG clock, a whole number of ticks per frame at 24, 25,
30, 48, 50 and 60 frames/s."""
MAX_FPS = 240.0
"""Highest frame rate asked for that is accepted: more is a typing error, not a video."""
FACTORS = (2, 3, 4)
"""``--interpolate``: the frame rate multiplied by 2, 3 or 4."""


@dataclass
class Retimed:
    """What ``change_frame_rate`` wrote."""

    path: Path
    frames: int
    """Frames in the new video."""
    made: int
    """Of those, made by interpolation (the others are frames of the input as they were)."""
    fps: float
    """The new rate (its mean, for ``factor`` on a video of variable rate)."""
    check: str
    """What was checked after writing, in words."""
    repeats: Duplicates | None = None
    """The repeated frames that were dropped first, if the input had a regular pattern of them."""
    shot_at: float | None = None
    """The rate the film was said to be shot at (each distinct frame shown for 1 / ``shot_at`` s)."""
    sound_notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"{self.path}: {self.frames} frames at {self.fps:g} frames/s, {self.made} made along the motion"]
        if self.repeats is not None:
            dropped = sum(self.repeats.duplicate)
            lines.append(f"old film: {dropped} repeated frames dropped first; the film was shot at about "
                         f"{self.repeats.real_fps:.1f} frames/s, and plays at that speed, smoothly")
        if self.shot_at is not None:
            lines.append(f"played as shot, at {self.shot_at:g} frames/s")
        return "\n".join([*lines, self.check, *self.sound_notes])


def check_rate(fps: float | None, factor: int | None, shot_at: float | None = None) -> None:
    """ValueError unless at most one of ``fps`` (0 < fps <= ``MAX_FPS``) and ``factor`` (``FACTORS``) is
    given, and one of them or ``shot_at`` (a rate, as ``fps``)."""
    if fps is not None and factor is not None:
        raise ValueError("Give either a frame rate (--fps) or a factor (--interpolate), not both.")
    if fps is None and factor is None and shot_at is None:
        raise ValueError("Give a frame rate (--fps), a factor (--interpolate) or the rate the film was shot at.")
    for rate in (fps, shot_at):
        if rate is not None and not 0 < rate <= MAX_FPS:
            raise ValueError(f"The frame rate must be above 0 and at most {MAX_FPS:g}, got {rate:g}.")
    if factor is not None and factor not in FACTORS:
        raise ValueError(f"The factor must be one of {', '.join(map(str, FACTORS))}, got {factor}.")


def change_frame_rate(video: str | os.PathLike, out: str | os.PathLike, *, fps: float | None = None,
                      factor: int | None = None, shot_at: float | None = None, drop_repeats: bool = True,
                      progress: bool = True) -> Retimed:
    """Write ``video`` at a new frame rate to ``out``, with its sound; new frames made along the motion.

    Parameters
    ----------
    video : path
        The video to bring to a new rate (e.g. ``colorize_video``'s output).
    out : path
        The new video (``.mp4``, ``.mkv`` or ``.mov``): never ``video`` itself. Written under a
        temporary name, checked, then renamed.
    fps : float, optional
        The new rate (24, 25, 30, 50, 60 ...), regular from the first frame.
    factor : int, optional
        Instead: the rate multiplied (``FACTORS``), each interval cut evenly (a variable rate stays variable).
    shot_at : float, optional
        The rate the film was shot at, in your word: each distinct frame is shown for 1 / ``shot_at`` s
        (the sound is left out if the length changes). Alone, it is also the new rate.
    drop_repeats : bool
        Find frames repeated in a regular pattern (old film transferred at a higher rate) and drop
        them first (see the module's docstring).

    Example: ``change_frame_rate("colorized_videos/film_color.mp4", "film_24fps.mp4", fps=24)``
    """
    check_rate(fps, factor, shot_at)
    if fps is None and factor is None:
        fps = shot_at
    source = probe_video(video)
    out = Path(out)
    container = output_format(out)
    if out.resolve() == source.path.resolve():
        raise VideoError(f"The new video would replace {source.path.name}: choose another name.")
    packets = stream_times(source.path)  # the end of the picture, from the file's packets
    repeats = _regular_repeats(source.path, source.fps, len(packets.frame_times), progress) if drop_repeats else None
    duplicate = repeats.duplicate if repeats else [False] * len(packets.frame_times)
    rate = shot_at or (repeats.real_fps if repeats else None)  # each distinct frame shown for 1 / rate s
    end = (len(duplicate) - sum(duplicate)) / shot_at if shot_at else packets.video_end
    with_sound = abs(end - packets.video_end) <= 0.5 / source.fps  # the film keeps its length
    resampler = Resampler(fps=fps, factor=factor, end=end)
    expected = output_count(0.0, end, fps) if fps else (len(duplicate) - sum(duplicate)) * factor
    picture_end = expected / fps if fps else end  # at a regular rate, the last frame lasts a whole 1 / fps too
    first = next(iter(read_frames(source.path, max_frames=1, deinterlace="off")), None)
    if first is None:
        raise VideoError(f"{source.path.name} has no frame to decode.")
    times: list[float] = []  # the new frames' times, for the check

    def frames() -> Iterator[tuple[int, int, np.ndarray]]:
        made = resampler.run(_input_frames(source.path, first.time, duplicate, rate))
        for pts, duration, image in _with_durations(tqdm(made, total=expected, unit="frame", desc="new frames",
                                                         disable=not progress), picture_end):
            times.append(float(pts * TIME_BASE))
            yield pts, duration, image

    remove_stale_parts(out.parent, out.name)  # a killed run's half-written video
    with atomic_path(out) as tmp:
        written = write_video(tmp, frames(), time_base=TIME_BASE, fps=fps or source.fps * factor,
                              sample_aspect=source.sample_aspect, audio_from=source.path if with_sound else None,
                              audio_start=first.time, audio_end=first.time + end, container=container,
                              variable_rate=factor is not None and source.variable_rate and not rate)
        check = check_video(tmp, times, picture_end, written.audio_ends, name=out.name)
    notes = list(written.notes)
    if not with_sound and source.audio:
        notes.append(f"the sound was left out: the film now lasts {end:.2f} s instead of {packets.video_end:.2f} s, "
                     "so it would no longer match")
    mean_fps = len(times) / picture_end if picture_end > 0 else float(fps or 0)
    return Retimed(out, len(times), resampler.made, fps or mean_fps, check, repeats, shot_at, tuple(notes))


def _regular_repeats(path: Path, fps: float, count: int, progress: bool) -> Duplicates | None:
    """The repeated frames of ``path`` (about ``count`` frames) if they form a regular pattern, else None:
    a first pass over the video's thumbnails, since the pattern sets every frame's time."""
    frames = tqdm(read_frames(path, deinterlace="off"), total=count, unit="frame", desc="repeated frames",
                  disable=not progress)
    found = find_duplicates(frame_differences(frame.image for frame in frames), fps)
    return found if found.regular else None


def _input_frames(path: Path, first: float, duplicate: list[bool],
                  rate: float | None) -> Iterator[tuple[float, np.ndarray]]:
    """``(time, image)`` of the video's frames that are not ``duplicate``, times from its ``first``
    frame's (seconds): their own, or with ``rate`` evenly spread, as the camera took them (``real_times``)."""
    even = real_times(duplicate, 0.0, rate) if rate else None
    frames = read_frames(path, deinterlace="off")
    kept = (frame for frame in frames if not (frame.index < len(duplicate) and duplicate[frame.index]))
    for number, frame in enumerate(kept):
        yield (frame.time - first if even is None else even[number]), frame.image


def _with_durations(frames: Iterable[tuple[float, np.ndarray]], end: float) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(time, image)`` in seconds to ``(pts, duration, image)`` in ``TIME_BASE`` ticks, one frame
    behind (a frame lasts until the next one; the last until ``end``)."""
    waiting = None
    for time, image in frames:
        pts = round(time / TIME_BASE)
        if waiting is not None:
            yield waiting[0], max(1, pts - waiting[0]), waiting[1]
        waiting = (pts, image)
    if waiting is not None:
        yield waiting[0], max(1, round(end / TIME_BASE) - waiting[0]), waiting[1]
