package org.kerassr.core;

/** Where the SR pixels go, block by block: an Android Bitmap in the app, an {@link ArgbImage} on the JVM. */
public interface PixelSink {
    /**
     * Writes the ARGB pixels of {@code src} (row by row, {@code stride} ints per row) to the rectangle
     * (x, y, w, h) (the signature of {@code Bitmap.setPixels}).
     */
    void setPixels(int[] src, int offset, int stride, int x, int y, int w, int h);
}
