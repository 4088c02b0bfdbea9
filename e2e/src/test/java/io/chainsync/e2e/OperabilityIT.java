package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.OpsServer;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.NbdkitServer;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import io.chainsync.testkit.Captured;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Operating the pipeline (docs/operations.md, docs/jobs.md), on a real broker and registry:
 * the metrics endpoint during a job and readiness going up, a job produced by plain
 * kafka-clients + Avro + the registry, and the command line's exit codes and progress against a
 * running pipeline.
 */
class OperabilityIT {

    @RegisterExtension
    static final PipelineStack e2e = PipelineStack.perClassWithoutServices();

    static OpsServer ops;
    static int readyBeforeStart;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        ops = OpsServer.start("127.0.0.1", 0, () -> e2e.pipeline() != null && e2e.pipeline().ready());
        readyBeforeStart = get("/health/ready").statusCode();
        e2e.startPipeline();
    }

    @AfterAll
    static void stop() {
        if (ops != null) {
            ops.close();
        }
    }

    /** Scrapes /metrics during a throttled job: bytes grow in steps; readiness went from 503 to 200. */
    @Test
    void metricsGrowDuringAJobAndReadinessGoesUp() throws Exception {
        assertEquals(503, readyBeforeStart, "ready before the pipeline started");
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (get("/health/ready").statusCode() != 200 && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertEquals(200, get("/health/ready").statusCode(), "ready once the pipeline runs");
        assertEquals(200, get("/health/live").statusCode());

        Chain chain = ChainBuilder.in(tmp.resolve("src")).size(24L << 20).clusterSize(65536).base("base.raw")
                .io("write -P 0x61 0 20M").build();
        // nbdkit's rate filter (bits per second, whole server): 32 Mbit/s = 4 MiB/s, about 5 s of copying
        NbdServer server = NbdkitServer.builder("file").filter("rate").param("file", chain.bottom().path().toString())
                .param("rate", "32M").readOnly(true).start(Files.createDirectories(tmp.resolve("s")));
        List<Double> written = new ArrayList<>();
        String last;
        try {
            double before = metric(scrape(), "chainsync_dest_written_bytes_total");
            double readBefore = metric(scrape(), "chainsync_source_read_bytes_total");
            double chunksBefore = metric(scrape(), "chainsync_chunks_total{outcome=\"done\"");
            JobSpec job = JobSpec.of("metrics-" + System.nanoTime(), List.of(LayerSpec.of("base.raw", server.uri())),
                    "metrics", null, null, 2L << 20);
            Jobs.submit(e2e.config(), e2e.topics(), job);
            AtomicReference<Optional<JobStatus>> end = new AtomicReference<>(Optional.empty());
            Thread waiter = new Thread(() -> end.set(Jobs.await(e2e.config(), e2e.topics(), job.job(),
                    Duration.ofMinutes(2), s -> { })));
            waiter.start();
            while (waiter.isAlive()) {
                written.add(metric(scrape(), "chainsync_dest_written_bytes_total") - before);
                Thread.sleep(100);
            }
            assertEquals(JobState.COMPLETE, end.get().orElseThrow().getState());
            last = scrape();
            written.add(metric(last, "chainsync_dest_written_bytes_total") - before);
            assertEquals(20 << 20, metric(last, "chainsync_source_read_bytes_total") - readBefore, 0.5);
            assertTrue(metric(last, "chainsync_chunks_total{outcome=\"done\"") - chunksBefore >= 10, last);
        } finally {
            server.close();
        }
        ChainJudge.assertExact(chain, e2e.destRoot().resolve("metrics"));
        assertEquals(20 << 20, written.get(written.size() - 1), 0.5, "bytes written by the job: " + written);
        // seen between none and all: the scrape saw the job's bytes grow (a scrape may take a while here)
        long between = written.stream().filter(w -> w > 0 && w < (20 << 20)).distinct().count();
        assertTrue(between >= 1, "bytes must be seen growing during the job: " + written);
        for (int i = 1; i < written.size(); i++) {
            assertTrue(written.get(i) >= written.get(i - 1), "bytes never go down: " + written);
        }
        // the other meters of docs/operations.md are there
        for (String name : List.of("chainsync_nbd_request_duration_seconds_count{command=\"read\"",
                "chainsync_chunk_duration_seconds_count{kind=\"copy\"", "chainsync_jobs{state=\"COMPLETE\"",
                "kafka_consumer_fetch_manager_records_consumed_total", "kafka_stream_thread_process_total",
                "kafka_producer_record_send_total")) {
            assertTrue(last.lines().anyMatch(l -> l.startsWith(name)), name + " missing from /metrics");
        }
        assertTrue(metric(last, "chainsync_jobs{state=\"COMPLETE\"") >= 1, last);
    }

    /** docs/jobs.md's example: kafka-clients + Avro + Apicurio serdes, schemas read from the page itself. */
    @Test
    void aJobProducedWithPlainKafkaClientsCompletesExactly() throws Exception {
        String page = Files.readString(Path.of("..", "docs", "jobs.md"));
        Schema keySchema = new Schema.Parser().parse(schemaBlock(page, "JobKey"));
        Schema jobSchema = new Schema.Parser().parse(schemaBlock(page, "SyncJob"));
        Schema layerSchema = jobSchema.getField("layers").schema().getElementType();

        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        List<NbdServer> servers = new ArrayList<>();
        String id = "plain-" + System.nanoTime();
        try {
            List<GenericRecord> layers = new ArrayList<>();
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = QemuNbdServer.serveLayer(layer, Files.createDirectories(tmp.resolve("s")));
                servers.add(server);
                layers.add(new GenericRecordBuilder(layerSchema).set("name", layer.name()).set("uri", server.uri()).build());
            }
            Map<String, Object> serde = Map.of(
                    "apicurio.registry.url", e2e.stack().registryUrl(),
                    "apicurio.registry.auto-register", true,
                    "apicurio.registry.headers.enabled", false,
                    "apicurio.registry.id-handler", "io.apicurio.registry.serde.Legacy4ByteIdHandler",
                    "apicurio.registry.use-id", "contentId");
            AvroKafkaSerializer<GenericRecord> keys = new AvroKafkaSerializer<>();
            keys.configure(serde, true);
            AvroKafkaSerializer<GenericRecord> values = new AvroKafkaSerializer<>();
            values.configure(serde, false);
            Properties p = new Properties();
            p.put("bootstrap.servers", e2e.stack().bootstrapServers());
            p.put("acks", "all");
            p.put("enable.idempotence", true);
            try (KafkaProducer<GenericRecord, GenericRecord> producer = new KafkaProducer<>(p, keys, values)) {
                GenericRecord key = new GenericRecordBuilder(keySchema).set("job", id).build();
                GenericRecord job = new GenericRecordBuilder(jobSchema) // chunkSize and submittedAt: their defaults
                        .set("job", id).set("layers", layers).set("dest", "plain").build();
                assertEquals(64L << 20, job.get("chunkSize"));
                producer.send(new ProducerRecord<>("chainsync.jobs", key, job)).get();
            }
            JobStatus status = e2e.await(id);
            assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
        } finally {
            servers.forEach(NbdServer::close);
        }
        ChainJudge.assertExact(chain, e2e.destRoot().resolve("plain"));
        // the public subjects carry the BACKWARD rule, set when the services started
        HttpResponse<String> rule = HTTP.send(HttpRequest.newBuilder(URI.create(e2e.stack().registryUrl()
                + "/groups/default/artifacts/chainsync.jobs-value/rules/COMPATIBILITY")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, rule.statusCode(), rule.body());
        assertTrue(rule.body().contains("BACKWARD"), rule.body());
    }

    /** submit --wait and status: 0 complete, 1 failed, 3 timeout or unreachable; plain progress lines. */
    @Test
    void exitCodesAndProgressOffATerminal() throws Exception {
        Chain chain = Scenarios.SEED_RAW.build(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        List<NbdServer> servers = new ArrayList<>();
        String[] kafka = e2e.kafkaArgs();
        try {
            List<String> good = new ArrayList<>(List.of("submit", "--wait", "--output", "json",
                    "--progress-interval", "0.2", "--chunk-size", "2M", "--dest", "cli-good", "--job-id", "cli-good"));
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = QemuNbdServer.serveLayer(layer, sockets);
                servers.add(server);
                good.add("--layer");
                good.add(layer.name() + "=" + server.uri());
            }
            good.addAll(List.of(kafka));
            Captured r = PipelineStack.cli(good.toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
            assertEquals("cli-good", r.out().lines().findFirst().orElse(""));
            JsonNode summary = new ObjectMapper().readTree(r.out().substring(r.out().indexOf('{')));
            assertEquals("COMPLETE", summary.get("state").asText());
            assertFalse(r.err().contains("\r") || r.err().contains("\033"), r.err());
            for (Layer layer : chain.layers()) {
                assertTrue(r.err().lines().anyMatch(l -> l.startsWith("job cli-good " + layer.name() + ": COMPLETE")), r.err());
            }
            ChainJudge.assertExact(chain, e2e.destRoot().resolve("cli-good"));

            r = PipelineStack.cli(concat(new String[] {"status", "cli-good", "--output", "json"}, kafka));
            assertEquals(0, r.code(), r.err());
            assertEquals("COMPLETE", new ObjectMapper().readTree(r.out()).get("jobs").get(0).get("state").asText());

            // an upper layer served without qemu:allocation-depth cannot be reproduced: the job fails
            QemuNbdServer noDepth = QemuNbdServer.serveNoDepth(chain.layers().get(1).path(), sockets);
            servers.add(noDepth);
            r = PipelineStack.cli(concat(new String[] {"submit", "--wait", "--dest", "cli-bad", "--job-id", "cli-bad",
                "--layer", chain.layers().get(0).name() + "=" + servers.get(0).uri(),
                "--layer", chain.layers().get(1).name() + "=" + noDepth.uri()}, kafka));
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().contains("chainsync: job cli-bad failed: "), r.err());
            r = PipelineStack.cli(concat(new String[] {"status", "cli-bad"}, kafka));
            assertEquals(1, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("job cli-bad: FAILED"), r.out());
            r = PipelineStack.cli(concat(new String[] {"status", "no-such-job"}, kafka));
            assertEquals(1, r.code(), r.err());

            // not ended within --timeout: 3
            r = PipelineStack.cli(concat(new String[] {"submit", "--wait", "--timeout", "0", "--dest", "cli-late",
                "--layer", chain.layers().get(0).name() + "=" + servers.get(0).uri()}, kafka));
            assertEquals(3, r.code(), r.err());
            assertTrue(r.err().contains("did not finish within 0s"), r.err());

            // a wrong registry URL next to a live broker: one line naming it, 3
            String dead = "http://127.0.0.1:" + freePort() + "/apis/registry/v2";
            r = PipelineStack.cli("status", "--bootstrap-servers", e2e.stack().bootstrapServers(), "--registry-url", dead,
                    "--timeout", "3");
            assertEquals(3, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("chainsync: cannot reach the schema registry at " + dead + ": "), r.err());
            String notApicurio = e2e.stack().registryUrl().replace("/apis/registry/v2", "/nothing-here");
            r = PipelineStack.cli("status", "--bootstrap-servers", e2e.stack().bootstrapServers(), "--registry-url",
                    notApicurio);
            assertEquals(3, r.code(), r.err());
            assertTrue(r.err().startsWith("chainsync: the schema registry at " + notApicurio + " answered HTTP 404"), r.err());
        } finally {
            servers.forEach(NbdServer::close);
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The fenced block after {@code <!-- schema:NAME -->} in docs/jobs.md. */
    static String schemaBlock(String page, String name) {
        Matcher m = Pattern.compile("<!-- schema:" + name + " -->\\s*```json\\n(.*?)```", Pattern.DOTALL).matcher(page);
        assertTrue(m.find(), "docs/jobs.md has no schema block for " + name);
        return m.group(1);
    }

    static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ops.port() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String scrape() throws Exception {
        HttpResponse<String> r = get("/metrics");
        assertEquals(200, r.statusCode());
        return r.body();
    }

    /** The sum of the samples whose line starts with {@code prefix} (a name, or a name and first labels). */
    static double metric(String scrape, String prefix) {
        double sum = 0;
        for (String line : scrape.split("\n")) {
            if (line.startsWith(prefix) && (line.charAt(prefix.length()) == ' ' || line.charAt(prefix.length()) == '{'
                    || line.charAt(prefix.length()) == ',' || line.charAt(prefix.length()) == '}')) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
