"""PSNR / SSIM against analytic values and independent implementations."""
import numpy as np
import pytest

from keras_sr import metrics

C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2
Y_GAIN = (65.481 + 128.553 + 24.966) / 255  # dY for +1 on R, G and B (uint8 steps): 219/255


def _rand(shape, lo=0, hi=256, seed=0):
    return np.random.default_rng(seed).integers(lo, hi, size=shape, dtype=np.uint8)


# ---------------------------------------------------------------- rgb_to_y, to_uint8
def test_rgb_to_y_matches_matlab_rgb2ycbcr_extremes():
    img = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    y = metrics.rgb_to_y(img)
    assert y.dtype == np.float64 and y.shape == (1, 5)
    np.testing.assert_allclose(y[0], [16, 235, 16 + 65.481, 16 + 128.553, 16 + 24.966], atol=1e-12)
    np.testing.assert_allclose(metrics.rgb_to_y(img / 255.0), y, atol=1e-12)


def test_rgb_to_y_rejects_non_rgb():
    with pytest.raises(ValueError, match=r"shape \(H, W, 3\).*shape=\(4, 4\)"):
        metrics.rgb_to_y(np.zeros((4, 4), np.uint8))


def test_to_uint8_is_matlab_im2uint8():
    x = np.array([-0.3, 0.0, 2.5 / 255, 3.5 / 255, 0.5, 1.0, 1.7])
    # MATLAB rounds halves away from zero: 2.5 -> 3 (numpy's round gives 2), 127.5 -> 128.
    np.testing.assert_array_equal(metrics.to_uint8(x), [0, 0, 3, 4, 128, 255, 255])
    u = _rand((3, 3, 3))
    assert metrics.to_uint8(u) is u


def test_integer_non_uint8_rejected():
    with pytest.raises(ValueError, match=r"uint8.*dtype=int16"):
        metrics.psnr(np.zeros((8, 8, 3), np.int16), np.zeros((8, 8, 3), np.int16), 0)


# ---------------------------------------------------------------- PSNR
@pytest.mark.parametrize("d", [1, 3, 10])
def test_psnr_constant_offset_is_analytic(d):
    hr = _rand((20, 24, 3), 20, 200)
    sr = hr + np.uint8(d)
    # Y differs by d * 219 / 255 everywhere; RGB by d.
    assert metrics.psnr(sr, hr, 2) == pytest.approx(20 * np.log10(255 / (d * Y_GAIN)), abs=1e-9)
    assert metrics.psnr(sr, hr, 2, y_channel=False) == pytest.approx(20 * np.log10(255 / d), abs=1e-9)


def test_psnr_shaves_scale_pixels_at_each_border():
    hr = _rand((20, 20, 3), 20, 200)
    sr = hr.copy()
    sr[1:-1, 1:-1] += 4
    sr[:3], sr[-3:], sr[:, :3], sr[:, -3:] = 0, 255, 7, 99  # garbage only in the shaved border
    assert metrics.psnr(sr, hr, 3) == pytest.approx(20 * np.log10(255 / (4 * Y_GAIN)), abs=1e-9)
    assert metrics.psnr(sr, hr, 2) < metrics.psnr(sr, hr, 3)


def test_psnr_identical_is_inf_and_floats_are_quantised_first():
    hr = _rand((16, 16, 3))
    assert metrics.psnr(hr, hr, 4) == float("inf")
    sr = _rand((16, 16, 3), seed=1)
    # float input within half a step of the uint8 values scores exactly like uint8 input.
    jitter = np.random.default_rng(2).uniform(-0.49, 0.49, sr.shape)
    assert metrics.psnr((sr + jitter) / 255.0, hr, 2) == metrics.psnr(sr, hr, 2)
    assert metrics.ssim((sr + jitter) / 255.0, hr / 255.0, 2) == metrics.ssim(sr, hr, 2)


def test_psnr_errors_name_arguments():
    a = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match=r"same shape.*sr.shape=\(16, 16, 3\), hr.shape=\(16, 15, 3\)"):
        metrics.psnr(a, a[:, :15], 2)
    with pytest.raises(ValueError, match=r"`scale`.*integer >= 0. Received: scale=-1"):
        metrics.psnr(a, a, -1)
    with pytest.raises(ValueError, match=r"RGB images of shape \(H, W, 3\). Received: shape=\(16, 16\)"):
        metrics.psnr(a[..., 0], a[..., 0], 2)
    with pytest.raises(ValueError, match=r"nothing after shaving `scale`=8"):
        metrics.psnr(a, a, 8)


