"""The command line: python -m helpers photo|fetch, and what every command says about itself."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image, ImageSequence

import helpers
import helpers.cli as cli
import helpers.common.opencv_install
import helpers.model.model_files
import helpers.photo.image_file as image_file
from helpers.cli import main
from helpers.common.image_files import open_image_file
from helpers.common.images import read_image
from helpers.common.opencv_install import OpenCvInstall
from helpers.paths import INPUT_IMAGES, INPUT_VIDEO, REPO_ROOT
from tools.standin_model import PROTOTXT_NAME, PTS_NAME, WEIGHTS_NAME


@pytest.fixture
def model_env(tiny_model, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    return tiny_model


@pytest.fixture
def photos(tmp_path, gray_image):
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), gray_image)
    cv2.imwrite(str(folder / "b.jpg"), gray_image[:50, :71])
    return folder


def test_folder_is_colourised_at_full_resolution(model_env, photos, tmp_path, capsys):
    out = tmp_path / "out" / "new"
    assert main(["photo", str(photos), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_color.png", "b_color.jpg"]
    assert read_image(out / "a_color.png").shape == (97, 130, 3)
    assert read_image(out / "b_color.jpg").shape == (50, 71, 3)
    assert "2 image(s) colourised" in capsys.readouterr().out


def test_temperature_and_size_options_change_the_result(model_env, photos, tmp_path):
    results = {}
    for name, options in {"default": [], "hot": ["--temperature", "1.0"], "big": ["--size", "448"]}.items():
        out = tmp_path / name
        assert main(["photo", str(photos / "a.png"), "--out", str(out), *options]) == 0
        results[name] = read_image(out / "a_color.png")
    assert not np.array_equal(results["default"], results["hot"])
    assert not np.array_equal(results["default"], results["big"])


def test_bad_path_is_reported_and_fails(model_env, tmp_path, capsys):
    assert main(["photo", str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "out")]) == 1
    assert "missing.jpg: no such file or folder" in capsys.readouterr().err


def test_bad_file_in_a_folder_does_not_stop_the_others(model_env, photos, tmp_path, capsys):
    (photos / "c_broken.jpg").write_bytes(b"not a jpeg at all")
    out = tmp_path / "out"
    assert main(["photo", str(photos), "--out", str(out)]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["a_color.png", "b_color.jpg"]
    captured = capsys.readouterr()
    assert "c_broken.jpg" in captured.err
    assert "2 image(s) colourised" in captured.out and "1 failed" in captured.out


def test_inputs_are_never_overwritten(model_env, photos, capsys):
    """Writing into the input folder, where a_color.png already exists as an input."""
    shutil.copy(photos / "a.png", photos / "a_color.png")
    before = (photos / "a_color.png").read_bytes()
    assert main(["photo", str(photos), "--out", str(photos)]) == 0
    assert (photos / "a_color.png").read_bytes() == before
    assert {"a_color_2.png", "a_color_color.png", "b_color.jpg"} <= {p.name for p in photos.iterdir()}


def test_without_a_caffe_reader_photos_come_from_the_onnx_file(tiny_model, photos, tmp_path, monkeypatch):
    """OpenCV 5: the network is written as ONNX beside the weights once, and colours the photos."""
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    monkeypatch.setattr(helpers.model.model_files, "opencv_reads_caffe", lambda: False)
    assert main(["photo", str(photos), "--out", str(tmp_path / "out"), "--backend", "opencv"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_color.png", "b_color.jpg"]
    assert (tiny_model / WEIGHTS_NAME).with_suffix(".onnx").is_file()


def test_a_broken_opencv_is_named_before_any_work(model_env, photos, tmp_path, monkeypatch, capsys):
    broken = OpenCvInstall({"opencv-python-headless": "4.14.0.94", "opencv-python": "5.1.0.95"}, None,
                           "the cv2 folder holds no OpenCV")
    monkeypatch.setattr(helpers.common.opencv_install, "find_opencv", lambda: broken)
    assert main(["photo", str(photos), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "opencv-python-headless 4.14.0.94, opencv-python 5.1.0.95" in err and "--force-reinstall" in err
    assert not (tmp_path / "out").exists()


def test_corrupt_model_is_refused(tiny_model, photos, tmp_path, monkeypatch, capsys):
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model, broken)
    (broken / WEIGHTS_NAME).write_bytes(b"\x0a\xff\xff\xff" * 100)
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(broken))
    assert main(["photo", str(photos), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert WEIGHTS_NAME in err and "damaged" in err
    assert not (tmp_path / "out").exists()


def test_bad_size_is_refused_before_any_work(model_env, photos, tmp_path, capsys):
    for size in ("100", "4096"):
        with pytest.raises(SystemExit) as exit_:
            main(["photo", str(photos), "--out", str(tmp_path / "out"), "--size", size])
        assert exit_.value.code == 2 and "multiple of 8 from 32 to 1024" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_fetch_with_own_model_folder(model_env, capsys):
    assert main(["fetch"]) == 0
    out = capsys.readouterr().out
    assert f"COLORIZE_MODEL_DIR is set: using the model files in {model_env} as they are" in out
    assert "nothing is downloaded. They are a STAND-IN with random weights" in out


def test_fetch_with_own_model_folder_missing_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tmp_path))
    assert main(["fetch"]) == 1
    assert "missing" in capsys.readouterr().err


def test_demo_colourises_the_samples(model_env, tmp_path):
    """What `make demo` runs, on the real sample folder, with a stand-in model."""
    out = tmp_path / "demo"
    assert main(["photo", str(INPUT_IMAGES), "--out", str(out)]) == 0
    samples = sorted(p for p in INPUT_IMAGES.iterdir() if p.suffix == ".jpg")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}_color.jpg" for p in samples)
    for sample in samples:
        assert read_image(out / f"{sample.stem}_color.jpg").shape[:2] == read_image(sample).shape[:2]


def test_module_entry_point_and_help():
    """`python -m helpers ... --help` works as a real process and explains the options."""
    result = subprocess.run([sys.executable, "-m", "helpers", "photo", "--help"],
                            capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    for word in ("--out", "--temperature", "--size", "--variant", "COLORIZE_MODEL_DIR", "Exit status"):
        assert word in result.stdout
    result = subprocess.run([sys.executable, "-m", "helpers", "fetch", "--help"],
                            capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert "--mirror" in result.stdout and "v2_norebal" in result.stdout


def test_model_options_are_defined_once_for_photo_and_video(tmp_path, monkeypatch):
    """photo and video share one definition of the network options; --variant follows the registry."""
    registry = json.loads((REPO_ROOT / "model" / "registry.json").read_text())
    registry["variants"]["v3_test"] = registry["variants"]["v2"]
    registry["variant_notes"]["v3_test"] = "a variant added to the registry only"
    (tmp_path / "registry.json").write_text(json.dumps(registry))
    monkeypatch.setattr(helpers.model.fetch, "REGISTRY_FILE", tmp_path / "registry.json")
    parser = cli.parser.build_parser()
    for command in ("photo", "video", "fetch"):
        assert parser.parse_args([command, "x", "--variant", "v3_test"] if command != "fetch"
                                 else [command, "--variant", "v3_test"]).variant == "v3_test"
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices

    def network_options(command):
        return [(a.option_strings, a.default, a.help, a.choices) for a in subparsers[command]._actions
                if a.dest in ("variant", "temperature", "size", "backend")]

    assert len(network_options("photo")) == 4
    assert network_options("photo") == network_options("video")
    assert "a variant added to the registry only" in subparsers["fetch"].format_help()


# --------------------------------------------------------------------------- files as users have them


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def gray_gif(path, values=(40, 120, 200), durations=(100, 250, 700), size=(30, 40)):
    frames = [Image.fromarray(np.full(size, v, np.uint8)) for v in values]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=list(durations), loop=0)
    return path


def test_transparent_png_keeps_its_alpha_and_was_coloured_over_white(model_env, gray_image, tmp_path, capsys):
    rgba = cv2.cvtColor(gray_image, cv2.COLOR_GRAY2RGBA)
    rgba[:30, :] = (0, 0, 0, 0)  # hidden pixels, black underneath
    rgba[30:40, :, 3] = 100  # half-transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    out = tmp_path / "out"
    # OpenCV's network, as load_model()'s below: --backend auto may choose bf16 on a CPU that has it
    assert main(["photo", str(tmp_path / "cutout.png"), "--out", str(out), "--backend", "opencv"]) == 0
    assert "transparency kept" in capsys.readouterr().out
    result = Image.open(out / "cutout_color.png")
    assert result.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(result)[..., 3], rgba[..., 3])
    # The opaque part is the colourisation of the picture as viewers show it, over white ...
    expected = helpers.colorize(read_image(tmp_path / "cutout.png"), helpers.load_model())
    [picture] = open_image_file(out / "cutout_color.png").pictures()
    assert np.abs(picture.image.astype(int) - expected)[40:].max() <= 1
    # ... and the hidden part is white underneath too, not the black that was under it.
    stored = cv2.cvtColor(np.asarray(result), cv2.COLOR_RGBA2BGR)
    assert helpers.lightness(stored[:30]).min() > 85  # white tinted by the network (black would be 0)


def test_soft_edges_keep_their_own_lightness(model_env, tmp_path):
    """A gray picture at 50 % opacity: the colours go onto its own lightness, so a viewer does not
    whiten it twice (it came out with the lightness of the picture over white: mean |ΔL| 7)."""
    gray = np.tile(np.linspace(30, 220, 120).astype(np.uint8), (80, 1))
    Image.fromarray(np.dstack([gray, np.full_like(gray, 128)]), "LA").save(tmp_path / "soft.png")
    assert main(["photo", str(tmp_path / "soft.png"), "--out", str(tmp_path / "out"), "--backend", "opencv"]) == 0
    stored = np.asarray(Image.open(tmp_path / "out" / "soft_color.png"))
    assert stored.shape[2] == 4 and (stored[..., 3] == 128).all()
    colours = cv2.cvtColor(np.ascontiguousarray(stored[..., :3]), cv2.COLOR_RGB2BGR)
    assert np.abs(helpers.lightness(colours) - helpers.lightness(gray)).mean() < 0.5
    assert helpers.bgr_to_lab(colours)[..., 1:].std() > 1  # and in colour


def test_gray_alpha_png_keeps_its_alpha(model_env, tmp_path):
    la = np.zeros((24, 32, 2), np.uint8)
    la[4:20, 4:28] = (90, 255)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert main(["photo", str(tmp_path / "la.png"), "--out", str(tmp_path / "out")]) == 0
    result = np.asarray(Image.open(tmp_path / "out" / "la_color.png").convert("RGBA"))
    np.testing.assert_array_equal(result[..., 3], la[..., 1])


def test_animated_gif_stays_animated_with_its_frame_times(model_env, tmp_path, capsys):
    gray_gif(tmp_path / "anim.gif")
    assert main(["photo", str(tmp_path / "anim.gif"), "--out", str(tmp_path / "out")]) == 0
    assert "all 3 frames, with their times" in capsys.readouterr().out
    result = Image.open(tmp_path / "out" / "anim_color.gif")
    assert result.n_frames == 3 and result.info["loop"] == 0
    frames = [(f.info["duration"], np.asarray(f.convert("RGB")).astype(int)) for f in ImageSequence.Iterator(result)]
    assert [d for d, _ in frames] == [100, 250, 700]
    means = [cv2.cvtColor(f.astype(np.uint8), cv2.COLOR_RGB2GRAY).mean() for _, f in frames]
    assert means == pytest.approx([40, 120, 200], abs=6)  # each frame kept its own picture


@pytest.mark.parametrize("kind", ["webp", "png"])
def test_animated_webp_and_png_stay_animated(model_env, tmp_path, kind):
    frames = [Image.fromarray(np.full((24, 32), v, np.uint8)) for v in (40, 200)]
    frames[0].save(tmp_path / f"anim.{kind}", save_all=True, append_images=frames[1:], duration=[80, 400], loop=2)
    assert main(["photo", str(tmp_path / f"anim.{kind}"), "--out", str(tmp_path / "out")]) == 0
    result = open_image_file(tmp_path / "out" / f"anim_color.{kind}")
    assert (result.count, result.loop) == (2, 2)
    assert [p.duration for p in result.pictures()] == [80, 400]


def test_multi_page_tiff_keeps_every_page(model_env, tmp_path, capsys):
    pages = [Image.fromarray(np.full((30, 40), 60, np.uint8)), Image.fromarray(np.full((50, 20), 180, np.uint8))]
    pages[0].save(tmp_path / "scan.tif", save_all=True, append_images=pages[1:])
    assert main(["photo", str(tmp_path / "scan.tif"), "--out", str(tmp_path / "out")]) == 0
    assert "all 2 pages" in capsys.readouterr().out
    result = [p.image for p in open_image_file(tmp_path / "out" / "scan_color.tif").pictures()]
    assert [r.shape for r in result] == [(30, 40, 3), (50, 20, 3)]
    assert [round(cv2.cvtColor(r, cv2.COLOR_BGR2GRAY).mean()) for r in result] == pytest.approx([60, 180], abs=3)


def test_jpeg_with_two_pictures_says_which_one_was_used(model_env, tmp_path, capsys):
    first, second = (Image.fromarray(np.full((20, 20, 3), v, np.uint8)) for v in (90, 200))
    first.save(tmp_path / "phone.jpg", format="MPO", save_all=True, append_images=[second])
    assert main(["photo", str(tmp_path / "phone.jpg"), "--out", str(tmp_path / "out")]) == 0
    assert "only the first of its 2 pictures: a JPEG file holds one" in capsys.readouterr().out
    assert cv2.cvtColor(read_image(tmp_path / "out" / "phone_color.jpg"), cv2.COLOR_BGR2GRAY).mean() == \
        pytest.approx(90, abs=3)


def test_a_scan_keeps_its_resolution(model_env, gray_image, tmp_path):
    Image.fromarray(gray_image).save(tmp_path / "scan.tif", dpi=(600, 600))
    assert main(["photo", str(tmp_path / "scan.tif"), "--out", str(tmp_path / "out")]) == 0
    assert tuple(round(d) for d in Image.open(tmp_path / "out" / "scan_color.tif").info["dpi"]) == (600, 600)


def test_a_shoebox_of_awkward_files(model_env, tmp_path, gray_image, capsys):
    """Damaged files fail alone, with their name; everything else is colourised."""
    box = tmp_path / "box"
    box.mkdir()
    cv2.imwrite(str(box / "good.jpg"), gray_image)
    Image.fromarray(gray_image).save(box / "cut.jpg")
    (box / "cut.jpg").write_bytes((box / "cut.jpg").read_bytes()[:400])
    (box / "notes.jpg").write_text("Grandma, summer 1952")
    cv2.imwrite(str(box / "deep.png"), gray_image.astype(np.uint16) * 257)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(gray_image).save(box / "PHONE.JPG", exif=exif.tobytes())
    Image.fromarray(cv2.cvtColor(gray_image, cv2.COLOR_GRAY2RGB)).convert("CMYK").save(box / "cmyk.jpg")
    (box / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (box / "scan.xmp").write_text("<x:xmpmeta/>")
    out = tmp_path / "out"
    assert main(["photo", str(box), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert listing(out) == ["PHONE_color.JPG", "cmyk_color.jpg", "deep_color.png", "good_color.jpg"]
    assert read_image(out / "PHONE_color.JPG").shape == (130, 97, 3)  # upright, as the phone meant
    assert re.search(r"error: .*cut\.jpg: .*(truncated|damaged)", captured.err)
    assert re.search(r"error: .*notes\.jpg: .*not an image", captured.err)
    assert "not pictures this tool reads (.heic, .xmp)" in captured.out
    assert "4 image(s) colourised" in captured.out and "2 failed" in captured.out


def test_running_twice_into_the_input_folder_adds_nothing(model_env, photos, tmp_path, capsys):
    gray_gif(photos / "anim.gif")
    cv2.imwrite(str(photos / "c.bmp"), np.full((20, 30), 99, np.uint8))
    assert main(["photo", str(photos), "--out", str(photos)]) == 0
    first = listing(photos)
    assert first == ["a.png", "a_color.png", "anim.gif", "anim_color.gif", "b.jpg", "b_color.jpg", "c.bmp",
                     "c_color.bmp"]
    capsys.readouterr()
    assert main(["photo", str(photos), "--out", str(photos)]) == 0
    assert listing(photos) == first
    out = capsys.readouterr().out
    assert "Skipped 4 earlier result(s) of this tool" in out and "4 image(s) colourised" in out


def test_own_files_named_like_results_are_inputs_and_never_overwritten(model_env, photos, tmp_path):
    """A hand-coloured a_color.png is the user's: colourised as an input, never replaced."""
    out = tmp_path / "out"
    out.mkdir()
    cv2.imwrite(str(out / "a_color.png"), np.zeros((5, 5), np.uint8))  # not a result of this tool
    before = (out / "a_color.png").read_bytes()
    assert main(["photo", str(photos / "a.png"), "--out", str(out)]) == 0
    assert (out / "a_color.png").read_bytes() == before
    assert listing(out) == ["a_color.png", "a_color_2.png"]
    assert main(["photo", str(photos / "a.png"), "--out", str(out)]) == 0  # a result is replaced, not added to
    assert listing(out) == ["a_color.png", "a_color_2.png"]


