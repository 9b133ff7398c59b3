package org.kerassr.sample

import android.graphics.Bitmap
import org.kerassr.core.PixelSink
import org.kerassr.core.PixelSource

/** A Bitmap as the core's pixel source: the photo, read one tile at a time. */
class BitmapSource(private val bitmap: Bitmap) : PixelSource {
    override fun width(): Int = bitmap.width

    override fun height(): Int = bitmap.height

    override fun getPixels(dst: IntArray, offset: Int, stride: Int, x: Int, y: Int, w: Int, h: Int) =
        bitmap.getPixels(dst, offset, stride, x, y, w, h)
}

/** A mutable ARGB_8888 Bitmap as the core's pixel sink: the result, written one tile at a time. */
class BitmapSink(private val bitmap: Bitmap) : PixelSink {
    override fun setPixels(src: IntArray, offset: Int, stride: Int, x: Int, y: Int, w: Int, h: Int) =
        bitmap.setPixels(src, offset, stride, x, y, w, h)
}
