"""Notebook 04 (faster video): a complete lesson, and what its cells print agrees with what its text says.

The notebook itself runs in tests/test_notebooks.py (every notebook, top to bottom) and in
tests/test_browser.py; the ``executed`` fixture runs it once per module, with the stand-in model.
"""

from __future__ import annotations

import re

import nbformat

from helpers.paths import NOTEBOOKS
from tests import test_notebooks
from tests.test_notebooks import text_of

executed = test_notebooks.executed
"""The notebooks run once per module (the fixture of tests/test_notebooks.py, here for this module)."""

NOTEBOOK = NOTEBOOKS / "04_faster_video.ipynb"


def _markdown(nb: nbformat.NotebookNode) -> list[str]:
    """Each markdown cell without its fenced code blocks (a '#' there is a comment, not a heading)."""
    return [re.sub(r"```.*?```", "", c.source, flags=re.S) for c in nb.cells if c.cell_type == "markdown"]


def test_04_has_the_skeleton_of_a_lesson():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    markdown = _markdown(nb)
    headings = [line for text in markdown for line in text.splitlines() if line.startswith("#")]
    assert headings[0].startswith("# 04 · ")
    assert headings[1:3] == ["## Parameters", "## Set-up"]
    numbered = [h for h in headings if re.match(r"## \d+\. ", h)]
    assert [int(re.match(r"## (\d+)\.", h)[1]) for h in numbered] == list(range(1, len(numbered) + 1))
    assert numbered[-1].endswith("Try it yourself") and len(numbered) >= 5
    assert headings[-3:] == ["## Summary", "## References", "## Next"]

    first = markdown[0]
    assert "mybinder.org/badge_logo.svg" in first and "You will learn to" in first
    assert "[03_video.ipynb](03_video.ipynb)" in first and "the whole notebook takes" in first
    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and "MAX_FRAMES = None" in parameters[0].source  # tests shorten the run there

    # every "Try it" item has a collapsed hint or solution of its own
    try_it = next(text for text in markdown if "Try it yourself" in text)
    items = re.split(r"^\d+\. ", try_it, flags=re.M)[1:]
    assert 3 <= len(items) <= 5
    for item in items:
        assert re.search(r"<details><summary>(Hint|Solution)</summary>.*</details>", item, re.S), item[:80]

    references = markdown[-1][:markdown[-1].index("## Next")]
    for link in ("https://arxiv.org/abs/1603.08511", "https://arxiv.org/abs/1603.03590", "https://docs.dask.org",
                 "https://en.wikipedia.org/wiki/Bfloat16_floating-point_format", "Sundaram"):
        assert link in references
    navigation = markdown[-1][markdown[-1].index("## Next"):]
    assert "Previous: [03_video.ipynb](03_video.ipynb)" in navigation and "](05_restoration.ipynb)" in navigation
    assert "](01_lab_colour_space.ipynb)" in navigation


