"""The one module that imports Keras.

tfmot (pruning, QAT) only works with tf_keras, the Keras 2 API, so this module
pins `TF_USE_LEGACY_KERAS=1` before TensorFlow is imported and hands out tf_keras.
Everything else does `from keras_sr._keras import keras, tf`.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["keras", "tf"]
