"""Run every notebook top to bottom, as a learner would, against a stand-in model folder."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from helpers.paths import NOTEBOOKS
from tests.conftest import prepare_notebook

NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))
SMOKE = ("01_lab_colour_space", "02_photo")
"""The notebooks every lane of .ci/run runs (each Python, each OpenCV); the main lane runs them all."""
NEEDS_NO_WEIGHTS = ("01_lab_colour_space",)
"""Run without COLORIZE_MODEL_DIR: where model/ holds no weights (CI), they show that they need none."""


@pytest.fixture(scope="module")
def executed(notebook_model, tmp_path_factory):
    """Each notebook executed once; the kernel inherits COLORIZE_MODEL_DIR, so nothing is downloaded.
    Notebook 01 runs without it: it needs no weights (a first lesson works offline, before any download)."""
    cache: dict[Path, nbformat.NotebookNode] = {}

    def run(path: Path) -> nbformat.NotebookNode:
        if path not in cache:
            with pytest.MonkeyPatch.context() as mp:
                if path.stem in NEEDS_NO_WEIGHTS:
                    mp.delenv("COLORIZE_MODEL_DIR", raising=False)
                    mp.setenv("COLORIZE_MODEL_MIRROR", str(tmp_path_factory.mktemp("no-mirror")))
                else:
                    mp.setenv("COLORIZE_MODEL_DIR", str(notebook_model))
                # results go to a temporary folder, never among the learner's own
                mp.setenv("COLORIZE_OUTPUT_DIR", str(tmp_path_factory.mktemp("outputs")))
                nb = nbformat.read(path, as_version=4)
                prepare_notebook(nb)
                client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                        resources={"metadata": {"path": str(path.parent)}})
                client.execute()
                cache[path] = nb
        return cache[path]

    return run


def widget_models(nb: nbformat.NotebookNode, name: str) -> list[dict]:
    """The widgets of ``name`` (e.g. "VideoModel") that the executed notebook made: {"id", "state"} each."""
    states = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return [{"id": key, "state": model["state"]} for key, model in states.items() if model["model_name"] == name]


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
            parts.append(output.get("data", {}).get("text/markdown", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=[pytest.mark.smoke] if p.stem in SMOKE else [])
                                  for p in NOTEBOOK_FILES])
def test_notebook_runs_top_to_bottom(path, executed):
    nb = executed(path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert any(set(o.get("data", {})) & {"image/png", "image/jpeg"} for c in nb.cells for o in c.get("outputs", [])), \
        "a notebook of this tutorial shows at least one figure"


@pytest.mark.smoke
def test_photo_notebook_step_by_step_matches_the_helper(executed):
    nb = executed(NOTEBOOKS / "02_photo.ipynb")
    text = text_of(nb)
    assert "largest difference between the two: 0 grey levels" in text
    assert "conv8_313 (scores): (1, 313, 56, 56)" in text and "class8_ab (colour): (1, 2, 56, 56)" in text
    assert "STAND-IN model with random weights" in text  # the learner is told why the colours are noise
    assert re.search(r"OpenCV \d+\.\d+\.\d+ \(opencv-python-headless .*\): reads the model as (Caffe|ONNX)", text)
    # the ONNX file holds both steps the Caffe model leaves to its user, on either OpenCV
    assert "inputs:  ['data_l', 'inv_temperature']" in text and "outputs: ['class8_ab', 'conv8_313']" in text
    assert "class8_ab's weights: (2, 313, 1, 1) = the bin centres: True" in text
    by_hand = re.search(r"by hand, T = 0.38:  ab = \((.*)\)", text).group(1)
    assert f"the network says: ab = ({by_hand})" in text  # the two layers do what the text says
    rows = re.findall(r"^T = (1.00|0.38|0.10):  ab = \(([-\d. ]+),([-\d. ]+)\)", text, re.M)
    made_up = [(float(a), float(b)) for _, a, b in rows]
    assert len(made_up) == 3 and len(set(made_up)) == 3  # T visibly changes the made-up distribution's colour


def test_photo_notebook_upload_box_comes_before_the_link_to_03():
    nb = nbformat.read(NOTEBOOKS / "02_photo.ipynb", as_version=4)
    sources = [c.source for c in nb.cells]
    upload = next(i for i, s in enumerate(sources) if "UploadColorizer(net)" in s)
    link = next(i for i, s in enumerate(sources) if "[03_video.ipynb](03_video.ipynb)" in s)
    assert upload < link and "upload" in sources[upload - 1].lower()


def test_video_notebook_shows_the_plain_method_with_sound(executed):
    """Section 2 decodes, colourises and saves frames by hand, then reassembles them with the sound."""
    from helpers.media.decode import read_frames
    from helpers.media.probe import probe_video
    from tests.conftest import PLAIN_FRAMES

    nb = executed(NOTEBOOKS / "03_video.ipynb")
    text = text_of(nb)
    folder = Path(re.search(r"\d+ frames in (\S+sample_clip_plain)", text).group(1))
    assert sorted(p.name for p in folder.glob("frame_*.png")) == [f"frame_{n:06d}.png" for n in
                                                                   range(1, PLAIN_FRAMES + 1)]
    plain = folder.parent.parent / "colorized_videos" / "sample_clip_plain.mp4"
    assert len(list(read_frames(plain))) == PLAIN_FRAMES and probe_video(plain).has_audio
    labels = " ".join(w["state"].get("value", "") for w in widget_models(nb, "HTMLModel"))
    for label in ("original", "colourised", "smoothed (strength"):
        assert f"<b>{label}" in labels  # the players are labelled
    assert len(widget_models(nb, "VideoModel")) >= 6  # players, not videos embedded in the notebook
    assert "<video" not in "".join(o.get("data", {}).get("text/html", "") for c in nb.cells
                                   for o in c.get("outputs", []))


def test_video_notebook_works_in_segments_and_shows_why(executed):
    """Section 6: one pass into segments, the disk arithmetic for a film from sizes measured on disk, a
    segment that plays alone, and resuming by segment; section 8 measures the flicker of the videos."""
    from helpers.media.decode import read_frames
    from helpers.media.probe import probe_video
    from helpers.video.segments import segment_cells, segment_length
    from tests.conftest import PREVIEW_FRAMES

    nb = executed(NOTEBOOKS / "03_video.ipynb")
    text = text_of(nb)
    info = probe_video(NOTEBOOKS.parent / "input_video" / "sample_clip.mp4")
    out = re.search(r"^(\S+sample_clip_color\.mp4): (\d+) frames, ([\d.]+) s$", text, re.M)
    assert int(out[2]) == PREVIEW_FRAMES and probe_video(out[1]).has_audio
    assert len(list(read_frames(out[1]))) == PREVIEW_FRAMES
    cells = segment_cells(0, PREVIEW_FRAMES, segment_length(info.fps))  # the grid: about 4 s a segment
    assert re.search(rf"^segments in \S+: {len(cells)} computed \({PREVIEW_FRAMES} frames, {PREVIEW_FRAMES} network "
                     rf"passes\), 0 reused \(0 frames\), [\d.]+ MB$", text, re.M)
    assert "also holds frames as PNG" not in text  # section 3's PNG frames have a folder of their own

    # the listing: the grid's segments, as the files are named, with their sizes
    listed = re.findall(r"^(segment_(\d{6})-(\d{6})\.mp4): frames (\d+) to (\d+), ([\d.]+) MB$", text, re.M)
    assert [(int(a), int(b)) for _, a, b, _, _, _ in listed] == [(c.start + 1, c.stop) for c in cells]
    assert all(int(a) == int(c) and int(b) == int(d) for _, a, b, c, d, _ in listed)

    # the disk arithmetic, from the files the notebook made
    png_dir = Path(re.search(r"frames computed, \d+ reused, in (\S+)", text)[1])
    pngs = sorted(png_dir.glob("frame_*.png"))
    assert len(pngs) == PREVIEW_FRAMES
    measured_png = sum(p.stat().st_size for p in pngs) / 1e6 / len(pngs)
    sizes = re.search(r"one frame of this clip \((\d+) x (\d+)\): ([\d.]+) MB as PNG, ([\d.]+) MB in a segment: "
                      r"(\d+) times less", text)
    assert (int(sizes[1]), int(sizes[2])) == (info.width, info.height)
    png_mb, segment_mb = float(sizes[3]), float(sizes[4])
    assert abs(png_mb - measured_png) < 0.001
    assert png_mb > 5 * segment_mb  # the point of the section: segments take far less disk than PNG frames
    film = re.search(r"a 90-minute film at ([\d.]+) frames/s, ([\d,]+) frames: ([\d.]+) (GB|MB) of PNG frames, "
                     r"([\d.]+) (GB|MB) of segments", text)
    frames = int(film[2].replace(",", ""))
    assert frames == round(90 * 60 * info.fps)

    def mb(number: str, unit: str) -> float:
        return float(number) * (1000 if unit == "GB" else 1)

    assert abs(mb(film[3], film[4]) - frames * png_mb) <= 0.01 * frames * png_mb + 100
    assert abs(mb(film[5], film[6]) - frames * segment_mb) <= 0.01 * frames * segment_mb + 100
    assert mb(film[3], film[4]) > 5 * mb(film[5], film[6])

    # a segment plays alone, without sound; the page embeds it
    first = re.search(r"^(segment_\d{6}-\d{6}\.mp4): \d+ x \d+, .*, no sound$", text, re.M)
    assert first and first[1] == listed[0][0]
    shown = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] for c in nb.cells
             if "player(first_segment)" in c.source for o in c.get("outputs", []) if "data" in o]
    assert [model_id in {m["id"] for m in widget_models(nb, "VideoModel")} for model_id in shown] == [True]

    # resuming: the deleted segment is computed again, the others are reused
    again = re.search(r"deleted (segment_\S+\.mp4), then ran again: 1 segment computed \((\d+) frames\), "
                      r"(\d+) reused \((\d+) frames\)", text)
    assert again[1] == listed[-1][0]
    assert int(again[2]) == len(cells[-1]) and int(again[3]) == len(cells) - 1
    assert int(again[2]) + int(again[4]) == PREVIEW_FRAMES

    # section 8: flicker of the videos (H.264), against the same colours as PNG frames; smoothing lowers it
    flicker = {name: float(value) for name, value in
               re.findall(r"^(PNG frames \(before compression\)|video|smoothed video) +flicker +([\d.]+)", text, re.M)}
    assert set(flicker) == {"PNG frames (before compression)", "video", "smoothed video"}
    assert abs(flicker["video"] - flicker["PNG frames (before compression)"]) < 0.25 * flicker["video"]
    assert flicker["smoothed video"] < flicker["video"]


def test_notebooks_follow_the_skeleton():
    for path in NOTEBOOK_FILES:
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        assert first.cell_type == "markdown" and first.source.startswith("# ")
        assert "mybinder.org/badge_logo.svg" in first.source
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "Try it yourself" in markdown
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        for forbidden in ("cv2.imshow", "argparse", "exit(", "sys.path"):
            assert forbidden not in code, f"{path.name} uses {forbidden}"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: outputs must be stripped"


def try_it_section(markdown: str) -> str:
    """The "Try it yourself" section of a notebook's markdown: from its heading to the next heading."""
    start = re.search(r"^## (\d+\. )?Try it yourself$", markdown, re.M)
    assert start, "no '## Try it yourself' section"
    end = re.search(r"^## ", markdown[start.end():], re.M)
    return markdown[start.end(): start.end() + end.start() if end else None]


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_each_notebook_is_a_lesson_with_goals_summary_hints_references_and_navigation(path):
    """What a teacher needs: learning goals, a summary, a hint or solution for every "Try it" item
    (collapsed), references with links, the way back and forward, and what to do when reopened."""
    nb = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "you will learn" in nb.cells[0].source.lower() and "Run All Cells" in nb.cells[0].source
    assert "](glossary.md)" in markdown  # where the bold words are explained
    for heading in ("## Set-up", "## Summary", "## References"):
        assert re.search(rf"^{heading}$", markdown, re.M), f"{path.name}: no {heading}"
    items = try_it_section(markdown)
    tries = re.findall(r"^\d+\. ", items, re.M)
    answers = re.findall(r"<details><summary>(Hint|Solution)</summary>", items)
    assert len(tries) >= 3 and len(answers) == len(tries), (path.name, len(tries), len(answers))
    references = markdown[markdown.index("## References"):]
    assert len(re.findall(r"\]\(https?://", references)) >= 2
    number = int(path.stem[:2])
    for other in NOTEBOOK_FILES:  # the neighbours are links, not just names
        if abs(int(other.stem[:2]) - number) == 1:
            assert f"]({other.name})" in markdown, f"{path.name} does not link to {other.name}"
    assert len(re.findall(r"^## ", markdown, re.M)) == len(set(re.findall(r"^## .*$", markdown, re.M)))
    names = {other.stem[:2]: other.name for other in NOTEBOOK_FILES}
    for cell in (c for c in nb.cells if c.cell_type == "markdown"):  # "notebook 02" is a link where it is named
        for named in set(re.findall(r"[Nn]otebook (0\d)\b", cell.source)) - {path.stem[:2]}:
            assert f"]({names[named]})" in cell.source, (path.name, named, cell.source[:80])


