"""FD & IRB: feature distillation block plus an information refinement block at HR."""
from keras_sr._keras import keras
from keras_sr.layers import BicubicUpsample, PixelShuffle
from keras_sr.models.common import (
    attention_layers,
    channel_attention,
    conv,
    global_fusion,
    shallow_features,
    shuffle_upsampler,
)


def build_fd_irb(
    scale,
    num_features=64,
    growth_rate=64,
    num_layers=8,
    recursions=3,
    irb_features=None,
    distill_features=None,
    attention="contrast",
    tail="irb",
):
    """FD & IRB, with the structured reductions the edge network is chosen from.

    Args:
        distill_features: width of each distilled (sub) output and of the last
            dense layer; default num_features // 2 (the paper's 32).
        irb_features: width of the HR refinement block; default num_features // 2.
        attention: "contrast" (mean + std, the paper), "mean" (no SQRT, which
            XNNPACK does not delegate), or "none".
        tail: "irb" (the paper: two x2 shuffles to num_features channels at HR, then
            the IRB) or "direct" (one conv to 3*s*s channels and one shuffle, as in
            the split network: no work at HR resolution).
    """
    del growth_rate  # must equal num_features; checked by the registry
    half = num_features // 2 if distill_features is None else distill_features
    irb_features = num_features // 2 if irb_features is None else irb_features
    x = keras.Input((None, None, 3), name="lr")
    f_minus1, h = shallow_features(x, num_features)

    # The shared block. layer{k} for k < C is 64k -> 64 with an identity; layer{C} is the last, 32 wide.
    layers = [conv(num_features, 3, f"block_layer{k}") for k in range(1, num_layers)]
    subs = [conv(half, 1, f"block_layer{k}_sub") for k in range(1, num_layers)]
    last = conv(half, 3, f"block_layer{num_layers}")
    lff = conv(num_features, 1, "block_lff")
    squeeze, excite = attention_layers(num_features, "block") if attention != "none" else (None, None)

    outputs = []
    for u in range(recursions):
        chain, distilled = [h], []
        previous = h
        for k, (layer, sub) in enumerate(zip(layers, subs), start=1):
            inp = h if k == 1 else keras.layers.Concatenate(name=f"block_u{u}_concat_{k}")(chain)
            # The identity is added before the ReLU, as published.
            out = keras.layers.Add(name=f"block_u{u}_identity_{k}")([layer(inp), previous])
            out = keras.layers.ReLU(name=f"block_u{u}_relu_{k}")(out)
            # layer1_sub reads the block input, not layer 1's output: that is what the
            # published code computes, so trained weights expect it.
            distilled.append(sub(h if k == 1 else out))
            chain.append(out)
            previous = out
        distilled.append(last(keras.layers.Concatenate(name=f"block_u{u}_concat_{num_layers}")(chain)))
        y = lff(keras.layers.Concatenate(name=f"block_u{u}_concat_distilled")(distilled))
        if attention != "none":
            y = channel_attention(y, attention, squeeze, excite, "block", u)
        h = keras.layers.Add(name=f"block_u{u}_residual")([y, h])
        outputs.append(h)
    y = global_fusion(outputs, f_minus1, num_features)
    if tail == "direct":
        y = conv(3 * scale * scale, 3, "upscale_0")(y)
        y = PixelShuffle(scale, name="upscale_1")(y)
    else:
        y = shuffle_upsampler(y, num_features, scale, stages="x2x2")
        # Information refinement block at HR resolution (bias-free convs, as published).
        y = conv(irb_features, 1, "middle_pointwise")(y)
        for k in range(1, 5):
            y = conv(irb_features, 3, f"convIRB_{k}_0", activation="relu", use_bias=False)(y)
        y = conv(3, 3, "convIRB_0", use_bias=False)(y)
    y = keras.layers.Add(name="bicubic_skip")([y, BicubicUpsample(scale, name="bicubic")(x)])
    return keras.Model(x, y, name="fd_irb")
