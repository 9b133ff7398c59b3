import numpy as np

from keras_sr._keras import keras, tf

_CUBIC_A = -0.75  # PyTorch's coefficient (TF's own bicubic uses -0.5)


def _cubic_weight(distance):
    """Keys cubic-convolution kernel with A = -0.75, for |distance| <= 2."""
    u = abs(distance)
    a = _CUBIC_A
    if u <= 1:
        return ((a + 2) * u - (a + 3)) * u * u + 1
    if u < 2:
        return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a
    return 0.0


def bicubic_taps(scale):
    """5-tap weights on input offsets -2..2 for each output phase, float64 (scale, 5).

    Output index `o = scale*i + p` of PyTorch's `interpolate(mode="bicubic",
    align_corners=False)` reads source position `(o + 0.5)/scale - 0.5`; with an
    integer scale the weights depend only on the phase p.
    """
    taps = np.zeros((scale, 5), np.float64)
    for phase in range(scale):
        src = (phase + 0.5) / scale - 0.5
        i0 = int(np.floor(src))
        t = src - i0
        for k, offset in enumerate(range(i0 - 1, i0 + 3)):
            taps[phase, offset + 2] += _cubic_weight(t - (k - 1))
    return taps


def bicubic_kernel(scale, channels):
    """Conv kernel (5, 5, C, C*s*s) whose outputs are in depth_to_space order."""
    taps = bicubic_taps(scale)
    kernel = np.zeros((5, 5, channels, channels * scale * scale), np.float64)
    for ph in range(scale):
        for pw in range(scale):
            outer = np.outer(taps[ph], taps[pw])
            for c in range(channels):
                kernel[:, :, c, (ph * scale + pw) * channels + c] = outer
    return kernel


@keras.saving.register_keras_serializable(package="keras_sr")
class BicubicUpsample(keras.layers.Layer):
    """PyTorch-exact bicubic upsampling built only from TFLite builtin ops.

    Reproduces `torch.nn.functional.interpolate(x, scale_factor=s, mode="bicubic",
    align_corners=False)` (A = -0.75, edge replication, no antialiasing, no clamping):
    the image is padded by 2 pixels with copies of its edge rows and columns
    (CONCATENATION), convolved with a fixed 5x5 kernel that has s*s outputs per
    channel (CONV_2D), and rearranged with DEPTH_TO_SPACE. Works for any input size.

    The kernel is a non-trainable weight so that quantization treats it like any
    other conv kernel.

    Args:
        scale: int, 2, 3 or 4 (any integer >= 2 works).

    Example:
        >>> BicubicUpsample(4)(tf.zeros((1, 13, 17, 3))).shape
        TensorShape([1, 52, 68, 3])

    Reference: Keys, "Cubic convolution interpolation for digital image processing", 1981.
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        if int(scale) < 2:
            raise ValueError(f"`scale` must be an integer >= 2. Received: scale={scale}")
        self.scale = int(scale)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.kernel = self.add_weight(
            name="kernel",
            shape=(5, 5, channels, channels * self.scale**2),
            initializer=keras.initializers.Constant(bicubic_kernel(self.scale, channels).astype(np.float32)),
            trainable=False,
        )
        super().build(input_shape)

    def call(self, inputs):
        top, bottom = inputs[:, :1], inputs[:, -1:]
        x = tf.concat([top, top, inputs, bottom, bottom], axis=1)
        left, right = x[:, :, :1], x[:, :, -1:]
        x = tf.concat([left, left, x, right, right], axis=2)
        x = tf.nn.conv2d(x, tf.cast(self.kernel, x.dtype), strides=1, padding="VALID")
        return tf.nn.depth_to_space(x, self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.scale
        return (n, None if h is None else h * s, None if w is None else w * s, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
