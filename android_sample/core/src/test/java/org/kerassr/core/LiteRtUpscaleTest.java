package org.kerassr.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assume.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.util.Locale;
import java.util.Map;
import org.junit.Test;

/**
 * The real shipped int8 model, run on the JVM by LiteRT's CompiledModel C API (libLiteRt.so of the
 * ai-edge-litert wheel, through JNA), upscales a whole Set5 image through the Java core; the result must
 * be byte-identical to `keras-sr upscale --tflite BUNDLE/model.tflite` with the same tile and overlap.
 */
public class LiteRtUpscaleTest {
    static String library() {
        String lib = System.getProperty("kerassr.litert");
        assumeTrue("system property kerassr.litert (path of libLiteRt.so) is not set", lib != null);
        return lib;
    }

    @Test
    public void wholeImageIsByteIdenticalToKerasSrUpscale() throws Exception {
        String lib = library();
        Map<String, Object> whole = Golden.map(Golden.index(), "whole");
        File dir = new File(Golden.dir(), "whole");
        File bundleDir = Golden.bundleDir();
        ModelBundle bundle = ModelBundle.load(bundleDir);
        File model = new File(bundleDir, ModelBundle.MODEL_NAME);
        bundle.checkModelFile(model);
        int w = Golden.integer(whole, "width");
        int h = Golden.integer(whole, "height");
        Upscaler.checkImage(w, h, bundle.scale, 1L << 30);
        ArgbImage lr = Golden.argb(new File(dir, "lr.argb"), w, h);
        ArgbImage sr = new ArgbImage(bundle.scale * w, bundle.scale * h);
        Upscaler.Stats stats;
        try (LiteRtJnaRunner runner = new LiteRtJnaRunner(lib, model.getPath(), bundle)) {
            stats = new Upscaler(bundle, runner).upscale(lr, sr, Golden.integer(whole, "overlap"), null);
        }
        assertEquals(new Upscaler(bundle, null).plan(w, h, Golden.integer(whole, "overlap")).tileCount(), stats.tiles);
        byte[] expected = Files.readAllBytes(new File(dir, "expected.rgb").toPath());
        Files.write(new File(dir, "java.rgb").toPath(), Golden.rgb(sr)); // compared again by the pytest wrapper
        assertNull("Java core + LiteRT vs keras-sr upscale", Golden.difference(expected, Golden.rgb(sr)));
        assertArrayEquals(expected, Golden.rgb(sr));
        System.out.println(String.format(Locale.ROOT,
                "LiteRtUpscaleTest: %s %dx%d -> %dx%d, tile %d, overlap %d: %s, byte-identical to keras-sr upscale",
                Golden.index().get("image"), w, h, sr.width, sr.height, bundle.tileWidth,
                Golden.integer(whole, "overlap"), stats));
    }
}
