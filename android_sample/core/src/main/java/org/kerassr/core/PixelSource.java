package org.kerassr.core;

/** Where the LR pixels come from: an Android Bitmap in the app, an {@link ArgbImage} on the JVM. */
public interface PixelSource {
    int width();

    int height();

    /**
     * Copies the ARGB pixels of the rectangle (x, y, w, h) into {@code dst}, row by row with
     * {@code stride} ints per row (the signature of {@code Bitmap.getPixels}).
     */
    void getPixels(int[] dst, int offset, int stride, int x, int y, int w, int h);
}
