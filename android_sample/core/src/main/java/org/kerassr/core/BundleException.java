package org.kerassr.core;

/**
 * A model bundle (model.json + model.tflite from {@code keras-sr export --target android}) that cannot
 * be used: a file that is missing or unreadable, a field that is missing or has the wrong type, a
 * SHA-256 that does not match, or a scale other than the one asked for. The message names the file or
 * field, what was expected and what was received.
 */
public class BundleException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public BundleException(String message) {
        super(message);
    }

    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
