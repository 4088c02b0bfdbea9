package io.chainsync.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Deliberately wrong layer copiers, built from qemu tools, to prove that a test can fail
 * (docs/design.md §4: "every test of this kind must also fail for a deliberately naive copier").
 */
public final class NaiveCopier {

    private NaiveCopier() {
    }

    /**
     * The 2021 bug: rebuild every layer above the bottom by copying only what {@code base:allocation}
     * does not call a hole/zero. For each such layer a qcow2 with the right backing reference is
     * created, served writable by qemu-nbd <em>with</em> its backing (so partial writes COW correctly),
     * and filled by {@code nbdcopy --destination-is-zero} from the source layer served alone. Zero
     * clusters of the source are therefore dropped. The bottom layer is copied byte for byte.
     *
     * @return the destination chain (same names; formats by the ".raw" convention)
     */
    public static Chain skipHoles(Chain source, Path destDir, Path sockDir) {
        Chain dest = source.expectedIn(destDir);
        try {
            Files.createDirectories(destDir);
            Layer bottom = source.bottom();
            if (bottom.isRaw() == dest.bottom().isRaw()) {
                Files.copy(bottom.path(), dest.bottom().path(), StandardCopyOption.REPLACE_EXISTING);
            } else {
                QemuImg.convert(bottom.aloneSpec(), dest.bottom().path(), dest.bottom().format());
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot copy " + source.bottom(), e);
        }
        for (int i = 1; i < source.size(); i++) {
            Layer src = source.get(i);
            Layer dst = dest.get(i);
            Layer below = dest.get(i - 1);
            ImageInfo info = src.info();
            QemuImg.create(dst.path(), "qcow2", QemuImg.roundUp512(info.virtualSize()), below.name(),
                    below.format(), info.clusterSize() == null ? null : info.clusterSize().intValue(), null);
            try (QemuNbdServer in = QemuNbdServer.serveLayer(src, sockDir);
                 QemuNbdServer out = QemuNbdServer.builder(dst.path().toString(), "qcow2").writable()
                         .allocationDepth(false).start(sockDir)) {
                Exec.run("nbdcopy", "--destination-is-zero", in.uri(), out.uri()).expectSuccess();
            }
        }
        return dest;
    }

    /**
     * The opposite mistake: every layer above the bottom receives everything its chain prefix reads
     * (fully allocated, {@code qemu-img convert -S 0}), then gets the right backing reference. Every
     * chain compares equal; the layers alone do not.
     */
    public static Chain copyEverything(Chain source, Path destDir) {
        Chain dest = source.expectedIn(destDir);
        try {
            Files.createDirectories(destDir);
            Files.copy(source.bottom().path(), dest.bottom().path(), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new IllegalStateException("cannot copy " + source.bottom(), e);
        }
        for (int i = 1; i < source.size(); i++) {
            Layer dst = dest.get(i);
            QemuImg.convert(source.get(i).chainSpec(), dst.path(), "qcow2", "-S", "0");
            QemuImg.rebaseUnsafe(dst.path(), dest.get(i - 1).name(), dest.get(i - 1).format());
        }
        return dest;
    }

    /** An exact copy: every file copied byte for byte (what a correct copier must be equivalent to). */
    public static Chain exactCopy(Chain source, Path destDir) {
        Chain dest = new Chain(destDir, source.layers().stream()
                .map(l -> new Layer(l.name(), destDir.resolve(l.name()), l.format())).toList());
        try {
            Files.createDirectories(destDir);
            for (Layer l : source.layers()) {
                Files.copy(l.path(), destDir.resolve(l.name()), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot copy " + source, e);
        }
        return dest;
    }
}
