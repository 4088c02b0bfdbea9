package io.chainsync.planner;

import io.chainsync.kafka.Failures;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The planner's deserialization handler. A record that can never be read goes to the
 * dead-letter topic ({@code errors.dead.letter.queue.topic.name}) and processing resumes; a
 * record that cannot be read <em>yet</em> (the schema registry unreachable) is not given up:
 * after a pause the stream thread fails, is replaced, and reads the record again from the last
 * commit.
 */
public final class DeadLetterOrWait implements DeserializationExceptionHandler {

    private static final Logger LOGGER = LoggerFactory.getLogger(DeadLetterOrWait.class);
    static final long PAUSE_MS = 2_000;

    private final LogAndContinueExceptionHandler deadLetters = new LogAndContinueExceptionHandler();

    @Override
    public void configure(Map<String, ?> configs) {
        deadLetters.configure(configs);
    }

    @Override
    public Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record,
                                Exception exception) {
        if (Failures.isTransient(exception)) {
            LOGGER.atWarn().setMessage("cannot decode a record yet: the schema registry is unreachable")
                    .addKeyValue("topic", record.topic()).addKeyValue("offset", record.offset())
                    .addKeyValue("reason", Failures.reason(exception)).log();
            try {
                Thread.sleep(PAUSE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Response.fail();
        }
        return deadLetters.handleError(context, record, exception);
    }
}
