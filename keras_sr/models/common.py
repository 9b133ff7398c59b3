"""Pieces shared by the network builders: plain functions over built-in layers.

Layer names follow the PyTorch state_dict prefixes ("." becomes "_", the shared
recursive block is called "block"), so `keras_sr.port` maps weights mechanically
and `keras_sr.profile` can group layers into stages by name.
"""
from keras_sr._keras import keras
from keras_sr.layers import ChannelStats, PixelShuffle


def conv(filters, kernel_size, name, activation=None, use_bias=True):
    return keras.layers.Conv2D(
        filters, kernel_size, padding="same", activation=activation, use_bias=use_bias, name=name
    )


def shallow_features(x, num_features):
    """sfe1 -> F_-1, sfe2 -> F_0 (no activations)."""
    f_minus1 = conv(num_features, 3, "sfe1")(x)
    f0 = conv(num_features, 3, "sfe2")(f_minus1)
    return f_minus1, f0


def global_fusion(block_outputs, f_minus1, num_features):
    """concat[h_1..h_n] -> 1x1 gff_0 -> 3x3 gff_1 -> + F_-1."""
    x = keras.layers.Concatenate(name="gff_concat")(block_outputs) if len(block_outputs) > 1 else block_outputs[0]
    x = conv(num_features, 1, "gff_0")(x)
    x = conv(num_features, 3, "gff_1")(x)
    return keras.layers.Add(name="gff_residual")([x, f_minus1])


def shuffle_upsampler(x, num_features, scale, stages=None):
    """Conv + pixel shuffle. stages="x2x2" uses two r=2 stages at x4 (RDN, fd_irb);
    otherwise one conv with C*s*s outputs and one shuffle with r=s."""
    if scale == 4 and stages == "x2x2":
        for index in (0, 2):
            x = conv(num_features * 4, 3, f"upscale_{index}")(x)
            x = PixelShuffle(2, name=f"upscale_{index + 1}")(x)
        return x
    x = conv(num_features * scale * scale, 3, "upscale_0")(x)
    return PixelShuffle(scale, name="upscale_1")(x)


def channel_attention(features, stats_mode, squeeze, excite, prefix, call_id):
    """Scales `features` by sigmoid(excite(relu(squeeze(statistic)))).

    `squeeze` and `excite` are 1x1 Conv2D layers owned by the (possibly shared)
    block; the statistic and the multiply are new layers per call, so that each call
    gets its own quantization range.
    """
    stats = ChannelStats(stats_mode, name=f"{prefix}_stats_{call_id}")(features)
    weights = excite(squeeze(stats))
    return keras.layers.Multiply(name=f"{prefix}_attend_{call_id}")([features, weights])


def attention_layers(channels, prefix):
    """The squeeze (C -> C//16, ReLU) and excite (C//16 -> C, sigmoid) 1x1 convs."""
    hidden = max(channels // 16, 1)
    squeeze = conv(hidden, 1, f"{prefix}_conv_du_0", activation="relu")
    excite = conv(channels, 1, f"{prefix}_conv_du_2", activation="sigmoid")
    return squeeze, excite
