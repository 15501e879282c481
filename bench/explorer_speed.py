"""Benchmark: how fast notebook 02's explorer answers a slider move, old way versus new.

The explorer (``helpers.widgets.ColorizeExplorer``) shows notebook 02's photo (the cat, shown at
640 px) with the full-size stand-in model (real architecture, generated weights: speed does
not depend on weight values). A move is timed from setting the slider to the new picture
being encoded, as a learner waits for it; results already shown are never reused here.

* old: the network run in full for every move (``colorize`` with the new temperature, then the
  temperature put back), what the explorer did before it kept the network's scores. Measured
  through the explorer's own path for networks without scores (a wrapper that hides them).
* new: the network runs once per size up to its 313 scores (``predict_scores``); a temperature
  move redoes only softmax(scores / T) and the mean colour in NumPy (``ab_from_scores``).

Moves are interleaved (old, new, new, old, ...) so drift on a shared machine hits both alike.
Temperature moves step through the slider's values at 224 px; size moves alternate between
224 and 256 px (each one runs the network at the new size, in both ways). The OpenVINO back end
(``pip install -e ".[fast]"``), if installed, gives no scores, so every one of its moves is a full
pass: its times are printed beside OpenCV's.

Printed, all measured in this one run: median answer time per kind of move, the RATIO old / new,
and whether the issue's goal (an answer within 0.4 s at 224 px) is met.

Run from the repository root::

    python -m bench.explorer_speed            # 7 moves of each kind (a few minutes on 2 cores)
    python -m bench.explorer_speed --quick    # 3 moves of each kind, a smoke run

It uses ``$COLORIZE_MODEL_DIR`` if set, otherwise a stand-in made in ``build/standin-model``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

import helpers
from bench import bench_model_dir
from bench.photo_speed import machine
from helpers import backends
from helpers.model.model_files import model_paths
from helpers.paths import INPUT_IMAGES
from helpers.widgets import ColorizeExplorer

GOAL_S = 0.4
"""The issue's goal: the explorer answers a slider move within 0.4 s at 224 px."""


class WithoutScores:
    """A network that hides its scores: the explorer runs it in full for every move (the old way).

    Temperatures go to the OpenCV net as ``helpers.set_temperature`` writes them, so each old
    move pays OpenCV's re-planning after a temperature change, as the old explorer did.
    """

    def __init__(self, net) -> None:
        self._net = net

    def setInput(self, blob: np.ndarray) -> None:
        self._net.setInput(blob)

    def forward(self) -> np.ndarray:
        return self._net.forward()

    def set_temperature(self, temperature: float) -> None:
        helpers.set_temperature(self._net, temperature)

    def get_temperature(self) -> float:
        return helpers.get_temperature(self._net)


def explorer(photo: np.ndarray, net, *, keep_scores: bool) -> ColorizeExplorer:
    """An explorer that never answers from memory; ``keep_scores=False`` forgets the scores too."""
    ex = ColorizeExplorer(photo, net)
    ex.CACHE = 0
    if not keep_scores:
        ex.SCORES_CACHE = 0
    return ex


def move(ex: ColorizeExplorer, control: str, value) -> tuple[float, bool]:
    """Move one slider; the answer time and whether the network ran."""
    start = time.perf_counter()
    getattr(ex, control).value = value
    seconds = time.perf_counter() - start
    assert not ex.from_memory
    return seconds, ex.network_ran


def temperature_moves(count: int) -> list[float]:
    """``count`` slider values, each different from the one before and from the start (0.38)."""
    values = [t for t in (0.2, 0.5, 0.1, 0.7, 0.3, 1.0, 0.05) if t in ColorizeExplorer.TEMPERATURES]
    return list(itertools.islice(itertools.cycle(values), count))


def bare_forward_s(net, size: int = 224) -> float:
    """One forward pass up to the scores at a size the net already ran at (no re-planning)."""
    L_small = np.zeros((1, size, size), np.float32)
    start = time.perf_counter()
    helpers.predict_scores(net, L_small)
    return time.perf_counter() - start


def time_moves(explorers: dict[str, ColorizeExplorer], control: str, values: list, *,
               reference=None) -> dict[str, list]:
    """Each explorer makes the same moves, interleaved, in a rotating order per move; with a
    ``reference`` OpenCV net, a bare forward pass at 224 px is timed in each round too ("bare")."""
    names = list(explorers)
    times: dict[str, list] = {name: [] for name in names}
    if reference is not None:
        bare_forward_s(reference)  # the first pass sets the network up
        times["bare"] = []
    for i, value in enumerate(values):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(move(explorers[name], control, value))
        if reference is not None:
            times["bare"].append(bare_forward_s(reference))
    return times


