package org.kerassr.core;

/**
 * Bicubic upscaling by an integer factor with Pillow's arithmetic ({@code Image.resize(size, Image.BICUBIC)}
 * on an RGB image: Keys' cubic with a = -0.5, coefficients in 22-bit fixed point, a horizontal pass rounded
 * to 8 bits, then a vertical pass), written band by band into a {@link PixelSink}: the comparison image the
 * app shows beside keras-sr's, made without holding the image as floats.
 */
public final class Bicubic {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    /** Output rows per band. */
    private static final int BAND = 64;

    private Bicubic() {
    }

    /** Pillow's bicubic filter (support 2). */
    static double filter(double x) {
        final double a = -0.5;
        if (x < 0) {
            x = -x;
        }
        if (x < 1) {
            return ((a + 2) * x - (a + 3)) * x * x + 1;
        }
        if (x < 2) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0;
    }

    /** Per output index: first input index, count, and fixed-point weights (Pillow's precompute_coeffs). */
    static final class Coeffs {
        final int[] start;
        final int[] count;
        final int[][] weights;

        Coeffs(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = 2.0 * filterScale;
            start = new int[outSize];
            count = new int[outSize];
            weights = new int[outSize][];
            double[] k = new double[(int) Math.ceil(support) * 2 + 1];
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                int xmin = (int) (center - support + 0.5);
                if (xmin < 0) {
                    xmin = 0;
                }
                int xmax = (int) (center + support + 0.5);
                if (xmax > inSize) {
                    xmax = inSize;
                }
                xmax -= xmin;
                double ww = 0;
                for (int x = 0; x < xmax; x++) {
                    double w = filter((x + xmin - center + 0.5) / filterScale);
                    k[x] = w;
                    ww += w;
                }
                int[] fixed = new int[xmax];
                for (int x = 0; x < xmax; x++) {
                    double v = ww != 0 ? k[x] / ww : k[x];
                    fixed[x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                            : (int) (0.5 + v * (1 << PRECISION_BITS));
                }
                start[xx] = xmin;
                count[xx] = xmax;
                weights[xx] = fixed;
            }
        }
    }

    private static int clip8(long v) {
        long s = v >> PRECISION_BITS;
        return s < 0 ? 0 : s > 255 ? 255 : (int) s;
    }

    /**
     * Writes {@code src} upscaled {@code scale} times into {@code dst} (scale * width x scale * height),
     * opaque ARGB.
     */
    public static void upscale(PixelSource src, PixelSink dst, int scale) {
        int w = src.width();
        int h = src.height();
        if (w < 1 || h < 1 || scale < 1) {
            throw new IllegalArgumentException("`image` must be at least 1x1 pixels and `scale` >= 1. Received: image "
                    + "of " + w + "x" + h + " pixels, scale=" + scale);
        }
        int ow = w * scale;
        int oh = h * scale;
        Coeffs cx = new Coeffs(w, ow);
        Coeffs cy = new Coeffs(h, oh);
        int[] row = new int[w];
        int[] out = new int[ow * BAND];
        for (int y0 = 0; y0 < oh; y0 += BAND) {
            int y1 = Math.min(y0 + BAND, oh);
            int in0 = cy.start[y0];
            int in1 = cy.start[y1 - 1] + cy.count[y1 - 1];
            // Horizontal pass over the input rows this band needs, rounded to 8 bits as Pillow does.
            int[] horiz = new int[(in1 - in0) * ow * 3];
            for (int yy = in0; yy < in1; yy++) {
                src.getPixels(row, 0, w, 0, yy, w, 1);
                int base = (yy - in0) * ow * 3;
                for (int xx = 0; xx < ow; xx++) {
                    long r = 1L << (PRECISION_BITS - 1);
                    long g = r;
                    long b = r;
                    int[] k = cx.weights[xx];
                    int s0 = cx.start[xx];
                    for (int i = 0; i < k.length; i++) {
                        int p = row[s0 + i];
                        r += (long) ((p >> 16) & 0xff) * k[i];
                        g += (long) ((p >> 8) & 0xff) * k[i];
                        b += (long) (p & 0xff) * k[i];
                    }
                    horiz[base + 3 * xx] = clip8(r);
                    horiz[base + 3 * xx + 1] = clip8(g);
                    horiz[base + 3 * xx + 2] = clip8(b);
                }
            }
            for (int yy = y0; yy < y1; yy++) {
                int[] k = cy.weights[yy];
                int s0 = cy.start[yy] - in0;
                int o = (yy - y0) * ow;
                for (int xx = 0; xx < ow; xx++) {
                    long r = 1L << (PRECISION_BITS - 1);
                    long g = r;
                    long b = r;
                    for (int i = 0; i < k.length; i++) {
                        int j = ((s0 + i) * ow + xx) * 3;
                        r += (long) horiz[j] * k[i];
                        g += (long) horiz[j + 1] * k[i];
                        b += (long) horiz[j + 2] * k[i];
                    }
                    out[o + xx] = 0xff000000 | (clip8(r) << 16) | (clip8(g) << 8) | clip8(b);
                }
            }
            dst.setPixels(out, 0, ow, 0, y0, ow, y1 - y0);
        }
    }
}
