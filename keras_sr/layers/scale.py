from keras_sr._keras import keras


@keras.saving.register_keras_serializable(package="keras_sr")
class Scale(keras.layers.Layer):
    """Multiplies its input by one learnable scalar (the split network's `upscale1_scale`).

    Args:
        initial_value: float, starting value of the scalar.
    """

    def __init__(self, initial_value=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_value = float(initial_value)

    def build(self, input_shape):
        self.scale = self.add_weight(
            name="scale",
            shape=(1,),
            initializer=keras.initializers.Constant(self.initial_value),
            trainable=True,
        )
        super().build(input_shape)

    def call(self, inputs):
        return inputs * self.scale

    def get_config(self):
        return {**super().get_config(), "initial_value": self.initial_value}
