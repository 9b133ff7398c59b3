"""Split version of RDCAB-RecursiveSRNet: IMDN-style channel split in the shared block."""
from keras_sr._keras import keras
from keras_sr.layers import BicubicUpsample, ChannelSlice, PixelShuffle, Scale
from keras_sr.models.common import (
    attention_layers,
    channel_attention,
    conv,
    global_fusion,
    shallow_features,
)


def build_split(scale, num_features=64, growth_rate=64, num_layers=8, recursions=9):
    del growth_rate  # must equal num_features; checked by the registry
    distilled = num_features // 4  # 16 of 64 channels are kept, 48 passed on
    x = keras.Input((None, None, 3), name="lr")
    f_minus1, h = shallow_features(x, num_features)
    layers = [conv(num_features, 3, f"block_layer{k}_0", activation="relu") for k in range(1, num_layers + 1)]
    lff = conv(num_features, 1, "block_lff")
    squeeze, excite = attention_layers(num_features, "block")

    outputs = []
    for u in range(recursions):
        kept, remaining = [], []
        for k, layer in enumerate(layers, start=1):
            inp = h if k == 1 else keras.layers.Concatenate(name=f"block_u{u}_concat_{k}")([h, *remaining])
            out = layer(inp)
            kept.append(ChannelSlice(0, distilled, name=f"block_u{u}_distilled_{k}")(out))
            if k < num_layers:  # the last layer's remaining part is unused, as in the original
                remaining.append(ChannelSlice(distilled, num_features, name=f"block_u{u}_remaining_{k}")(out))
        y = lff(keras.layers.Concatenate(name=f"block_u{u}_concat_distilled")(kept))
        y = channel_attention(y, "contrast", squeeze, excite, "block", u)
        h = keras.layers.Add(name=f"block_u{u}_residual")([y, h])
        outputs.append(h)
    y = global_fusion(outputs, f_minus1, num_features)
    y = conv(3 * scale * scale, 3, "upscale1")(y)
    y = Scale(name="upscale1_scale")(y)
    y = PixelShuffle(scale, name="upscale1_shuffle")(y)
    y = keras.layers.Add(name="bicubic_skip")([y, BicubicUpsample(scale, name="bicubic")(x)])
    return keras.Model(x, y, name="split")
