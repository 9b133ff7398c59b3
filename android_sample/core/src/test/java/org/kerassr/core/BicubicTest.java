package org.kerassr.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.io.File;
import java.nio.file.Files;
import java.util.Map;
import org.junit.Test;

/** Bicubic == Pillow's Image.resize(..., Image.BICUBIC), byte for byte, on real Set5 pixels. */
public class BicubicTest {
    @Test
    public void equalsPillowBicubic() throws Exception {
        for (Object o : Golden.list(Golden.index(), "replay")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) o;
            File dir = new File(Golden.dir(), (String) r.get("dir"));
            int w = Golden.integer(r, "width");
            int h = Golden.integer(r, "height");
            ArgbImage lr = Golden.argb(new File(dir, "lr.argb"), w, h);
            ArgbImage out = new ArgbImage(4 * w, 4 * h);
            Bicubic.upscale(lr, out, 4);
            byte[] expected = Files.readAllBytes(new File(dir, "bicubic.rgb").toPath());
            assertNull(dir.getName(), Golden.difference(expected, Golden.rgb(out)));
        }
    }

    @Test
    public void aFlatImageStaysFlat() {
        ArgbImage flat = new ArgbImage(3, 2);
        java.util.Arrays.fill(flat.pixels, 0xff102030);
        ArgbImage out = new ArgbImage(9, 6);
        Bicubic.upscale(flat, out, 3);
        for (int p : out.pixels) {
            assertEquals(0xff102030, p);
        }
    }
}
