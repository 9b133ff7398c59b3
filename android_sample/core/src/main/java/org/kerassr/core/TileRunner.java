package org.kerassr.core;

/**
 * Runs the bundle's fixed-shape model on one tile. The app implements it with LiteRT's CompiledModel;
 * the JVM tests with LiteRT's C API through JNA.
 *
 * <p>{@code input} has shape (1, tile H, tile W, 3) and {@code output} (1, scale * tile H, scale * tile W, 3),
 * both in the dtypes of the bundle's model.json. Implementations fill {@code output} completely; they
 * are called from one thread at a time.
 */
public interface TileRunner extends AutoCloseable {
    void run(Tensor input, Tensor output) throws Exception;

    @Override
    default void close() {
    }
}
