package org.kerassr.core;

import static org.junit.Assert.assertEquals;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.Map;
import org.junit.Test;

/** Pixel <-> tensor arithmetic == keras-sr's read_image, _quantize, _dequantize and to_uint8, bit for bit. */
public class PixelTensorsTest {
    @Test
    public void samplesToFloatsMatchReadImage() throws Exception {
        float[] expected = Golden.floats(Golden.bytes(new File(Golden.dir(), "pixels.bin")), 256);
        for (int v = 0; v < 256; v++) {
            assertEquals("sample " + v, Float.floatToIntBits(expected[v]), Float.floatToIntBits(PixelTensors.toFloat(v)));
        }
    }

    @Test
    public void quantizeDequantizeAndToByteMatchPython() throws Exception {
        Map<String, Object> q = Golden.map(Golden.index(), "quant");
        int n = Golden.integer(q, "count");
        float scale = ((Number) q.get("scale")).floatValue();
        int zero = Golden.integer(q, "zero_point");
        ByteBuffer b = Golden.bytes(new File(Golden.dir(), "quant.bin"));
        float[] x = Golden.floats(b, n);
        byte[] qs = new byte[n];
        b.get(qs);
        float[] dq = Golden.floats(b, n);
        byte[] u8 = new byte[n];
        b.get(u8);
        for (int i = 0; i < n; i++) {
            byte got = PixelTensors.quantize(x[i], scale, zero);
            assertEquals("quantize(" + x[i] + ")", qs[i], got);
            assertEquals("dequantize(" + got + ")", Float.floatToIntBits(dq[i]),
                    Float.floatToIntBits(PixelTensors.dequantize(got, scale, zero)));
            assertEquals("to_uint8(" + x[i] + ")", u8[i] & 0xff, PixelTensors.toByte(x[i]));
        }
    }
}
