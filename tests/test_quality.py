"""PSNR and SSIM (helpers.restoration.quality) against their definitions, computed the slow way."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.restoration.quality import IDENTICAL_PSNR, PEAK, SSIM_K1, SSIM_K2, clip_psnr, clip_ssim, psnr, ssim


def test_psnr_is_the_ratio_of_the_peak_to_the_mean_squared_error():
    truth = np.zeros((4, 4), np.uint8)
    image = truth.copy()
    image[0, 0] = 16  # squared error 256 in 1 of 16 pixels: mean 16
    assert psnr(image, truth) == pytest.approx(10 * np.log10(255 ** 2 / 16))
    assert psnr(truth, truth) == float("inf")
    assert clip_psnr([truth, image], [truth, truth]) == pytest.approx((IDENTICAL_PSNR + psnr(image, truth)) / 2)


def test_ssim_of_flat_pictures_compares_their_brightness_only():
    a, b = np.full((20, 20), 100, np.uint8), np.full((20, 20), 140, np.uint8)
    c1 = (SSIM_K1 * PEAK) ** 2  # no spread, no covariance: only the luminance term is left
    assert ssim(a, b) == pytest.approx((2 * 100 * 140 + c1) / (100 ** 2 + 140 ** 2 + c1))
    assert ssim(a, a) == pytest.approx(1.0)


def slow_ssim_at(x: np.ndarray, y: np.ndarray, row: int, col: int) -> float:
    """SSIM at one pixel away from the borders, from Wang et al.'s formulas with an explicit window."""
    offsets = np.arange(-5, 6)
    window = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * 1.5 ** 2))
    window /= window.sum()
    px = x[row - 5:row + 6, col - 5:col + 6].astype(np.float64)
    py = y[row - 5:row + 6, col - 5:col + 6].astype(np.float64)
    mx, my = (window * px).sum(), (window * py).sum()
    vx, vy = (window * (px - mx) ** 2).sum(), (window * (py - my) ** 2).sum()
    cov = (window * (px - mx) * (py - my)).sum()
    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2
    return ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))


def test_ssim_is_the_mean_of_wang_et_als_local_index_with_mirrored_borders():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (24, 30), dtype=np.uint8)
    y = np.clip(x + rng.normal(0, 25, x.shape), 0, 255).astype(np.uint8)
    px, py = (np.pad(p, 5, mode="symmetric") for p in (x, y))  # mirrored: OpenCV's BORDER_REFLECT
    slow = np.mean([slow_ssim_at(px, py, r + 5, c + 5) for r in range(x.shape[0]) for c in range(x.shape[1])])
    assert ssim(y, x) == pytest.approx(slow, rel=1e-6)
    assert 0.5 < slow < 0.99  # alike, not the same


def test_ssim_ranks_a_small_brightening_above_noise_of_the_same_psnr():
    rng = np.random.default_rng(1)
    truth = (np.add.outer(np.arange(64), np.arange(64)) * 2).astype(np.uint8)
    brighter = np.clip(truth.astype(int) + 8, 0, 255).astype(np.uint8)
    noisy = np.clip(truth + rng.choice([-8, 8], truth.shape), 0, 255).astype(np.uint8)
    assert psnr(brighter, truth) == pytest.approx(psnr(noisy, truth), abs=0.3)
    assert ssim(brighter, truth) > ssim(noisy, truth) + 0.05
    assert clip_ssim([truth, noisy], [truth, truth]) == pytest.approx((1 + ssim(noisy, truth)) / 2)


def test_pictures_of_other_shapes_are_refused():
    with pytest.raises(ValueError, match="one shape"):
        psnr(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))
