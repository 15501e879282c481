"""Benchmark: our video pipeline versus the classic tutorial method, speed and peak memory.

Colourises the same generated clip (640 x 480 grey, H.264, with a sound track: a slow pan and
zoom over ``input_images/*.jpg`` with a cut every 100 frames) with the full-size stand-in model
(real architecture, generated weights: speed does not depend on weight values) in two ways:

* ours: ``helpers.video.colorize_video`` end to end, at FULL resolution, in one pass: threaded
  decoding (PyAV), each frame colourised and handed to x264 in segments of about 4 s in a
  fresh frames folder, then the segments joined (stream copy) with the sound and the check of
  the written file;
* classic (the well-known blog tutorial): ``cv2.VideoCapture``, each frame resized to width 500
  (``imutils.resize``), BGR -> gray -> RGB, float Lab, Lab resized to 224 and L minus 50,
  forward, ab resized back, merged, written as ``frame%d.jpg``; afterwards every JPEG is read
  back into a Python list (sorted by the number in its name) and written with
  ``cv2.VideoWriter`` 'MJPG' into an .avi at 30 fps (no sound).

Each method runs in its own child process, so that their peak RSS (``ru_maxrss``) do not mix;
the bare forward pass (a (1, 1, 224, 224) input) is timed in this process before, between and
after the children, so drift on a shared machine is visible and averaged out. Both children
load the model and run one warm-up forward pass before the clock starts. Printed, all measured
in this one run:

* a table: method, frames, seconds, frames per second, peak RSS;
* RATIO ours fps / bare forward-pass fps                (goal >= 0.9: the pipeline adds little)
* RATIO ours fps (full resolution) / classic fps (500 px wide)
* RATIO peak RSS at the most frames / at the fewest, per method   (goal <= 1.1 for ours)
* where the time goes, per frame, for each method.

Run from the repository root::

    python -m bench.video_speed                  # 100 and 1000 frames (about 15 min on 2 quiet cores)
    python -m bench.video_speed --quick          # 20 and 60 frames, a smoke run of a few minutes
    python -m bench.video_speed --frames 100 300

Clips, frames and outputs go to ``build/bench/`` (git-ignored); clips are reused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

import helpers
import helpers.video
from bench.photo_speed import machine
from helpers.paths import INPUT_IMAGES, REPO_ROOT
from tools.standin_model import make_standin_model_dir

BENCH_DIR = REPO_ROOT / "build" / "bench"
WIDTH, HEIGHT, FPS = 640, 480, 30
SCENE_FRAMES = 100
"""A cut to another still every 100 frames, so the clip is not one static picture."""
CLASSIC_WIDTH = 500
"""The classic tutorial's ``imutils.resize(frame, width=500)``."""
FORWARD_REPEATS = 5
"""Bare forward passes per timing block (one block before, between and after the children)."""


def clip_path(frames: int) -> Path:
    return BENCH_DIR / f"clip_{frames}.mp4"


# --------------------------------------------------------------------------- the test clip
def _stills() -> list[np.ndarray]:
    stills = []
    for path in sorted(INPUT_IMAGES.glob("*.jpg")):
        img = helpers.read_image(path)
        gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        # Cover the frame with 30 % to spare, so the window can pan and zoom inside the picture.
        scale = 1.3 * max(WIDTH / gray.shape[1], HEIGHT / gray.shape[0])
        stills.append(cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC))
    if not stills:
        raise FileNotFoundError(f"No .jpg stills in {INPUT_IMAGES} to build the test clip from.")
    return stills


