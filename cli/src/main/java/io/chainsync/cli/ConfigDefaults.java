package io.chainsync.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every option from the environment or a config file, when not on the command line:
 * {@code --bootstrap-servers} from {@code CHAINSYNC_BOOTSTRAP_SERVERS}, then from the key
 * {@code bootstrap-servers} of the properties file named by {@code CHAINSYNC_CONFIG}, then the
 * built-in default. The name is the option's longest name without dashes, upper-cased, with
 * {@code -} as {@code _} (docs/operations.md lists them).
 */
final class ConfigDefaults implements IDefaultValueProvider {

    static final String CONFIG_FILE_VARIABLE = "CHAINSYNC_CONFIG";

    private final Map<String, String> env;
    private final Properties file;

    ConfigDefaults(Map<String, String> env) {
        this.env = env;
        this.file = load(env.get(CONFIG_FILE_VARIABLE));
    }

    private static Properties load(String path) {
        Properties p = new Properties();
        if (path == null || path.isBlank()) {
            return p;
        }
        try (Reader r = Files.newBufferedReader(Path.of(path))) {
            p.load(r);
        } catch (IOException e) {
            throw new IllegalArgumentException(CONFIG_FILE_VARIABLE + "=" + path + ": cannot read the config file: " + e);
        }
        return p;
    }

    /** {@code --bootstrap-servers} → {@code bootstrap-servers}. */
    static String key(OptionSpec option) {
        return option.longestName().replaceFirst("^-+", "");
    }

    /** {@code --bootstrap-servers} → {@code CHAINSYNC_BOOTSTRAP_SERVERS}. */
    static String variable(OptionSpec option) {
        return "CHAINSYNC_" + key(option).toUpperCase(Locale.ROOT).replace('-', '_');
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || option.usageHelp() || option.versionHelp()) {
            return null;
        }
        return value(key(option)); // null: picocli then uses the option's own default
    }

    /** The value of option {@code --KEY} from the environment or the config file; null when neither has one. */
    String value(String key) {
        String value = env.get("CHAINSYNC_" + key.toUpperCase(Locale.ROOT).replace('-', '_'));
        if (value == null || value.isEmpty()) {
            value = file.getProperty(key);
        }
        return value == null || value.isEmpty() ? null : value;
    }
}
