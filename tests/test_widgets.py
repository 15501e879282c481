"""Widget callbacks, run without a kernel: move a control, check what the widget shows."""

from __future__ import annotations

from datetime import datetime, timezone
from fractions import Fraction

import cv2
import ipywidgets
import numpy as np
import pytest

import helpers
from helpers.widgets import ColorizeExplorer, UploadColorizer, WipeScrubber, WipeSlider, uploaded_files

pytestmark = pytest.mark.widgets


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_wipe_slider_moves_the_boundary():
    before = np.zeros((60, 200), np.uint8)
    after = np.full((60, 200, 3), (0, 0, 255), np.uint8)
    w = WipeSlider(before, after)
    w.slider.value = 0.25
    shown = decode(w.image.value)
    assert shown[:, :40].mean() < 10 and shown[:, 60:, 2].mean() > 240
    first = w.image.value
    w.slider.value = 0.75
    shown = decode(w.image.value)
    assert w.image.value != first
    assert shown[:, :140].mean() < 10 and shown[:, 160:, 2].mean() > 240


def test_wipe_slider_shrinks_big_pictures_for_display():
    w = WipeSlider(np.zeros((2000, 3000), np.uint8), np.zeros((2000, 3000, 3), np.uint8), max_side=600)
    assert decode(w.image.value).shape == (400, 600, 3)


def test_explorer_reacts_to_each_control(tiny_model, gray_image):
    loaded = []

    def load(variant):
        loaded.append(variant)
        return helpers.load_model(model_dir=tiny_model)

    ex = ColorizeExplorer(gray_image, helpers.load_model(model_dir=tiny_model), ["v2", "v2_norebal"], load_net=load)
    shown = {"start": ex.image.value}
    ex.temperature.value = 1.0
    shown["hot"] = ex.image.value
    assert "T = 1" in ex.status.value
    ex.size.value = 320
    shown["big"] = ex.image.value
    ex.variant.value = "v2_norebal"
    assert len(set(shown.values())) == 3
    assert loaded == ["v2_norebal"]  # v2 is the network passed in
    # the picture is the photo and its colourisation side by side
    assert decode(ex.image.value).shape[1] > 2 * gray_image.shape[1]


def test_explorer_colours_follow_the_temperature(tiny_model, gray_image):
    ex = ColorizeExplorer(gray_image, helpers.load_model(model_dir=tiny_model))
    ex.temperature.value = 0.05
    vivid = helpers.photo.compare.colourfulness(ex.result())
    ex.temperature.value = 1.0
    washed = helpers.photo.compare.colourfulness(ex.result())
    assert washed < vivid


def test_explorer_remembers_results(tiny_model, gray_image):
    ex = ColorizeExplorer(gray_image, helpers.load_model(model_dir=tiny_model))
    first = ex.image.value
    ex.temperature.value = 0.1
    assert ex.seconds > 0 and not ex.from_memory
    ex.temperature.value = helpers.DEFAULT_TEMPERATURE
    assert ex.from_memory and not ex.network_ran and "from memory" in ex.status.value
    assert ex.image.value == first


class CountingNet:
    """An OpenCV net that counts its forward passes (by name or not); everything else is passed on."""

    def __init__(self, net):
        self._net = net
        self.forwards = 0

    def forward(self, *names):
        self.forwards += 1
        return self._net.forward(*names)

    def __getattr__(self, name):
        return getattr(self._net, name)


class ColourOnlyNet:
    """Like a fast back end of helpers.backends: ab out, a temperature of its own, no scores."""

    def __init__(self, net):
        self._net = net
        self.forwards = 0

    def setInput(self, blob):
        self._net.setInput(blob)

    def forward(self):
        self.forwards += 1
        return self._net.forward()

    def set_temperature(self, temperature):
        helpers.set_temperature(self._net, temperature)

    def get_temperature(self):
        return helpers.get_temperature(self._net)


