package org.kerassr.sample

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.ImageDecoder
import android.net.Uri
import android.os.Build
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.CheckBox
import android.widget.ProgressBar
import android.widget.RadioGroup
import android.widget.TextView
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.ContextCompat
import androidx.core.content.FileProvider
import androidx.lifecycle.lifecycleScope
import java.io.File
import java.util.Locale
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.kerassr.core.Bicubic
import org.kerassr.core.Upscaler

/**
 * Pick or take a photo, choose x2/x3/x4, upscale it tile by tile on a background thread with the
 * bundle's int8 model (LiteRT CompiledModel, GPU where available, else CPU/XNNPACK), compare with
 * bicubic, save to the gallery. Everything that decides pixels is in the core (org.kerassr.core).
 */
class MainActivity : AppCompatActivity() {
    private class Result(
        val sr: Bitmap,
        val bicubic: Bitmap,
        val stats: Upscaler.Stats,
        val accelerator: String,
        val scale: Int,
    )

    private lateinit var status: TextView
    private lateinit var progress: ProgressBar
    private lateinit var upscale: Button
    private lateinit var cancel: Button
    private lateinit var save: Button
    private lateinit var compare: CompareView
    private lateinit var scales: RadioGroup
    private lateinit var gpu: CheckBox

    private var photo: Bitmap? = null
    private var result: Result? = null
    private var job: Job? = null
    private val cancelled = AtomicBoolean(false)
    private var cameraUri: Uri? = null

