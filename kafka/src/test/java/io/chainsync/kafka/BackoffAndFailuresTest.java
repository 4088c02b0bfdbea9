package io.chainsync.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apicurio.registry.rest.client.exception.RestClientException;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.avro.AvroRuntimeException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class BackoffAndFailuresTest {

    @Test
    void ceilingsDoubleUpToTheMaximum() {
        Backoff b = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(8), 6);
        long[] expected = {500, 1000, 2000, 4000, 8000, 8000, 8000};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], b.ceiling(i + 1).toMillis(), "attempt " + (i + 1));
        }
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), 1));
        assertThrows(IllegalArgumentException.class,
                () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 1));
    }

    @RepeatedTest(20)
    void delaysStayBetweenHalfAndAllOfTheCeiling() {
        for (int attempt = 1; attempt < 8; attempt++) {
            long d = Backoff.TASKS.delay(attempt).toMillis();
            long c = Backoff.TASKS.ceiling(attempt).toMillis();
            assertTrue(d >= c / 2 && d <= c, d + " outside [" + c / 2 + ", " + c + "]");
        }
    }

    @Test
    void theTaskRetriesOutlastAShortOutage() {
        long least = 0;
        for (int attempt = 1; attempt < Backoff.TASKS.attempts(); attempt++) {
            least += Backoff.TASKS.ceiling(attempt).toMillis() / 2;
        }
        assertTrue(least >= 7_000, "retries give up after " + least + " ms");
    }

    @Test
    void outagesAreTransient() {
        assertTrue(Failures.isTransient(new ConnectException("Connection refused")));
        assertTrue(Failures.isTransient(new CompletionException(new IOException(new ConnectException("x")))));
        assertTrue(Failures.isTransient(new ExecutionException(new NotLeaderOrFollowerException("moving"))));
        assertTrue(Failures.isTransient(new org.apache.kafka.common.errors.TimeoutException("no broker")));
        assertTrue(Failures.isTransient(new SerializationException("registry",
                new java.io.UncheckedIOException(new ConnectException("Connection refused")))));
        assertTrue(Failures.isTransient(new Failures.TransientFailure("marked", null)));
        assertTrue(Failures.isTransient(new SerializationException(registryError("ConnectException", null))));
        assertTrue(Failures.isTransient(registryError("HttpTimeoutException", null)));
        assertTrue(Failures.isTransient(registryError("ServerError", 503)));
    }

    private static RestClientException registryError(String name, Integer status) {
        io.apicurio.registry.rest.v2.beans.Error e = new io.apicurio.registry.rest.v2.beans.Error();
        e.setName(name);
        e.setErrorCode(status);
        return new RestClientException(e);
    }

    @Test
    void anUnknownSchemaIdIsPermanent() {
        assertFalse(Failures.isTransient(registryError("ContentNotFoundException", 404)));
    }

    @Test
    void aRegistryRefusingTheClientIsNeitherTransientNorTheRecordsFault() {
        for (int status : new int[] {401, 403}) {
            RestClientException refused = registryError("NotAuthorizedException", status);
            assertFalse(Failures.isTransient(refused));
            assertTrue(Failures.isRegistryRefusal(new SerializationException(refused)));
        }
        assertFalse(Failures.isRegistryRefusal(registryError("ContentNotFoundException", 404)));
        assertFalse(Failures.isRegistryRefusal(registryError("ConnectException", null)));
    }

    /** NBD failures count for work on sources, not for records: a truncated record stays permanent. */
    @Test
    void nbdOutagesAreTransientWorkOnly() {
        Exception lost = new io.chainsync.nbd.protocol.NbdConnectionLostException("NBD connection 0 lost");
        Exception eio = new io.chainsync.nbd.protocol.NbdRequestException("read", 5, "EIO");
        Exception einval = new io.chainsync.nbd.protocol.NbdRequestException("read", 22, "EINVAL");
        assertTrue(Failures.isTransientWork(new CompletionException(lost)));
        assertTrue(Failures.isTransientWork(eio));
        assertTrue(Failures.isTransientWork(new ConnectException("Connection refused")));
        assertFalse(Failures.isTransientWork(einval));
        assertFalse(Failures.isTransient(lost));
        assertTrue(Failures.isTransientWork(new EOFException("server closed the connection")));
        assertFalse(Failures.isTransient(new EOFException()));
    }

    @Test
    void badDataIsPermanent() {
        assertFalse(Failures.isTransient(new SerializationException("Unknown magic byte!")));
        assertFalse(Failures.isTransient(new AvroRuntimeException("Malformed data. Length is negative: -1")));
        assertFalse(Failures.isTransient(new SerializationException(new EOFException())));
        assertFalse(Failures.isTransient(new RecordTooLargeException("too large")));
        assertFalse(Failures.isTransient(new IllegalArgumentException("layer x: bad")));
    }

    @Test
    void reasonsAreTheInnermostMessage() {
        assertEquals("boom", Failures.reason(new CompletionException(new ExecutionException(new IOException("boom")))));
        assertEquals("EOFException", Failures.reason(new EOFException()));
    }
}
