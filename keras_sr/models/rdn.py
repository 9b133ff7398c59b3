"""RDN: Residual Dense Network (Zhang et al., CVPR 2018), the 22M-parameter baseline."""
from keras_sr._keras import keras
from keras_sr.models.common import conv, global_fusion, shallow_features, shuffle_upsampler


def dense_layers(t, num_layers, growth_rate, prefix):
    """C dense layers: 3x3 conv + ReLU on the running concat, [old, new] order."""
    for j in range(num_layers):
        new = conv(growth_rate, 3, f"{prefix}_layers_{j}_conv", activation="relu")(t)
        t = keras.layers.Concatenate(name=f"{prefix}_concat_{j}")([t, new])
    return t


def build_rdn(scale, num_features=64, growth_rate=64, num_blocks=16, num_layers=8):
    x = keras.Input((None, None, 3), name="lr")
    f_minus1, h = shallow_features(x, num_features)
    outputs = []
    for d in range(num_blocks):
        prefix = f"rdbs_{d}"
        t = dense_layers(h, num_layers, growth_rate, prefix)
        h = keras.layers.Add(name=f"{prefix}_residual")([h, conv(num_features, 1, f"{prefix}_lff")(t)])
        outputs.append(h)
    y = global_fusion(outputs, f_minus1, num_features)
    y = shuffle_upsampler(y, num_features, scale, stages="x2x2")
    y = conv(3, 3, "output")(y)
    return keras.Model(x, y, name="rdn")
