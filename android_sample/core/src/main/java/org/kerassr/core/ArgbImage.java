package org.kerassr.core;

/** An image held as ARGB ints ({@code 0xAARRGGBB}, row-major): the JVM's stand-in for a Bitmap. */
public final class ArgbImage implements PixelSource, PixelSink {
    public final int width;
    public final int height;
    public final int[] pixels;

    public ArgbImage(int width, int height) {
        this(width, height, new int[Math.multiplyExact(width, height)]);
    }

    public ArgbImage(int width, int height, int[] pixels) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("`image` must be at least 1x1 pixels. Received: width=" + width
                    + ", height=" + height);
        }
        if (pixels.length != (long) width * height) {
            throw new IllegalArgumentException("`pixels` must hold width * height = " + (long) width * height
                    + " ints. Received: " + pixels.length);
        }
        this.width = width;
        this.height = height;
        this.pixels = pixels;
    }

    @Override
    public int width() {
        return width;
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public void getPixels(int[] dst, int offset, int stride, int x, int y, int w, int h) {
        for (int r = 0; r < h; r++) {
            System.arraycopy(pixels, (y + r) * width + x, dst, offset + r * stride, w);
        }
    }

    @Override
    public void setPixels(int[] src, int offset, int stride, int x, int y, int w, int h) {
        for (int r = 0; r < h; r++) {
            System.arraycopy(src, offset + r * stride, pixels, (y + r) * width + x, w);
        }
    }
}
