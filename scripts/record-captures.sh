#!/usr/bin/env bash
# record-captures.sh: records the TCP evaluation captures of
# bench/testdata/captures from real applications on this machine, over
# loopback only, with tcpdump -s 0 (real frame lengths):
#
#   pgbench      postgres 15 driven by pgbench over ONE connection, a seeded
#                Poisson schedule of --rate transactions/s, a mix of tpcb-like
#                (7 statements) and select-only transactions
#   redis        redis-server driven by redis-cli over ONE connection with a
#                seeded app-like workload: bursts of 1-6 mixed commands
#                (GET/SET/HGETALL/INCR/LPUSH/LRANGE/MGET/ZADD/...) with
#                sub-millisecond gaps, then an exponential think time
#   pgbench-wan  as pgbench, through scripts/delayproxy (one-way delay
#                10 ms + [0, 2 ms) jitter each way): wide-area timing
#
# Each raw pcap is kept in $RAW (not committed); the busiest conversation
# (the one every spatgan command picks automatically) is written in the
# project's compact format (gzip inside) to $OUT/NAME.spc, checked with
# tshark and `spatgan trace inspect`, and described in $OUT/README.md.
#
# Usage: scripts/record-captures.sh            # all three
#        ONLY="redis" scripts/record-captures.sh
# Environment: SEED (1), OUT, RAW, PG_RATE (50), PG_SECONDS (120),
# REDIS_BURSTS (4500), WAN_RATE (6), WAN_SECONDS (660), WAN_DELAY (10ms),
# WAN_JITTER (2ms). Needs root for apt-get and tcpdump on lo; postgres runs
# as the postgres user in a private cluster on port 55432 (55433 the proxy),
# redis on 56379; nothing else on the machine is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SEED=${SEED:-1}
OUT=${OUT:-bench/testdata/captures}
RAW=${RAW:-out/captures}
ONLY=${ONLY:-pgbench redis pgbench-wan}
PG_RATE=${PG_RATE:-50}
PG_SECONDS=${PG_SECONDS:-120}
REDIS_BURSTS=${REDIS_BURSTS:-4500}
WAN_RATE=${WAN_RATE:-6}
WAN_SECONDS=${WAN_SECONDS:-660}
WAN_DELAY=${WAN_DELAY:-10ms}
WAN_JITTER=${WAN_JITTER:-2ms}
PGPORT=55432
PROXYPORT=55433
REDISPORT=56379
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

log() { echo "record-captures: $*" >&2; }

# --- tools -------------------------------------------------------------------
need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
command -v capinfos >/dev/null || need+=(wireshark-common)
{ [ -n "$PGBIN" ] && command -v pgbench >/dev/null; } || need+=(postgresql postgresql-contrib)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
[ -x bin/spatgan ] || make build >/dev/null
export TF_CPP_MIN_LOG_LEVEL=2
mkdir -p "$OUT" "$RAW"
OUT=$(realpath "$OUT")
RAW=$(realpath "$RAW")