def test_the_explorer_shows_a_busy_sign_while_the_network_runs_and_only_then(tiny_model, gray_image):
    """A size move took 1-4 s with nothing on the page saying so."""
    net = CountingNet(helpers.load_model(model_dir=tiny_model))
    ex = ColorizeExplorer(gray_image, net)
    lines = []
    ex.status.observe(lambda change: lines.append((change["new"], net.forwards)), names="value")
    ex.size.value = 288
    assert [forwards for line, forwards in lines if "working" in line] == [1]  # shown before the run
    assert "working" not in lines[-1][0] and "288 px" in lines[-1][0] and net.forwards == 2
    lines.clear()
    ex.temperature.value = 0.2  # kept scores: nothing to wait for
    ex.size.value = 224  # a picture shown before
    assert lines and not any("working" in line for line, _ in lines)
    assert "<br>" in ex.status.value  # two lines: the settings, then the time and what ran


def test_a_temperature_move_does_not_run_the_network(tiny_model, gray_image):
    net = CountingNet(helpers.load_model(model_dir=tiny_model))
    ex = ColorizeExplorer(gray_image, net)
    assert net.forwards == 1 and ex.network_ran and "network ran" in ex.status.value
    shown = {ex.image.value}
    for t in (0.05, 0.2, 1.0):
        ex.temperature.value = t
        shown.add(ex.image.value)
        assert not ex.network_ran and not ex.from_memory
        assert "network NOT run" in ex.status.value and f"T = {t:.2g}" in ex.status.value
    assert net.forwards == 1 and len(shown) == 4
    ex.size.value = 288  # a new size: the network runs once...
    assert net.forwards == 2 and ex.network_ran
    ex.temperature.value = 0.2  # ...and its scores serve every temperature at that size
    assert net.forwards == 2 and not ex.network_ran


@pytest.mark.parametrize("size", [160, 224, 288])
def test_explorer_shows_what_colorize_gives(make_tiny_model, gray_image, size):
    model_dir = make_tiny_model(seed=5)
    ex = ColorizeExplorer(gray_image, helpers.load_model(model_dir=model_dir))
    reference = helpers.load_model(model_dir=model_dir)
    ex.size.value = size
    for t in (0.05, 0.3, 1.0):
        ex.temperature.value = t
        expected = helpers.colorize(ex.photo, reference, temperature=t, size=size)
        assert np.abs(ex.result().astype(int) - expected).max() <= 1  # float rounding, one level at most
    assert not np.array_equal(ex.result(), helpers.colorize(ex.photo, reference, temperature=0.05, size=size))


def test_explorer_works_with_a_network_without_scores(tiny_model, gray_image):
    net = ColourOnlyNet(helpers.load_model(model_dir=tiny_model, temperature=0.5))
    ex = ColorizeExplorer(gray_image, net)
    assert net.forwards == 1
    ex.temperature.value = 0.1  # no scores to keep: the network runs in full for every T
    assert net.forwards == 2 and ex.network_ran and "no scores" in ex.status.value
    assert net.get_temperature() == pytest.approx(0.5)  # put back after use
    expected = helpers.colorize(ex.photo, helpers.load_model(model_dir=tiny_model), temperature=0.1)
    np.testing.assert_array_equal(ex.result(), expected)


def test_explorer_leaves_the_shared_network_as_it_was(tiny_model, gray_image):
    net = helpers.load_model(model_dir=tiny_model, temperature=0.5)
    before = helpers.colorize(gray_image, net)
    ex = ColorizeExplorer(gray_image, net)
    ex.temperature.value = 0.05
    ex.size.value = 320
    assert helpers.get_temperature(net) == pytest.approx(0.5)
    np.testing.assert_array_equal(helpers.colorize(gray_image, net), before)


IPYWIDGETS_7 = ipywidgets.__version__.startswith("7.")


def upload_item(name: str, content: bytes):
    """A FileUpload value holding one file, as the installed ipywidgets gives it (7.7 is Google Colab's)."""
    if IPYWIDGETS_7:
        return {name: {"metadata": {"name": name, "type": "image/png", "size": len(content),
                                    "lastModified": 0}, "content": content}}
    return ({"name": name, "type": "image/png", "size": len(content),
             "content": memoryview(content), "last_modified": datetime.now(timezone.utc)},)


def test_uploaded_files_are_read_from_either_ipywidgets():
    eight = ({"name": "a.png", "content": memoryview(b"12")}, {"name": "b.jpg", "content": memoryview(b"3")})
    seven = {"a.png": {"metadata": {"name": "a.png"}, "content": b"12"}, "b.jpg": {"metadata": {}, "content": b"3"}}
    assert uploaded_files(eight) == uploaded_files(seven) == [("a.png", b"12"), ("b.jpg", b"3")]


