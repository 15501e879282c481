"""Is the written video what was meant? A check of its frame count, frame times, length and sound.

An encoder that drops or repeats a frame, or a container that stores frame lengths wrongly,
gives a video that plays but slowly loses sync with its sound. So ``frames_to_video`` checks
each video it writes before giving it its name: ``stream_times`` reads the file's packets
(fast: nothing is decoded) and ``check_video`` compares them with the frames' source times.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .av_compat import fraction
from .probe import VideoError, open_video


@dataclass(frozen=True)
class StreamTimes:
    """What a written file holds, read from its packets (nothing is decoded)."""

    frame_times: list[float]
    """Seconds, in display order, from the file's start."""
    video_end: float
    audio_ends: list[float]
    """Where each sound stream ends, in seconds."""


@dataclass
class Reassembly:
    """A video written and checked: what ``frames_to_video`` or ``helpers.video.segments.join_segments`` wrote."""

    path: Path
    frames: int
    duration: float
    check: str
    """What was checked after writing, in words."""
    sound_notes: list[str]


def stream_times(path: str | os.PathLike) -> StreamTimes:
    """Frame times and stream ends of a video file, from its packets (fast: no decoding).

    Times are counted from the first frame: some containers (MKV) shift every stream by the
    same small amount (AAC's priming samples), which keeps the sound in sync.
    """
    with open_video(Path(path)) as container:
        video = container.streams.video[0]
        times: list[float] = []
        ends = {s.index: 0.0 for s in container.streams.audio}
        video_end = 0.0
        for packet in container.demux(video, *container.streams.audio):
            if packet.pts is None:
                continue
            time_base = fraction(packet.time_base)
            start = float(packet.pts * time_base)
            end = start + float((packet.duration or 0) * time_base)
            if packet.stream.index == video.index:
                times.append(start)
                video_end = max(video_end, end)
            else:
                ends[packet.stream.index] = max(ends[packet.stream.index], end)
    times.sort()
    zero = times[0] if times else 0.0
    return StreamTimes([t - zero for t in times], video_end - zero, [end - zero for end in ends.values()])


def check_video(path: str | os.PathLike, expected_times: Sequence[float], expected_end: float,
                audio_ends: Sequence[float] = (), *, name: str | None = None) -> str:
    """Compare a written video with what was meant: frame count, every frame's time, duration, sound.

    Parameters
    ----------
    expected_times : sequence of float
        Seconds from the start, one per frame.
    expected_end : float
        Where the picture ends (last frame's time + its duration).
    audio_ends : sequence of float
        Where each sound stream should end (at most the picture's end).
    name : str, optional
        The file's name in messages (``path`` may be a temporary name).

    Returns
    -------
    str
        A line for people saying what was checked.

    Raises
    ------
    VideoError
        Anything off by more than half a frame (sound: one frame plus one sound packet).
    """
    found = stream_times(path)
    name = name or Path(path).name
    if len(found.frame_times) != len(expected_times):
        raise VideoError(f"{name} has {len(found.frame_times)} frames, {len(expected_times)} were written: "
                         "please report this.")
    steps = np.diff([*expected_times, expected_end])
    half = 0.5 * float(steps.min()) if len(steps) else 0.0
    worst = float(np.abs(np.subtract(found.frame_times, expected_times)).max())
    if worst > half:
        raise VideoError(f"Frame times of {name} are off by up to {worst * 1000:.1f} ms (more than half a frame).")
    if abs(found.video_end - expected_end) > half:
        raise VideoError(f"{name} lasts {found.video_end:.3f} s instead of {expected_end:.3f} s.")
    for k, (got, want) in enumerate(zip(found.audio_ends, audio_ends)):
        if abs(got - want) > 2 * half + 0.05:  # sound comes in packets of about 20-60 ms
            raise VideoError(f"Sound stream {k + 1} of {name} ends at {got:.3f} s instead of {want:.3f} s.")
    return (f"checked {name}: {len(expected_times)} frames, each within {worst * 1000:.1f} ms of its source time, "
            f"{found.video_end:.2f} s" + (f", {len(found.audio_ends)} sound stream(s) ending within "
                                           f"{max(abs(g - w) for g, w in zip(found.audio_ends, audio_ends)) * 1000:.0f}"
                                           " ms of where they should" if found.audio_ends and audio_ends else ""))