def _clip_frame(stills: list[np.ndarray], index: int) -> np.ndarray:
    """Frame ``index``: a window zooming in (1.25x -> 1x of the frame) and panning over one still."""
    scene, step = divmod(index, SCENE_FRAMES)
    still = stills[scene % len(stills)]
    t = step / (SCENE_FRAMES - 1)
    window = 1.25 - 0.25 * t  # window size in frame widths: shrinking = zooming in
    free_x = still.shape[1] - WIDTH * window
    free_y = still.shape[0] - HEIGHT * window
    along = t if scene % 2 == 0 else 1 - t  # alternate the pan direction from scene to scene
    x0, y0 = free_x * along, free_y * (0.25 + 0.25 * along)  # across, and a little downwards
    # Maps each output pixel to the still, with sub-pixel motion (bilinear).
    M = np.array([[window, 0, x0], [0, window, y0]], dtype=np.float64)
    return cv2.warpAffine(still, M, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def _frame_count(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()


def make_clip(frames: int) -> Path:
    """``build/bench/clip_<frames>.mp4``: grey 640 x 480 H.264 at 30 fps with a 440 Hz tone; reused if there."""
    path = clip_path(frames)
    if path.is_file() and _frame_count(path) == frames:
        return path
    exe = ffmpeg_exe()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.part.mp4")
    cmd = [exe, "-y", "-loglevel", "error",
           "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{WIDTH}x{HEIGHT}", "-framerate", str(FPS), "-i", "-",
           "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={frames / FPS:.6f}",
           "-map", "0:v:0", "-map", "1:a:0", "-c:v", "libx264", "-preset", "fast", "-crf", "20",
           "-pix_fmt", "yuv420p", "-c:a", "aac", str(tmp)]
    stills = _stills()
    process = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    try:
        for index in range(frames):
            process.stdin.write(_clip_frame(stills, index).tobytes())
    finally:
        process.stdin.close()
        code = process.wait()
    if code != 0 or _frame_count(tmp) != frames:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg could not build the {frames}-frame test clip (exit {code}).")
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- timing helpers
def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Stopwatch:
    """Seconds and calls per stage, collected by wrappers around the pipeline's functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds
        self.calls[stage] += 1

    def wrap(self, stage: str, fn):
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - start)

        return wrapped

    def wrap_iterator(self, stage: str, fn):
        """Time how long the consumer waits for each item (here: for a decoded frame)."""

        def wrapped(*args, **kwargs):
            items = fn(*args, **kwargs)
            try:
                while True:
                    start = time.perf_counter()
                    try:
                        item = next(items)
                    except StopIteration:
                        return
                    finally:
                        self.add(stage, time.perf_counter() - start)
                    yield item
            finally:
                items.close()  # stops the reader thread if the consumer stops early

        return wrapped


def _peak_rss_kib() -> int:
    """Peak RSS of this process in KiB (``ru_maxrss`` counts in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def ffmpeg_exe() -> str:
    """The ffmpeg program of imageio-ffmpeg (a development requirement): builds the test clips."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _load_warm_net() -> cv2.dnn.Net:
    net = helpers.load_model(model_dir=make_standin_model_dir(REPO_ROOT / "build" / "standin-model"))
    net.setInput(np.zeros((1, 1, 224, 224), np.float32))
    net.forward()  # the first pass sets the network up (seconds): not part of either method
    return net


# --------------------------------------------------------------------------- ours
def run_ours(frames: int) -> dict:
    clip = clip_path(frames)
    frames_dir = BENCH_DIR / f"frames_ours_{frames}"
    out = BENCH_DIR / f"ours_{frames}.mp4"
    shutil.rmtree(frames_dir, ignore_errors=True)
    out.unlink(missing_ok=True)
    net = _load_warm_net()
    rss_loaded = _peak_rss_kib()

    # Stopwatches around the pipeline's own functions (microseconds of overhead per frame).
    watch = Stopwatch()
    from helpers.photo import colorize as colorize_mod
    from helpers.video import one_pass, pipeline, segments

    video = helpers.video
    writer = segments.SegmentWriter
    patches = [
        (one_pass, "read_frames", watch.wrap_iterator("decode (waiting for the reader thread)", one_pass.read_frames)),
        (one_pass, "colorize", watch.wrap("colourise (all)", one_pass.colorize)),
        (colorize_mod, "predict_ab", watch.wrap("forward pass", colorize_mod.predict_ab)),
        (writer, "add", watch.wrap("H.264 encode (handing frames to x264)", writer.add)),
        (writer, "close", watch.wrap("H.264 encode: a segment's last frames", writer.close)),
        (pipeline, "probe_video", watch.wrap("probe", pipeline.probe_video)),
        (pipeline, "join_segments", watch.wrap("join + sound + check", pipeline.join_segments)),
    ]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, fn in patches:
        setattr(obj, name, fn)
    try:
        start = time.perf_counter()
        report = video.colorize_video(clip, net, out=out, frames_dir=frames_dir, progress=False, restart=True)
        seconds = time.perf_counter() - start
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)
    if report.written.frames != frames or not video.probe_video(out).has_audio:
        raise RuntimeError(f"ours wrote {report.written.frames} frames (expected {frames}) or lost the sound")

    s = watch.seconds
    stages = {
        "decode (waiting for the reader thread)": s["decode (waiting for the reader thread)"],
        "forward pass": s["forward pass"],
        "colour conversion (Lab in/out, resize)": s["colourise (all)"] - s["forward pass"],
        "H.264 encode": s["H.264 encode (handing frames to x264)"] + s["H.264 encode: a segment's last frames"],
        "probe": s["probe"],
        "join + sound + check": s["join + sound + check"],
    }
    stages["other (loop, manifest, listing)"] = seconds - sum(stages.values())
    return {"method": "ours", "size": f"{report.source.width}x{report.source.height}", "frames": frames,
            "seconds": seconds, "rss_kib": _peak_rss_kib(), "rss_loaded_kib": rss_loaded,
            "stages": stages}


# --------------------------------------------------------------------------- classic
def run_classic(frames: int) -> dict:
    """The classic tutorial, step by step as it is usually written (with stopwatches added)."""
    import imutils  # only the classic method uses it

    clip = clip_path(frames)
    frames_dir = BENCH_DIR / f"frames_classic_{frames}"
    out = BENCH_DIR / f"classic_{frames}.avi"
    shutil.rmtree(frames_dir, ignore_errors=True)
    frames_dir.mkdir(parents=True)
    out.unlink(missing_ok=True)
    net = _load_warm_net()
    rss_loaded = _peak_rss_kib()
    watch = Stopwatch()
    clock = time.perf_counter

    start = clock()
    vs = cv2.VideoCapture(str(clip))
    count = 0
    size = ""
    while True:
        t0 = clock()
        grabbed, frame = vs.read()
        t1 = clock()
        watch.add("decode", t1 - t0)
        if not grabbed:
            break
        frame = imutils.resize(frame, width=CLASSIC_WIDTH)
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        scaled = frame.astype("float32") / 255.0
        lab = cv2.cvtColor(scaled, cv2.COLOR_RGB2LAB)
        resized = cv2.resize(lab, (224, 224))
        L = cv2.split(resized)[0]
        L -= 50
        t2 = clock()
        net.setInput(cv2.dnn.blobFromImage(L))
        ab = net.forward()[0, :, :, :].transpose((1, 2, 0))
        t3 = clock()
        ab = cv2.resize(ab, (frame.shape[1], frame.shape[0]))
        L = cv2.split(lab)[0]
        colorized = np.concatenate((L[:, :, np.newaxis], ab), axis=2)
        colorized = cv2.cvtColor(colorized, cv2.COLOR_LAB2BGR)
        colorized = np.clip(colorized, 0, 1)
        colorized = (255 * colorized).astype("uint8")
        t4 = clock()
        cv2.imwrite(str(frames_dir / f"frame{count}.jpg"), colorized)
        t5 = clock()
        watch.add("colour conversion (resize, Lab in/out)", (t2 - t1) + (t4 - t3))
        watch.add("forward pass", t3 - t2)
        watch.add("JPEG encode + write", t5 - t4)
        size = f"{frame.shape[1]}x{frame.shape[0]}"
        count += 1
    vs.release()

    # Reassembly as the tutorial does it: every frame in a list first, then the writer.
    t0 = clock()
    files = sorted(frames_dir.glob("frame*.jpg"), key=lambda p: int(re.sub(r"\D", "", p.stem)))
    img_array = []
    for filename in files:
        img = cv2.imread(str(filename))
        height, width, _layers = img.shape
        img_array.append(img)
    t1 = clock()
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 30, (width, height))
    for img in img_array:
        writer.write(img)
    writer.release()
    t2 = clock()
    seconds = clock() - start
    watch.add("reassembly: read all JPEGs into a list", t1 - t0)
    watch.add("reassembly: MJPG VideoWriter", t2 - t1)
    if count != frames or _frame_count(out) != frames:
        raise RuntimeError(f"classic wrote {count} frames, {out.name} has {_frame_count(out)} (expected {frames})")

    stages = dict(watch.seconds)
    stages["other"] = seconds - sum(stages.values())
    return {"method": "classic", "size": size, "frames": frames, "seconds": seconds, "rss_kib": _peak_rss_kib(),
            "rss_loaded_kib": rss_loaded, "stages": stages}


# --------------------------------------------------------------------------- parent
def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by the whole machine and by this benchmark (itself and its children)."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq = map(int, f.readline().split()[1:8])
        machine_busy = (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        machine_busy = float("nan")
    own = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        own += usage.ru_utime + usage.ru_stime
    return machine_busy, own


def run_child(method: str, frames: int) -> dict:
    """Run one method in a fresh Python process; its peak RSS is its own.

    Also records how many cores OTHER processes kept busy meanwhile, on average: the drift.
    """
    cmd = [sys.executable, "-m", "bench.video_speed", "--child", method, "--frames", str(frames)]
    busy0, own0, wall0 = *_cpu_seconds(), time.perf_counter()
    result = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    busy1, own1, wall1 = *_cpu_seconds(), time.perf_counter()
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    record = json.loads(lines[-1][len("RESULT "):])
    record["other_load"] = max(0.0, ((busy1 - busy0) - (own1 - own0)) / (wall1 - wall0))
    return record


def forward_block(net: cv2.dnn.Net, blob: np.ndarray, repeats: int) -> list[float]:
    def forward():
        net.setInput(blob)
        net.forward()

    return [timed(forward) for _ in range(repeats)]


def _mib(kib: int) -> float:
    return kib / 1024


def print_report(results: list[dict], blocks: list[list[float]], order: list[str]) -> None:
    """``blocks[i]`` was timed just before ``order[i]`` ran, ``blocks[-1]`` after the last run."""
    forward = statistics.median([t for block in blocks for t in block])
    labels = [f"before {name}" for name in order] + ["after all"]
    print(f"bare forward pass (1,1,224,224): median {forward * 1000:.1f} ms = {1 / forward:.3f} fps over "
          f"{sum(map(len, blocks))} passes; block medians (the drift of this shared machine):")
    print("  " + ", ".join(f"{label} {statistics.median(block) * 1000:.0f} ms" for label, block in zip(labels, blocks)))
    print()
    print(f"{'method':8s} {'frame size':>10s} {'frames':>6s} {'seconds':>8s} {'fps':>6s} "
          f"{'peak RSS':>9s} {'after load':>10s} {'other load':>10s}")
    for r in results:
        print(f"{r['method']:8s} {r['size']:>10s} {r['frames']:6d} {r['seconds']:8.1f} "
              f"{r['frames'] / r['seconds']:6.3f} {_mib(r['rss_kib']):5.0f} MiB {_mib(r['rss_loaded_kib']):6.0f} MiB "
              f"{r['other_load']:6.2f} cores")
    print("peak RSS: the method's Python process (ru_maxrss); after load: the same just after loading the model and "
          "one warm-up pass\n(ours decodes and encodes in-process with PyAV: its peak RSS includes the encoder);\n"
          "other load: cores kept busy by "
          f"processes outside this benchmark during the run, on average (this machine has {os.cpu_count()})")
    print()

    def local_forward(name: str) -> float:
        """Median bare forward pass of the blocks just before and just after run ``name``."""
        i = order.index(name)
        return statistics.median(blocks[i] + blocks[i + 1])

    by = {(r["method"], r["frames"]): r for r in results}
    counts = sorted({r["frames"] for r in results})
    for n in counts:
        ours, classic = by[("ours", n)], by[("classic", n)]
        ours_fps, classic_fps = n / ours["seconds"], n / classic["seconds"]
        ratio = ours_fps * local_forward(f"ours {n}")
        print(f"RATIO ours fps / bare forward fps, {n} frames: {ratio:.3f}   (goal >= 0.9: "
              f"{'met' if ratio >= 0.9 else 'MISSED'}; bare forward timed just before and after this run)")
        print(f"      the same against the median of all blocks: {ours_fps * forward:.3f}; forward passes' share "
              f"of this run's own time (drift-free): {ours['stages']['forward pass'] / ours['seconds']:.3f}")
        corrected = ratio / (classic_fps * local_forward(f"classic {n}"))
        print(f"RATIO ours fps ({ours['size']}) / classic fps ({classic['size']}), {n} frames: "
              f"{ours_fps / classic_fps:.3f}   (each against its own neighbouring forward blocks: {corrected:.3f}; "
              f"ours has {_pixels(ours['size']) / _pixels(classic['size']):.2f}x the pixels per frame)")
    busy = [f"{r['method']} {r['frames']} ({r['other_load']:.2f} cores)" for r in results if r["other_load"] > 0.1]
    if busy:
        print(f"WARNING: other processes competed for the CPU during {', '.join(busy)}: ratios between runs "
              "are distorted;\n         the forward passes' share of a run's own time is the better estimate of "
              "the pipeline's overhead.")
    lo, hi = counts[0], counts[-1]
    if lo != hi:
        for method in ("ours", "classic"):
            ratio = by[(method, hi)]["rss_kib"] / by[(method, lo)]["rss_kib"]
            goal = f"goal <= 1.1: {'met' if ratio <= 1.1 else 'MISSED'}" if method == "ours" else \
                "no goal: the classic keeps every frame in a list"
            print(f"RATIO peak RSS {hi} / {lo} frames, {method}: {ratio:.3f}   ({goal})")
    print()

    for r in results:
        if r["frames"] != hi:
            continue
        total, around = r["seconds"], local_forward(f"{r['method']} {hi}")
        print(f"where the time goes, {r['method']}, {r['frames']} frames of {r['size']} "
              f"({total / r['frames'] * 1000:.0f} ms per frame; bare forward around this run {around * 1000:.0f} ms):")
        for stage, seconds in sorted(r["stages"].items(), key=lambda item: -item[1]):
            print(f"  {stage:42s} {seconds / r['frames'] * 1000:8.1f} ms/frame  {100 * seconds / total:5.1f} %")


def _pixels(size: str) -> int:
    w, h = map(int, size.split("x"))
    return w * h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=None,
                        help="clip lengths to measure (default: 100 1000)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 and 60 frames")
    parser.add_argument("--child", choices=("ours", "classic"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:  # one method on one clip, in a process of its own
        result = (run_ours if args.child == "ours" else run_classic)(args.frames[0])
        print("RESULT " + json.dumps(result))
        return

    counts = args.frames or ([20, 60] if args.quick else [100, 1000])
    repeats = 3 if args.quick else FORWARD_REPEATS
    print(f"machine: {machine()}")
    for n in counts:
        make_clip(n)
    print(f"clips: {', '.join(str(clip_path(n).relative_to(REPO_ROOT)) for n in counts)} "
          f"({WIDTH}x{HEIGHT} grey, H.264, {FPS} fps, with sound); full-size stand-in model", flush=True)
    net = _load_warm_net()
    blob = np.random.default_rng(0).uniform(-50, 50, (1, 1, 224, 224)).astype(np.float32)

    blocks = [forward_block(net, blob, repeats)]
    order, results = [], []
    for n in counts:
        for method in ("ours", "classic"):
            print(f"  running {method} on {n} frames ...", file=sys.stderr, flush=True)
            results.append(run_child(method, n))
            order.append(f"{method} {n}")
            blocks.append(forward_block(net, blob, repeats))
    print()
    print_report(results, blocks, order)


if __name__ == "__main__":
    main()
