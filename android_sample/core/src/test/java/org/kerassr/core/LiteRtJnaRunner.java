package org.kerassr.core;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/**
 * A {@link TileRunner} over LiteRT's C API in the libLiteRt.so of the ai-edge-litert wheel (pinned to
 * 2.3.0 by the `jvm` extra: the C API changes between releases), called through JNA. It is the same
 * CompiledModel runtime the app uses through the Kotlin API: environment -> model from file ->
 * options with the CPU accelerator -> compiled model -> host-memory tensor buffers -> run.
 */
final class LiteRtJnaRunner implements TileRunner {
    /** The part of the C API used here (litert/c/litert_*.h); handles are opaque pointers. */
    interface LiteRt extends Library {
        int LiteRtCreateEnvironment(int numOptions, Pointer options, PointerByReference environment);

        void LiteRtDestroyEnvironment(Pointer environment);

        int LiteRtCreateModelFromFile(Pointer environment, String filename, PointerByReference model);

        void LiteRtDestroyModel(Pointer model);

        int LiteRtGetModelSignature(Pointer model, NativeLong signatureIndex, PointerByReference signature);

        int LiteRtGetSignatureInputTensorByIndex(Pointer signature, NativeLong index, PointerByReference tensor);

        int LiteRtGetSignatureOutputTensorByIndex(Pointer signature, NativeLong index, PointerByReference tensor);

        int LiteRtGetRankedTensorType(Pointer tensor, Pointer rankedTensorType);

        int LiteRtCreateOptions(PointerByReference options);

        int LiteRtSetOptionsHardwareAccelerators(Pointer options, int accelerators);

        void LiteRtDestroyOptions(Pointer options);

        int LiteRtCreateCompiledModel(Pointer environment, Pointer model, Pointer options,
                                      PointerByReference compiledModel);

        void LiteRtDestroyCompiledModel(Pointer compiledModel);

        int LiteRtCreateTensorBufferFromHostMemory(Pointer rankedTensorType, Pointer hostMemory, NativeLong size,
                                                   Pointer deallocator, PointerByReference buffer);

        void LiteRtDestroyTensorBuffer(Pointer buffer);

        int LiteRtRunCompiledModel(Pointer compiledModel, NativeLong signatureIndex, NativeLong numInputs,
                                   Pointer[] inputs, NativeLong numOutputs, Pointer[] outputs);
    }

    /** kLiteRtHwAcceleratorCpu in litert_common.h. */
    static final int HW_ACCELERATOR_CPU = 1;
    /** LITERT_HOST_MEMORY_BUFFER_ALIGNMENT in litert_tensor_buffer.h. */
    static final int ALIGNMENT = 64;
    /** Room for a LiteRtRankedTensorType (element type + layout: rank, dims, strides), read opaquely. */
    static final int TENSOR_TYPE_BYTES = 512;

    private final LiteRt api;
    private Pointer env;
    private Pointer model;
    private Pointer options;
    private Pointer compiled;
    private Pointer inBuffer;
    private Pointer outBuffer;
    private final Memory inHost;
    private final Memory outHost;
    private final Pointer inAligned;
    private final Pointer outAligned;
    private final long inBytes;
    private final long outBytes;

    /**
     * @param library path of libLiteRt.so.
     * @param modelFile the bundle's model.tflite.
     * @param bundle its model.json (for the tensor sizes and dtypes).
     */
    LiteRtJnaRunner(String library, String modelFile, ModelBundle bundle) {
        api = Native.load(library, LiteRt.class);
        PointerByReference ref = new PointerByReference();
        check(api.LiteRtCreateEnvironment(0, null, ref), "LiteRtCreateEnvironment");
        env = ref.getValue();
        check(api.LiteRtCreateModelFromFile(env, modelFile, ref), "LiteRtCreateModelFromFile('" + modelFile + "')");
        model = ref.getValue();
        check(api.LiteRtCreateOptions(ref), "LiteRtCreateOptions");
        options = ref.getValue();
        check(api.LiteRtSetOptionsHardwareAccelerators(options, HW_ACCELERATOR_CPU),
                "LiteRtSetOptionsHardwareAccelerators");
        check(api.LiteRtCreateCompiledModel(env, model, options, ref), "LiteRtCreateCompiledModel");
        compiled = ref.getValue();

        check(api.LiteRtGetModelSignature(model, new NativeLong(0), ref), "LiteRtGetModelSignature");
        Pointer signature = ref.getValue();
        Memory inType = new Memory(TENSOR_TYPE_BYTES);
        Memory outType = new Memory(TENSOR_TYPE_BYTES);
        inType.clear();
        outType.clear();
        check(api.LiteRtGetSignatureInputTensorByIndex(signature, new NativeLong(0), ref),
                "LiteRtGetSignatureInputTensorByIndex");
        check(api.LiteRtGetRankedTensorType(ref.getValue(), inType), "LiteRtGetRankedTensorType(input)");
        check(api.LiteRtGetSignatureOutputTensorByIndex(signature, new NativeLong(0), ref),
                "LiteRtGetSignatureOutputTensorByIndex");
        check(api.LiteRtGetRankedTensorType(ref.getValue(), outType), "LiteRtGetRankedTensorType(output)");

        inBytes = (long) bundle.input.elements() * (bundle.input.dtype == ModelBundle.DType.FLOAT32 ? 4 : 1);
        outBytes = (long) bundle.output.elements() * (bundle.output.dtype == ModelBundle.DType.FLOAT32 ? 4 : 1);
        inHost = new Memory(inBytes + ALIGNMENT);
        outHost = new Memory(outBytes + ALIGNMENT);
        inAligned = inHost.align(ALIGNMENT);
        outAligned = outHost.align(ALIGNMENT);
        check(api.LiteRtCreateTensorBufferFromHostMemory(inType, inAligned, new NativeLong(inBytes), null, ref),
                "LiteRtCreateTensorBufferFromHostMemory(input)");
        inBuffer = ref.getValue();
        check(api.LiteRtCreateTensorBufferFromHostMemory(outType, outAligned, new NativeLong(outBytes), null, ref),
                "LiteRtCreateTensorBufferFromHostMemory(output)");
        outBuffer = ref.getValue();
    }

    @Override
    public void run(Tensor input, Tensor output) {
        if (input.floats != null) {
            inAligned.write(0, input.floats, 0, input.floats.length);
        } else {
            inAligned.write(0, input.bytes, 0, input.bytes.length);
        }
        check(api.LiteRtRunCompiledModel(compiled, new NativeLong(0), new NativeLong(1), new Pointer[] {inBuffer},
                new NativeLong(1), new Pointer[] {outBuffer}), "LiteRtRunCompiledModel");
        if (output.floats != null) {
            outAligned.read(0, output.floats, 0, output.floats.length);
        } else {
            outAligned.read(0, output.bytes, 0, output.bytes.length);
        }
    }

    @Override
    public void close() {
        if (inBuffer != null) {
            api.LiteRtDestroyTensorBuffer(inBuffer);
            inBuffer = null;
        }
        if (outBuffer != null) {
            api.LiteRtDestroyTensorBuffer(outBuffer);
            outBuffer = null;
        }
        if (compiled != null) {
            api.LiteRtDestroyCompiledModel(compiled);
            compiled = null;
        }
        if (options != null) {
            api.LiteRtDestroyOptions(options);
            options = null;
        }
        if (model != null) {
            api.LiteRtDestroyModel(model);
            model = null;
        }
        if (env != null) {
            api.LiteRtDestroyEnvironment(env);
            env = null;
        }
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " failed with LiteRtStatus " + status);
        }
    }
}
