package org.kerassr.core;

import static org.junit.Assume.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

/** The golden data written by android_sample/core/golden.py; its folder is system property kerassr.golden. */
final class Golden {
    private Golden() {
    }

    static File dir() {
        String d = System.getProperty("kerassr.golden");
        assumeTrue("system property kerassr.golden (golden.py's folder) is not set", d != null);
        return new File(d);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> index() throws IOException {
        File f = new File(dir(), "golden.json");
        return (Map<String, Object>) Json.parse(new String(Files.readAllBytes(f.toPath()), "UTF-8"), f.getPath());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Map<String, Object> m, String key) {
        return (Map<String, Object>) m.get(key);
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> m, String key) {
        return (List<Object>) m.get(key);
    }

    static int integer(Map<String, Object> m, String key) {
        return (int) (long) (Long) m.get(key);
    }

    /** One "replay" case of golden.json: a real image crop with what Python made of it. */
    static final class Replay {
        final Map<String, Object> record;
        final File dir;
        final int width;
        final int height;
        final ArgbImage lr;

        Replay(Map<String, Object> record) throws IOException {
            this.record = record;
            this.dir = new File(dir(), (String) record.get("dir"));
            this.width = integer(record, "width");
            this.height = integer(record, "height");
            this.lr = argb(new File(dir, "lr.argb"), width, height);
        }
    }

    @SuppressWarnings("unchecked")
    static List<Replay> replays() throws IOException {
        List<Replay> cases = new java.util.ArrayList<>();
        for (Object o : list(index(), "replay")) {
            cases.add(new Replay((Map<String, Object>) o));
        }
        return cases;
    }

    static File bundleDir() throws IOException {
        return new File((String) index().get("bundle"));
    }

    static ByteBuffer bytes(File f) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(f.toPath())).order(ByteOrder.LITTLE_ENDIAN);
    }

    static float[] floats(ByteBuffer b, int n) {
        float[] out = new float[n];
        b.asFloatBuffer().get(out);
        b.position(b.position() + 4 * n);
        return out;
    }

    /** An image of little-endian ARGB ints (golden.py's lr.argb). */
    static ArgbImage argb(File f, int width, int height) throws IOException {
        ByteBuffer b = bytes(f);
        int[] px = new int[width * height];
        b.asIntBuffer().get(px);
        return new ArgbImage(width, height, px);
    }

    /** RGB bytes (H, W, 3) of an ARGB image, to compare with golden.py's .rgb files. */
    static byte[] rgb(ArgbImage img) {
        byte[] out = new byte[img.pixels.length * 3];
        for (int i = 0, j = 0; i < img.pixels.length; i++, j += 3) {
            int p = img.pixels[i];
            out[j] = (byte) (p >> 16);
            out[j + 1] = (byte) (p >> 8);
            out[j + 2] = (byte) p;
        }
        return out;
    }

    /** "N of M bytes differ (max |diff| D at byte I)" or null when equal. */
    static String difference(byte[] expected, byte[] actual) {
        if (expected.length != actual.length) {
            return "lengths differ: expected " + expected.length + ", received " + actual.length;
        }
        int count = 0;
        int max = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            int d = Math.abs((expected[i] & 0xff) - (actual[i] & 0xff));
            if (d != 0) {
                count++;
                if (d > max) {
                    max = d;
                    at = i;
                }
            }
        }
        return count == 0 ? null : count + " of " + expected.length + " bytes differ (max |diff| " + max
                + " at byte " + at + ")";
    }
}
