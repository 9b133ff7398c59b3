"""RDCAB-RecursiveSRNet: one residual dense channel-attention block applied U times."""
from keras_sr._keras import keras
from keras_sr.models.common import (
    attention_layers,
    channel_attention,
    conv,
    global_fusion,
    shallow_features,
    shuffle_upsampler,
)


def build_rdcab_recursive(scale, num_features=64, growth_rate=64, num_layers=8, recursions=9):
    x = keras.Input((None, None, 3), name="lr")
    f_minus1, f0 = shallow_features(x, num_features)
    # The shared block: created once, called U times.
    dense = [
        conv(growth_rate, 3, f"block_layers_{j}_conv", activation="relu") for j in range(num_layers)
    ]
    concat_width = num_features + num_layers * growth_rate
    squeeze, excite = attention_layers(concat_width, "block")
    lff = conv(num_features, 1, "block_lff")

    h = f0
    outputs = []
    for u in range(recursions):
        t = h
        for j, layer in enumerate(dense):
            t = keras.layers.Concatenate(name=f"block_u{u}_concat_{j}")([t, layer(t)])
        t = channel_attention(t, "mean", squeeze, excite, "block", u)
        h = keras.layers.Add(name=f"block_u{u}_residual")([h, lff(t), f0])
        outputs.append(h)
    y = global_fusion(outputs, f_minus1, num_features)
    y = shuffle_upsampler(y, num_features, scale)
    y = conv(3, 3, "output")(y)
    return keras.Model(x, y, name="rdcab_recursive")
