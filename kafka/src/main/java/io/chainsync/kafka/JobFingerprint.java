package io.chainsync.kafka;

import io.chainsync.avro.LayerSource;
import io.chainsync.avro.SyncJob;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What a job is, as one hash: its layers (names and sources), destination and options (replace
 * included), not when
 * it was submitted. A job id names one job only: a record with a used id and another fingerprint
 * is refused; one with the same fingerprint is the same job, submitted again.
 */
public final class JobFingerprint {

    private JobFingerprint() {
    }

    public static String of(SyncJob job) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        field(sha, job.getJob());
        for (LayerSource layer : job.getLayers()) {
            field(sha, layer.getName());
            field(sha, layer.getUri());
        }
        field(sha, job.getDest());
        field(sha, String.valueOf(job.getClusterSize()));
        field(sha, String.valueOf(job.getDirtyBitmap()));
        field(sha, String.valueOf(job.getChunkSize()));
        // added later: hashed only when set, so a job without them keeps its earlier fingerprint
        if (job.getBacking() != null) {
            field(sha, "backing=" + job.getBacking());
        }
        if (job.getFlatten()) {
            field(sha, "flatten");
        }
        if (job.getReplace()) {
            field(sha, "replace"); // only when set: the fingerprints of earlier jobs stay as they were
        }
        if (job.getVerify()) {
            field(sha, "verify");
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void field(MessageDigest sha, String value) {
        byte[] b = value.getBytes(StandardCharsets.UTF_8);
        sha.update((byte) (b.length >>> 24));
        sha.update((byte) (b.length >>> 16));
        sha.update((byte) (b.length >>> 8));
        sha.update((byte) b.length);
        sha.update(b);
    }
}
