package org.kerassr.sample

import android.content.Context
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.Rect
import android.graphics.RectF
import android.util.AttributeSet
import android.view.MotionEvent
import android.view.View
import kotlin.math.max
import kotlin.math.min

/**
 * Bicubic (left) and keras-sr (right) side by side with a drag slider. One finger moves the slider,
 * two fingers pan. Results larger than the view are shown 1:1 (a crop), smaller ones fitted.
 */
class CompareView(context: Context, attrs: AttributeSet? = null) : View(context, attrs) {
    private var left: Bitmap? = null
    private var right: Bitmap? = null
    private var split = 0.5f
    private var focusX = 0f
    private var focusY = 0f
    private var lastMidX = 0f
    private var lastMidY = 0f
    private val src = Rect()
    private val dst = RectF()
    private val bitmapPaint = Paint(Paint.FILTER_BITMAP_FLAG)
    private val linePaint = Paint().apply {
        color = Color.WHITE
        strokeWidth = 4f
    }
    private val labelPaint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        color = Color.WHITE
        textSize = 36f
        setShadowLayer(4f, 0f, 0f, Color.BLACK)
    }

    init {
        // Software drawing: a hardware canvas refuses bitmaps over 100 MB, and an x4 result of a
        // photo is larger; only the visible crop is drawn.
        setLayerType(LAYER_TYPE_SOFTWARE, null)
    }

    /** Shows two results of the same size; null clears the view. */
    fun setImages(bicubic: Bitmap?, sr: Bitmap?) {
        left = bicubic
        right = sr
        if (sr != null) {
            focusX = sr.width / 2f
            focusY = sr.height / 2f
        }
        invalidate()
    }

    override fun onDraw(canvas: Canvas) {
        val l = left ?: return
        val r = right ?: return
        val fit = min(width.toFloat() / r.width, height.toFloat() / r.height)
        val zoom = if (fit >= 1f) fit else 1f
        val cropW = min(r.width.toFloat(), width / zoom)
        val cropH = min(r.height.toFloat(), height / zoom)
        focusX = focusX.coerceIn(cropW / 2, r.width - cropW / 2)
        focusY = focusY.coerceIn(cropH / 2, r.height - cropH / 2)
        src.set((focusX - cropW / 2).toInt(), (focusY - cropH / 2).toInt(),
            (focusX + cropW / 2).toInt(), (focusY + cropH / 2).toInt())
        val dw = src.width() * zoom
        val dh = src.height() * zoom
        dst.set((width - dw) / 2, (height - dh) / 2, (width + dw) / 2, (height + dh) / 2)
        val splitX = dst.left + split * dst.width()
        canvas.save()
        canvas.clipRect(dst.left, dst.top, splitX, dst.bottom)
        canvas.drawBitmap(l, src, dst, bitmapPaint)
        canvas.restore()
        canvas.save()
        canvas.clipRect(splitX, dst.top, dst.right, dst.bottom)
        canvas.drawBitmap(r, src, dst, bitmapPaint)
        canvas.restore()
        canvas.drawLine(splitX, dst.top, splitX, dst.bottom, linePaint)
        canvas.drawText("bicubic", dst.left + 16, dst.top + 48, labelPaint)
        val label = "keras-sr"
        canvas.drawText(label, dst.right - 16 - labelPaint.measureText(label), dst.top + 48, labelPaint)
    }

    override fun onTouchEvent(event: MotionEvent): Boolean {
        if (right == null) return false
        if (event.pointerCount >= 2) {
            val midX = (event.getX(0) + event.getX(1)) / 2
            val midY = (event.getY(0) + event.getY(1)) / 2
            if (event.actionMasked == MotionEvent.ACTION_MOVE) {
                focusX -= midX - lastMidX
                focusY -= midY - lastMidY
                invalidate()
            }
            lastMidX = midX
            lastMidY = midY
            return true
        }
        when (event.actionMasked) {
            MotionEvent.ACTION_DOWN, MotionEvent.ACTION_MOVE -> {
                split = (event.x / max(1, width)).coerceIn(0f, 1f)
                invalidate()
            }
            MotionEvent.ACTION_UP -> performClick()
        }
        return true
    }

    override fun performClick(): Boolean = super.performClick()
}
