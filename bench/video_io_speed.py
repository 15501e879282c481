"""Benchmark: decode + encode alone (no network), PyAV versus the old OpenCV + ffmpeg path.

The same 640 x 480 clip (H.264 with AAC sound, from ``bench.video_speed.make_clip``) is decoded
and re-encoded as H.264 with its sound, with frames kept in memory (no PNG files), two ways:

* old: ``cv2.VideoCapture`` decodes; the frames are piped as raw BGR to an ``ffmpeg`` process
  (imageio-ffmpeg's), which encodes x264 ``veryfast`` CRF 18 yuv420p and re-encodes the sound
  to AAC from the source, as ``helpers.video`` did before PyAV;
* new: ``helpers.media.decode.read_frames`` (a decoding thread, every frame with its timestamp)
  and ``write_video`` (same x264 settings, sound copied, cut to the picture) in one process,
  then ``check_video`` reads the written file back.

The two alternate, three rounds, best of each; one run, so the ratio is free of drift between
runs. Printed: frames per second of each and RATIO new / old (goal >= 1: at least as fast).

Run from the repository root::

    python -m bench.video_io_speed               # 300 frames (10 s at 30 fps)
    python -m bench.video_io_speed --frames 900
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import cv2

from bench.photo_speed import machine
from bench.video_speed import BENCH_DIR, FPS, ffmpeg_exe, make_clip
from helpers.media import probe as video_io
from helpers.media import video_check


def old_path(clip: Path, out: Path) -> int:
    cap = cv2.VideoCapture(str(clip))
    ok, frame = cap.read()
    height, width = frame.shape[:2]
    cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
           "-framerate", str(FPS), "-i", "-", "-i", str(clip), "-map", "0:v:0", "-map", "1:a:0?", "-c:a", "aac",
           "-c:v", "libx264", "-preset", video_io.PRESET, "-pix_fmt", "yuv420p", "-crf", str(video_io.CRF),
           "-movflags", "+faststart", str(out)]
    process = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    count = 0
    while ok:
        process.stdin.write(frame.tobytes())
        count += 1
        ok, frame = cap.read()
    process.stdin.close()
    cap.release()
    if process.wait() != 0:
        raise RuntimeError("ffmpeg failed")
    return count


def new_path(clip: Path, out: Path) -> int:
    info = video_io.probe_video(clip)
    step = round(1 / (info.fps * info.time_base))
    frames = video_io.read_frames(info)
    times: list[float] = []

    def stream():
        for frame in frames:
            times.append(frame.time)
            yield frame.pts, step, frame.image

    written = video_io.write_video(out, stream(), time_base=info.time_base, fps=info.fps, audio_from=clip,
                                   audio_start=0.0)
    video_check.check_video(out, times, times[-1] + step * info.time_base, written.audio_ends)
    return len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    clip = make_clip(args.frames)
    best = {"old": float("inf"), "new": float("inf")}
    for _ in range(args.rounds):
        for name, run in (("old", old_path), ("new", new_path)):
            start = time.perf_counter()
            count = run(clip, BENCH_DIR / f"io_{name}.mp4")
            best[name] = min(best[name], time.perf_counter() - start)
            if count != args.frames:
                raise RuntimeError(f"{name} handled {count} frames, expected {args.frames}")
    for name, seconds in best.items():
        print(f"{name}: {args.frames} frames of 640 x 480 in {seconds:.2f} s = {args.frames / seconds:.1f} fps")
    ratio = best["old"] / best["new"]
    print(f"RATIO new / old fps: {ratio:.2f}   (goal >= 1: {'met' if ratio >= 1 else 'MISSED'})")


if __name__ == "__main__":
    main()
