# The trailsearch CLI, for docker-compose.yml's one-shot services.
FROM rust:1.85-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p trailsearch-cli

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/trailsearch /usr/local/bin/trailsearch
ENTRYPOINT ["trailsearch"]
