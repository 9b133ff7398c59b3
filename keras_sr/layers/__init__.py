"""Registered, serializable Keras layers used by the keras-sr networks."""
from keras_sr.layers.bicubic import BicubicUpsample, bicubic_taps
from keras_sr.layers.channel_stats import ChannelStats
from keras_sr.layers.channel_slice import ChannelSlice
from keras_sr.layers.pixel_shuffle import PixelShuffle
from keras_sr.layers.scale import Scale

__all__ = [
    "BicubicUpsample",
    "ChannelSlice",
    "ChannelStats",
    "PixelShuffle",
    "Scale",
    "bicubic_taps",
]
