package org.kerassr.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/** TilePlan == keras_sr.lite.tiling.tile_windows, and the fixed-model rules of keras_sr.upscale.upscale_image. */
public class TilePlanTest {
    @Test
    public void windowsEqualPythonTileWindows() throws Exception {
        List<String> lines = Files.readAllLines(new File(Golden.dir(), "plans.txt").toPath());
        int expectedCases = Golden.integer(Golden.index(), "plans");
        assertEquals(expectedCases, lines.size());
        for (String line : lines) {
            String[] halves = line.split(":");
            String[] args = halves[0].trim().split(" ");
            int length = Integer.parseInt(args[0]);
            int tile = Integer.parseInt(args[1]);
            int overlap = Integer.parseInt(args[2]);
            List<TilePlan.Window> expected = new ArrayList<>();
            for (String w : halves[1].split(";")) {
                String[] v = w.trim().split(" ");
                expected.add(new TilePlan.Window(Integer.parseInt(v[0]), Integer.parseInt(v[1]),
                        Integer.parseInt(v[2]), Integer.parseInt(v[3])));
            }
            assertEquals(line, expected, TilePlan.windows(length, tile, overlap));
        }
    }

    @Test
    public void everyWindowIsTileSizedAndKeepsCoverTheAxis() {
        for (int length = 64; length < 400; length += 7) {
            List<TilePlan.Window> ws = TilePlan.windows(length, 64, 16);
            int next = 0;
            for (TilePlan.Window w : ws) {
                assertEquals(64, w.end - w.start);
                assertEquals(next, w.keepStart);
                assertTrue(w.keepStart >= w.start && w.keepEnd <= w.end);
                next = w.keepEnd;
            }
            assertEquals(length, next);
        }
    }

    @Test
    public void fixedModelClampsOverlapAndPadsSmallImages() {
        assertEquals(31, TilePlan.forFixedModel(86, 57, 64, 64, 40).overlap); // min(40, (64 - 1) / 2)
        assertEquals(7, TilePlan.forFixedModel(86, 57, 24, 16, 9).overlap); // the smaller side decides
        TilePlan p = TilePlan.forFixedModel(86, 57, 64, 64, 16);
        assertEquals(16, p.overlap);
        assertEquals(1, p.rows.size()); // 57 rows are edge-padded to one 64-row window
        assertEquals(new TilePlan.Window(0, 64, 0, 64), p.rows.get(0));
        assertEquals(TilePlan.windows(86, 64, 16), p.cols);
        assertEquals(2, p.tileCount());
        assertEquals(1, TilePlan.forFixedModel(1, 1, 64, 64, 16).tileCount());
    }

    @Test
    public void tileNotLargerThanTwiceOverlapIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TilePlan.windows(30, 8, 4));
        assertTrue(e.getMessage(), e.getMessage().contains("Received: tile=8, overlap=4"));
    }
}
