"""What each layer computes (golden values, PyTorch references); shapes, serialization, mixed
precision and QAT annotation of every layer are in tests/test_harness.py."""
import numpy as np
import pytest

from keras_sr._keras import tf
from keras_sr.layers import BicubicUpsample, ChannelSlice, ChannelStats, PixelShuffle, Scale, bicubic_taps
from tests.reference import reference_dir


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_reproduces_pytorch(scale):
    with np.load(reference_dir() / "bicubic_x4.npz") as archive:
        x = archive["input"].transpose(0, 2, 3, 1)
        expected = archive[f"output_x{scale}"].transpose(0, 2, 3, 1)
    got = BicubicUpsample(scale)(x).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_bicubic_taps_match_the_published_table():
    # Rows from the reference README (integer numerators over a common denominator).
    np.testing.assert_allclose(bicubic_taps(2) * 1024, [[-36, 268, 900, -108, 0], [0, -108, 900, 268, -36]])
    np.testing.assert_allclose(bicubic_taps(3)[1], [0, 0, 1, 0, 0])
    np.testing.assert_allclose(bicubic_taps(4)[1] * 4096, [-42, 470, 3962, -294, 0])
    for scale in (2, 3, 4):
        np.testing.assert_allclose(bicubic_taps(scale).sum(axis=1), 1.0)


def test_bicubic_differs_from_tf_image_resize():
    # The reason the layer exists: TF's own bicubic is a different kernel and border rule.
    x = np.random.default_rng(0).random((1, 9, 11, 3)).astype(np.float32)
    ours = BicubicUpsample(4)(x).numpy()
    tfs = tf.image.resize(x, (36, 44), method="bicubic").numpy()
    assert np.abs(ours - tfs).max() > 1e-2


def test_pixel_shuffle_is_depth_to_space():
    x = np.arange(2 * 3 * 4 * 12, dtype=np.float32).reshape(2, 3, 4, 12)
    np.testing.assert_array_equal(PixelShuffle(2)(x).numpy(), tf.nn.depth_to_space(x, 2).numpy())


def test_channel_slice_and_scale():
    x = np.random.default_rng(2).random((2, 3, 4, 6)).astype(np.float32)
    np.testing.assert_array_equal(ChannelSlice(1, 4)(x).numpy(), x[..., 1:4])
    np.testing.assert_allclose(Scale(0.25)(x).numpy(), 0.25 * x, rtol=1e-7)


def test_contrast_statistic_is_mean_plus_population_std():
    y = np.random.default_rng(1).normal(size=(2, 5, 7, 4)).astype(np.float32)
    got = ChannelStats("contrast")(y).numpy()
    expected = y.mean(axis=(1, 2), keepdims=True) + y.std(axis=(1, 2), keepdims=True, ddof=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(ChannelStats("mean")(y).numpy(), y.mean(axis=(1, 2), keepdims=True), atol=1e-6)


def test_contrast_statistic_has_finite_gradient_on_a_constant_channel():
    layer = ChannelStats("contrast")
    x = tf.ones((1, 4, 4, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=True)
    assert np.isfinite(tape.gradient(out, x).numpy()).all()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: PixelShuffle(1), "block_size"),
        (lambda: BicubicUpsample(1), "scale"),
        (lambda: ChannelStats("median"), "mode"),
        (lambda: ChannelSlice(3, 2), "start"),
    ],
)
def test_bad_layer_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()