def test_the_glossary_explains_the_words_the_issue_named_and_says_where_each_is_taught():
    glossary = (NOTEBOOKS / "glossary.md").read_text()  # beside the notebooks: JupyterLab opens their links
    entries = dict(re.findall(r"^\*\*(.+?)\*\* — (.+?)(?=^\*\*|\Z)", glossary, re.M | re.S))
    for word in ("Gamut", "Logits (scores)", "Softmax", "Annealed mean", "Optical flow", "Keyframe",
                 "bf16 (bfloat16)", "int8", "Lab (L, a, b)", "Temperature (T)"):
        assert word in entries, word
    for word, text in entries.items():
        assert re.search(r"Notebook 0\d", text), f"{word}: where is it taught?"
        for taught in re.findall(r"[Nn]otebook (0\d)", text):
            assert list(NOTEBOOKS.glob(f"{taught}_*.ipynb")), f"{word} names notebook {taught}, which does not exist"


def test_the_teachers_guide_plans_two_lessons_times_every_notebook_and_links_what_exists():
    guide_path = NOTEBOOKS.parent / "docs" / "teaching.md"
    guide = guide_path.read_text()
    for heading in ("## A 45-minute lesson", "## A 90-minute lesson", "## Before the lesson", "## The classroom app"):
        assert heading in guide
    for path in NOTEBOOK_FILES:  # each notebook in the table, with a measured time
        row = rf"^\| \[{path.stem[:2]} · .*?\]\(\.\./notebooks/{path.name}\) \|.*\| \d+ s"
        assert re.search(row, guide, re.M), path.name
    for target in re.findall(r"\]\((?!https?://)([^)#]+)\)", guide):
        assert (guide_path.parent / target).exists(), target
    assert "python -m bench.notebook_memory" in guide  # how a teacher times their own machine


