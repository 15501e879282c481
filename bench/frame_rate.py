"""Benchmark: frames made between frames (helpers.restoration.frame_rate) against FFmpeg's ``minterpolate``.

The gray frames of ``input_video/sample_clip.mp4`` (a pan, a zoom, two hard cuts) are halved in
rate (the even frames kept), brought back to the full rate, and each frame made is scored against
the odd original held out: PSNR (dB) and SSIM, higher is better. The methods:

* ours: ``helpers.restoration.frame_rate.Resampler(factor=2)``;
* FFmpeg's ``minterpolate`` in its motion-compensated mode (``mi_mode=mci``), fed the same
  half-rate frames through a pipe (``bench.restoration.ffmpeg_filter``; its time includes that
  transfer), three ways: its defaults (``mc_mode=obmc``, overlapped block motion compensation;
  ``me_mode=bilat``, one symmetric search from the frame to be made; ``me=epzs``); with
  ``mc_mode=aobmc:vsbmc=1`` (adaptive overlapping, which softens the blocks where the motion is
  uncertain, and variable-size blocks: its highest-quality compensation); and with
  ``me_mode=bidir`` (each frame searched into the other, then made like ours: its other estimation);
* plain baselines without motion: the frame before repeated, and the mean of the two neighbours.

The frames whose two neighbours lie across a cut are scored apart: there a good method gives one
of the two originals as it is (no ghost). ``ghost check`` is the PSNR of the frame made against
the nearer of its two neighbours: infinite for an original given as it is, low for a blend of two shots.

Goal (issue 24): a higher PSNR than ``minterpolate`` at no less than 3x its speed, on 2 cores.

Run from the repository root:  python -m bench.frame_rate
"""

from __future__ import annotations

import resource
import time

import cv2
import numpy as np

from bench.restoration import ffmpeg_filter, taking_turns
from helpers.media.decode import read_frames
from helpers.media.motion import is_scene_cut
from helpers.media.probe import probe_video
from helpers.paths import INPUT_VIDEO
from helpers.restoration.frame_rate import Resampler
from helpers.restoration.quality import ssim

CLIP = INPUT_VIDEO / "sample_clip.mp4"
MINTERPOLATE = {
    "minterpolate (mci defaults)": "minterpolate=fps={fps}:mi_mode=mci",
    "minterpolate (aobmc, vsbmc)": "minterpolate=fps={fps}:mi_mode=mci:mc_mode=aobmc:vsbmc=1",
    "minterpolate (me_mode=bidir)": "minterpolate=fps={fps}:mi_mode=mci:me_mode=bidir",
}
def ours(half: list[np.ndarray], fps: float) -> tuple[list[np.ndarray], float, float]:
    """The half-rate frames (at ``fps / 2``) doubled by ``Resampler``; (the frames, seconds, CPU seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    out = [frame for _, frame in Resampler(factor=2).run((2 * k / fps, f) for k, f in enumerate(half))]
    return out, time.perf_counter() - started, time.process_time() - cpu


def theirs(half: list[np.ndarray], fps: float, chain: str) -> tuple[list[np.ndarray], float, float]:
    """The half-rate frames through ``minterpolate`` to ``fps``; the last frame is fed twice so that the
    frame after it is made too (FFmpeg stops at the last input frame's time)."""
    cpu = _children_cpu()
    out, seconds = ffmpeg_filter([*half, half[-1]], chain.format(fps=fps), fps / 2)
    return out[:2 * len(half)], seconds, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    clean = [frame.image[..., 0].copy() for frame in read_frames(CLIP)]  # gray: B = G = R
    fps = probe_video(CLIP).fps
    half = clean[::2]
    held_out = range(1, 2 * len(half) - 1, 2)  # each odd frame between two kept ones
    across = [i for i in held_out if is_scene_cut(clean[i - 1], clean[i + 1])]
    within = [i for i in held_out if i not in across]
    made = taking_turns({"ours (helpers.restoration.frame_rate)": (ours, half, fps)} |
                        {name: (theirs, half, fps, chain) for name, chain in MINTERPOLATE.items()})
    nothing = (float("nan"), float("nan"))  # no time taken worth measuring
    made |= {"repeat the frame before": ([clean[i - (i % 2)] for i in range(len(clean))], *nothing),
             "mean of the two neighbours": ([cv2.addWeighted(clean[i - 1], 0.5, clean[i + 1], 0.5, 0) if i % 2 and
                                             i + 1 < len(clean) else clean[i] for i in range(len(clean))],
                                            *nothing)}
    our_seconds = made["ours (helpers.restoration.frame_rate)"][1]
    print(f"{CLIP.name}: {len(clean)} frames of {clean[0].shape[1]} x {clean[0].shape[0]} at {fps:g} frames/s, "
          f"halved to {len(half)} and doubled back; {len(within)} frames made within shots, {len(across)} across "
          f"cuts (frames {', '.join(map(str, across))}); {cv2.getNumThreads()} OpenCV threads")
    print(f"{'method':>38s} {'PSNR dB':>8s} {'SSIM':>7s} {'seconds':>8s} {'CPU s':>6s} {'their time / ours':>18s}   "
          f"across cuts: PSNR vs truth, ghost check (dB)")
    for name, (frames, seconds, cpu) in made.items():
        score = np.mean([cv2.PSNR(frames[i], clean[i]) for i in within])
        similarity = np.mean([ssim(frames[i], clean[i]) for i in within])
        cuts = "  ".join(f"{cv2.PSNR(frames[i], clean[i]):5.1f}, {ghost_check(frames[i], clean, i):5.1f}"
                         for i in across)
        print(f"{name:>38s} {score:8.2f} {similarity:7.4f} {seconds:8.3f} {cpu:6.2f} "
              f"{seconds / our_seconds:18.2f}   {cuts}")


def ghost_check(frame: np.ndarray, clean: list[np.ndarray], i: int) -> float:
    """PSNR of a frame made at ``i`` against the nearer of the two originals around it (inf: one of them)."""
    return max(cv2.PSNR(frame, clean[i - 1]) if not np.array_equal(frame, clean[i - 1]) else float("inf"),
               cv2.PSNR(frame, clean[i + 1]) if not np.array_equal(frame, clean[i + 1]) else float("inf"))


if __name__ == "__main__":
    main()