def median_s(samples: list[tuple[float, bool]]) -> float:
    return statistics.median(s for s, _ in samples)


def ran(samples: list[tuple[float, bool]]) -> str:
    count = sum(r for _, r in samples)
    return "always" if count == len(samples) else "never" if count == 0 else f"{count}/{len(samples)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=7, help="moves of each kind (default 7)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 moves of each kind")
    args = parser.parse_args()
    moves = 3 if args.quick else args.moves

    model_dir = bench_model_dir()
    photo = helpers.read_image(INPUT_IMAGES / "chelsea_cat.jpg")
    # two OpenCV nets, so that the old way's temperature changes never touch the new way's net
    old_net, new_net = (helpers.load_model(model_dir=model_dir) for _ in range(2))

    rows: list[tuple[str, dict[str, list]]] = []
    t_moves = temperature_moves(moves)
    size_moves = list(itertools.islice(itertools.cycle((256, 224)), 2 * moves))

    explorers = {"old": explorer(photo, WithoutScores(old_net), keep_scores=True),
                 "new": explorer(photo, new_net, keep_scores=True)}
    shown = explorers["new"].photo.shape
    rows.append(("OpenCV, T move at 224 px", time_moves(explorers, "temperature", t_moves)))
    explorers = {"old": explorer(photo, WithoutScores(old_net), keep_scores=False),
                 "new": explorer(photo, new_net, keep_scores=False)}
    sized = time_moves(explorers, "size", size_moves, reference=helpers.load_model(model_dir=model_dir))
    for size in (224, 256):
        rows.append((f"OpenCV, size move to {size} px",
                     {name: [s for s, v in zip(samples, size_moves) if v == size] for name, samples in sized.items()}))
    bare_s = statistics.median(sized.pop("bare"))
    del explorers, old_net

    fast = None
    if "openvino" in backends.available_backends():
        fast = backends.load_network(model_paths(model_dir=model_dir), backend="openvino")
        explorers = {"new": explorer(photo, fast, keep_scores=True)}
        rows.append(("OpenVINO fp32, T move at 224 px", time_moves(explorers, "temperature", t_moves)))
        explorers = {"new": explorer(photo, fast, keep_scores=False)}
        sized = time_moves(explorers, "size", size_moves)
        for size in (224, 256):
            rows.append((f"OpenVINO fp32, size move to {size} px",
                         {"new": [s for s, v in zip(sized["new"], size_moves) if v == size]}))

    scores = np.random.default_rng(0).standard_normal((1, 313, 56, 56)).astype(np.float32)
    centres = np.load(model_paths(model_dir=model_dir).points).astype(np.float32)
    start = time.perf_counter()
    for t in t_moves:
        helpers.ab_from_scores(scores, t, centres)
    numpy_ms = (time.perf_counter() - start) / len(t_moves) * 1000

    print(f"machine: {machine()}")
    print(f"photo chelsea_cat.jpg shown at {shown[1]} x {shown[0]} px, model in {model_dir}; "
          f"medians over {moves} moves of each kind (size moves: {moves} to each size), interleaved")
    print(f"{'move':<36} {'old s':>7} {'new s':>7} {'old/new':>8}   network ran (new)")
    for label, times in rows:
        new = median_s(times["new"])
        if "old" in times:
            old = median_s(times["old"])
            print(f"{label:<36} {old:7.3f} {new:7.3f} {old / new:7.1f}x   {ran(times['new'])}")
        else:
            print(f"{label:<36} {'':>7} {new:7.3f} {'':>8}   {ran(times['new'])} (no scores: every move is a "
                  "full pass, as before)")
    print(f"of a new T move, softmax(scores / T) and the mean colour at 224 px (56 x 56 x 313) take {numpy_ms:.1f} ms")
    print(f"bare OpenCV forward pass to the scores at 224 px, same size as before: {bare_s:.3f} s "
          "(a size move cannot answer faster than one pass at the new size)")
    for label, times in rows:
        if label.startswith("OpenCV, size move to 224"):
            print(f"RATIO new size move to 224 px / bare forward pass at 224 px: {median_s(times['new']) / bare_s:.2f}")
        if "old" in times:
            print(f"RATIO old / new answer time, {label}: {median_s(times['old']) / median_s(times['new']):.2f}")
    for label, times in rows:
        if "224 px" in label:
            new = median_s(times["new"])
            verdict = "MET" if new <= GOAL_S else "NOT MET"
            print(f"GOAL answer <= {GOAL_S} s at 224 px, {label}: {verdict} ({new:.3f} s)")


if __name__ == "__main__":
    main()
