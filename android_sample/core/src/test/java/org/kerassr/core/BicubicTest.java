package org.kerassr.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.io.File;
import java.nio.file.Files;
import org.junit.Test;

/** Bicubic == Pillow's Image.resize(..., Image.BICUBIC), byte for byte, on real Set5 pixels. */
public class BicubicTest {
    @Test
    public void equalsPillowBicubic() throws Exception {
        for (Golden.Replay c : Golden.replays()) {
            ArgbImage out = new ArgbImage(4 * c.width, 4 * c.height);
            Bicubic.upscale(c.lr, out, 4);
            byte[] expected = Files.readAllBytes(new File(c.dir, "bicubic.rgb").toPath());
            assertNull(c.dir.getName(), Golden.difference(expected, Golden.rgb(out)));
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
