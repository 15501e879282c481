"""The read-ahead thread behind read_frames and frames_to_video: order, errors, early stop, bounded memory."""

from __future__ import annotations

import threading
import time

import pytest

from helpers.common.background import ahead, in_parallel


def test_items_come_in_order_from_another_thread():
    threads = []

    def numbers():
        for n in range(50):
            threads.append(threading.current_thread())
            yield n

    assert list(ahead(numbers(), buffer=3)) == list(range(50))
    assert threading.current_thread() not in threads


def test_an_error_comes_out_in_its_place():
    def broken():
        yield 1
        yield 2
        raise ValueError("damaged at 3")

    got = []
    with pytest.raises(ValueError, match="damaged at 3"):
        for item in ahead(broken(), buffer=8):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_closes_the_source_and_bounds_the_work_ahead():
    made, closed = [], threading.Event()

    def endless():
        try:
            n = 0
            while True:
                made.append(n)
                yield n
                n += 1
        finally:
            closed.set()

    items = ahead(endless(), buffer=4)
    assert next(items) == 0
    time.sleep(0.2)  # let the thread fill the buffer
    assert len(made) <= 1 + 4 + 2  # the one taken, a full buffer, and the one the thread holds (+ one being made)
    items.close()
    assert closed.wait(2)


def test_in_parallel_keeps_order_uses_threads_and_raises_in_place():
    threads = set()

    def slow_square(n):
        threads.add(threading.current_thread())
        time.sleep(0.01 * (n % 3))  # later items finish first sometimes
        if n == 7:
            raise ValueError("damaged at 7")
        return n * n

    got = []
    with pytest.raises(ValueError, match="damaged at 7"):
        for value in in_parallel(slow_square, range(20), workers=2, buffer=4):
            got.append(value)
    assert got == [n * n for n in range(7)]
    assert len(threads) == 2 and threading.current_thread() not in threads


def test_in_parallel_bounds_the_work_ahead():
    started = []

    def record(n):
        started.append(n)
        return n

    results = in_parallel(record, range(1000), workers=2, buffer=4)
    assert next(results) == 0
    time.sleep(0.1)
    assert len(started) <= 4
    results.close()
    assert len(started) <= 4
