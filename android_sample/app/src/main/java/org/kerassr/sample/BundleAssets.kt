package org.kerassr.sample

import android.content.res.AssetManager
import java.io.FileNotFoundException
import org.kerassr.core.BundleException
import org.kerassr.core.ModelBundle

/**
 * The bundles in `assets/bundles/x2`, `x3`, `x4` (model.json + model.tflite from
 * `keras-sr export --target android`, copied by the copyBundles task; see README.md).
 */
object BundleAssets {
    fun dir(scale: Int) = "bundles/x$scale"

    fun modelPath(scale: Int) = "${dir(scale)}/${ModelBundle.MODEL_NAME}"

    /**
     * Reads and checks the bundle for [scale]: every model.json field the core uses, model.tflite's
     * SHA-256 against it, and that the model upscales by [scale].
     *
     * @throws BundleException with the file or field, what was expected and what was received.
     */
    fun load(assets: AssetManager, scale: Int): ModelBundle {
        val json = "${dir(scale)}/${ModelBundle.JSON_NAME}"
        val text = try {
            assets.open(json).use { ModelBundle.readUtf8(it) }
        } catch (e: FileNotFoundException) {
            throw BundleException(
                "Bundle file 'assets/$json' does not exist: export one with `keras-sr export --model " +
                    "fd_irb_edge_x$scale --target android --tile 64 --output-dir DIR/x$scale` and copy it " +
                    "with `./gradlew :app:copyBundles -Pkerassr.bundles=DIR`.",
                e,
            )
        }
        val bundle = ModelBundle.parse(text, "assets/$json")
        bundle.checkScale(scale)
        val model = modelPath(scale)
        try {
            assets.open(model).use { bundle.checkModel(it, "assets/$model") }
        } catch (e: FileNotFoundException) {
            throw BundleException("Model file 'assets/$model' does not exist (the bundle's model.json is there).", e)
        }
        return bundle
    }
}
