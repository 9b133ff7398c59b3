"""The one module that imports Keras.

tfmot (pruning, QAT) only works with tf_keras, the Keras 2 API, so this module
pins `TF_USE_LEGACY_KERAS=1` before TensorFlow is imported and hands out tf_keras.
Everything else does `from keras_sr._keras import keras, tf`.

TensorFlow's start-up lines (oneDNN, "could not find cuda drivers", cuInit) are
written by C++ before its logging is configured, so no log level hides them; they
are dropped here unless `KERAS_SR_VERBOSE=1` (what `keras-sr ... --verbose` sets).
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
_VERBOSE = os.environ.get("KERAS_SR_VERBOSE") == "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if _VERBOSE else "3")


def _import_quietly():
    if _VERBOSE:
        import tensorflow as tf
        import tf_keras as keras

        return tf, keras
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow as tf
        import tf_keras as keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    tf.get_logger().setLevel("ERROR")
    return tf, keras


tf, keras = _import_quietly()

__all__ = ["keras", "tf"]
