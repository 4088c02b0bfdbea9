package io.chainsync.cli;

import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;

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
            JobSpec.validateChain(specs);
            return specs;
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
