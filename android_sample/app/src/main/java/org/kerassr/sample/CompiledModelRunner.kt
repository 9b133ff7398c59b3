package org.kerassr.sample

import android.content.res.AssetManager
import android.util.Log
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.TensorBuffer
import org.kerassr.core.Tensor
import org.kerassr.core.TileRunner

/**
 * The core's [TileRunner] over LiteRT's CompiledModel: one fixed-shape model.tflite from the assets,
 * one input and one output buffer reused for every tile.
 */
class CompiledModelRunner private constructor(
    private val model: CompiledModel,
    /** The accelerator the model was compiled for: GPU, or CPU (XNNPACK). */
    val accelerator: Accelerator,
) : TileRunner {
    private val inputs: List<TensorBuffer> = model.createInputBuffers()
    private val outputs: List<TensorBuffer> = model.createOutputBuffers()

    override fun run(input: Tensor, output: Tensor) {
        val inFloats = input.floats
        if (inFloats != null) inputs[0].writeFloat(inFloats) else inputs[0].writeInt8(input.bytes)
        model.run(inputs, outputs)
        val outFloats = output.floats
        if (outFloats != null) {
            outputs[0].readFloat().copyInto(outFloats)
        } else {
            outputs[0].readInt8().copyInto(output.bytes)
        }
    }

    override fun close() {
        inputs.forEach { it.close() }
        outputs.forEach { it.close() }
        model.close()
    }

    companion object {
        private const val TAG = "CompiledModelRunner"

        /**
         * Compiles `assets/[path]` for the GPU when [preferGpu] and the phone has a usable one, else for
         * the CPU (XNNPACK). The GPU computes in float16 where the CPU runs the int8 kernels, so its
         * result may differ slightly from keras-sr upscale's.
         */
        fun create(assets: AssetManager, path: String, preferGpu: Boolean): CompiledModelRunner {
            if (preferGpu) {
                try {
                    val gpu = CompiledModel.create(assets, path, CompiledModel.Options(Accelerator.GPU), null)
                    return CompiledModelRunner(gpu, Accelerator.GPU)
                } catch (e: Exception) {
                    Log.i(TAG, "GPU accelerator not available for $path, using the CPU: ${e.message}")
                }
            }
            val cpu = CompiledModel.create(assets, path, CompiledModel.Options(Accelerator.CPU), null)
            return CompiledModelRunner(cpu, Accelerator.CPU)
        }
    }
}
