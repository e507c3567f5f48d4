# Shared by scripts/test and scripts/quickstart. Source it from the repo root.

# Starts a real Elasticsearch / OpenSearch node (scripts/node run; names in
# scripts/nodes.tsv) on free loopback ports. Sets NODE_URL, NODE_PID (the
# supervisor: kill it to stop the node) and NODE_SECONDS.
# $1: the node; $2: "attached" (stops with this shell) or "detached".
# Returns 3 when no Java fits the node (scripts/node says which it needs).
start_node() {
  local name=$1 mode=${2:-attached} out log status
  mkdir -p .trailsearch
  out=.trailsearch/node-$name.json
  log=.trailsearch/node-$name.log
  : > "$out"
  if [ "$mode" = attached ]; then
    python3 scripts/node run "$name" --parent-pid $$ </dev/null >"$out" 2>"$log" &
  else
    nohup python3 scripts/node run "$name" </dev/null >"$out" 2>"$log" &
  fi
  NODE_PID=$!
  NODE_URL=
  while [ -z "$NODE_URL" ]; do
    NODE_URL=$(sed -n 's/.*"url": "\([^"]*\)".*/\1/p' "$out" | head -n 1)
    [ -n "$NODE_URL" ] && break
    if ! kill -0 "$NODE_PID" 2>/dev/null; then
      status=0
      wait "$NODE_PID" || status=$?
      cat "$log" >&2
      return "$status"
    fi
    sleep 0.25
  done
  NODE_SECONDS=$(sed -n 's/.*"seconds": \([0-9.]*\).*/\1/p' "$out" | head -n 1)
  echo "$NODE_PID" > ".trailsearch/node-$name.pid"
}

# Stops a node started by start_node (its supervisor stops the process group).
stop_node() {
  kill "$1" 2>/dev/null || return 0
  wait "$1" 2>/dev/null || true
}

# Starts osmem-server (in-memory OpenSearch) on a free loopback port.
# Sets OSMEM_URL and OSMEM_PID. $1: "attached" (exits with this shell) or "detached".
start_osmem() {
  local mode=${1:-attached} bin out
  bin=$(.venv/bin/python -c 'import osmem_server; print(osmem_server.resolve_binary())')
  mkdir -p .trailsearch
  out=.trailsearch/osmem.out
  : > "$out"
  if [ "$mode" = attached ]; then
    "$bin" --addr 127.0.0.1:0 --no-ja --no-stdin-watch --parent-pid $$ </dev/null >"$out" 2>.trailsearch/osmem.log &
  else
    nohup "$bin" --addr 127.0.0.1:0 --no-ja --no-stdin-watch </dev/null >"$out" 2>.trailsearch/osmem.log &
  fi
  OSMEM_PID=$!
  for _ in $(seq 1 100); do
    OSMEM_URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$out" | head -n 1)
    [ -n "$OSMEM_URL" ] && break
    kill -0 "$OSMEM_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "${OSMEM_URL:-}" ]; then
    echo "osmem-server did not start; its log:" >&2
    cat .trailsearch/osmem.log >&2
    return 1
  fi
  echo "$OSMEM_PID" > .trailsearch/osmem.pid
}

# Starts moto (S3, SQS, SNS) on a free loopback port, exiting with this shell.
# Sets MOTO_URL and MOTO_PID.
start_moto() {
  local port
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" </dev/null >.trailsearch/moto.log 2>&1 &
  MOTO_PID=$!
  MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('$MOTO_URL/moto-api/')" 2>/dev/null; then
      return 0
    fi
    kill -0 "$MOTO_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "moto_server did not start; its log:" >&2
  cat .trailsearch/moto.log >&2
  return 1
}
