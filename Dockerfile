# chainsync services image: scanner, planner, copier and the CLI (submit, status, copy, sync with an
# external Kafka). `stack` and a `sync` without --bootstrap-servers need the embedded registry,
# which this image leaves out: use the Kafka and registry containers (docker-compose.yml).
# Build: docker build -t chainsync:0.1.0 .

# 1. dependencies only: this layer is rebuilt when a pom changes, not when the sources do
FROM maven:3.9.9-eclipse-temurin-17 AS deps
WORKDIR /src
COPY pom.xml ./
COPY testkit/pom.xml testkit/
COPY core/pom.xml core/
COPY schemas/pom.xml schemas/
COPY nbd/pom.xml nbd/
COPY qcow2/pom.xml qcow2/
COPY kafka/pom.xml kafka/
COPY scanner/pom.xml scanner/
COPY planner/pom.xml planner/
COPY copier/pom.xml copier/
COPY stack/pom.xml stack/
COPY jobs/pom.xml jobs/
COPY cli/pom.xml cli/
COPY e2e/pom.xml e2e/
# (go-offline cannot resolve the modules of this build itself, which are not published: what it does
# fetch is cached, the rest comes in the next step)
RUN mvn -q -B -ntp -Dchainsync.skipRegistryApp=true dependency:go-offline -pl cli -am || true

# 2. the build: the cli module and what it depends on, tests skipped, no registry zip
FROM deps AS build
COPY . .
RUN mvn -q -B -ntp -Dchainsync.skipRegistryApp=true -DskipTests package -pl cli -am

# 3. the runtime: a JRE, qemu-utils (the example source), the jar and its libraries, a non-root user
FROM eclipse-temurin:17.0.13_11-jre-jammy
RUN apt-get update \
 && apt-get install -y --no-install-recommends qemu-utils \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 chainsync \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin chainsync \
 && mkdir -p /var/lib/chainsync/planner /srv/images /dest \
 && chown -R chainsync:chainsync /var/lib/chainsync /srv/images /dest
WORKDIR /opt/chainsync
COPY --from=build /src/cli/target/chainsync-cli.jar ./chainsync-cli.jar
COPY --from=build /src/cli/target/lib ./lib
# RocksDB's and lz4-java's native libraries, loaded from here rather than extracted into /tmp at every start
# (bin/chainsync does the same); lz4-java's for the image's architecture
COPY --from=build /src/cli/target/native ./native
RUN set -e; case "$(uname -m)" in x86_64) a=amd64 ;; aarch64) a=aarch64 ;; *) a= ;; esac; \
    if [ -n "$a" ]; then cp "native/net/jpountz/util/linux/$a/liblz4-java.so" native/; fi; rm -rf native/net
ENV LD_LIBRARY_PATH=/opt/chainsync/native
COPY deploy/demo-source.sh /usr/local/bin/chainsync-demo-source
# class-data sharing: one training copy (a small qcow2 layer served by qemu-nbd) records the classes
# the copy path loads into a dynamic AppCDS archive, which every command then maps at start-up. It is
# recorded here, with the runtime's own JVM: an archive only maps into the JVM build that wrote it.
RUN set -e; d="$(mktemp -d)"; \
    qemu-img create -q -f qcow2 "$d/t.qcow2" 64M; \
    qemu-io -f qcow2 -c 'write -P 1 0 1M' -c 'write -z 4M 1M' "$d/t.qcow2" >/dev/null; \
    qemu-nbd -r -t -A -k "$d/t.sock" -f qcow2 "$d/t.qcow2" & nbd=$!; \
    for i in $(seq 100); do [ -S "$d/t.sock" ] && break; sleep 0.1; done; \
    java -Xmx256m -XX:ArchiveClassesAtExit=/opt/chainsync/chainsync.jsa -Xlog:cds=off -Xlog:cds+dynamic=off \
      -jar /opt/chainsync/chainsync-cli.jar copy --progress never \
      --layer "t.qcow2=nbd+unix:///?socket=$d/t.sock" --dest "$d/out"; \
    kill "$nbd"; rm -rf "$d"; \
    java -Xshare:on -XX:SharedArchiveFile=/opt/chainsync/chainsync.jsa -jar /opt/chainsync/chainsync-cli.jar --version
USER chainsync
# metrics and health (--metrics-port / CHAINSYNC_METRICS_PORT)
EXPOSE 9400
# bounded heap by default (copy and the services stream; see docs/design.md); JAVA_OPTS adds to or overrides it
ENV JAVA_OPTS=""
# the compiler as bin/chainsync chooses it (docs/design.md, "Start-up of copy"): copy and the clients
# (submit, status, retry, cancel), the client compiler only; verify, sync and copy --verify, C2 for
# their hottest loops only (SHA-256 needs C2);
# the archive mapped where it was recorded, not relocated at every start (docs/design.md, "sync")
ENTRYPOINT ["sh", "-c", "hot='-XX:Tier4InvocationThreshold=100000 -XX:Tier4MinInvocationThreshold=50000 -XX:Tier4CompileThreshold=100000 -XX:Tier4BackEdgeThreshold=1000000'; jit=; case \"$1\" in copy) jit=-XX:TieredStopAtLevel=1; for a in \"$@\"; do case \"$a\" in --verify|--verify=*) jit=$hot;; esac; done;; verify|sync) jit=$hot;; submit|status|retry|cancel) jit=-XX:TieredStopAtLevel=1;; esac; exec java -Xmx256m -XX:SharedArchiveFile=/opt/chainsync/chainsync.jsa -XX:+UnlockDiagnosticVMOptions -XX:ArchiveRelocationMode=0 -Xlog:cds=off -Xlog:cds+dynamic=off $jit $JAVA_OPTS -jar /opt/chainsync/chainsync-cli.jar \"$@\"", "chainsync"]
