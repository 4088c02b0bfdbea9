package io.chainsync.cli;

import io.chainsync.avro.LayerSource;
import io.chainsync.copier.ChainCopier;
import io.chainsync.copier.LayerSpec;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** {@code --layer NAME=URI} arguments, checked before anything starts. */
final class LayerArgs {

    private LayerArgs() {
    }

    static List<LayerSpec> parse(CommandSpec spec, List<String> layers) {
        try {
            List<LayerSpec> specs = new ArrayList<>();
            for (String layer : layers) {
                specs.add(LayerSpec.parse(layer));
            }
            ChainCopier.validate(specs);
            return specs;
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    static List<LayerSource> sources(List<LayerSpec> specs) {
        List<LayerSource> out = new ArrayList<>();
        for (LayerSpec s : specs) {
            out.add(new LayerSource(s.name(), s.source().toString()));
        }
        return out;
    }
}
