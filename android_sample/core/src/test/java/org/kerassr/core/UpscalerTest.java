package org.kerassr.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.junit.Test;

/** Tiling + stitching against keras-sr's upscale_image / upscale_tiled on a real Set5 image. */
public class UpscalerTest {
    /** Replays the model outputs Python recorded, checking that each window's input is the one Python gave. */
    static final class ReplayRunner implements TileRunner {
        final ByteBuffer inputs;
        final ByteBuffer outputs;
        int calls;

        ReplayRunner(File dir) throws Exception {
            inputs = Golden.bytes(new File(dir, "inputs.f32"));
            outputs = Golden.bytes(new File(dir, "outputs.f32"));
        }

        @Override
        public void run(Tensor input, Tensor output) {
            float[] expected = Golden.floats(inputs, input.floats.length);
            for (int i = 0; i < expected.length; i++) {
                if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(input.floats[i])) {
                    throw new AssertionError("tile " + calls + ": input element " + i + " is " + input.floats[i]
                            + ", Python gave the model " + expected[i]);
                }
            }
            float[] out = Golden.floats(outputs, output.floats.length);
            System.arraycopy(out, 0, output.floats, 0, out.length);
            calls++;
        }
    }

    static ModelBundle realBundle() throws Exception {
        return ModelBundle.load(Golden.bundleDir());
    }

    @Test
    public void stitchedRealTilesEqualPythonByteForByte() throws Exception {
        ModelBundle bundle = realBundle();
        for (Golden.Replay c : Golden.replays()) {
            Map<String, Object> r = c.record;
            File dir = c.dir;
            ArgbImage lr = c.lr;
            ArgbImage sr = new ArgbImage(bundle.scale * c.width, bundle.scale * c.height);
            ReplayRunner runner = new ReplayRunner(dir);
            List<Integer> seen = new ArrayList<>();
            Upscaler.Stats stats = new Upscaler(bundle, runner).upscale(lr, sr, Golden.integer(r, "overlap"),
                    (done, total) -> seen.add(done * 1000 + total));
            int tiles = Golden.integer(r, "tiles");
            assertEquals(dir.getName(), tiles, runner.calls);
            assertEquals(tiles, stats.tiles);
            assertEquals(tiles, seen.size());
            assertEquals(tiles * 1000 + tiles, (int) seen.get(tiles - 1));
            byte[] expected = java.nio.file.Files.readAllBytes(new File(dir, "result.rgb").toPath());
            assertNull(dir.getName(), Golden.difference(expected, Golden.rgb(sr)));
        }
    }

    /** An int8-tensor stand-in model, the same integer formula as golden.py's write_standin. */
    static final class StandinRunner implements TileRunner {
        final int scale;

        StandinRunner(int scale) {
            this.scale = scale;
        }

        @Override
        public void run(Tensor input, Tensor output) {
            int h = input.shape[1];
            int w = input.shape[2];
            int first = input.bytes[0];
            for (int y = 0; y < scale * h; y++) {
                for (int x = 0; x < scale * w; x++) {
                    for (int c = 0; c < 3; c++) {
                        int q = input.bytes[((y / scale) * w + x / scale) * 3 + c];
                        int v = Math.floorDiv(q, 2) + Math.floorDiv(first, 4) + 7 * c;
                        output.bytes[(y * scale * w + x) * 3 + c] = (byte) Math.max(-128, Math.min(127, v));
                    }
                }
            }
        }
    }

    static String int8Json(int scale, int th, int tw, int overlap, double inScale, long inZero, double outScale,
                           long outZero) {
        return "{\"scale\": " + scale + ", \"tile\": [" + th + ", " + tw + "], \"overlap\": " + overlap
                + ", \"sha256\": \"" + "0".repeat(64) + "\", "
                + "\"input\": {\"dtype\": \"int8\", \"shape\": [1, " + th + ", " + tw + ", 3], \"scale\": " + inScale
                + ", \"zero_point\": " + inZero + "}, "
                + "\"output\": {\"dtype\": \"int8\", \"shape\": [1, " + scale * th + ", " + scale * tw
                + ", 3], \"scale\": " + outScale + ", \"zero_point\": " + outZero + "}}";
    }

    @Test
    public void int8TensorsStitchLikePython() throws Exception {
        Map<String, Object> s = Golden.map(Golden.index(), "standin");
        int w = Golden.integer(s, "width");
        int h = Golden.integer(s, "height");
        int scale = Golden.integer(s, "scale");
        @SuppressWarnings("unchecked")
        List<Object> tile = (List<Object>) s.get("tile");
        ModelBundle bundle = ModelBundle.parse(int8Json(scale, (int) (long) (Long) tile.get(0),
                (int) (long) (Long) tile.get(1), 1, (Double) s.get("input_scale"), (Long) s.get("input_zero_point"),
                (Double) s.get("output_scale"), (Long) s.get("output_zero_point")), "standin model.json");
        File dir = new File(Golden.dir(), "standin");
        ArgbImage lr = Golden.argb(new File(dir, "lr.argb"), w, h);
        ArgbImage sr = new ArgbImage(scale * w, scale * h);
        new Upscaler(bundle, new StandinRunner(scale)).upscale(lr, sr, Golden.integer(s, "overlap"), null);
        byte[] expected = java.nio.file.Files.readAllBytes(new File(dir, "result.rgb").toPath());
        assertNull(Golden.difference(expected, Golden.rgb(sr)));
    }

    @Test
    public void cancelStopsBetweenTiles() throws Exception {
        ModelBundle bundle = ModelBundle.parse(int8Json(2, 8, 8, 2, 1 / 255.0, -128, 1 / 255.0, -128), "m.json");
        ArgbImage lr = new ArgbImage(40, 30);
        ArgbImage sr = new ArgbImage(80, 60);
        int[] ran = {0};
        TileRunner counting = (in, out) -> ran[0]++;
        CancellationException e = assertThrows(CancellationException.class, () ->
                new Upscaler(bundle, counting).upscale(lr, sr, -1, new Upscaler.Progress() {
                    @Override
                    public void onTile(int done, int total) {
                    }

                    @Override
                    public boolean isCancelled() {
                        return ran[0] == 3;
                    }
                }));
        assertEquals(3, ran[0]);
        assertTrue(e.getMessage(), e.getMessage().contains("after 3 of"));
    }

    @Test
    public void emptyImageIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Upscaler.checkImage(0, 480, 4, 1L << 30));
        assertEquals("`image` must be at least 1x1 pixels. Received: image of 0x480 pixels", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ArgbImage(5, 0));
    }

    @Test
    public void imageTooLargeForTheDeviceIsRefusedWithTheNumbers() {
        // A 12 MP photo (4000x3000) at x4 is 768,000,000 bytes of ARGB_8888.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Upscaler.checkImage(4000, 3000, 4, 512L << 20));
        String m = e.getMessage();
        assertTrue(m, m.contains("16000x12000") && m.contains("768,000,000 bytes")
                && m.contains("536,870,912 bytes") && m.contains("Received: image of 4000x3000 pixels, scale=4"));
        // x2 fits in the same budget: 192,000,000 bytes.
        Upscaler.checkImage(4000, 3000, 2, 512L << 20);
        // Past a Bitmap's 2 GiB limit whatever the device has.
        assertThrows(IllegalArgumentException.class, () -> Upscaler.checkImage(20000, 20000, 4, Long.MAX_VALUE));
    }

    @Test
    public void memoryPerTileDoesNotGrowWithTheImage() throws Exception {
        ModelBundle bundle = ModelBundle.parse(int8Json(4, 16, 16, 4, 1 / 255.0, -128, 1 / 255.0, -128), "m.json");
        int[] lastBlock = {0};
        PixelSink sink = (src, off, stride, x, y, w, h) -> lastBlock[0] = Math.max(lastBlock[0], src.length);
        PixelSource src = new PixelSource() {
            @Override
            public int width() {
                return 4000; // a 12 MP source that is never materialized
            }

            @Override
            public int height() {
                return 3000;
            }

            @Override
            public void getPixels(int[] dst, int offset, int stride, int x, int y, int w, int h) {
                assertTrue(w <= 16 && h <= 16);
            }
        };
        Upscaler up = new Upscaler(bundle, (in, out) -> { });
        int[] tiles = {0};
        assertThrows(CancellationException.class, () -> up.upscale(src, sink, -1, new Upscaler.Progress() {
            @Override
            public void onTile(int done, int total) {
                tiles[0] = total;
            }

            @Override
            public boolean isCancelled() {
                return tiles[0] > 0 && lastBlock[0] > 0 && tiles[0] > 1000 && lastBlock[0] == 64 * 64;
            }
        }));
        assertEquals(64 * 64, lastBlock[0]); // one (scale * tile)^2 block of ARGB ints, whatever the image size
        assertArrayEquals(new int[] {1, 16, 16, 3}, new Tensor(bundle.input).shape);
    }
}
