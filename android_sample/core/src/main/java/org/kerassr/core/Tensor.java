package org.kerassr.core;

/**
 * One NHWC tensor of a tile, in the model's dtype: {@link #floats} for float32, {@link #bytes} for int8.
 * The {@link Upscaler} owns one input and one output tensor and reuses them for every tile.
 */
public final class Tensor {
    public final ModelBundle.DType dtype;
    /** NHWC shape, (1, H, W, 3). */
    public final int[] shape;
    /** float32 values, or null for an int8 tensor. */
    public final float[] floats;
    /** int8 values, or null for a float32 tensor. */
    public final byte[] bytes;

    public Tensor(ModelBundle.TensorSpec spec) {
        this.dtype = spec.dtype;
        this.shape = spec.shape.clone();
        int n = spec.elements();
        this.floats = dtype == ModelBundle.DType.FLOAT32 ? new float[n] : null;
        this.bytes = dtype == ModelBundle.DType.INT8 ? new byte[n] : null;
    }

    /** Number of elements. */
    public int size() {
        return floats != null ? floats.length : bytes.length;
    }
}
