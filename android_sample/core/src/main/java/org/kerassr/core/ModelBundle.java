package org.kerassr.core;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The facts of a bundle written by {@code keras-sr export --target android}: its model.json.
 *
 * <p>The bundle's model.tflite has a fixed input of (1, tileHeight, tileWidth, 3) LR pixels and an output
 * of (1, scale * tileHeight, scale * tileWidth, 3); both tensors are float32 or int8 (with a scale and a
 * zero point). Reading checks every field the core uses; {@link #checkModel} checks the model file's
 * SHA-256 against the recorded one.
 *
 * <p>Example:
 * <pre>{@code
 * ModelBundle bundle = ModelBundle.load(new File("bundle"));   // reads and checks model.json
 * bundle.checkModelFile(new File("bundle/model.tflite"));      // SHA-256
 * bundle.checkScale(4);
 * }</pre>
 */
public final class ModelBundle {
    /** Element types of the model's input/output tensors. */
    public enum DType {
        FLOAT32, INT8
    }

    /** One input or output tensor: dtype, NHWC shape and quantization (scale 0 for float32). */
    public static final class TensorSpec {
        public final DType dtype;
        public final int[] shape;
        public final float scale;
        public final int zeroPoint;

        TensorSpec(DType dtype, int[] shape, float scale, int zeroPoint) {
            this.dtype = dtype;
            this.shape = shape;
            this.scale = scale;
            this.zeroPoint = zeroPoint;
        }

        /** Number of elements: the product of the shape. */
        public int elements() {
            int n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** model.json's name in a bundle folder. */
    public static final String JSON_NAME = "model.json";
    /** model.tflite's name in a bundle folder. */
    public static final String MODEL_NAME = "model.tflite";

    /** Where model.json came from (a path or an asset name), used in messages. */
    public final String source;
    /** Upscaling factor of the model (2, 3 or 4 for the shipped presets). */
    public final int scale;
    /** LR input height and width of the fixed-shape model, in pixels. */
    public final int tileHeight;
    public final int tileWidth;
    /** Context pixels per window side the bundle recommends. */
    public final int overlap;
    /** Lower-case hex SHA-256 of model.tflite. */
    public final String sha256;
    /** The preset or file the bundle was exported from ("" when not recorded). */
    public final String sourceModel;
    public final TensorSpec input;
    public final TensorSpec output;

    private ModelBundle(String source, int scale, int tileHeight, int tileWidth, int overlap, String sha256,
                        String sourceModel, TensorSpec input, TensorSpec output) {
        this.source = source;
        this.scale = scale;
        this.tileHeight = tileHeight;
        this.tileWidth = tileWidth;
        this.overlap = overlap;
        this.sha256 = sha256;
        this.sourceModel = sourceModel;
        this.input = input;
        this.output = output;
    }

    /**
     * Reads {@code dir/model.json}.
     *
     * @throws BundleException the file is missing, unreadable, not JSON, or a field is missing or wrong.
     */
    public static ModelBundle load(File dir) {
        File json = new File(dir, JSON_NAME);
        if (!json.isFile()) {
            throw new BundleException("Bundle file '" + json.getPath() + "' does not exist: a bundle folder holds "
                    + JSON_NAME + " and " + MODEL_NAME + " from `keras-sr export --target android`.");
        }
        try (InputStream in = new FileInputStream(json)) {
            return parse(readUtf8(in), json.getPath());
        } catch (IOException e) {
            throw new BundleException("Cannot read bundle file '" + json.getPath() + "': " + e.getMessage(), e);
        }
    }

    /**
     * Reads model.json text.
     *
     * @param text the JSON text of model.json.
     * @param source its file or asset name, for messages.
     * @throws BundleException a field is missing, has the wrong type or an impossible value.
     */
    public static ModelBundle parse(String text, String source) {
        Object root = Json.parse(text, source);
        if (!(root instanceof Map)) {
            throw new BundleException("'" + source + "' must hold a JSON object. Received: " + typeName(root));
        }
        Map<?, ?> m = (Map<?, ?>) root;
        int scale = intField(m, "scale", source, 1);
        int[] tile = intList(m, "tile", source, 2);
        if (tile[0] < 1 || tile[1] < 1) {
            throw new BundleException("Field `tile` of '" + source + "' must be two positive sizes [H, W]. Received: tile="
                    + list(tile));
        }
        int overlap = intField(m, "overlap", source, 0);
        String sha = stringField(m, "sha256", source).toLowerCase(Locale.ROOT);
        if (!sha.matches("[0-9a-f]{64}")) {
            throw new BundleException("Field `sha256` of '" + source + "' must be 64 hex digits. Received: sha256=" + sha);
        }
        String sourceModel = m.get("source") instanceof String ? (String) m.get("source") : "";
        TensorSpec in = tensor(m, "input", source);
        TensorSpec out = tensor(m, "output", source);
        int[] wantIn = {1, tile[0], tile[1], 3};
        int[] wantOut = {1, scale * tile[0], scale * tile[1], 3};
        if (!java.util.Arrays.equals(in.shape, wantIn)) {
            throw new BundleException("Field `input.shape` of '" + source + "' must be " + list(wantIn)
                    + " (1, tile H, tile W, 3). Received: input.shape=" + list(in.shape));
        }
        if (!java.util.Arrays.equals(out.shape, wantOut)) {
            throw new BundleException("Field `output.shape` of '" + source + "' must be " + list(wantOut)
                    + " (1, scale * tile H, scale * tile W, 3). Received: output.shape=" + list(out.shape));
        }
        if (Math.min(tile[0], tile[1]) <= 2 * overlap) {
            throw new BundleException("Field `overlap` of '" + source + "' must be less than half the tile ("
                    + tile[0] + "x" + tile[1] + "). Received: overlap=" + overlap);
        }
        return new ModelBundle(source, scale, tile[0], tile[1], overlap, sha, sourceModel, in, out);
    }

    /**
     * Checks that the app's chosen scale is the model's.
     *
     * @throws BundleException the bundle upscales by another factor.
     */
    public void checkScale(int wanted) {
        if (wanted != scale) {
            throw new BundleException("`scale` must be the bundle's: '" + source + "' holds a x" + scale
                    + " model. Received: scale=" + wanted);
        }
    }

    /** Checks {@code model}'s SHA-256 against field `sha256`; see {@link #checkModel(InputStream, String)}. */
    public void checkModelFile(File model) {
        if (!model.isFile()) {
            throw new BundleException("Model file '" + model.getPath() + "' does not exist (the bundle '" + source
                    + "' needs its " + MODEL_NAME + ").");
        }
        try (InputStream in = new FileInputStream(model)) {
            checkModel(in, model.getPath());
        } catch (IOException e) {
            throw new BundleException("Cannot read model file '" + model.getPath() + "': " + e.getMessage(), e);
        }
    }

    /**
     * Hashes the model's bytes and compares them with field `sha256` of model.json.
     *
     * @param model the bytes of model.tflite (read to the end, not closed).
     * @param name its file or asset name, for messages.
     * @throws BundleException the hashes differ (a different or damaged model.tflite).
     * @throws IOException reading fails.
     */
    public void checkModel(InputStream model, String name) throws IOException {
        String got = sha256Hex(model);
        if (!got.equals(sha256)) {
            throw new BundleException("Model file '" + name + "' is not the model of bundle '" + source
                    + "': its SHA-256 must be " + sha256 + " (field `sha256`). Received: sha256=" + got
                    + ". Export the bundle again and copy both files.");
        }
    }

    /** Lower-case hex SHA-256 of a stream's bytes (read to the end, not closed). */
    public static String sha256Hex(InputStream in) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            md.update(buf, 0, n);
        }
        StringBuilder sb = new StringBuilder(64);
        for (byte b : md.digest()) {
            sb.append(String.format(Locale.ROOT, "%02x", b & 0xff));
        }
        return sb.toString();
    }

    /** Reads a stream as UTF-8 text (to the end, not closed). */
    public static String readUtf8(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) > 0; ) {
            bytes.write(buf, 0, n);
        }
        return new String(bytes.toByteArray(), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "ModelBundle('" + source + "', x" + scale + ", tile " + tileWidth + "x" + tileHeight + ", overlap "
                + overlap + ", " + input.dtype.name().toLowerCase(Locale.ROOT) + " in, "
                + output.dtype.name().toLowerCase(Locale.ROOT) + " out)";
    }

    // ------------------------------------------------------------------ field readers

    private static Object field(Map<?, ?> m, String key, String path, String source) {
        if (!m.containsKey(key)) {
            throw new BundleException("'" + source + "' is missing field `" + path + "`; it is not a bundle from "
                    + "`keras-sr export --target android`, or an older one: export it again.");
        }
        return m.get(key);
    }

    private static int intField(Map<?, ?> m, String key, String source, int min) {
        return toInt(field(m, key, key, source), key, source, min);
    }

    private static int toInt(Object v, String path, String source, int min) {
        if (!(v instanceof Long) || (Long) v < min || (Long) v > Integer.MAX_VALUE) {
            throw new BundleException("Field `" + path + "` of '" + source + "' must be an integer >= " + min
                    + ". Received: " + path + "=" + v);
        }
        return (int) (long) (Long) v;
    }

    private static String stringField(Map<?, ?> m, String key, String source) {
        Object v = field(m, key, key, source);
        if (!(v instanceof String)) {
            throw new BundleException("Field `" + key + "` of '" + source + "' must be a string. Received: " + key
                    + "=" + v);
        }
        return (String) v;
    }

    private static int[] intList(Map<?, ?> m, String key, String source, int length) {
        Object v = field(m, key, key, source);
        if (!(v instanceof List) || (length > 0 && ((List<?>) v).size() != length)) {
            throw new BundleException("Field `" + key + "` of '" + source + "' must be a list of "
                    + (length > 0 ? length + " " : "") + "integers. Received: " + key + "=" + v);
        }
        List<?> list = (List<?>) v;
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = toInt(list.get(i), key + "[" + i + "]", source, 0);
        }
        return out;
    }

    private static TensorSpec tensor(Map<?, ?> m, String key, String source) {
        Object v = field(m, key, key, source);
        if (!(v instanceof Map)) {
            throw new BundleException("Field `" + key + "` of '" + source + "' must be an object with dtype, shape, "
                    + "scale and zero_point. Received: " + key + "=" + v);
        }
        Map<?, ?> t = (Map<?, ?>) v;
        Object dt = field(t, "dtype", key + ".dtype", source);
        DType dtype;
        if ("float32".equals(dt)) {
            dtype = DType.FLOAT32;
        } else if ("int8".equals(dt)) {
            dtype = DType.INT8;
        } else {
            throw new BundleException("Field `" + key + ".dtype` of '" + source + "' must be one of (float32, int8). "
                    + "Received: " + key + ".dtype=" + dt);
        }
        Object shapeValue = field(t, "shape", key + ".shape", source);
        if (!(shapeValue instanceof List) || ((List<?>) shapeValue).size() != 4) {
            throw new BundleException("Field `" + key + ".shape` of '" + source + "' must be an NHWC shape of 4 "
                    + "integers. Received: " + key + ".shape=" + shapeValue);
        }
        List<?> sl = (List<?>) shapeValue;
        int[] shape = new int[4];
        for (int i = 0; i < 4; i++) {
            shape[i] = toInt(sl.get(i), key + ".shape[" + i + "]", source, 1);
        }
        Object sv = field(t, "scale", key + ".scale", source);
        if (!(sv instanceof Number)) {
            throw new BundleException("Field `" + key + ".scale` of '" + source + "' must be a number. Received: "
                    + key + ".scale=" + sv);
        }
        float qscale = ((Number) sv).floatValue();
        Object zv = field(t, "zero_point", key + ".zero_point", source);
        if (!(zv instanceof Long)) {
            throw new BundleException("Field `" + key + ".zero_point` of '" + source + "' must be an integer. "
                    + "Received: " + key + ".zero_point=" + zv);
        }
        int zero = (int) (long) (Long) zv;
        if (dtype == DType.INT8 && !(qscale > 0)) {
            throw new BundleException("Field `" + key + ".scale` of '" + source + "' must be > 0 for an int8 tensor. "
                    + "Received: " + key + ".scale=" + sv);
        }
        if (dtype == DType.INT8 && (zero < -128 || zero > 127)) {
            throw new BundleException("Field `" + key + ".zero_point` of '" + source + "' must be in [-128, 127] for an "
                    + "int8 tensor. Received: " + key + ".zero_point=" + zero);
        }
        return new TensorSpec(dtype, shape, qscale, zero);
    }

    private static String typeName(Object o) {
        return o == null ? "null" : o instanceof List ? "a list" : o.getClass().getSimpleName();
    }

    private static String list(int[] a) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < a.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(a[i]);
        }
        return sb.append(']').toString();
    }
}
