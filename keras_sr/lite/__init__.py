"""Board-side runtime: TFLite inference, tiling and image IO. Never imports TensorFlow.

Needs only ai-edge-litert, numpy and pillow (`pip install keras-sr`, no extras).
"""
from keras_sr.data.imageio import read_image, side_by_side, write_image
from keras_sr.lite.runtime import TFLiteSR
from keras_sr.lite.tiling import tile_windows, upscale_tiled

__all__ = ["TFLiteSR", "upscale_tiled", "tile_windows", "read_image", "write_image", "side_by_side"]
