package org.kerassr.core;

/**
 * ARGB pixels <-> NHWC tensors, with the same arithmetic as keras-sr's Python side, so results match it
 * byte for byte:
 * <ul>
 *   <li>pixel -> float: {@code v / 255f} in float32 ({@code keras_sr.data.imageio.read_image});</li>
 *   <li>float -> int8: {@code clip(rint(x / scale + zero_point), -128, 127)} in float32
 *       ({@code keras_sr.lite.runtime._quantize}; rint rounds halves to even like numpy);</li>
 *   <li>int8 -> float: {@code (q - zero_point) * scale} in float32 ({@code _dequantize});</li>
 *   <li>float -> pixel: {@code floor(clip(x, 0, 1) * 255.0 + 0.5)} in float64
 *       ({@code keras_sr.metrics.to_uint8}).</li>
 * </ul>
 * Alpha is dropped on the way in and written as 0xFF: the model upscales RGB.
 */
public final class PixelTensors {
    private PixelTensors() {
    }

    /** The float32 value of an 8-bit sample. */
    public static float toFloat(int v) {
        return v / 255f;
    }

    /** Quantizes a float32 value to int8 with (scale, zeroPoint). */
    public static byte quantize(float x, float scale, int zeroPoint) {
        double q = Math.rint(x / scale + zeroPoint);
        if (q < -128) {
            return (byte) -128;
        }
        if (q > 127) {
            return (byte) 127;
        }
        return (byte) q;
    }

    /** Dequantizes an int8 value with (scale, zeroPoint). */
    public static float dequantize(byte q, float scale, int zeroPoint) {
        return (float) (q - zeroPoint) * scale;
    }

    /** An 8-bit sample of a float in [0, 1] (clipped), rounded as MATLAB's im2uint8. */
    public static int toByte(float x) {
        double v = x;
        if (!(v > 0)) {
            return 0; // also NaN, which numpy's cast leaves undefined
        }
        if (v > 1) {
            v = 1;
        }
        return (int) Math.floor(v * 255.0 + 0.5);
    }

    /**
     * Fills {@code tensor} (1, h, w, 3) from ARGB pixels {@code argb} (h rows of {@code w} ints).
     */
    public static void fromArgb(int[] argb, int w, int h, ModelBundle.TensorSpec spec, Tensor tensor) {
        int n = w * h;
        if (tensor.floats != null) {
            float[] f = tensor.floats;
            for (int i = 0, j = 0; i < n; i++, j += 3) {
                int p = argb[i];
                f[j] = toFloat((p >> 16) & 0xff);
                f[j + 1] = toFloat((p >> 8) & 0xff);
                f[j + 2] = toFloat(p & 0xff);
            }
        } else {
            byte[] b = tensor.bytes;
            float s = spec.scale;
            int z = spec.zeroPoint;
            for (int i = 0, j = 0; i < n; i++, j += 3) {
                int p = argb[i];
                b[j] = quantize(toFloat((p >> 16) & 0xff), s, z);
                b[j + 1] = quantize(toFloat((p >> 8) & 0xff), s, z);
                b[j + 2] = quantize(toFloat(p & 0xff), s, z);
            }
        }
    }

    /**
     * Converts the rectangle (x0, y0, w, h) of an output tensor (1, H, W, 3) to opaque ARGB pixels in
     * {@code argb} (h rows of {@code w} ints).
     */
    public static void toArgb(Tensor tensor, ModelBundle.TensorSpec spec, int x0, int y0, int w, int h, int[] argb) {
        int tw = tensor.shape[2];
        float s = spec.scale;
        int z = spec.zeroPoint;
        for (int r = 0; r < h; r++) {
            int j = ((y0 + r) * tw + x0) * 3;
            int o = r * w;
            for (int c = 0; c < w; c++, j += 3) {
                int red;
                int green;
                int blue;
                if (tensor.floats != null) {
                    red = toByte(tensor.floats[j]);
                    green = toByte(tensor.floats[j + 1]);
                    blue = toByte(tensor.floats[j + 2]);
                } else {
                    red = toByte(dequantize(tensor.bytes[j], s, z));
                    green = toByte(dequantize(tensor.bytes[j + 1], s, z));
                    blue = toByte(dequantize(tensor.bytes[j + 2], s, z));
                }
                argb[o + c] = 0xff000000 | (red << 16) | (green << 8) | blue;
            }
        }
    }
}
