# s1pilot and s1sim. The build stage runs the same scripts/deps and CMake preset as CI.
#   docker build -t s1pilot .
#   docker compose -f docker/compose.yaml up
FROM debian:12 AS build
WORKDIR /src
COPY scripts/deps scripts/deps
RUN scripts/deps
COPY . .
# The CMake install rules (cmake/packaging.cmake) are the .deb's: the image gets the same files.
RUN cmake --preset release && cmake --build --preset release -j"$(nproc)" --target s1pilot s1sim \
 && DESTDIR=/out cmake --install build/release --prefix /usr --strip

# Runtime: the shared libraries only, a non-root user, nothing written outside /var.
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libboost-json1.81.0 libboost-url1.81.0 \
      libyaml-cpp0.7 libspdlog1.10 libfmt9 libsqlite3-0 libpq5 libssl3 libsystemd0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/s1pilot s1pilot \
 && install -d -o s1pilot -g s1pilot -m 0700 /var/lib/s1pilot /var/log/s1pilot
COPY --from=build /out/ /
USER s1pilot
VOLUME ["/var/lib/s1pilot", "/var/log/s1pilot"]
# Ready or not, asked of the admin listener that /etc/s1pilot/s1pilot.yaml names: mount the
# configuration there (docker/compose.yaml does) and the check and the daemon agree.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 CMD ["s1pilot", "health"]
ENTRYPOINT ["s1pilot"]
CMD ["run", "-c", "/etc/s1pilot/s1pilot.yaml"]