    private val pickPhoto = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) load(uri)
    }
    private val takePhoto = registerForActivityResult(ActivityResultContracts.TakePicture()) { ok ->
        val uri = cameraUri
        if (ok && uri != null) load(uri)
    }
    private val askStorage = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) saveResult() else status.text = "Saving needs the storage permission before Android 10."
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        status = findViewById(R.id.status)
        progress = findViewById(R.id.progress)
        upscale = findViewById(R.id.upscale)
        cancel = findViewById(R.id.cancel)
        save = findViewById(R.id.save)
        compare = findViewById(R.id.compare)
        scales = findViewById(R.id.scale)
        gpu = findViewById(R.id.gpu)

        findViewById<Button>(R.id.gallery).setOnClickListener {
            pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
        }
        findViewById<Button>(R.id.camera).setOnClickListener { takePicture() }
        upscale.setOnClickListener { startUpscale() }
        cancel.setOnClickListener { cancelled.set(true) }
        save.setOnClickListener { saveResult() }
    }

    private fun chosenScale(): Int = when (scales.checkedRadioButtonId) {
        R.id.x2 -> 2
        R.id.x3 -> 3
        else -> 4
    }

    private fun takePicture() {
        val file = File(cacheDir, "camera/photo.jpg")
        file.parentFile?.mkdirs()
        val uri = FileProvider.getUriForFile(this, "$packageName.files", file)
        cameraUri = uri
        takePhoto.launch(uri)
    }

    private fun load(uri: Uri) {
        lifecycleScope.launch {
            try {
                val bitmap = withContext(Dispatchers.IO) { decode(uri) }
                photo = bitmap
                result = null
                compare.setImages(null, null)
                save.isEnabled = false
                status.text = "Photo ${bitmap.width}x${bitmap.height}. Choose a scale and press Upscale."
            } catch (e: Exception) {
                status.text = "Cannot read the photo: ${e.message}"
            }
        }
    }

    /** A software ARGB bitmap the core can read with getPixels (EXIF rotation applied from Android 9). */
    private fun decode(uri: Uri): Bitmap {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
            return ImageDecoder.decodeBitmap(ImageDecoder.createSource(contentResolver, uri)) { decoder, _, _ ->
                decoder.allocator = ImageDecoder.ALLOCATOR_SOFTWARE
            }
        }
        val options = BitmapFactory.Options().apply { inPreferredConfig = Bitmap.Config.ARGB_8888 }
        return contentResolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, options) }
            ?: throw IllegalArgumentException("'$uri' is not an image this phone can decode.")
    }

    private fun startUpscale() {
        val source = photo ?: run {
            status.text = getString(R.string.pick_a_photo)
            return
        }
        val scale = chosenScale()
        val preferGpu = gpu.isChecked
        cancelled.set(false)
        result = null
        compare.setImages(null, null)
        save.isEnabled = false
        setBusy(true)
        job = lifecycleScope.launch {
            try {
                val done = withContext(Dispatchers.Default) { upscaleOnWorker(source, scale, preferGpu) }
                if (done == null) {
                    status.text = "Cancelled."
                } else {
                    show(done)
                }
            } catch (e: IllegalArgumentException) {
                // BundleException (hash, missing field, wrong scale) and image size errors: the message says it all.
                status.text = e.message
            } catch (e: OutOfMemoryError) {
                status.text = "Out of memory for a ${source.width}x${source.height} photo at x$scale: choose a smaller scale."
            } catch (e: Exception) {
                status.text = "Upscaling failed: ${e.javaClass.simpleName}: ${e.message}"
            } finally {
                setBusy(false)
            }
        }
    }

    /** Runs on a background thread; null when cancelled. */
    private fun upscaleOnWorker(source: Bitmap, scale: Int, preferGpu: Boolean): Result? {
        val bundle = BundleAssets.load(assets, scale)
        Upscaler.checkImage(source.width, source.height, scale, MemoryBudget.perResultBytes(this))
        val sr = Bitmap.createBitmap(source.width * scale, source.height * scale, Bitmap.Config.ARGB_8888)
        CompiledModelRunner.create(assets, BundleAssets.modelPath(scale), preferGpu).use { runner ->
            val listener = object : Upscaler.Progress {
                override fun onTile(done: Int, total: Int) {
                    runOnUiThread {
                        progress.max = total
                        progress.progress = done
                        status.text = "Tile $done of $total (${runner.accelerator})"
                    }
                }

                override fun isCancelled(): Boolean = cancelled.get()
            }
            val stats = try {
                Upscaler(bundle, runner).upscale(BitmapSource(source), BitmapSink(sr), -1, listener)
            } catch (e: java.util.concurrent.CancellationException) {
                sr.recycle()
                return null
            }
            val bicubic = Bitmap.createBitmap(sr.width, sr.height, Bitmap.Config.ARGB_8888)
            Bicubic.upscale(BitmapSource(source), BitmapSink(bicubic), scale)
            return Result(sr, bicubic, stats, runner.accelerator.toString(), scale)
        }
    }

    private fun show(done: Result) {
        result = done
        compare.setImages(done.bicubic, done.sr)
        save.isEnabled = true
        status.text = String.format(
            Locale.ROOT, "x%d: %dx%d in %.2f s, %d tiles, %.2f tiles/s (%s)", done.scale, done.sr.width,
            done.sr.height, done.stats.seconds(), done.stats.tiles, done.stats.tilesPerSecond(), done.accelerator,
        )
    }

    private fun setBusy(busy: Boolean) {
        upscale.isEnabled = !busy
        cancel.isEnabled = busy
        progress.visibility = if (busy) View.VISIBLE else View.INVISIBLE
        if (busy) progress.progress = 0
    }

    private fun saveResult() {
        val done = result ?: return
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.Q &&
            ContextCompat.checkSelfPermission(this, Manifest.permission.WRITE_EXTERNAL_STORAGE) !=
            PackageManager.PERMISSION_GRANTED
        ) {
            askStorage.launch(Manifest.permission.WRITE_EXTERNAL_STORAGE)
            return
        }
        save.isEnabled = false
        lifecycleScope.launch {
            try {
                val name = "keras-sr_x${done.scale}_${System.currentTimeMillis()}.png"
                withContext(Dispatchers.IO) { Gallery.savePng(this@MainActivity, done.sr, name) }
                status.text = "Saved Pictures/keras-sr/$name"
            } catch (e: Exception) {
                status.text = "Saving failed: ${e.message}"
            } finally {
                save.isEnabled = true
            }
        }
    }

    override fun onDestroy() {
        cancelled.set(true)
        job?.cancel()
        super.onDestroy()
    }
}
