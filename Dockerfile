# s1pilot and s1sim. The build stage runs the same scripts/deps and CMake preset as CI.
#   docker build -t s1pilot .
#   docker compose -f docker/compose.yaml up
FROM debian:12 AS build
WORKDIR /src
COPY scripts/deps scripts/deps
RUN scripts/deps
COPY . .
RUN cmake --preset release && cmake --build --preset release -j"$(nproc)" --target s1pilot s1sim \
 && install -D -m 0755 build/release/s1pilot /out/usr/bin/s1pilot \
 && install -D -m 0755 build/release/s1sim /out/usr/bin/s1sim \
 && install -D -m 0644 config/s1pilot.yaml /out/etc/s1pilot/s1pilot.yaml \
 && cp -r config/playbooks /out/etc/s1pilot/playbooks

# Runtime: the shared libraries only, a non-root user, nothing written outside /var.
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libboost-json1.81.0 libboost-url1.81.0 \
      libyaml-cpp0.7 libspdlog1.10 libfmt9 libsqlite3-0 libssl3 libsystemd0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/s1pilot s1pilot \
 && install -d -o s1pilot -g s1pilot -m 0700 /var/lib/s1pilot /var/log/s1pilot
COPY --from=build /out/ /
USER s1pilot
VOLUME ["/var/lib/s1pilot", "/var/log/s1pilot"]
# HEALTHCHECK (`s1pilot health`, probing the admin listener) comes with the ops step.
ENTRYPOINT ["s1pilot"]
CMD ["run", "-c", "/etc/s1pilot/s1pilot.yaml"]