def test_04_text_points_at_its_own_sections_and_claims_no_speeds():
    """'section N' means this notebook's section N unless the sentence names notebook 03; and the text
    quotes no speeds: only the cells' output does (the draft's table of frames/s came from another machine)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", "\n".join(_markdown(nb)), re.M)}
    everything = "\n".join(c.source for c in nb.cells)
    for match in re.finditer(r"section (\d+)", everything):
        before = everything[max(0, match.start() - 40):match.start()]
        if "notebook 03" not in before and "(03_video.ipynb)" not in before:
            assert int(match[1]) in sections, everything[match.start() - 60:match.end() + 20]
    prose = "\n".join(_markdown(nb))
    assert not re.search(r"twice as fast|\d+(\.\d+)?x (faster|OpenCV)|\d+(\.\d+)? frames/s|\d+(\.\d+)? ms a pass",
                         prose)


def test_04_flow_by_hand_is_what_helpers_motion_computes(executed):
    text = text_of(executed(NOTEBOOK))
    # the hand-made maps, forward-backward check and remap are helpers.media.motion's, to the bit
    assert "helpers.media.motion on the same frames: the same maps: True | trusted pixels that differ: 0" in text
    assert "motion.warp(ab_a, maps) equals the hand-made remap: True" in text
    gray = re.search(r"mean \|Δ gray\|\s+([\d.]+) not moved,\s+([\d.]+) moved along the flow", text)
    assert float(gray[2]) < float(gray[1]) / 2  # "moving A brings it much closer to B": the flow is right
    colour = re.search(r"mean \|Δab\|\s+([\d.]+) not moved,\s+([\d.]+) moved along the flow", text)
    assert colour and all(0 < float(value) < 200 for value in colour.groups())  # numbers, not nan
    untrusted = re.search(r"untrusted: ([\d.]+)% of the pixels; .* mean \|Δab\| ([\d.]+)$", text, re.M)
    assert untrusted and 0 < float(untrusted[1]) < 50 and float(untrusted[2]) < 200


def test_04_fast_mode_saves_network_passes_as_its_keyframe_list_says(executed):
    from tests.conftest import PREVIEW_FRAMES

    text = text_of(executed(NOTEBOOK))
    listed = re.search(r"^(\d+) frames, (\d+) network passes; the keyframes among them:", text, re.M)
    assert int(listed[1]) == PREVIEW_FRAMES
    assert re.search(r"^  frame   0: first frame$", text, re.M)
    rows = {m[1]: (int(m[2]), int(m[3]), float(m[4])) for m in
            re.finditer(r"^(exact|fast)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+$", text, re.M)}
    assert rows["exact"][:2] == (PREVIEW_FRAMES, PREVIEW_FRAMES)  # exact mode: a pass per frame
    assert rows["fast"][0] == PREVIEW_FRAMES and rows["fast"][1] == int(listed[2])  # the propagator alone = fast mode
    ratio = re.search(r"fast mode: (\d+) times fewer network passes, ([\d.]+) times exact mode's speed", text)
    assert int(ratio[1]) == round(rows["exact"][1] / rows["fast"][1]) > 1 and float(ratio[2]) > 0


def test_04_says_which_runtime_runs_the_network_once_and_explains_it(executed):
    """The set-up's choice is printed once (the Dask workers used to print it again, each), and section 3's
    table marks the same runtime, with the same speed and the limits of helpers.backends."""
    from helpers.backends import DEFAULT_TOLERANCE
    from helpers.backends.auto import FP32_TOLERANCE

    text = text_of(executed(NOTEBOOK))
    choices = re.findall(r"^Back end (\w+ \w+): .*?([\d.]+)x OpenCV's speed", text, re.M)
    assert len(choices) == 1, choices
    chosen, speed = choices[0]
    assert re.search(rf"^Model \({chosen}\):", text, re.M)
    assert f"limits: fp32 within {FP32_TOLERANCE}, bf16 and int8 within {DEFAULT_TOLERANCE}" in text
    row = re.search(rf"^{chosen}\s+([\d.]+)\s+(\d+)\s+([\d.]+)x  <- chosen$", text, re.M)
    assert row and row[3] == speed
    assert chosen == "opencv fp32" or float(row[1]) <= DEFAULT_TOLERANCE
    distance = re.search(rf"astronaut.jpg, {chosen} vs opencv fp32: mean distance ([\d.]+), 99% of the pixels "
                         r"below ([\d.]+); ([\d.]+)% of the pixels above 2.3", text)
    assert distance and float(distance[1]) <= float(distance[2])


def test_04_spreads_the_work_over_two_dask_workers(executed):
    """Section 4: a 2-worker LocalCluster on 127.0.0.1 sends back the frames of section 2's one process."""
    from helpers.media.probe import probe_video
    from helpers.video.segments import segment_cells, segment_length
    from tests.conftest import PREVIEW_FRAMES

    text = text_of(executed(NOTEBOOK))
    assert re.search(r"Dask: 2 worker\(s\); dashboard: http://127\.0\.0\.1:\d+/status", text)
    fps = probe_video(NOTEBOOKS.parent / "input_video" / "sample_clip.mp4").fps
    count = len(segment_cells(0, PREVIEW_FRAMES, segment_length(fps, 32)))
    assert re.search(rf"{PREVIEW_FRAMES} frames in [\d.]+ s on 2 workers: {count} segment\(s\)", text)
    assert f"the same bytes as section 2's one-process segments: {count} of {count}" in text
