from keras_sr._keras import keras, tf

_MODES = ("mean", "contrast")


@keras.saving.register_keras_serializable(package="keras_sr")
class ChannelStats(keras.layers.Layer):
    """Per-channel statistic over the whole image, the input of channel attention.

    `mode="mean"` gives the global average (RCAN-style attention);
    `mode="contrast"` gives mean + population standard deviation (IMDN's contrast
    attention): `std = sqrt(mean((y - mean)^2))`, divisor H*W, as in the PyTorch
    original. During training `epsilon` is added under the square root so a constant
    channel does not produce an infinite gradient; inference is exact.

    Because the statistic spans the whole image, every output pixel of a network
    using it depends on the whole input: tiled inference is approximate.

    Args:
        mode: "mean" or "contrast".
        epsilon: float, added to the variance under the square root while training.

    Input (N, H, W, C) -> output (N, 1, 1, C).
    """

    def __init__(self, mode="contrast", epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        if mode not in _MODES:
            raise ValueError(f"`mode` must be one of {_MODES}. Received: mode={mode!r}")
        self.mode = mode
        self.epsilon = float(epsilon)

    def call(self, inputs, training=None):
        mean = tf.reduce_mean(inputs, axis=[1, 2], keepdims=True)
        if self.mode == "mean":
            return mean
        variance = tf.reduce_mean(tf.math.squared_difference(inputs, mean), axis=[1, 2], keepdims=True)
        if training:
            variance = variance + self.epsilon
        return tf.sqrt(variance) + mean

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 1, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "epsilon": self.epsilon}
