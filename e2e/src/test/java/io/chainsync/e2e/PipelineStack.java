package io.chainsync.e2e;

import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerSource;
import io.chainsync.avro.SyncJob;
import io.chainsync.cli.Main;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.stack.LocalStack;
import io.chainsync.testkit.Captured;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The end-to-end set-up: a real broker and registry ({@link LocalStack}), the scanner, Streams
 * planner and copier services on them ({@link EmbeddedPipeline}: two copiers, four partitions),
 * and what the tests do with them: job records made as any producer makes them, produced to
 * {@code chainsync.jobs}, a chain's layers served by qemu-nbd, a job's end awaited.
 *
 * <p>Tests that need no fresh stack share one per class, a JUnit extension in a static field:
 * {@code @RegisterExtension static final PipelineStack e2e = PipelineStack.perClass();} starts it
 * (in a directory of its own) before the class's {@code @BeforeAll} methods and closes it after
 * its {@code @AfterAll} methods; each test writes under its own destination name in
 * {@link #destRoot()}. The static helpers serve tests that run their own broker, registry or
 * service processes.
 */
final class PipelineStack implements BeforeAllCallback, AfterAllCallback {

    /** The chunk size of the jobs made here: 2 MiB, so that small layers still have several chunks. */
    static final long CHUNK = 2L << 20;

    private static final Duration AWAIT = Duration.ofSeconds(180);

    private final boolean services;
    private Path dir;
    private LocalStack stack;
    private ClientConfig config;
    private PipelineTopics topics;
    private Path destRoot;
    private volatile EmbeddedPipeline pipeline;

    private PipelineStack(boolean services) {
        this.services = services;
    }

    /** The broker, the registry and the services, shared by the tests of a class. */
    static PipelineStack perClass() {
        return new PipelineStack(true);
    }

    /**
     * The broker and the registry only, shared by the tests of a class: the services are the
     * tests' own, or come with {@link #startPipeline()}.
     */
    static PipelineStack perClassWithoutServices() {
        return new PipelineStack(false);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        dir = Files.createTempDirectory("chainsync-e2e-");
        stack = LocalStack.start(dir.resolve("stack"));
        config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl());
        topics = config.topics();
        destRoot = Files.createDirectories(dir.resolve("dest-root"));
        if (services) {
            startPipeline();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        try {
            if (pipeline != null) {
                pipeline.close();
            }
            if (stack != null) {
                stack.close();
            }
        } finally {
            Trees.delete(dir);
        }
    }

    /** Starts the scanner, planner and copier services (planner state under the stack's directory). */
    void startPipeline() {
        pipeline = EmbeddedPipeline.start(config, dir.resolve("planner"), destRoot, 2, 4);
    }

    LocalStack stack() {
        return stack;
    }

    ClientConfig config() {
        return config;
    }

    PipelineTopics topics() {
        return topics;
    }

    /** Where the copiers write: one directory per job destination. */
    Path destRoot() {
        return destRoot;
    }

    /** The running services, or null before {@link #startPipeline()}. */
    EmbeddedPipeline pipeline() {
        return pipeline;
    }

    /** The command line's options that reach this stack. */
    String[] kafkaArgs() {
        return new String[] {"--bootstrap-servers", stack.bootstrapServers(), "--registry-url", stack.registryUrl()};
    }

    void produce(SyncJob job) throws Exception {
        produce(config, job);
    }

    /** The job's status once it ended (any attempt), or an AssertionError after 180 s. */
    JobStatus await(String job) {
        return await(config, job, AWAIT);
    }

    /** The status of the job's {@code attempt} once it ended, or an AssertionError after 180 s. */
    JobStatus await(String job, int attempt) {
        return Jobs.await(config, topics, job, attempt, AWAIT, s -> { })
                .orElseThrow(() -> new AssertionError("job " + job + " attempt " + attempt + " did not finish"));
    }

    /** Serves the chain's layers, submits them as job {@code id} (null: a new id) to {@code dest}, awaits its end. */
    JobStatus run(Chain chain, String id, String dest, long chunkSize, Path sockets) throws Exception {
        try (ServedChain served = ServedChain.serve(chain, sockets)) {
            SyncJob job = job(id, served.layers(), dest, chunkSize);
            produce(job);
            return await(job.getJob());
        }
    }

    /** {@link #run(Chain, String, String, long, Path)} with a new job id and 2 MiB chunks. */
    JobStatus run(Chain chain, String dest, Path sockets) throws Exception {
        return run(chain, null, dest, CHUNK, sockets);
    }

    // ------------------------------------------------------------------ without a stack of this class

    /** A job record as any producer makes it: plain Avro, no chainsync client code; {@code id} null: a new one. */
    static SyncJob job(String id, List<LayerSource> layers, String dest, long chunkSize) {
        return SyncJob.newBuilder().setJob(id == null ? UUID.randomUUID().toString() : id)
                .setLayers(new ArrayList<>(layers)).setDest(dest).setClusterSize(null).setDirtyBitmap(null)
                .setChunkSize(chunkSize).setSubmittedAt(Instant.now()).build();
    }

    /** A job record of 2 MiB chunks. */
    static SyncJob job(String id, List<LayerSource> layers, String dest) {
        return job(id, layers, dest, CHUNK);
    }

    /** Submits as any producer would: one record on {@code chainsync.jobs}, Confluent wire format. */
    static void produce(ClientConfig config, SyncJob job) throws Exception {
        PipelineTopics topics = config.topics();
        try (KafkaProducer<JobKey, SyncJob> producer = new KafkaProducer<>(config.properties(),
                topics.jobs().keySerde().serializer(), topics.jobs().valueSerde().serializer())) {
            producer.send(new ProducerRecord<>(topics.jobs().name(), new JobKey(job.getJob()), job)).get();
        }
    }

    /** The job's status once it ended (any attempt), or an AssertionError after {@code timeout}. */
    static JobStatus await(ClientConfig config, String job, Duration timeout) {
        return Jobs.await(config, config.topics(), job, timeout, s -> { })
                .orElseThrow(() -> new AssertionError("job " + job + " did not finish"));
    }

    /** One raw layer of 48 MiB, 40 MiB of data: long enough to copy, served throttled, to be hit mid-copy. */
    static Chain bigRaw(Path dir) {
        return ChainBuilder.in(dir).size(48L << 20).clusterSize(65536).base("base.raw")
                .io("write -P 0x61 0 20M", "write -P 0x62 24M 20M").build();
    }

    /** The command line run in this JVM, its output captured. */
    static Captured cli(String... args) {
        return Captured.run(() -> Main.run(args));
    }

    /** The names in {@code dir}, sorted. */
    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** A chain's layers each served by qemu-nbd, as a job's layer sources; closing stops the servers. */
    record ServedChain(io.chainsync.testkit.ServedChain servers, List<LayerSource> layers) implements AutoCloseable {

        static ServedChain serve(Chain chain, Path sockets) throws IOException {
            io.chainsync.testkit.ServedChain servers =
                    new io.chainsync.testkit.ServedChain(chain, Files.createDirectories(sockets));
            List<LayerSource> layers = new ArrayList<>();
            servers.uris().forEach((name, uri) -> layers.add(new LayerSource(name, uri)));
            return new ServedChain(servers, layers);
        }

        @Override
        public void close() {
            servers.close();
        }
    }
}
