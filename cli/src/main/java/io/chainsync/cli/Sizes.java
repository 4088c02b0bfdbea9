package io.chainsync.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Byte counts on the command line: a plain number of bytes, or a number with a binary suffix
 * {@code k}, {@code M}, {@code G}, {@code T} (case-insensitive, an optional {@code i}/{@code iB}/{@code B}
 * after it): {@code 64k} = 65536, {@code 2M} = 2097152, {@code 1G} = 1073741824.
 */
final class Sizes {

    private Sizes() {
    }

    static long parse(String text) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        if (s.endsWith("ib")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        } else if (s.endsWith("i")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'k' -> shift = 10;
                case 'm' -> shift = 20;
                case 'g' -> shift = 30;
                case 't' -> shift = 40;
                default -> shift = -1;
            }
            if (shift >= 0) {
                s = s.substring(0, s.length() - 1);
            } else {
                shift = 0;
            }
        }
        long n;
        try {
            n = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + text + "' is not a size (bytes, or a number with k, M, G or T)");
        }
        if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
            throw new TypeConversionException("size '" + text + "' is out of range");
        }
        return n << shift;
    }

    /** Formats bytes with a binary unit, e.g. {@code 1.5 GiB}. */
    static String human(double bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (Math.abs(bytes) >= 1024 && u < units.length - 1) {
            bytes /= 1024;
            u++;
        }
        return u == 0 ? String.format(Locale.ROOT, "%.0f %s", bytes, units[u])
                : String.format(Locale.ROOT, "%.1f %s", bytes, units[u]);
    }

    /** A duration in seconds as {@code 1h02m}, {@code 3m05s} or {@code 42s}. */
    static String duration(long seconds) {
        if (seconds >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
        }
        if (seconds >= 60) {
            return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
        }
        return seconds + "s";
    }

    /** {@code --chunk-size 64M} into a long. */
    static final class LongConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return parse(value);
        }
    }

    /** {@code --cluster-size 64k} into an int. */
    static final class IntConverter implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            long n = parse(value);
            if (n > Integer.MAX_VALUE) {
                throw new TypeConversionException("size '" + value + "' is out of range");
            }
            return (int) n;
        }
    }
}