def test_upload_colourises_and_saves(tiny_model, gray_image, tmp_path):
    box = UploadColorizer(helpers.load_model(model_dir=tiny_model), out_dir=tmp_path)
    png = cv2.imencode(".png", gray_image)[1].tobytes()
    box.upload.set_trait("value", upload_item("../../grandma.png", png))
    saved = tmp_path / "grandma_color.png"
    assert saved.is_file()  # saved inside out_dir, whatever folder the name claimed
    assert cv2.imread(str(saved)).shape == (*gray_image.shape, 3)
    assert "saved" in box.status.value
    assert isinstance(box.result.children[0], WipeSlider)


def test_upload_of_a_non_image_says_so(tiny_model, tmp_path):
    box = UploadColorizer(helpers.load_model(model_dir=tiny_model), out_dir=tmp_path)
    box.upload.set_trait("value", upload_item("notes.png", b"hello"))
    assert "Could not read 'notes.png'" in box.status.value
    assert list(tmp_path.iterdir()) == []


def test_upload_with_transparency_keeps_it(tiny_model, gray_image, tmp_path):
    """An upload is read like a file: a transparent PNG's hidden pixels are not colourised as black."""
    bgra = np.dstack([cv2.cvtColor(gray_image, cv2.COLOR_GRAY2BGR), np.zeros_like(gray_image)])
    bgra[:, : gray_image.shape[1] // 2, 3] = 255  # left half opaque, right half transparent (hidden: black)
    bgra[:, gray_image.shape[1] // 2:, :3] = 0
    box = UploadColorizer(helpers.load_model(model_dir=tiny_model), out_dir=tmp_path)
    png = cv2.imencode(".png", bgra)[1].tobytes()
    box.upload.set_trait("value", upload_item("logo.jpg", png))  # named .jpg, is PNG
    saved = tmp_path / "logo_color.png"  # JPEG has no transparency: saved as PNG
    result = cv2.imread(str(saved), cv2.IMREAD_UNCHANGED)
    assert result.shape == (*gray_image.shape, 4)
    np.testing.assert_array_equal(result[..., 3], bgra[..., 3])
    shown = box.result.children[0]
    assert isinstance(shown, WipeSlider)


def test_available_variants(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    assert helpers.available_variants() == ["v2"]
    monkeypatch.delenv("COLORIZE_MODEL_DIR")
    monkeypatch.setattr(helpers.model.model_files, "MODEL_DIR", tmp_path)
    assert helpers.available_variants() == []
    for name in ("colorization_deploy_v2.prototxt", "pts_in_hull.npy", "colorization_release_v2_norebal.caffemodel"):
        (tmp_path / name).write_bytes(b"x")
    assert helpers.available_variants() == ["v2_norebal"]


@pytest.mark.parametrize("bad", [np.zeros((10, 10)), np.zeros((20, 20))])
def test_wipe_slider_refuses_mismatched_images(bad):
    with pytest.raises(ValueError, match="differ in size"):
        WipeSlider(np.zeros((10, 12)), bad)


def test_frame_scrubber_shows_the_chosen_frame(tmp_path):
    from helpers.widgets import FrameScrubber
    from tests.videos import make_video

    clip = make_video(tmp_path / "clip.mp4")
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    for number, colour in [(1, (0, 0, 255)), (2, (255, 0, 0))]:  # frame 3 is not colourised yet
        cv2.imwrite(str(frames_dir / f"frame_{number:06d}.png"), np.full((48, 64, 3), colour, np.uint8))
    scrubber = FrameScrubber(clip, frames_dir)
    assert scrubber.slider.max == 12

    def right_half():
        shown = decode(scrubber.image.value)
        return shown[:, shown.shape[1] // 2 + 10:].reshape(-1, 3).mean(axis=0)

    assert right_half()[2] > 200  # frame 1: red
    scrubber.slider.value = 2
    assert right_half()[0] > 200  # frame 2: blue
    scrubber.slider.value = 3
    assert np.allclose(right_half(), 128, atol=8)  # not colourised yet: grey


def test_video_grid_labels_each_player_in_order(tmp_path):
    from helpers.widgets import video_grid

    clips = {}
    for label, content in [("original", b"first clip"), ("colourised <b>", b"second clip")]:
        path = tmp_path / f"{len(clips)}.mp4"
        path.write_bytes(content)
        clips[label] = path
    grid = video_grid(clips, width=300)
    labels = [cell.children[0].value for cell in grid.children]
    assert labels == ["<b>original</b>", "<b>colourised &lt;b&gt;</b>"]  # in order, escaped
    players = [cell.children[1] for cell in grid.children]
    assert [p.value for p in players] == [b"first clip", b"second clip"]  # each file, in order
    assert all(p.format == "mp4" and p.controls and not p.autoplay and p.width == "300" for p in players)
    assert grid.layout.grid_template_columns == "repeat(2, 300px)"


def test_a_player_keeps_the_video_out_of_the_saved_notebook(tmp_path):
    """Embedded as base64, the clip made notebook 03 16 MB on disk: a widget's bytes go to the page only."""
    import nbformat

    from helpers.widgets import player

    clip = tmp_path / "clip.MOV"
    clip.write_bytes(b"\0" * 500_000)
    shown = player(clip)
    assert shown.format == "mp4" and len(shown.value) == 500_000
    if hasattr(shown, "_repr_mimebundle_"):  # ipywidgets 8
        bundle = shown._repr_mimebundle_()
    else:  # ipywidgets 7 publishes the same from _ipython_display_
        bundle = {"text/plain": repr(shown)[:110], "application/vnd.jupyter.widget-view+json": {
            "version_major": 2, "version_minor": 0, "model_id": shown.model_id}}
    output = nbformat.v4.new_output("display_data", data=bundle)  # what a notebook saves
    assert len(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[output])]))) < 5000
    with pytest.raises(ValueError, match="convert it to MP4"):
        (tmp_path / "clip.avi").write_bytes(b"x")
        player(tmp_path / "clip.avi")


