"""Work ahead in a background thread: the next frames are decoded (or read) while this one is used.

Decoding a video frame, or reading a PNG, mostly runs inside FFmpeg or OpenCV, which release
Python's lock while they work. So a second thread can prepare the next items on a second core
while the first one runs the network or the encoder. ``ahead`` does that for any iterator,
keeping only a few items in memory however long the sequence is. ``in_parallel`` goes one step
further for independent items (PNG files to read): several threads, results in order.

Introduced in notebook 03_video (``read_frames`` decodes in a background thread).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
_END = object()


def ahead(items: Iterator[T], buffer: int) -> Iterator[T]:
    """Yield ``items`` in order while a background thread computes up to ``buffer`` of the next ones.

    The thread runs ``items`` itself, so the work done inside it (decoding, reading files) is
    what overlaps with the caller's work. An exception raised by ``items`` comes out here, in
    its place in the sequence. When the caller stops early (``break``, an error, ``close()``),
    the thread stops after the item it is on, and ``items`` (a generator) is closed in it, so
    its ``finally`` blocks run and its files are closed.
    """
    waiting: queue.Queue = queue.Queue(maxsize=buffer)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    break
                waiting.put((item, None))
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            waiting.put((None, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            waiting.put(_END)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while (entry := waiting.get()) is not _END:
            item, exc = entry
            if exc is not None:
                raise exc
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock the thread if the caller stopped early
            try:
                waiting.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def in_parallel(func: Callable[[T], R], items: Iterable[T], workers: int = 2, buffer: int = 6) -> Iterator[R]:
    """Yield ``func(item)`` for each item, in order, computed by ``workers`` threads.

    At most ``buffer`` results wait ahead of the caller, so memory stays bounded. Use it for
    independent items whose work releases Python's lock (``cv2.imread``...): reading PNG frames
    for reassembly with two threads takes about half the time of one. An exception raised by
    ``func`` comes out in its item's place; when the caller stops early, the work not started
    yet is cancelled.
    """
    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            for item in items:
                pending.append(pool.submit(func, item))
                if len(pending) >= buffer:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
