"""The colourisation maths, proven with networks whose output is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import helpers
from helpers.photo.colorize import ab_from_scores, cluster_centres_of, gives_scores, predict_scores
from tests.conftest import one_hot_oracle


def lab_of(img_bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img_bgr.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)


def softmax_mean(logits: np.ndarray, temperature: float, bins: np.ndarray) -> np.ndarray:
    z = logits / temperature
    p = np.exp(z - z.max())
    return (p / p.sum()) @ bins


@pytest.mark.parametrize("k", [0, 17, 40])
def test_oracle_keeps_L_and_gives_the_oracles_ab(make_tiny_model, bins, k):
    # mid-tones and moderate colours, so every pixel stays inside the sRGB gamut
    gray_image = np.tile(np.linspace(90, 170, 131).astype(np.uint8), (77, 1))
    model_dir, ab_true = one_hot_oracle(make_tiny_model, bins, k)
    net = helpers.load_model(model_dir=model_dir)
    out = helpers.colorize(gray_image, net)
    assert 0 < out.min() and out.max() < 255  # nothing clipped: the check below is fair

    assert out.shape == (*gray_image.shape, 3) and out.dtype == np.uint8
    L_in = cv2.cvtColor(cv2.cvtColor(gray_image, cv2.COLOR_GRAY2BGR), cv2.COLOR_BGR2Lab)[:, :, 0]
    L_out = cv2.cvtColor(out, cv2.COLOR_BGR2Lab)[:, :, 0]
    assert np.abs(L_in.astype(int) - L_out).max() <= 1  # one grey level on the 0..255 scale
    ab_out = lab_of(out)[:, :, 1:]
    # uint8 rounding of B, G, R moves a and b by well under one unit
    assert np.abs(ab_out - ab_true).max() < 1.5
    if k:
        assert np.abs(ab_true).max() >= 10  # the colour really is a colour


def test_oracle_is_exact_before_rounding(make_tiny_model, bins, gray_image):
    model_dir, ab_true = one_hot_oracle(make_tiny_model, bins, 40)
    net = helpers.load_model(model_dir=model_dir)
    L = helpers.lightness(gray_image)
    ab = helpers.predict_ab(net, helpers.network_input(L)[np.newaxis])
    assert ab.shape == (1, 56, 56, 2)
    np.testing.assert_allclose(ab[0], np.broadcast_to(ab_true, ab[0].shape), atol=1e-4)


@pytest.mark.parametrize("temperature", [0.05, 0.38, 1.0])
def test_temperature_is_the_annealed_mean(make_tiny_model, bins, gray_image, temperature):
    logits = np.random.default_rng(3).standard_normal(313).astype(np.float32)
    net = helpers.load_model(model_dir=make_tiny_model(weights=np.zeros((313, 1, 4, 4), np.float32), bias=logits))
    L_small = helpers.network_input(helpers.lightness(gray_image))[np.newaxis]
    helpers.predict_ab(net, L_small)  # run once first: OpenCV fuses the scale into the network
    helpers.set_temperature(net, temperature)
    assert helpers.get_temperature(net) == pytest.approx(temperature)
    ab = helpers.predict_ab(net, L_small)[0, 10, 10]
    np.testing.assert_allclose(ab, softmax_mean(logits, temperature, bins), atol=1e-3)


def test_temperature_argument_changes_the_colour_and_stays_set(tiny_model, gray_image):
    net = helpers.load_model(model_dir=tiny_model)
    vivid = helpers.colorize(gray_image, net, temperature=0.1)
    assert helpers.get_temperature(net) == pytest.approx(0.1)
    assert not np.array_equal(vivid, helpers.colorize(gray_image, net, temperature=1.0))
    np.testing.assert_array_equal(vivid, helpers.colorize(gray_image, net, temperature=0.1))


def classic_colorize(img_bgr: np.ndarray, net: cv2.dnn.Net) -> np.ndarray:
    """The classic tutorial recipe, written out independently of helpers."""
    scaled = img_bgr.astype("float32") / 255.0
    lab = cv2.cvtColor(scaled, cv2.COLOR_BGR2LAB)
    L = cv2.split(cv2.resize(lab, (224, 224)))[0]
    L -= 50
    net.setInput(cv2.dnn.blobFromImage(L))
    ab = net.forward()[0].transpose((1, 2, 0))
    ab = cv2.resize(ab, (img_bgr.shape[1], img_bgr.shape[0]))
    L = cv2.split(lab)[0]
    colorized = cv2.cvtColor(np.concatenate((L[:, :, np.newaxis], ab), axis=2), cv2.COLOR_LAB2BGR)
    return np.clip(colorized, 0, 1)  # float, before the classic's truncation to uint8


def test_matches_the_classic_method(tiny_model, gray_image):
    net = helpers.load_model(model_dir=tiny_model)
    img_bgr = cv2.cvtColor(gray_image, cv2.COLOR_GRAY2BGR)
    expected = classic_colorize(img_bgr, net)
    ours = helpers.colorize(img_bgr, net)
    # we round where the classic truncates: at most one level apart, and nearer on average
    assert np.abs(ours.astype(float) - expected * 255).max() <= 0.5 + 1e-3
    assert lab_of(ours)[:, :, 1:].std() > 1  # the random network does produce colour


def test_full_resolution_output_and_size_parameter(tiny_model):
    net = helpers.load_model(model_dir=tiny_model)
    img = np.random.default_rng(0).integers(0, 256, (333, 517), dtype=np.uint8)
    for size in (160, 224, 448):
        out = helpers.colorize(img, net, size=size)
        assert out.shape == (333, 517, 3)
    with pytest.raises(ValueError, match="multiple of 8"):
        helpers.colorize(img, net, size=100)


def test_batch_equals_one_by_one(tiny_model, gray_image):
    net = helpers.load_model(model_dir=tiny_model)
    rng = np.random.default_rng(1)
    images = [gray_image, rng.integers(0, 256, (64, 200), dtype=np.uint8), gray_image[::-1].copy()]
    batch = helpers.colorize_batch(images, net)
    for img, out in zip(images, batch):
        assert out.shape[:2] == img.shape[:2]
        assert np.abs(out.astype(int) - helpers.colorize(img, net)).max() <= 1
    assert helpers.colorize_batch([], net) == []


def test_every_kind_of_input_gives_the_same_colourisation(tiny_model, gray_image):
    """Gray, BGR, BGRA, 16-bit and float versions of one picture colourise alike."""
    net = helpers.load_model(model_dir=tiny_model)
    reference = helpers.colorize(gray_image, net)
    bgr = cv2.cvtColor(gray_image, cv2.COLOR_GRAY2BGR)
    variants = {
        "gray (H, W, 1)": gray_image[:, :, np.newaxis],
        "bgr": bgr,
        "bgra": cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA),
        "16-bit": gray_image.astype(np.uint16) * 257,
        "float": gray_image.astype(np.float32) / 255,
    }
    for name, img in variants.items():
        out = helpers.colorize(img, net)
        assert out.shape == reference.shape, name
        assert np.abs(out.astype(int) - reference).max() <= 1, name


def test_colour_input_is_made_gray_first(tiny_model, gray_image):
    """A sepia print colourises like the grey picture with the same lightness."""
    net = helpers.load_model(model_dir=tiny_model)
    sepia = cv2.cvtColor(gray_image, cv2.COLOR_GRAY2BGR).astype(np.float32) * np.float32([0.75, 0.9, 1.0]) / 255
    L = helpers.lightness(sepia)
    gray_same_L = helpers.lab_to_bgr(L, np.zeros((*L.shape, 2), np.float32))
    out_sepia = helpers.colorize(sepia, net)
    out_gray = helpers.colorize(gray_same_L, net)
    assert np.abs(out_sepia.astype(int) - out_gray).max() <= 2
    # and, where no colour was clipped to the sRGB gamut, keeps the print's lightness
    inside = (out_sepia > 0).all(axis=2) & (out_sepia < 255).all(axis=2)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(lab_of(out_sepia)[:, :, 0][inside], L[inside], atol=1.0)


def test_bad_arrays_are_refused_clearly(tiny_model):
    net = helpers.load_model(model_dir=tiny_model)
    with pytest.raises(ValueError, match="shape"):
        helpers.colorize(np.zeros((10, 10, 2), np.uint8), net)
    with pytest.raises(ValueError, match="dtype"):
        helpers.colorize(np.zeros((10, 10), np.int32), net)
    with pytest.raises(ValueError, match="shape"):
        helpers.colorize(np.zeros((0, 10), np.uint8), net)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (np.full((10, 10), 128.0), r"values in \[0, 1\]; this one holds 128\.\.128\. If its values are 0\.\.255"),
        (np.full((10, 10), np.nan, np.float32), r"100 NaN"),
        (np.full((10, 10, 3), 1.5), r"holds 1\.5\.\.1\.5"),
        (np.zeros((3, 10, 12)), r"channels-first"),
        (None, r"got None.*cv2\.imread returns None"),
    ],
    ids=["float 0..255", "nan", "float above 1", "channels first", "None"],
)
def test_numbers_outside_what_an_image_can_hold_are_refused(tiny_model, image, expected):
    """Never a silently wrong picture: clipping 0..255 floats to [0, 1] would give a white one."""
    net = helpers.load_model(model_dir=tiny_model)
    with pytest.raises(ValueError, match=expected):
        helpers.colorize(image, net)
    with pytest.raises(ValueError, match=expected):
        helpers.colorize_batch([np.zeros((10, 10), np.uint8), image], net)


def test_colorize_batch_refuses_one_array(tiny_model, gray_image):
    """Iterating over one (H, W, 3) array would colourise each of its rows as a picture."""
    net = helpers.load_model(model_dir=tiny_model)
    bgr = cv2.cvtColor(gray_image, cv2.COLOR_GRAY2BGR)
    with pytest.raises(ValueError, match=r"list of images, got one array of shape \(97, 130, 3\)"):
        helpers.colorize_batch(bgr, net)


def test_views_of_arrays_work(tiny_model, gray_image):
    net = helpers.load_model(model_dir=tiny_model)
    view = gray_image[::-1, ::2]
    np.testing.assert_array_equal(helpers.colorize(view, net), helpers.colorize(view.copy(), net))


def test_transparent_parts_are_colourised_as_shown_over_white(tiny_model, gray_image):
    """A BGRA array whose hidden pixels are black colourises like its picture over white."""
    net = helpers.load_model(model_dir=tiny_model)
    bgra = cv2.cvtColor(gray_image, cv2.COLOR_GRAY2BGRA)
    bgra[:40, :, :3] = 0
    bgra[:40, :, 3] = 0  # hidden, black underneath
    over_white = bgra[:, :, :3].copy()
    over_white[:40] = 255
    out = helpers.colorize(bgra, net)
    np.testing.assert_array_equal(out, helpers.colorize(over_white, net))
    assert not np.array_equal(out, helpers.colorize(bgra[:, :, :3], net))  # the black would change the colours


# --- Scores, then the temperature in NumPy (the explorer of notebook 02) ---------------------

@pytest.mark.parametrize("temperature", [0.05, 0.38, 1.0])
def test_ab_from_scores_is_the_networks_last_two_layers(make_tiny_model, bins, temperature):
    net = helpers.load_model(model_dir=make_tiny_model(seed=4))
    L_small = helpers.network_input(helpers.lightness(np.tile(np.arange(256, dtype=np.uint8), (90, 1))), 96)
    scores = predict_scores(net, L_small[np.newaxis])
    assert scores.shape == (1, 313, 24, 24)
    centres = cluster_centres_of(net)
    np.testing.assert_array_equal(centres, bins.astype(np.float32))
    ab = ab_from_scores(scores, temperature, centres)
    helpers.set_temperature(net, temperature)
    expected = helpers.predict_ab(net, L_small[np.newaxis])
    assert ab.shape == expected.shape == (1, 24, 24, 2)
    np.testing.assert_allclose(ab, expected, atol=2e-3)
    assert np.abs(expected).max() > 5  # the tiny network does give colour: the check is not 0 == 0


def test_ab_from_scores_survives_tiny_temperatures(bins):
    scores = np.zeros((1, 313, 2, 3), np.float32)
    scores[0, 40] = 100.0  # exp(100 / 0.05) would overflow without subtracting the largest score
    ab = ab_from_scores(scores, 0.05, bins)
    np.testing.assert_allclose(ab, np.broadcast_to(bins[40], ab.shape), atol=1e-4)
    with pytest.raises(ValueError, match="temperature"):
        ab_from_scores(scores, 0, bins)


def test_scores_of_the_real_architecture_ignore_the_temperature(standin_model):
    """OpenCV folds the 1/T Scale into conv8_313 for a plain forward(); asked for conv8_313 by
    name it must give the raw scores, whatever T is set and whatever ran before."""
    net = helpers.load_model(model_dir=standin_model)
    assert gives_scores(net)
    L_small = helpers.network_input(helpers.lightness(np.tile(np.arange(256, dtype=np.uint8), (64, 1))), 64)
    blob = L_small[np.newaxis]
    ab_default = helpers.predict_ab(net, blob)  # fused, T = 0.38
    scores = predict_scores(net, blob)
    helpers.set_temperature(net, 1.0)
    helpers.predict_ab(net, blob)
    np.testing.assert_array_equal(predict_scores(net, blob), scores)
    centres = cluster_centres_of(net)
    np.testing.assert_allclose(ab_from_scores(scores, 1.0, centres), helpers.predict_ab(net, blob), atol=1e-2)
    np.testing.assert_allclose(ab_from_scores(scores, helpers.DEFAULT_TEMPERATURE, centres), ab_default,
                               atol=2e-2)
    assert helpers.get_temperature(net) == 1.0


def test_only_opencv_nets_with_the_layers_give_scores(tiny_model):
    class ColourOnly:  # like the fast back ends: setInput and forward, class8_ab only
        def setInput(self, blob):
            pass

        def forward(self):
            return np.zeros((1, 2, 56, 56), np.float32)

    assert gives_scores(helpers.load_model(model_dir=tiny_model))
    assert not gives_scores(ColourOnly())
