from keras_sr._keras import keras


@keras.saving.register_keras_serializable(package="keras_sr")
class ChannelSlice(keras.layers.Layer):
    """Channels `[start, stop)` of an NHWC tensor (the split network's distillation split).

    Args:
        start: int, first channel kept.
        stop: int, one past the last channel kept.
    """

    def __init__(self, start, stop, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= int(start) < int(stop):
            raise ValueError(
                f"`start` and `stop` must satisfy 0 <= start < stop. Received: start={start}, stop={stop}"
            )
        self.start = int(start)
        self.stop = int(stop)

    def call(self, inputs):
        return inputs[..., self.start : self.stop]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.stop - self.start)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}
