package org.kerassr.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** model.json of a real `keras-sr export --target android` bundle, and every way a bundle can be wrong. */
public class ModelBundleTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    static String realJson() throws Exception {
        return new String(Files.readAllBytes(new File(Golden.bundleDir(), "model.json").toPath()),
                StandardCharsets.UTF_8);
    }

    @Test
    public void readsTheExportedBundle() throws Exception {
        File dir = Golden.bundleDir();
        ModelBundle b = ModelBundle.load(dir);
        @SuppressWarnings("unchecked")
        Map<String, Object> facts = (Map<String, Object>) Json.parse(realJson(), "model.json");
        assertEquals(4, b.scale);
        assertEquals(64, b.tileHeight);
        assertEquals(64, b.tileWidth);
        assertEquals((long) (Long) facts.get("overlap"), b.overlap);
        assertEquals(facts.get("sha256"), b.sha256);
        assertEquals("fd_irb_edge_x4", b.sourceModel);
        assertEquals(ModelBundle.DType.FLOAT32, b.input.dtype);
        assertEquals(256, b.output.shape[1]);
        b.checkModelFile(new File(dir, "model.tflite")); // the real hash matches
        b.checkScale(4);
    }

    @Test
    public void modelWhoseHashDiffersIsRefused() throws Exception {
        File dir = Golden.bundleDir();
        File copy = tmp.newFile("model.tflite");
        Files.copy(new File(dir, "model.tflite").toPath(), copy.toPath(), StandardCopyOption.REPLACE_EXISTING);
        byte[] bytes = Files.readAllBytes(copy.toPath());
        bytes[bytes.length / 2] ^= 1;
        Files.write(copy.toPath(), bytes);
        ModelBundle b = ModelBundle.load(dir);
        BundleException e = assertThrows(BundleException.class, () -> b.checkModelFile(copy));
        String m = e.getMessage();
        assertTrue(m, m.contains(copy.getPath()) && m.contains("must be " + b.sha256));
        assertTrue(m, m.contains("Received: sha256=") && !m.contains("Received: sha256=" + b.sha256));
        BundleException missing = assertThrows(BundleException.class,
                () -> b.checkModelFile(new File(tmp.getRoot(), "absent.tflite")));
        assertTrue(missing.getMessage(), missing.getMessage().contains("absent.tflite' does not exist"));
    }

    @Test
    public void everyMissingFieldIsNamed() throws Exception {
        String json = realJson();
        String[][] cases = {
            {"\"scale\"", "scale"}, {"\"tile\"", "tile"}, {"\"overlap\"", "overlap"}, {"\"sha256\"", "sha256"},
            {"\"input\"", "input"}, {"\"output\"", "output"},
        };
        for (String[] c : cases) {
            String broken = json.replaceFirst(c[0] + ":", "\"renamed_" + c[1] + "\":");
            BundleException e = assertThrows(c[1], BundleException.class, () -> ModelBundle.parse(broken, "b/model.json"));
            assertTrue(e.getMessage(), e.getMessage().contains("'b/model.json' is missing field `" + c[1] + "`"));
        }
        String noDtype = json.replaceFirst("\"dtype\":", "\"kind\":");
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.parse(noDtype, "m.json"));
        assertTrue(e.getMessage(), e.getMessage().contains("missing field `input.dtype`"));
        String noZero = json.replaceFirst("\"zero_point\":", "\"zp\":");
        e = assertThrows(BundleException.class, () -> ModelBundle.parse(noZero, "m.json"));
        assertTrue(e.getMessage(), e.getMessage().contains("missing field `input.zero_point`"));
    }

    @Test
    public void wrongValuesNameFieldExpectedAndReceived() throws Exception {
        String json = realJson();
        BundleException e = assertThrows(BundleException.class,
                () -> ModelBundle.parse(json.replaceFirst("\"dtype\": \"float32\"", "\"dtype\": \"uint16\""), "m.json"));
        assertTrue(e.getMessage(), e.getMessage().contains("`input.dtype` of 'm.json' must be one of (float32, int8). "
                + "Received: input.dtype=uint16"));
        e = assertThrows(BundleException.class,
                () -> ModelBundle.parse(json.replaceFirst("\"scale\": 4", "\"scale\": 2"), "m.json"));
        assertTrue(e.getMessage(), e.getMessage().contains("`output.shape` of 'm.json' must be [1, 128, 128, 3]")
                && e.getMessage().contains("Received: output.shape=[1, 256, 256, 3]"));
        e = assertThrows(BundleException.class,
                () -> ModelBundle.parse(json.replaceFirst("\"scale\": 4", "\"scale\": \"4\""), "m.json"));
        assertTrue(e.getMessage(), e.getMessage().contains("`scale` of 'm.json' must be an integer >= 1. Received: "
                + "scale=4"));
        e = assertThrows(BundleException.class, () -> ModelBundle.parse("{\"scale\": ", "m.json"));
        assertTrue(e.getMessage(), e.getMessage().startsWith("'m.json' is not valid JSON"));
        e = assertThrows(BundleException.class, () -> ModelBundle.parse("[1, 2]", "m.json"));
        assertTrue(e.getMessage(), e.getMessage().contains("must hold a JSON object"));
    }

    @Test
    public void scaleOtherThanTheChosenOneIsRefused() throws Exception {
        ModelBundle b = ModelBundle.load(Golden.bundleDir());
        BundleException e = assertThrows(BundleException.class, () -> b.checkScale(2));
        assertTrue(e.getMessage(), e.getMessage().startsWith("`scale` must be the bundle's:")
                && e.getMessage().contains("holds a x4 model. Received: scale=2"));
    }

    @Test
    public void missingModelJsonIsNamed() throws Exception {
        File empty = tmp.newFolder("empty_bundle");
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.load(empty));
        assertTrue(e.getMessage(), e.getMessage().contains(new File(empty, "model.json").getPath() + "' does not exist"));
    }
}
