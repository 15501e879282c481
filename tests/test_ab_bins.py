"""helpers.lab.ab_bins: which bins a screen can show, a made-up prediction and the annealed mean (notebook 01)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.lab.ab_bins import annealed_mean, bins_in_gamut, bump_distribution
from helpers.lab.colour_space import in_srgb_gamut


def test_bins_in_gamut_is_the_gamut_test_at_the_bin_centres(bins):
    for L in (25, 50, 75):
        inside = bins_in_gamut(bins, L)
        assert inside.shape == (len(bins),) and inside.dtype == bool
        lab = np.column_stack([np.full(len(bins), L), bins]).astype(np.float32)
        assert np.array_equal(inside, in_srgb_gamut(lab))
        assert 0 < inside.sum() < len(bins)
    assert np.array_equal(bins_in_gamut(bins, 0), np.all(bins == 0, axis=1))  # black: only a = b = 0


def test_mean_of_two_opposite_colours_is_gray_and_annealing_moves_to_the_mode(bins):
    bins = bins.astype(np.float64)
    orange, blue = bins[np.argmin(np.hypot(*(bins - (10, 40)).T))], bins[np.argmin(np.hypot(*(bins + (10, 40)).T))]
    probs = np.zeros(len(bins))
    probs[np.all(bins == orange, axis=1)] = 0.5
    probs[np.all(bins == blue, axis=1)] = 0.5
    assert np.allclose(annealed_mean(probs, bins, temperature=1.0), (orange + blue) / 2)

    probs = bump_distribution(bins, centres=[(10, 40), (-10, -40)], weights=[0.6, 0.4])
    assert probs.sum() == pytest.approx(1) and probs.min() >= 0
    near_orange = np.hypot(*(bins - (10, 40)).T) < 25
    assert probs[near_orange].sum() == pytest.approx(0.6, abs=0.01)
    mean = annealed_mean(probs, bins, temperature=1.0)
    assert np.allclose(mean, probs @ bins)
    annealed = annealed_mean(probs, bins, temperature=0.38)
    mode = annealed_mean(probs, bins, temperature=0.01)
    assert np.allclose(mode, bins[np.argmax(probs)], atol=0.5)
    assert np.hypot(*mean) < np.hypot(*annealed) < np.hypot(*mode)  # more vivid as T falls


def test_annealed_mean_is_softmax_of_logits_over_t_as_in_the_network(bins):
    """p ** (1 / T) renormalised equals softmax(z / T) with p = softmax(z): the Scale layer's 1 / T."""
    logits = np.random.default_rng(3).normal(0, 2, len(bins))
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    scale = 2.606  # what the model's conv8_313_rh layer multiplies the logits by
    sharpened = np.exp(scale * logits - (scale * logits).max())
    sharpened /= sharpened.sum()
    assert np.allclose(annealed_mean(probs, bins, temperature=1 / scale), sharpened @ bins)


def test_annealed_mean_works_on_batches_and_rejects_bad_temperatures(bins):
    probs = np.full((4, 3, len(bins)), 1 / len(bins))
    assert annealed_mean(probs, bins, temperature=0.38).shape == (4, 3, 2)
    with pytest.raises(ValueError, match="temperature"):
        annealed_mean(probs, bins, temperature=0)
