"""Benchmark: fast (keyframe) mode versus exact mode and the classic tutorial method.

With the full-size stand-in model (real architecture, generated weights; speed does not depend
on the weights), in one run:

* on the sample clip (480 x 320, 168 frames): end-to-end fps of exact mode and fast mode,
  network passes, and the flicker metric of both (``helpers.video.measure_flicker``);
* on a 640 x 480, 1000-frame clip (made by ``bench.video_speed``): fast mode end to end with
  OpenCV and with the fastest optional back end available; exact mode and the classic method
  on a 100-frame clip of the same kind (their speed per frame does not depend on the length);
* the ratios between them, all measured in this run.

The model: ``$COLORIZE_MODEL_DIR`` if set, else a full-size stand-in made in build/standin-model.

Run from the repository root:  python -m bench.fast_video [--frames 1000]
                               python -m bench.fast_video --quick   # a smoke run: a few frames each
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

import helpers
from bench.photo_speed import machine
from bench.video_speed import BENCH_DIR, make_clip, run_classic
from helpers import video
from helpers.fetch import MODEL_DIR_ENV
from helpers.model import describe_model, model_paths
from helpers.paths import INPUT_VIDEO, REPO_ROOT
from tools.standin_model import make_standin_model_dir

TARGET_FPS = 25.0


def run(clip, net, name: str, **options) -> dict:
    frames_dir = BENCH_DIR / f"frames_{name}"
    shutil.rmtree(frames_dir, ignore_errors=True)
    start = time.perf_counter()
    report = video.colorize_video(clip, net, out=BENCH_DIR / f"{name}.mp4", frames_dir=frames_dir, progress=False,
                                  restart=True, **options)
    seconds = time.perf_counter() - start
    frames = report.written.frames
    return {"name": name, "frames": frames, "seconds": seconds, "fps": frames / seconds,
            "passes": report.frames.network_passes, "frames_dir": frames_dir}


def line(r: dict) -> str:
    return f"{r['name']:28s} {r['frames']:6d} frames {r['seconds']:8.1f} s {r['fps']:7.2f} fps {r['passes']:6d} passes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1000, help="length of the 640 x 480 clip for fast mode")
    parser.add_argument("--exact-frames", type=int, default=100,
                        help="length of the 640 x 480 clip for exact mode and the classic method")
    parser.add_argument("--sample-frames", type=int, default=None, help="frames of the sample clip (default: all)")
    parser.add_argument("--keyframe-interval", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 16 sample frames, 640 x 480 clips of "
                        "24 and 8 frames")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.exact_frames, args.sample_frames = 24, 8, 16
    k = args.keyframe_interval

    model_dir = os.environ.get(MODEL_DIR_ENV) or make_standin_model_dir(REPO_ROOT / "build" / "standin-model")
    paths = model_paths(model_dir=model_dir)
    net = helpers.load_model(model_dir=model_dir)
    print(f"machine: {machine()}")
    print(f"model: {describe_model(model_dir=model_dir)}")

    sample = INPUT_VIDEO / "sample_clip.mp4"
    exact = run(sample, net, "sample_exact", max_frames=args.sample_frames)
    fast = run(sample, net, "sample_fast", mode="fast", keyframe_interval=k, max_frames=args.sample_frames)
    _, exact_flicker = video.measure_flicker(exact["frames_dir"])
    _, fast_flicker = video.measure_flicker(fast["frames_dir"])
    print(f"\nsample clip {video.probe_video(sample).describe()}; K = {k}")
    for r, f in ((exact, exact_flicker), (fast, fast_flicker)):
        print(f"{line(r)}   flicker {f['mean_warped_ab_change']:6.2f}  chroma {f['mean_chroma']:6.2f}")
    print(f"RATIO fast / exact fps on the sample clip: {fast['fps'] / exact['fps']:.2f}; "
          f"flicker fast / exact: {fast_flicker['mean_warped_ab_change'] / exact_flicker['mean_warped_ab_change']:.2f}")

    long_clip = make_clip(args.frames)
    exact_clip = make_clip(args.exact_frames)
    results = [run(long_clip, net, f"vga{args.frames}_fast_opencv", mode="fast", keyframe_interval=k)]
    try:
        from helpers.backends import available_backends, load_fast_backend

        name = "openvino" if "openvino" in available_backends() else None
        name = name or ("onnxruntime" if "onnxruntime" in available_backends() else None)
        if name:
            fast_net = load_fast_backend(name, paths, log=lambda text: print("  " + text))
            label = f"vga{args.frames}_fast_{name}_{fast_net.precision}"
            results.append(run(long_clip, fast_net, label, mode="fast", keyframe_interval=k))
    except ImportError as exc:
        print(f"  (no faster back end: {exc})")
    results.append(run(exact_clip, net, f"vga{args.exact_frames}_exact_opencv"))
    classic = run_classic(args.exact_frames)
    classic["fps"] = classic["frames"] / classic["seconds"]
    print(f"\n640 x 480 clips, K = {k}")
    for r in results:
        print(line(r))
    print(f"{f'vga{args.exact_frames}_classic (500 px wide)':28s} {classic['frames']:6d} frames "
          f"{classic['seconds']:8.1f} s {classic['fps']:7.2f} fps {classic['frames']:6d} passes")
    exact_fps = results[-1]["fps"]
    for r in results[:-1]:
        verdict = "met" if r["fps"] >= TARGET_FPS else "MISSED"
        print(f"RATIO {r['name']} / exact: {r['fps'] / exact_fps:.1f}x; / classic: {r['fps'] / classic['fps']:.1f}x; "
              f"{r['fps']:.1f} fps (target {TARGET_FPS:g} fps: {verdict})")


if __name__ == "__main__":
    main()
