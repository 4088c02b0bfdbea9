package io.chainsync.cli;

import io.chainsync.kafka.ClientConfig;

import io.chainsync.stack.LocalStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code chainsync stack}: a local single-node Kafka (KRaft) and schema registry. */
@Command(name = "stack", mixinStandardHelpOptions = true,
        description = {"Runs a local single-node Kafka (KRaft) broker and schema registry on 127.0.0.1,",
            "with the pipeline's topics, keeping state in DIR. Prints one line",
            "'bootstrap=HOST:PORT registry=URL' and runs until interrupted.",
            "With --secure the broker takes SASL_SSL (SCRAM-SHA-512) clients only and",
            "the registry HTTPS only; the line adds 'kafka-config=FILE registry-config=FILE':",
            "the files its clients pass as --kafka-config and --registry-config."})
final class StackCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "state directory")
    Path dir;

    @Mixin
    TopicOptions topicOptions;

    @Mixin
    NameOptions names;

    @Option(names = "--secure", description = "SASL_SSL-only broker and HTTPS-only registry; the CA, server "
            + "certificate and SCRAM users are made in DIR/tls at first start and kept")
    boolean secure;

    @Override
    public Integer call() throws Exception {
        Files.createDirectories(dir);
        LocalStack stack = LocalStack.start(LocalStack.Settings.defaults(dir).withSecure(secure));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stack.close();
            stopped.countDown();
        }, "chainsync-stack-stop"));
        ClientConfig config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl(), stack.kafkaClientProperties(),
                stack.registryClientProperties(), names.names());
        topicOptions.ensure(config);
        io.chainsync.kafka.SchemaContract.registerOrWarn(config);
        spec.commandLine().getOut().println(stack.describe());
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
