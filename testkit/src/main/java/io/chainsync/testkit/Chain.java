package io.chainsync.testkit;

import java.nio.file.Path;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * A chain of layers in one directory, bottom (base) first; layer i+1's backing file is layer i's
 * name (relative) with layer i's format.
 *
 * @param dir    the directory holding the files
 * @param layers bottom first, never empty
 */
public record Chain(Path dir, List<Layer> layers) {

    public Chain {
        layers = List.copyOf(layers);
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("empty chain");
        }
    }

    public Layer bottom() {
        return layers.get(0);
    }

    public Layer top() {
        return layers.get(layers.size() - 1);
    }

    public Layer get(int i) {
        return layers.get(i);
    }

    public int size() {
        return layers.size();
    }

    /** The layer with that file name. */
    public Layer layer(String name) {
        return layers.stream().filter(l -> l.name().equals(name)).findFirst()
                .orElseThrow(() -> new NoSuchElementException("no layer " + name + " in " + layers));
    }

    /** Layer names, bottom first. */
    public List<String> names() {
        return layers.stream().map(Layer::name).toList();
    }

    /**
     * The layers a reconstruction in {@code destDir} is expected to have: same names, format raw iff
     * the name ends with ".raw", else qcow2.
     */
    public Chain expectedIn(Path destDir) {
        return new Chain(destDir, layers.stream().map(l -> Layer.inDir(destDir, l.name())).toList());
    }
}
