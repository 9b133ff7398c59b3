package org.kerassr.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The windows a fixed-shape model runs on: exactly {@code keras_sr.lite.tiling.tile_windows} and what
 * {@code keras_sr.upscale.upscale_image} does for a fixed-shape model (such as a bundle's model.tflite).
 *
 * <p>An image smaller than the tile along an axis is edge-padded up to the tile (bottom/right) and the
 * padding is cropped from the output. The overlap is clamped to {@code (min(tile) - 1) / 2}. Each window
 * is tile-sized; it keeps the part [keepStart, keepEnd) of itself and drops {@code overlap} pixels of
 * context on every side that is not the image border; the last window of a row or column is shifted back
 * inside the image.
 */
public final class TilePlan {
    /** One window along one axis, in (padded) LR image coordinates. */
    public static final class Window {
        /** The model sees [start, end). */
        public final int start;
        public final int end;
        /** Its output for [keepStart, keepEnd) is written. */
        public final int keepStart;
        public final int keepEnd;

        public Window(int start, int end, int keepStart, int keepEnd) {
            this.start = start;
            this.end = end;
            this.keepStart = keepStart;
            this.keepEnd = keepEnd;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Window)) {
                return false;
            }
            Window w = (Window) o;
            return start == w.start && end == w.end && keepStart == w.keepStart && keepEnd == w.keepEnd;
        }

        @Override
        public int hashCode() {
            return ((start * 31 + end) * 31 + keepStart) * 31 + keepEnd;
        }

        @Override
        public String toString() {
            return "(" + start + ", " + end + ", " + keepStart + ", " + keepEnd + ")";
        }
    }

    /** LR image size. */
    public final int width;
    public final int height;
    /** The fixed model input (tile) size. */
    public final int tileWidth;
    public final int tileHeight;
    /** Context pixels per window side after clamping. */
    public final int overlap;
    /** Windows along y and x; the plan runs every (row, column) pair, rows outer. */
    public final List<Window> rows;
    public final List<Window> cols;

    private TilePlan(int width, int height, int tileWidth, int tileHeight, int overlap) {
        this.width = width;
        this.height = height;
        this.tileWidth = tileWidth;
        this.tileHeight = tileHeight;
        this.overlap = overlap;
        this.rows = Collections.unmodifiableList(windows(Math.max(height, tileHeight), tileHeight, overlap));
        this.cols = Collections.unmodifiableList(windows(Math.max(width, tileWidth), tileWidth, overlap));
    }

    /**
     * The plan for a width x height LR image and a model of fixed input tileWidth x tileHeight.
     *
     * @param overlap context pixels per window side wanted; clamped to (min(tile) - 1) / 2 as keras-sr does.
     * @throws IllegalArgumentException a size is < 1 or overlap < 0.
     */
    public static TilePlan forFixedModel(int width, int height, int tileWidth, int tileHeight, int overlap) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("`image` must be at least 1x1 pixels. Received: width=" + width
                    + ", height=" + height);
        }
        if (tileWidth < 1 || tileHeight < 1) {
            throw new IllegalArgumentException("`tile` must be at least 1x1 pixels. Received: tile=" + tileWidth + "x"
                    + tileHeight);
        }
        if (overlap < 0) {
            throw new IllegalArgumentException("`overlap` must be >= 0. Received: overlap=" + overlap);
        }
        int clamped = Math.min(overlap, (Math.min(tileWidth, tileHeight) - 1) / 2);
        return new TilePlan(width, height, tileWidth, tileHeight, clamped);
    }

    /** Number of model runs. */
    public int tileCount() {
        return rows.size() * cols.size();
    }

    /**
     * Splits one axis of {@code length} LR pixels into windows: {@code keras_sr.lite.tiling.tile_windows}.
     *
     * @throws IllegalArgumentException length or tile < 1, overlap < 0, or tile <= 2 * overlap.
     */
    public static List<Window> windows(int length, int tile, int overlap) {
        if (length < 1 || tile < 1 || overlap < 0) {
            throw new IllegalArgumentException("`length` and `tile` must be >= 1 and `overlap` >= 0. Received: length="
                    + length + ", tile=" + tile + ", overlap=" + overlap);
        }
        List<Window> out = new ArrayList<>();
        if (length <= tile) {
            out.add(new Window(0, length, 0, length));
            return out;
        }
        if (tile <= 2 * overlap) {
            throw new IllegalArgumentException("`tile` must be greater than 2 * `overlap` (a window keeps `overlap` "
                    + "pixels of context on each side). Received: tile=" + tile + ", overlap=" + overlap);
        }
        int start = 0;
        int keepStart = 0;
        while (true) {
            int end = start + tile;
            int keepEnd = end >= length ? length : end - overlap;
            out.add(new Window(start, end, keepStart, keepEnd));
            if (keepEnd == length) {
                return out;
            }
            keepStart = keepEnd;
            start = Math.min(keepEnd - overlap, length - tile);
        }
    }
}
