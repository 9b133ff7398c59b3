"""Data: the one degradation, (LR, HR) pair sources and (in `pipeline`) tf.data.

Importing this package never imports TensorFlow; `keras_sr.data.pipeline` does.
"""
from keras_sr.data.degrade import IMAGE_EXTENSIONS, make_lr, modcrop
from keras_sr.data.imageio import IMAGE_SUFFIXES, list_images, load_image
from keras_sr.data.sources import PairSource, open_pairs

__all__ = ["IMAGE_SUFFIXES", "IMAGE_EXTENSIONS", "list_images", "load_image", "make_lr", "modcrop", "PairSource", "open_pairs"]