# ---------------------------------------------------------------- SSIM
def _ssim_bruteforce(a, b):
    """Direct 2-D window loop with MATLAB's fspecial window (no separability)."""
    w = metrics.gaussian_window(11, 1.5)
    h_out, w_out = a.shape[0] - 10, a.shape[1] - 10
    vals = []
    for i in range(h_out):
        for j in range(w_out):
            pa, pb = a[i : i + 11, j : j + 11], b[i : i + 11, j : j + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va = (w * (pa - ma) ** 2).sum()
            vb = (w * (pb - mb) ** 2).sum()
            cov = (w * (pa - ma) * (pb - mb)).sum()
            vals.append(((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma**2 + mb**2 + C1) * (va + vb + C2)))
    return float(np.mean(vals))


def test_gaussian_window_is_fspecial():
    w = metrics.gaussian_window()
    assert w.shape == (11, 11) and w.sum() == pytest.approx(1.0, abs=1e-15)
    # fspecial('gaussian', 11, 1.5): centre value and a corner value (MATLAB, format long).
    assert w[5, 5] == pytest.approx(0.0707622, abs=1e-7)
    assert w[0, 0] == pytest.approx(1.05756e-06, rel=1e-4)


def test_ssim_identical_is_one():
    hr = _rand((24, 24, 3))
    assert metrics.ssim(hr, hr, 2) == pytest.approx(1.0, abs=1e-12)
    assert metrics.ssim(hr, hr, 2, y_channel=False) == pytest.approx(1.0, abs=1e-12)


def test_ssim_constant_images_closed_form():
    # Constant within every window: sigma = cov = 0, so SSIM = (2 mx my + C1) / (mx^2 + my^2 + C1).
    rgb_a, rgb_b = np.array([40, 90, 200], np.uint8), np.array([70, 60, 180], np.uint8)
    a = np.broadcast_to(rgb_a, (20, 22, 3)).copy()
    b = np.broadcast_to(rgb_b, (20, 22, 3)).copy()

    def formula(x, y):
        return (2 * x * y + C1) / (x**2 + y**2 + C1)

    ya, yb = metrics.rgb_to_y(a[:1, :1])[0, 0], metrics.rgb_to_y(b[:1, :1])[0, 0]
    assert metrics.ssim(a, b, 2) == pytest.approx(formula(ya, yb), abs=1e-12)
    expect_rgb = np.mean([formula(float(x), float(y)) for x, y in zip(rgb_a, rgb_b)])
    assert metrics.ssim(a, b, 2, y_channel=False) == pytest.approx(expect_rgb, abs=1e-12)


def test_ssim_matches_bruteforce_window_loop():
    rng = np.random.default_rng(3)
    hr = _rand((26, 28, 3), seed=4)
    sr = np.clip(hr.astype(int) + rng.integers(-30, 31, hr.shape), 0, 255).astype(np.uint8)
    ya, yb = metrics.rgb_to_y(sr)[2:-2, 2:-2], metrics.rgb_to_y(hr)[2:-2, 2:-2]
    assert metrics.ssim(sr, hr, 2) == pytest.approx(_ssim_bruteforce(ya, yb), abs=1e-12)


def test_ssim_matches_scikit_image():
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:48, 0:40]
    smooth = 120 + 80 * np.sin(yy / 5.0)[..., None] * np.cos(xx / 7.0)[..., None] * np.ones(3)
    hr = np.clip(smooth + rng.normal(0, 10, smooth.shape), 0, 255).astype(np.uint8)
    sr = np.clip(hr + rng.normal(0, 12, hr.shape), 0, 255).astype(np.uint8)
    ya, yb = metrics.rgb_to_y(sr)[3:-3, 3:-3], metrics.rgb_to_y(hr)[3:-3, 3:-3]
    # skimage filters with 'reflect' padding and then crops the border: the 'valid' mean.
    ref = skm.structural_similarity(
        ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert metrics.ssim(sr, hr, 3) == pytest.approx(ref, abs=1e-10)


def test_ssim_too_small_after_shave():
    a = np.zeros((14, 30, 3), np.uint8)
    with pytest.raises(ValueError, match=r"at least 11x11 pixels after shaving `scale`=2"):
        metrics.ssim(a, a, 2)
