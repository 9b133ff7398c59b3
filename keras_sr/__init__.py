"""keras-sr: small recursive super-resolution networks for edge boards.

Importing the package is cheap and never imports TensorFlow, so the board-side
runtime (`keras_sr.lite`) works where only ai-edge-litert, numpy and pillow exist.
"""
import os

# tfmot works only with tf_keras; this must be set before TensorFlow is imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

__version__ = "0.1.0"