def png_widths(nb: nbformat.NotebookNode) -> list[int]:
    import base64
    import struct

    return [struct.unpack(">I", base64.b64decode(o["data"]["image/png"])[16:20])[0]
            for c in nb.cells for o in c.get("outputs", []) if o.get("data", {}).get("image/png")]


def test_01_figures_fit_jupyterlab_and_its_text_matches_its_numbers(executed):
    import re

    nb = executed(NOTEBOOKS / "01_lab_colour_space.ipynb")
    widths = png_widths(nb)
    assert len(widths) >= 7 and max(widths) <= 800, widths  # wider figures are shrunk: text under 9 px
    text = text_of(nb)
    # "It starts at (53.24, 80.09, 67.20), which is exactly sRGB red": the picker's own values agree
    assert "(L, a, b) = (53.24, 80.09, 67.20) -> sRGB (255, 0, 0) #ff0000, in gamut: True" in text
    assert "(L, a, b) = (53.00, 80.00, 67.00) -> sRGB (254, 0, 0) #fe0000, in gamut: False (would need G = -2)" in text
    # "a and b have less fine detail, and a smaller part of their variation is fine detail"
    share = {m[0]: int(m[1]) for m in re.findall(r"^(\w): spread .*\((\d+)% of the spread\)", text, re.M)}
    assert share["L"] > share["a"] and share["L"] > share["b"]
    assert float(re.search(r"L has ([\d.]+) times as much fine detail", text).group(1)) > 1.5
    # "in most pixels red is at full strength and blue is gone; only the lightest parts are white"
    wrong = re.search(r"wrong picture: red at its maximum \(255\) in\s+(\d+)% .* no blue at all \(0\) in\s+(\d+)%, "
                      r"pure white in\s+(\d+)%", text)
    assert int(wrong[1]) > 50 and int(wrong[2]) > 50 and int(wrong[3]) < 20
    assert "224 / 56 = 4 per side, so 50,176 / 3,136 = 16 times fewer pixels" in text
    # "the annealed mean ... with about half the mode's colour (half as far from gray)"
    ab = {name: np.array([float(v) for v in m.split()]) for name, m in
          re.findall(r"^(annealed mean|mode) .*\(a, b\) = \[\s*([-\d. ]+?)\s*\]", text, re.M)}
    assert 0.35 < np.hypot(*ab["annealed mean"]) / np.hypot(*ab["mode"]) < 0.65, ab


def test_restoration_notebook_measures_each_method_against_the_clean_truth(executed):
    """Notebook 05's printed scores: each restoration gains more than 3 dB over its damaged clip, the
    helper beats the by-hand average across cuts, and the by-hand dust test finds most added specks."""
    text = text_of(executed(NOTEBOOKS / "05_restoration.ipynb"))
    scores = {name.strip(): float(db) for name, db in re.findall(r"^\s*(.+?): PSNR\s+([\d.]+) dB, SSIM", text, re.M)}
    assert scores["helpers.restoration.deflicker"] > scores["flicker"] + 3
    assert scores["helpers.restoration.deflicker"] > scores["by hand"]
    assert scores["helpers.restoration.dust"] > scores["dust"] + 3
    assert scores["helpers.restoration.scratches"] > scores["scratches"] + 3
    assert scores["helpers.restoration.grain"] > scores["grain"] + 3
    assert scores["all four steps"] > scores["old film"] + 3
    found = re.search(r"(\d+)% of them found", text)
    assert found and int(found.group(1)) >= 80