def test_frame_scrubber_labels_the_two_sides(tmp_path):
    from helpers.widgets import FrameScrubber
    from tests.videos import make_video

    clip = make_video(tmp_path / "clip.mp4", n=3)
    scrubber = FrameScrubber(clip, tmp_path / "none")
    assert "original, frame 1" in scrubber.caption.value and "colourised" in scrubber.caption.value
    scrubber.slider.value = 3
    assert "original, frame 3" in scrubber.caption.value


def test_frame_scrubber_reads_a_colourised_video_from_its_first_frame(tmp_path):
    """A preview that starts at frame 5 shows beside the original's frame 5 and on; frames it lacks are grey."""
    from helpers.media.encode import write_video
    from helpers.widgets import FrameScrubber
    from tests.videos import make_video

    clip = make_video(tmp_path / "clip.mp4")
    colours = [(0, 0, 255), (255, 0, 0), (0, 255, 0)]
    write_video(tmp_path / "preview.mp4", [(i, 1, np.full((48, 64, 3), c, np.uint8)) for i, c in enumerate(colours)],
                time_base=Fraction(1, 12), fps=12)
    scrubber = FrameScrubber(clip, tmp_path / "preview.mp4", first=5)

    def right_half():
        shown = decode(scrubber.image.value)
        return shown[:, shown.shape[1] // 2 + 10:].reshape(-1, 3).mean(axis=0)

    scrubber.slider.value = 4
    assert np.allclose(right_half(), 128, atol=8)
    for number, channel in [(5, 2), (6, 0), (7, 1)]:
        scrubber.slider.value = number
        assert right_half()[channel] > 200, number
    scrubber.slider.value = 8
    assert np.allclose(right_half(), 128, atol=8)


def test_wipe_scrubber_shows_the_chosen_frame_of_both_clips():
    before = [np.full((40, 60), 10 * i, np.uint8) for i in range(5)]  # frame i: gray level 10 i
    after = [np.full((40, 60, 3), (0, 0, 200 + 10 * i), np.uint8) for i in range(5)]
    w = WipeScrubber(before, after)
    assert (w.frame.min, w.frame.max) == (0, 4) and w.frame in w.children
    w.frame.value = 3
    w.slider.value = 0.25
    shown = decode(w.image.value)
    assert abs(shown[:, :10].mean() - 30) < 3 and abs(shown[:, 20:, 2].mean() - 230) < 3
    with pytest.raises(ValueError, match="as many frames"):
        WipeScrubber(before, after[:2])
