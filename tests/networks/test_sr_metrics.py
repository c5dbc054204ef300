"""Y-channel PSNR/SSIM against scikit-image; the bicubic baseline against its published value."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from networks.sr.data import load_images
from networks.sr.metrics import psnr_y, rgb_to_y, ssim_y
from networks.sr.resize import degrade, imresize


def _pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    names, imgs = load_images("set5")
    rng = np.random.default_rng(0)
    bird = imgs[names.index("bird")]
    hr, lr = degrade(bird, 2)
    noisy = np.clip(hr.astype(float) + rng.normal(0, 8, hr.shape), 0, 255).astype(np.uint8)
    return [(hr, imresize(lr, 2)), (hr, noisy)]


def test_luma_matches_skimage_rgb2ycbcr() -> None:
    img = load_images("set5")[1][0]
    # float64 arithmetic on the same coefficients: agreement to rounding error
    np.testing.assert_allclose(rgb_to_y(img), rgb2ycbcr(img)[..., 0], atol=1e-9)


@pytest.mark.parametrize("border", [0, 2])
def test_psnr_ssim_match_skimage(border: int) -> None:
    for ref, test in _pairs():
        yr, yt = rgb2ycbcr(ref)[..., 0], rgb2ycbcr(test)[..., 0]
        if border:
            yr, yt = yr[border:-border, border:-border], yt[border:-border, border:-border]
        p_ref = peak_signal_noise_ratio(yr, yt, data_range=255)
        s_ref = structural_similarity(yr, yt, data_range=255, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False)
        # within 1e-6 dB and 1e-6
        assert abs(psnr_y(ref, test, border) - p_ref) < 1e-6
        assert abs(ssim_y(ref, test, border) - s_ref) < 1e-6


def test_psnr_identical_is_inf_and_bad_border_raises() -> None:
    img = load_images("set5")[1][1]
    assert psnr_y(img, img) == float("inf")
    with pytest.raises(ValueError, match="border"):
        psnr_y(img, img, border=-1)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr_y(img, img[:-1])


def test_bicubic_set5_x2_near_published() -> None:
    """MATLAB-kernel bicubic (a = -0.5, antialiased shrink) gives 33.68 dB / 0.9305 here."""
    ps, ss = [], []
    for img in load_images("set5")[1]:
        hr, lr = degrade(img, 2)
        sr = imresize(lr, 2)
        ps.append(psnr_y(hr, sr, 2))
        ss.append(ssim_y(hr, sr, 2))
    # published 33.66 dB / 0.9299 (MATLAB); rounding conventions differ by a few 0.01 dB
    assert abs(np.mean(ps) - 33.66) < 0.05
    assert abs(np.mean(ss) - 0.9299) < 0.002


def test_imresize_constant_and_shape() -> None:
    img = np.full((20, 30, 3), 77, np.uint8)
    assert (imresize(img, 0.5) == 77).all()
    up = imresize(img[:10, :15], 2)
    assert up.shape == (20, 30, 3) and (up == 77).all()
