# chainsync services image: scanner, planner, copier and the CLI.
# Build: docker build -t chainsync:0.1.0 .
FROM maven:3.9.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -q -B -ntp -DskipTests install

FROM eclipse-temurin:17.0.13_11-jre-jammy
RUN apt-get update \
 && apt-get install -y --no-install-recommends qemu-utils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/chainsync
COPY --from=build /src/cli/target/chainsync-cli.jar ./chainsync-cli.jar
COPY --from=build /src/cli/target/lib ./lib
COPY deploy/demo-source.sh /usr/local/bin/chainsync-demo-source
# bounded heap by default (copy and the services stream; see docs/design.md); JAVA_OPTS adds to or overrides it
ENV JAVA_OPTS=""
ENTRYPOINT ["sh", "-c", "exec java -Xmx256m $JAVA_OPTS -jar /opt/chainsync/chainsync-cli.jar \"$@\"", "chainsync"]
