"""Benchmark: the classroom app under a class's load, against colourising the same photos in a loop.

The app (``python -m helpers app``) runs in its own process with the full-size stand-in model
and the default back end. After one warm-up photo, 60 clients (phones, each with its own owner
secret) upload 2 photos each at once (the sample photos, in turn) and follow their photos until
they are done, as the page does. Then, in this process with the same back end, the same 120
photos are colourised in a plain loop (read, colourise, write the result, its gray version and
its thumbnail as JPEG: what the app does per photo). Printed, from this one run:

* RATIO throughput under load / loop throughput   (goal >= 0.8: the queue and the web cost little)
* how long the student at the back of the queue waited, from upload to result;
* the server's peak RSS under load / its RSS when idle (goal <= 1.3).

Run from the repository root:  python -m bench.classroom_load      # about 2 minutes on 2 cores
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time

import cv2
import psutil

import helpers
from bench import bench_model_dir
from bench.photo_speed import machine
from helpers.classroom import THUMB_SIDE
from helpers.common.images import write_image
from helpers.model.fetch import MODEL_DIR_ENV
from helpers.paths import INPUT_IMAGES
from helpers.photo.image_file import at_most
from tests.test_classroom import Server, start_app

STUDENTS, PHOTOS_EACH = 60, 2


def main() -> None:
    model_dir = str(bench_model_dir())
    os.environ[MODEL_DIR_ENV] = model_dir
    photos = [p.read_bytes() for p in sorted(INPUT_IMAGES.glob("*.jpg"))]
    print(f"machine: {machine()}")
    print(f"model: {model_dir}; {STUDENTS} clients x {PHOTOS_EACH} photos ({len(photos)} sample photos in turn)")
    app, url, printed = start_app(model_dir)
    try:
        server = Server.__new__(Server)
        server.url = url
        backend = re.search(r"Model \(([^)]+)\)", printed).group(1)
        me = psutil.Process(app.pid)
        server.wait(server.upload(photos[0], "warm-up.jpg")[1]["id"], timeout=300)
        time.sleep(0.5)
        idle = me.memory_info().rss
        peak, finished = [idle], threading.Event()

        def sample() -> None:
            while not finished.wait(0.05):
                peak[0] = max(peak[0], me.memory_info().rss)

        sampler = threading.Thread(target=sample)
        sampler.start()
        sent: list = []

        def student(n: int) -> None:
            phone: dict = {}  # the owner secret the first upload gives, as the phone's cookie keeps it
            for k in range(PHOTOS_EACH):
                status, job = server.upload(photos[(n + k) % len(photos)], f"student{n}_{k}.jpg", headers=phone)
                phone = {"X-Owner": job.get("owner", "")} if status == 202 else phone
                sent.append((time.perf_counter(), status, job))

        started = time.perf_counter()
        threads = [threading.Thread(target=student, args=(n,)) for n in range(STUDENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        refused = [job for _, status, job in sent if status != 202]
        last_sent, _, last_job = max(sent, key=lambda s: s[2].get("position", 0))
        results = [server.wait(job["id"], timeout=900) for _, status, job in sent if status == 202]
        elapsed = time.perf_counter() - started
        back_of_queue_wait = max(0.0, time.perf_counter() - last_sent) if results else 0.0
        # the wait of the last in line: poll its own answer for when it was done
        finished.set()
        sampler.join()
    finally:
        app.terminate()
        app.wait(30)

    net = helpers.load_model(backend="auto")
    with tempfile.TemporaryDirectory() as scratch:
        loop_started = time.perf_counter()
        for n in range(STUDENTS * PHOTOS_EACH):
            path = os.path.join(scratch, f"{n}.jpg")
            with open(path, "wb") as f:
                f.write(photos[n % len(photos)])
            result = helpers.colorize(path, net)
            write_image(os.path.join(scratch, f"{n}_color.jpg"), result)
            write_image(os.path.join(scratch, f"{n}_gray.jpg"), cv2.cvtColor(result, cv2.COLOR_BGR2GRAY))
            write_image(os.path.join(scratch, f"{n}_thumb.jpg"), at_most(result, THUMB_SIDE**2 * 3 // 4))
        loop = time.perf_counter() - loop_started

    done = sum(r["state"] == "done" for r in results)
    throughput, loop_throughput = done / elapsed, STUDENTS * PHOTOS_EACH / loop
    print(f"\nback end: {backend}")
    print(f"under load: {done} of {len(sent)} photos done ({len(refused)} refused) in {elapsed:.1f} s: "
          f"{throughput:.2f} photos/s")
    print(f"plain loop in one process: {STUDENTS * PHOTOS_EACH} photos in {loop:.1f} s: {loop_throughput:.2f} photos/s")
    ratio = throughput / loop_throughput
    print(f"RATIO throughput under load / loop = {ratio:.2f} (goal >= 0.8: {'met' if ratio >= 0.8 else 'MISSED'})")
    print(f"the student at the back of the queue (number {last_job.get('position')}) waited about "
          f"{back_of_queue_wait:.1f} s from upload to result")
    print(f"server RSS: idle {idle / 1e6:.0f} MB, peak under load {peak[0] / 1e6:.0f} MB: RATIO {peak[0] / idle:.2f} "
          f"(goal <= 1.3)")


if __name__ == "__main__":
    main()
