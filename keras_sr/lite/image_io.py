"""Kept for older imports: the image I/O lives in `keras_sr.data.imageio`."""
from keras_sr.data.imageio import MODES, read_image, side_by_side, to_uint8, write_image

__all__ = ["read_image", "write_image", "side_by_side", "to_uint8", "MODES"]