W=$(mktemp -d /tmp/record-captures.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
  set +e
  [ -f "$W/data/postmaster.pid" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/data" -m fast -w stop >/dev/null 2>&1
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT

# capture_start FILE FILTER: tcpdump on lo, full frames, until capture_stop.
capture_start() {
  tcpdump -i lo -s 0 -U -n -w "$1" "$2" 2>"$W/tcpdump.log" &
  TCPDUMP=$!
  PIDS+=("$TCPDUMP")
  for _ in $(seq 100); do grep -q "listening on" "$W/tcpdump.log" && return; sleep 0.1; done
  log "tcpdump did not start: $(cat "$W/tcpdump.log")"; exit 1
}
capture_stop() {
  sleep 1
  kill -INT "$TCPDUMP"; wait "$TCPDUMP" || true
  grep -E "captured|dropped" "$W/tcpdump.log" >&2 || true
}

# --- postgres ------------------------------------------------------------------
pg_start() {
  [ -f "$W/data/PG_VERSION" ] && return
  chown postgres "$W"
  runuser -u postgres -- "$PGBIN/initdb" -D "$W/data" -A trust -U postgres --no-sync >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/data" -l "$W/pg.log" -w \
    -o "-p $PGPORT -k $W -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  # Scale 1: 100,000 accounts, deterministic data.
  runuser -u postgres -- pgbench -h 127.0.0.1 -p $PGPORT -U postgres -i -s 1 -q postgres >/dev/null 2>&1
}

# pgbench_run PORT RATE SECONDS: one client, one connection.
pgbench_run() {
  runuser -u postgres -- pgbench -h 127.0.0.1 -p "$1" -U postgres -c 1 -j 1 -R "$2" -T "$3" \
    --random-seed="$SEED" -b tpcb-like@1 -b select-only@3 postgres >"$W/pgbench.out" 2>&1
  grep -E "processed|tps|latency average" "$W/pgbench.out" >&2 || { cat "$W/pgbench.out" >&2; exit 1; }
}

record_pgbench() {
  pg_start
  capture_start "$RAW/pgbench.pcap" "tcp port $PGPORT"
  pgbench_run $PGPORT "$PG_RATE" "$PG_SECONDS"
  capture_stop
  CMD_pgbench="pgbench -h 127.0.0.1 -p $PGPORT -c 1 -j 1 -R $PG_RATE -T $PG_SECONDS --random-seed=$SEED -b tpcb-like@1 -b select-only@3 (database initialised with pgbench -i -s 1); tcpdump -i lo -s 0 'tcp port $PGPORT'"
}

record_pgbench_wan() {
  pg_start
  CGO_ENABLED=0 go build -o "$W/delayproxy" ./scripts/delayproxy
  "$W/delayproxy" -listen 127.0.0.1:$PROXYPORT -to 127.0.0.1:$PGPORT -delay "$WAN_DELAY" -jitter "$WAN_JITTER" -seed "$SEED" 2>"$W/proxy.log" &
  local proxy=$!
  PIDS+=("$proxy")
  for _ in $(seq 50); do grep -q "one-way delay" "$W/proxy.log" && break; sleep 0.1; done
  capture_start "$RAW/pgbench-wan.pcap" "tcp port $PROXYPORT"
  pgbench_run $PROXYPORT "$WAN_RATE" "$WAN_SECONDS"
  capture_stop
  kill "$proxy"; wait "$proxy" || true
  CMD_pgbench_wan="scripts/delayproxy -listen 127.0.0.1:$PROXYPORT -to 127.0.0.1:$PGPORT -delay $WAN_DELAY -jitter $WAN_JITTER -seed $SEED; pgbench -h 127.0.0.1 -p $PROXYPORT -c 1 -j 1 -R $WAN_RATE -T $WAN_SECONDS --random-seed=$SEED -b tpcb-like@1 -b select-only@3; tcpdump -i lo -s 0 'tcp port $PROXYPORT' (the client's leg)"
}

# --- redis ---------------------------------------------------------------------
# redis_workload SEED BURSTS: a seeded command stream, one line per command,
# "DELAY_SECONDS<TAB>COMMAND", the delay to wait before sending it. An app
# request makes a burst of 1-6 commands 0.1-1.5 ms apart; between requests
# the think time is 2 ms + Exp(mean 40 ms), and one request in 100 waits
# 0.5-3 s more. Keys are Zipf-like over 1,000 users; values 8 B-32 kB,
# log-uniform.
redis_workload() {
  awk -v seed="$1" -v bursts="$2" '
  function zipf() { return int(1000 ^ rand()) }               # 1..999, small ids most often
  function val(   n) { n = int(8 * 4096 ^ rand()); return substr(pad, 1, n) }  # 8 B..32 kB
  function exp_(m) { return -m * log(1 - rand()) }
  BEGIN {
    srand(seed); pad = "v"; while (length(pad) < 40000) pad = pad pad
    for (b = 0; b < bursts; b++) {
      think = 0.002 + exp_(0.040); if (rand() < 0.01) think += 0.5 + 2.5 * rand()
      n = 1 + int(6 * rand() ^ 1.5)
      for (i = 0; i < n; i++) {
        d = (i == 0) ? think : 0.0001 + 0.0014 * rand()
        u = zipf(); r = rand()
        if      (r < 0.35) c = "GET user:" u ":name"
        else if (r < 0.47) c = "SET user:" u ":name " val()
        else if (r < 0.57) c = "HGETALL session:" u
        else if (r < 0.63) c = "HSET session:" u " last " int(1e6 * rand()) " page p" int(50 * rand())
        else if (r < 0.71) c = "INCR counter:" int(20 * rand())
        else if (r < 0.77) c = "LPUSH events:" u " " val()
        else if (r < 0.83) c = "LRANGE events:" u " 0 9"
        else if (r < 0.89) c = "MGET user:" zipf() ":name user:" zipf() ":name user:" zipf() ":name user:" zipf() ":name"
        else if (r < 0.93) c = "ZADD scores " int(1e4 * rand()) " user:" u
        else if (r < 0.96) c = "ZREVRANGE scores 0 9 WITHSCORES"
        else if (r < 0.98) c = "EXPIRE session:" u " 3600"
        else               c = "DEL events:" u
        printf "%.6f\t%s\n", d, c
      }
    }
  }'
}

record_redis() {
  redis-server --port $REDISPORT --bind 127.0.0.1 --save "" --appendonly no --dir "$W" >"$W/redis.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 50); do redis-cli -p $REDISPORT ping >/dev/null 2>&1 && break; sleep 0.1; done
  # Preload (not captured): names, sessions and event lists of 1,000 users.
  awk -v seed="$SEED" 'BEGIN { srand(seed + 1000); pad = "v"; while (length(pad) < 40000) pad = pad pad
    for (u = 1; u < 1000; u++) {
      printf "SET user:%d:name %s\n", u, substr(pad, 1, int(8 * 256 ^ rand()))
      printf "HSET session:%d last %d page p%d cart %d\n", u, int(1e6 * rand()), int(50 * rand()), int(10 * rand())
      for (i = 0; i < 5; i++) printf "LPUSH events:%d %s\n", u, substr(pad, 1, int(8 * 64 ^ rand()))
    } }' | redis-cli -p $REDISPORT >/dev/null
  redis_workload "$SEED" "$REDIS_BURSTS" >"$W/redis.cmds"
  log "redis: $(wc -l <"$W/redis.cmds") commands"
  capture_start "$RAW/redis.pcap" "tcp port $REDISPORT"
  # One redis-cli process, one connection: it sends each line when it
  # arrives and waits for the reply. read -t on a pipe that never delivers
  # data is a sleep without a fork.
  exec {nap}<> <(:)
  while IFS=$'\t' read -r d c; do
    read -r -t "$d" -u "$nap" || true
    printf '%s\n' "$c"
  done <"$W/redis.cmds" | redis-cli -p $REDISPORT >/dev/null
  exec {nap}<&-
  capture_stop
  redis-cli -p $REDISPORT shutdown nosave >/dev/null 2>&1 || true
  CMD_redis="redis-server --port $REDISPORT --save '' --appendonly no; preload 1,000 users; redis_workload $SEED $REDIS_BURSTS (awk, seeded: bursts of 1-6 mixed commands, think time 2 ms + Exp(40 ms), 1% pauses of 0.5-3 s) | redis-cli -p $REDISPORT (one connection); tcpdump -i lo -s 0 'tcp port $REDISPORT'"
}

# --- convert, check, describe ----------------------------------------------------
describe() { # NAME SERVERPORT COMMAND
  local name=$1 port=$2 cmd=$3 raw="$RAW/$1.pcap" spc="$OUT/$1.spc"
  log "$name: converting and checking"
  (cd trace && CGO_ENABLED=0 go run ./internal/gendefault -in "$raw" -out "$spc" -server "" -client "" -proto tcp -source "$name.pcap") >&2
  bin/spatgan trace inspect "$raw" --proto tcp >"$W/$name.raw.txt"
  bin/spatgan trace inspect "$spc" >"$W/$name.spc.txt"
  local chosen
  chosen=$(grep "^chosen conversation" "$W/$name.raw.txt")
  case "$chosen" in
    *"server 127.0.0.1:$port,"*) ;;
    *) log "$name: the automatic choice is not the server port $port: $chosen"; exit 1 ;;
  esac
  # The compact file holds exactly the chosen conversation: same statistics.
  diff <(sed -n '/^server->client/,$p' "$W/$name.raw.txt") <(sed -n '/^server->client/,$p' "$W/$name.spc.txt") >&2 ||
    { log "$name: the compact file differs from the pcap's conversation"; exit 1; }
  {
    echo "## $name.spc"
    echo
    echo "Recorded $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -sr), $(tcpdump --version 2>&1 | head -1)."
    echo
    echo "Commands: $cmd."
    echo
    echo "Raw pcap (not committed, $RAW/$name.pcap): $(capinfos -c -u -M "$raw" | awk -F': *' '/Number of packets/ {p=$2} /Capture duration/ {d=$2} END {print p " packets, " d}'), snap length 0 (whole frames)."
    echo
    echo "TCP conversations (tshark -q -z conv,tcp; columns: <- frames, bytes, -> frames, bytes, total frames, bytes, relative start, duration):"
    echo
    tshark -r "$raw" -q -z conv,tcp | awk '/<->/ {print "    " $0}' 
    echo
    echo "spatgan trace inspect $name.spc (the conversation every spatgan command picks automatically; the same as from the pcap):"
    echo
    sed -n '/^chosen conversation/,/^client->server/p' "$W/$name.spc.txt" | sed '/^client->server/d; s/^/    /'
    sed -n '/^client->server/,$p' "$W/$name.spc.txt" | sed 's/^/    /'
    echo
  } >"$W/$name.md"
}

VERSIONS="$($PGBIN/postgres --version), $(pgbench --version), $(redis-server --version | cut -d' ' -f1-3), $(tshark --version | head -1)"
for name in $ONLY; do
  case $name in
    pgbench) log "pgbench: ${PG_SECONDS}s at ${PG_RATE} tx/s"; record_pgbench; describe pgbench $PGPORT "$CMD_pgbench" ;;
    redis) log "redis: $REDIS_BURSTS bursts"; record_redis; describe redis $REDISPORT "$CMD_redis" ;;
    pgbench-wan) log "pgbench-wan: ${WAN_SECONDS}s at ${WAN_RATE} tx/s"; record_pgbench_wan; describe pgbench-wan $PROXYPORT "$CMD_pgbench_wan" ;;
    *) log "unknown capture $name"; exit 1 ;;
  esac
  cp "$W/$name.md" "$RAW/$name.md"
done
echo "$VERSIONS" >"$RAW/versions.txt"
ls -l "$OUT"/*.spc >&2
log "done; per-capture descriptions in $RAW/*.md: update bench/testdata/captures/README.md with them"
