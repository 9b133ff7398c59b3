package org.kerassr.core;

import java.util.Locale;
import java.util.concurrent.CancellationException;

/**
 * Upscales an image tile by tile with a bundle's fixed-shape model: the tile plan of {@link TilePlan},
 * pixels <-> tensors by {@link PixelTensors}, the model behind a {@link TileRunner}.
 *
 * <p>Memory is bounded by the tile: one input and one output tensor and one block of ARGB pixels live at
 * a time; every kept block is written to the {@link PixelSink} (the result Bitmap) as soon as its tile
 * has run. Nothing holds the whole image as floats. The result equals, byte for byte,
 * {@code keras-sr upscale IN -o OUT --tflite BUNDLE/model.tflite --tile T --overlap P} on the same model
 * (given a TileRunner whose kernels are LiteRT's, such as the JVM test's).
 */
public final class Upscaler {
    /** Progress and cancellation, called on the upscaling thread after each tile. */
    public interface Progress {
        void onTile(int done, int total);

        /** Polled before each tile; true stops the run with a {@link CancellationException}. */
        default boolean isCancelled() {
            return false;
        }
    }

    /** What a run did. */
    public static final class Stats {
        public final int tiles;
        public final long nanos;

        Stats(int tiles, long nanos) {
            this.tiles = tiles;
            this.nanos = nanos;
        }

        public double seconds() {
            return nanos / 1e9;
        }

        public double tilesPerSecond() {
            return nanos > 0 ? tiles / seconds() : 0;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d tiles in %.2f s (%.2f tiles/s)", tiles, seconds(), tilesPerSecond());
        }
    }

    /** Bytes per pixel of an ARGB_8888 result bitmap. */
    public static final int BYTES_PER_PIXEL = 4;

    private final ModelBundle bundle;
    private final TileRunner runner;

    public Upscaler(ModelBundle bundle, TileRunner runner) {
        this.bundle = bundle;
        this.runner = runner;
    }

    /**
     * Refuses an image that is empty or whose result would not fit in memory.
     *
     * @param width LR width in pixels.
     * @param height LR height in pixels.
     * @param scale upscaling factor.
     * @param maxOutputBytes the most bytes the caller can give the ARGB_8888 result (the app passes what the
     *     device has to spare); at most 2^31 - 1, a Bitmap's and a Java array's limit.
     * @throws IllegalArgumentException with the sizes, the bytes needed and the limit.
     */
    public static void checkImage(int width, int height, int scale, long maxOutputBytes) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("`image` must be at least 1x1 pixels. Received: image of " + width + "x"
                    + height + " pixels");
        }
        if (scale < 1) {
            throw new IllegalArgumentException("`scale` must be >= 1. Received: scale=" + scale);
        }
        long limit = Math.min(maxOutputBytes, Integer.MAX_VALUE);
        long ow = (long) width * scale;
        long oh = (long) height * scale;
        long need = ow * oh * BYTES_PER_PIXEL;
        if (need > limit) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "`image` is too large for this device: %dx%d pixels upscaled x%d is %dx%d, %,d bytes as ARGB_8888; "
                            + "at most %,d bytes are available (`max_output_bytes`). Choose a smaller scale or a "
                            + "smaller photo. Received: image of %dx%d pixels, scale=%d",
                    width, height, scale, ow, oh, need, limit, width, height, scale));
        }
    }

    /** The tile plan for a width x height image; overlap &lt; 0 means the bundle's recommended overlap. */
    public TilePlan plan(int width, int height, int overlap) {
        return TilePlan.forFixedModel(width, height, bundle.tileWidth, bundle.tileHeight,
                overlap < 0 ? bundle.overlap : overlap);
    }

    /**
     * Upscales {@code src} into {@code dst}, which must be scale * width x scale * height.
     *
     * @param overlap context pixels per window side; &lt; 0: the bundle's.
     * @param progress may be null.
     * @throws CancellationException {@code progress.isCancelled()} returned true.
     * @throws Exception what the TileRunner throws.
     */
    public Stats upscale(PixelSource src, PixelSink dst, int overlap, Progress progress) throws Exception {
        int w = src.width();
        int h = src.height();
        int s = bundle.scale;
        TilePlan plan = plan(w, h, overlap);
        int th = bundle.tileHeight;
        int tw = bundle.tileWidth;
        Tensor in = new Tensor(bundle.input);
        Tensor out = new Tensor(bundle.output);
        int[] window = new int[th * tw];
        int[] block = new int[s * th * s * tw];
        int total = plan.tileCount();
        int done = 0;
        long t0 = System.nanoTime();
        for (TilePlan.Window r : plan.rows) {
            for (TilePlan.Window c : plan.cols) {
                if (progress != null && progress.isCancelled()) {
                    throw new CancellationException("Upscaling was cancelled after " + done + " of " + total
                            + " tiles.");
                }
                readWindow(src, r, c, tw, window);
                PixelTensors.fromArgb(window, tw, th, bundle.input, in);
                runner.run(in, out);
                // The kept part, cropped to the image (the padding of a small image is dropped).
                int ky0 = r.keepStart;
                int ky1 = Math.min(r.keepEnd, h);
                int kx0 = c.keepStart;
                int kx1 = Math.min(c.keepEnd, w);
                int bw = s * (kx1 - kx0);
                int bh = s * (ky1 - ky0);
                PixelTensors.toArgb(out, bundle.output, s * (kx0 - c.start), s * (ky0 - r.start), bw, bh, block);
                dst.setPixels(block, 0, bw, s * kx0, s * ky0, bw, bh);
                done++;
                if (progress != null) {
                    progress.onTile(done, total);
                }
            }
        }
        return new Stats(done, System.nanoTime() - t0);
    }

    /** The window's pixels; beyond the image's right/bottom edge the last column/row repeats (np.pad "edge"). */
    private static void readWindow(PixelSource src, TilePlan.Window r, TilePlan.Window c, int tw, int[] dst) {
        int w = src.width();
        int h = src.height();
        int x1 = Math.min(c.end, w);
        int y1 = Math.min(r.end, h);
        int vw = x1 - c.start;
        int vh = y1 - r.start;
        src.getPixels(dst, 0, tw, c.start, r.start, vw, vh);
        int th = r.end - r.start;
        for (int y = 0; y < vh; y++) {
            int row = y * tw;
            int last = dst[row + vw - 1];
            for (int x = vw; x < tw; x++) {
                dst[row + x] = last;
            }
        }
        for (int y = vh; y < th; y++) {
            System.arraycopy(dst, (vh - 1) * tw, dst, y * tw, tw);
        }
    }
}
