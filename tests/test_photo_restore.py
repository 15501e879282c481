"""Restoration of one photo (helpers.restoration.photo_restore, photo --restore): dust, scratches, hairs and creases
drawn on the sample photos with a known mask (helpers.restoration.defects.add_photo_defects) are found and filled;
the photos as they are, the tripod of cameraman.jpg included, are left nearly alone."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from helpers.cli import main
from helpers.common.images import read_image
from helpers.paths import INPUT_IMAGES
from helpers.restoration.defects import add_photo_defects
from helpers.restoration.photo_restore import (
    PHOTO_STEPS,
    check_photo_steps,
    defect_mask,
    grain_sigma,
    line_contrast,
    reduce_grain,
    restore_photo,
    speck_mask,
)
from helpers.restoration.photo_restore_files import is_restore_mask, mask_path

VISIBLE = 30
"""Gray levels a defect must change a pixel by to count in the recall: a white speck on a white sky is no defect."""
NO_LINES = {"hairs": 0, "scratches": 0, "creases": 0}
NO_DEFECTS = {"specks": 0, **NO_LINES}


def photo(name: str) -> np.ndarray:
    return cv2.imread(str(INPUT_IMAGES / name), cv2.IMREAD_GRAYSCALE)


def recall_precision(mask: np.ndarray, truth: np.ndarray, clean: np.ndarray, defected: np.ndarray):
    """Share of the visible defect pixels found; share of the pixels found within 2 px of a defect."""
    visible = truth & (np.abs(defected.astype(int) - clean) > VISIBLE)
    near = cv2.dilate(truth.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return (mask & visible).sum() / visible.sum(), (mask & near).sum() / max(mask.sum(), 1)


@pytest.mark.parametrize("name", ["cameraman.jpg", "astronaut.jpg"])
def test_all_defects_are_removed_by_more_than_3_db(name):
    clean = photo(name)
    for seed in (1, 2):
        defected, truth = add_photo_defects(clean, seed=seed)
        restored, mask = restore_photo(defected)
        before, after = cv2.PSNR(defected, clean), cv2.PSNR(restored, clean)
        assert after > before + 3, (seed, before, after)
        recall, precision = recall_precision(mask, truth, clean, defected)
        assert recall > 0.4 and precision > 0.75, (seed, recall, precision)


def test_specks_are_found_and_little_else():
    clean = photo("cameraman.jpg")
    defected, truth = add_photo_defects(clean, seed=3, specks=60, **NO_LINES)
    recall, precision = recall_precision(speck_mask(defected), truth, clean, defected)
    assert recall > 0.45 and precision > 0.85, (recall, precision)


def test_scratches_hairs_and_creases_are_found_and_little_else():
    clean = photo("chelsea_cat.jpg")
    defected, truth = add_photo_defects(clean, seed=4, specks=0, scratches=4, creases=2, hairs=4)
    mask = defect_mask(defected, ["scratches"])
    recall, precision = recall_precision(mask, truth, clean, defected)
    assert recall > 0.4 and precision > 0.9, (recall, precision)


@pytest.mark.parametrize("name", ["cameraman.jpg", "chelsea_cat.jpg", "astronaut.jpg"])
def test_a_clean_photo_is_left_nearly_alone(name):
    clean = photo(name)
    restored, mask = restore_photo(clean)
    assert cv2.PSNR(restored, clean) > 38 and mask.mean() < 0.002, (cv2.PSNR(restored, clean), mask.mean())


def test_the_cameramans_tripod_is_not_a_scratch():
    clean = photo("cameraman.jpg")
    tripod = (slice(260, 512), slice(225, 410))  # the legs and column: thin, bright, long, and real
    assert defect_mask(clean)[tripod].mean() < 0.001
    light, dark = line_contrast(clean)
    line = np.zeros_like(clean)
    cv2.line(line, (40, 300), (200, 330), 255, 1, cv2.LINE_AA)  # a scratch as thin, on the grass beside
    scratched = np.maximum(clean, line)
    assert line_contrast(scratched)[0][305:325, 60:180].max() > 2 * light[tripod].max()


def test_an_edge_a_bar_and_a_wide_blob_are_not_defects():
    picture = np.full((200, 200), 90, np.uint8)
    picture[:, 100:] = 180                                   # an edge
    cv2.rectangle(picture, (20, 20), (28, 180), 230, -1)     # a bar 9 px wide
    cv2.circle(picture, (150, 60), 12, 10, -1)               # a blob 25 px across
    assert not defect_mask(picture).any()


def test_steps_are_switched_by_name():
    picture = np.full((200, 200), 120, np.uint8)
    cv2.line(picture, (10, 30), (190, 60), 250, 1)           # a scratch
    cv2.circle(picture, (100, 150), 3, 0, -1)                # a speck
    dust, scratches = defect_mask(picture, ["dust"]), defect_mask(picture, ["scratches"])
    assert dust[150, 100] and not dust[45, 100]
    assert scratches[45, 100] and not scratches[150, 100]
    assert not defect_mask(picture, ["grain"]).any()
    assert check_photo_steps(["grain", "dust"]) == ("dust", "grain")
    with pytest.raises(ValueError, match="the steps are dust, scratches, grain"):
        check_photo_steps(["dusty"])


def test_grain_is_measured_and_reduced():
    clean = photo("cameraman.jpg")
    grainy, _ = add_photo_defects(clean, seed=5, grain=10, **NO_DEFECTS)
    assert grain_sigma(grainy) == pytest.approx(10, abs=2.5)
    assert grain_sigma(clean) < 4
    assert cv2.PSNR(reduce_grain(grainy), clean) > cv2.PSNR(grainy, clean) + 2
    assert np.array_equal(reduce_grain(clean), clean)  # no grain to speak of: left as it is
    assert np.array_equal(reduce_grain(grainy, 0), grainy)


def test_colour_and_16_bit_photos_keep_their_kind():
    clean = photo("astronaut.jpg")
    defected, _ = add_photo_defects(clean, seed=6)
    gray_out, gray_mask = restore_photo(defected, ["dust", "scratches"])
    bgr_out, bgr_mask = restore_photo(cv2.cvtColor(defected, cv2.COLOR_GRAY2BGR), ["dust", "scratches"])
    assert bgr_out.shape == (*clean.shape, 3) and np.array_equal(bgr_mask, gray_mask)
    assert np.array_equal(bgr_out[..., 0], bgr_out[..., 2])  # gray stays gray
    deep_out, deep_mask = restore_photo(defected.astype(np.uint16) * 257, PHOTO_STEPS)
    assert deep_out.dtype == np.uint16 and np.array_equal(deep_mask, gray_mask)
    assert cv2.PSNR((deep_out // 257).astype(np.uint8), clean) > cv2.PSNR(defected, clean) + 3
    with pytest.raises(ValueError, match="uint8 or uint16"):
        restore_photo(defected.astype(np.float32))


def test_the_cli_writes_the_restored_result_and_its_mask(tiny_model, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(tiny_model))
    clean = photo("cameraman.jpg")
    defected, truth = add_photo_defects(clean, seed=7, specks=20, **NO_LINES)
    source = tmp_path / "old.png"
    cv2.imwrite(str(source), defected)
    plain, restored = tmp_path / "plain", tmp_path / "restored"
    assert main(["photo", str(source), "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main(["photo", str(source), "--out", str(restored), "--restore", "dust"]) == 0
    said = re.search(r"restored: ([\d.]+)% of it filled, white in old_color_restore-mask.png", capsys.readouterr().out)
    assert sorted(p.name for p in plain.iterdir()) == ["old_color.png"]
    assert sorted(p.name for p in restored.iterdir()) == ["old_color.png", "old_color_restore-mask.png"]
    result = read_image(restored / "old_color.png")
    assert result.shape == (*clean.shape, 3) and not np.array_equal(result, read_image(plain / "old_color.png"))
    mask = cv2.imread(str(mask_path(restored / "old_color.png")), cv2.IMREAD_GRAYSCALE) > 0
    recall, precision = recall_precision(mask, truth, clean, defected)  # the specks' mask, as speck_mask finds it
    assert said and abs(float(said.group(1)) - 100 * mask.mean()) < 0.01  # what the mask shows, in numbers
    assert recall > 0.25 and precision > 0.8, (recall, precision)
    assert is_restore_mask(restored / "old_color_restore-mask.png") and not is_restore_mask(source)
    capsys.readouterr()
    assert main(["photo", str(restored), "--out", str(tmp_path / "again")]) == 0  # the mask is no photo
    assert "Skipped 2 earlier result(s)" in capsys.readouterr().out