def test_a_file_named_twice_is_colourised_once(model_env, photos, tmp_path):
    assert main(["photo", str(photos / "a.png"), str(photos), str(photos / "a.png"), "--out", str(tmp_path / "o")]) == 0
    assert listing(tmp_path / "o") == ["a_color.png", "b_color.jpg"]


def test_a_folder_of_results_only_is_nothing_to_do(model_env, photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["photo", str(photos), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["photo", str(out), "--out", str(out)]) == 0
    assert "Skipped 2 earlier result(s)" in capsys.readouterr().out
    assert listing(out) == ["a_color.png", "b_color.jpg"]


# --------------------------------------------------------------------------- output folders and permissions


@pytest.fixture
def model_must_not_load(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the model was loaded although the output folder cannot be used")

    monkeypatch.setattr(cli.start, "load_model", fail)


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_unusable_output_folder_is_reported_once_before_the_model_loads(model_env, photos, tmp_path, capsys,
                                                                       model_must_not_load, where):
    (tmp_path / "results").write_text("a file")
    out = tmp_path / "results" if where == "file" else tmp_path / "results" / "june"
    assert main(["photo", str(photos), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1
    assert f"{tmp_path / 'results'} is a file" in err or f"{tmp_path / 'results'}: it is a file" in err
    assert str(out) in err and ".part" not in err and "--out" in err
    assert (tmp_path / "results").read_text() == "a file"


def test_read_only_output_folder_is_reported_once_before_the_model_loads(model_env, photos, tmp_path, capsys,
                                                                         model_must_not_load, monkeypatch):
    out = tmp_path / "readonly"
    out.mkdir()
    if os.geteuid() == 0:  # root writes into any folder: make the system say read-only, as a read-only disk does
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: False if path == out else real_access(path, mode))
    else:
        out.chmod(0o555)
    try:
        assert main(["photo", str(photos), "--out", str(out)]) == 2
    finally:
        out.chmod(0o755)
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and f"{out}: the folder is read-only" in err
    assert listing(out) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.parametrize(("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_results_honour_the_umask(model_env, photos, tmp_path, umask, file_mode, folder_mode):
    gray_gif(photos / "anim.gif")
    out = tmp_path / "shared" / "class"
    old = os.umask(umask)
    try:
        assert main(["photo", str(photos), "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == {
        name: oct(file_mode) for name in ("a_color.png", "anim_color.gif", "b_color.jpg")}
    assert oct(out.stat().st_mode & 0o777) == oct(folder_mode)


def test_leftovers_of_a_killed_run_are_removed(model_env, photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".a_color.png.999999999-0123abcd.part"  # no such process
    stale.write_bytes(b"half a picture")
    assert main(["photo", str(photos), "--out", str(out)]) == 0
    assert listing(out) == ["a_color.png", "b_color.jpg"]


# --------------------------------------------------------------------------- which model


def test_photo_says_the_model_is_a_stand_in(model_env, photos, tmp_path, capsys):
    assert main(["photo", str(photos), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"Model \((opencv|openvino|onnxruntime) (fp32|int8|bf16)\): a STAND-IN with random weights in "
                     rf"{re.escape(str(model_env))}", out)
    assert "colours are noise" in out and "python -m helpers fetch" in out and "unset COLORIZE_MODEL_DIR" in out


def test_photo_names_your_own_model_folder(tiny_model, photos, tmp_path, monkeypatch, capsys):
    mine = tmp_path / "my model"
    shutil.copytree(tiny_model, mine)
    (mine / "STANDIN.txt").unlink()
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(mine))
    assert main(["photo", str(photos), "--out", str(tmp_path / "out"), "--backend", "opencv"]) == 0
    out = capsys.readouterr().out
    assert f"Model (opencv fp32): your own model files in {mine} (from COLORIZE_MODEL_DIR): " \
           f"{PROTOTXT_NAME}, {WEIGHTS_NAME}, {PTS_NAME}" in out
    assert "STAND-IN" not in out


def test_video_says_which_model_it_uses(model_env, tmp_path, capsys):
    clip = INPUT_VIDEO / "sample_clip.mp4"
    code = main(["video", str(clip), "--out", str(tmp_path / "v.mp4"), "--frames-dir", str(tmp_path / "f"),
                 "--max-frames", "2"])
    assert code == 0
    assert re.search(rf"Model \(\w+ \w+\): a STAND-IN with random weights in {re.escape(str(model_env))}",
                     capsys.readouterr().out)


# --------------------------------------------------------------------------- help


def help_text(*command: str) -> str:
    result = subprocess.run([sys.executable, "-m", "helpers", *command, "--help"], capture_output=True, text=True,
                            cwd=REPO_ROOT, check=True)
    return result.stdout


def epilog(text: str) -> list[str]:
    lines = text.split("environment variables:\n", 1)[1].splitlines()
    return [line for line in lines if line.strip()]


@pytest.mark.parametrize("command", [(), ("fetch",), ("photo",), ("video",)], ids=["main", "fetch", "photo", "video"])
def test_help_lists_every_environment_variable_aligned(command):
    text = help_text(*command)
    lines = epilog(text)
    names = [line.split()[0].split("=")[0] for line in lines if re.match(r"  [A-Z]", line)]
    readme = set(re.findall(r"\bCOLORIZE_[A-Z_]+", (REPO_ROOT / "README.md").read_text()))
    code = set()
    for module in (REPO_ROOT / "helpers").rglob("*.py"):
        source = module.read_text()
        code |= set(re.findall(r"environ(?:\.get)?[(\[]\s*[\"']([A-Z_]+)[\"']", source))
        code |= set(re.findall(r"^[A-Z_]+_ENV = [\"']([A-Z_]+)[\"']", source, flags=re.M))
    assert readme and code
    assert readme <= set(names), f"the README mentions {readme - set(names)}, the help does not"
    assert code <= set(names), f"the code reads {code - set(names)}, the help does not list them"
    # every description starts in the same column, continuation lines included
    columns = {re.match(r"\s*\S+\s+", line).end() if re.match(r"  [A-Z]", line) else len(line) - len(line.lstrip())
               for line in lines}
    assert len(columns) == 1, lines


def test_a_folder_of_phone_pictures_this_tool_cannot_read(model_env, tmp_path, capsys):
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    assert main(["photo", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path}: no image files in this folder (this tool reads .jpg" in err and "it holds .heic" in err


def test_out_of_memory_on_one_picture_does_not_stop_the_others(model_env, photos, tmp_path, monkeypatch, capsys):
    real = image_file.colorize

    def colorize(image, net, **kwargs):
        if image.shape == (97, 130):  # a.png
            raise MemoryError
        return real(image, net, **kwargs)

    monkeypatch.setattr(image_file, "colorize", colorize)
    assert main(["photo", str(photos), "--out", str(tmp_path / "out")]) == 1
    assert "a.png: not enough memory to colourise this picture" in capsys.readouterr().err
    assert listing(tmp_path / "out") == ["b_color.jpg"]


def test_ctrl_c_leaves_finished_results_and_no_half_written_file(model_env, photos, tmp_path, monkeypatch, capsys):
    real = image_file.colorize
    calls = []

    def colorize(image, net, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(image, net, **kwargs)

    monkeypatch.setattr(image_file, "colorize", colorize)
    assert main(["photo", str(photos), "--out", str(tmp_path / "out")]) == 130
    assert "Interrupted after 1 image(s)" in capsys.readouterr().err
    assert listing(tmp_path / "out") == ["a_color.png"]


def test_a_photo_from_a_pipe_is_read_once(tiny_model, tmp_path):
    """`photo <(curl ...)`: a pipe can be read only once (it used to be read twice, then called empty)."""
    out = tmp_path / "out"
    command = (f'"{sys.executable}" -m helpers photo <(cat "{INPUT_IMAGES / "coffee.jpg"}") --out "{out}" '
               "--backend opencv")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLORIZE_MODEL_DIR": str(tiny_model)}, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    [made] = out.iterdir()
    assert read_image(made).shape[:2] == read_image(INPUT_IMAGES / "coffee.jpg").shape[:2]
