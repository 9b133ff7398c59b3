from keras_sr._keras import keras, tf


@keras.saving.register_keras_serializable(package="keras_sr")
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel upsampling: `tf.nn.depth_to_space` (DCR order) as a layer.

    PyTorch's `PixelShuffle` reads channel `c*r*r + i*r + j`; depth_to_space reads
    `(i*r + j)*C + c`. The conv that feeds this layer therefore has its output
    channels permuted when PyTorch weights are imported (`keras_sr.port`), so the
    graph itself stays a single DEPTH_TO_SPACE op, which TFLite runs in int8.

    Args:
        block_size: int, the upscaling factor r. Input (N, H, W, C*r*r) becomes
            (N, H*r, W*r, C).

    Example:
        >>> PixelShuffle(2)(tf.zeros((1, 5, 7, 12))).shape
        TensorShape([1, 10, 14, 3])
    """

    def __init__(self, block_size, **kwargs):
        super().__init__(**kwargs)
        if int(block_size) < 2:
            raise ValueError(f"`block_size` must be >= 2. Received: block_size={block_size}")
        self.block_size = int(block_size)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.block_size
        return (n, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}
