#!/usr/bin/env bash
# End-to-end comparison on loopback: direct backend vs YARP vs Luthien (pass-through chain, default chain, content +
# tool policies). Installs wrk and dotnet-gcdump if missing, builds in Release, starts everything on 127.0.0.1, stops
# all it started, and prints one table (also written to bench/results/e2e-latest.md). About 10 minutes by default.
#   bash bench/e2e.sh            # SECONDS_PER_RUN=8 ROUNDS=5 CONCURRENCY=32 CHUNKS=50 HOLD=2000 to change the load
# Each load runs ROUNDS times, targets interleaved, and the table shows the median: on a small machine whose cores the
# load generator shares, single runs vary by 10-20%.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_SECONDS=${SECONDS_PER_RUN:-8}
ROUNDS=${ROUNDS:-5}
CONC=${CONCURRENCY:-32}
CHUNKS=${CHUNKS:-50}
HOLD=${HOLD:-2000}
OUT=$ROOT/bench/results/e2e-latest.md
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

if ! command -v wrk >/dev/null; then
  echo "e2e: installing wrk (Debian package)"
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi

GCDUMP=$ROOT/bench/.tools/dotnet-gcdump
if [ ! -x "$GCDUMP" ]; then
  echo "e2e: installing dotnet-gcdump (into bench/.tools)"
  dotnet tool install dotnet-gcdump --tool-path "$ROOT/bench/.tools" >/dev/null
fi

echo "e2e: building (Release)"
for p in bench/Luthien.Control.FakeBackend bench/Luthien.Control.YarpProxy bench/Luthien.Control.LoadClient samples/Luthien.Control.Sample; do
  dotnet build -c Release -nologo -v q "$p" >/dev/null
done
BIN() { echo "$ROOT/$1/bin/Release/net10.0/$(basename "$1").dll"; }

cat > "$WORK/passthrough.json" <<'JSON'
{ "type": "SerialPolicy", "config": { "policies": [ { "type": "SendBackendRequest", "config": {} } ] } }
JSON
cat > "$WORK/policies.json" <<'JSON'
{ "type": "SerialPolicy", "config": { "policies": [
  { "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}", "SECRET-[0-9]{6}"], "action": "redact" } },
  { "type": "ToolCallPolicy", "config": { "allowed_tools": ["get_weather"] } },
  { "type": "SendBackendRequest", "config": {} } ] } }
JSON

start() { # name port dll args...
  local name=$1 port=$2; shift 2
  DOTNET_gcServer=0 dotnet "$@" --urls "http://127.0.0.1:$port" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 1 100); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$port/v1/chat/completions" -H 'content-type: application/json' \
      -d '{"model":"m","messages":[{"role":"user","content":"x"}]}' && return 0
    sleep 0.2
  done
  echo "e2e: $name did not start"; cat "$WORK/$name.log"; exit 1
}
LUTHIEN_ARGS=(--Logging:LogLevel:Default=Warning --Luthien:Streaming:RequestUsage=false)
start backend 6590 "$(BIN bench/Luthien.Control.FakeBackend)" --chunks "$CHUNKS"
start yarp 6591 "$(BIN bench/Luthien.Control.YarpProxy)" --Logging:LogLevel:Default=Warning --backend http://127.0.0.1:6590
start pass 6592 "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl=http://127.0.0.1:6590/v1 --Luthien:PolicyFile="$WORK/passthrough.json"
start default 6593 "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl=http://127.0.0.1:6590/v1
start policies 6594 "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl=http://127.0.0.1:6590/v1 --Luthien:PolicyFile="$WORK/policies.json"

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Tell me about foxes."}]}'
wrk.headers["Content-Type"] = "application/json"
LUA
declare -A PORT=([direct]=6590 [yarp]=6591 [pass]=6592 [default]=6593 [policies]=6594)
declare -A NS SRPS TP50 TP99 FP50 FP99 LAT50 LAT99
LOAD="dotnet $(BIN bench/Luthien.Control.LoadClient)"
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else print a[int((NR + 1) / 2)] }'; }
declare -A NSR SRPSR TP50R TP99R FP50R FP99R
for round in $(seq 1 "$ROUNDS"); do
  for t in direct yarp pass default policies; do
    url="http://127.0.0.1:${PORT[$t]}/v1/chat/completions"
    echo "e2e: round $round/$ROUNDS: $t"
    wrk -t2 -c"$CONC" -d"${RUN_SECONDS}s" -s "$WORK/post.lua" "$url" > "$WORK/wrk-$t.txt" 2>&1
    NSR[$t]+=" $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk-$t.txt")"
    line=$($LOAD stream --url "$url" --concurrency "$CONC" --seconds "$RUN_SECONDS")
    SRPSR[$t]+=" $(echo "$line" | field rps)"; TP50R[$t]+=" $(echo "$line" | field total_p50)"; TP99R[$t]+=" $(echo "$line" | field total_p99)"
    FP50R[$t]+=" $(echo "$line" | field ttfc_p50)"; FP99R[$t]+=" $(echo "$line" | field ttfc_p99)"
    errs=$(echo "$line" | field errors); [ "$errs" = "0" ] || echo "e2e: $t had $errs failed streams"
  done
done
# The Responses API: the same answer as OpenAI streams it (a delta per word, repeats, usage at the end), through the
# same proxies; RESPONSES=0 skips it.
declare -A RRPSR RTP50R RTP99R RFP50R RFP99R RRPS RTP50 RTP99 RFP50 RFP99
RTARGETS="direct yarp pass policies"
if [ "${RESPONSES:-1}" != "0" ]; then
  for round in $(seq 1 "$ROUNDS"); do
    for t in $RTARGETS; do
      echo "e2e: round $round/$ROUNDS: $t (Responses API)"
      line=$($LOAD stream --api responses --url "http://127.0.0.1:${PORT[$t]}/v1/responses" --concurrency "$CONC" --seconds "$RUN_SECONDS")
      RRPSR[$t]+=" $(echo "$line" | field rps)"; RTP50R[$t]+=" $(echo "$line" | field total_p50)"; RTP99R[$t]+=" $(echo "$line" | field total_p99)"
      RFP50R[$t]+=" $(echo "$line" | field ttfc_p50)"; RFP99R[$t]+=" $(echo "$line" | field ttfc_p99)"
      errs=$(echo "$line" | field errors); [ "$errs" = "0" ] || echo "e2e: $t (Responses) had $errs failed streams"
    done
  done
  for t in $RTARGETS; do
    RRPS[$t]=$(echo "${RRPSR[$t]}" | median); RTP50[$t]=$(echo "${RTP50R[$t]}" | median); RTP99[$t]=$(echo "${RTP99R[$t]}" | median)
    RFP50[$t]=$(echo "${RFP50R[$t]}" | median); RFP99[$t]=$(echo "${RFP99R[$t]}" | median)
  done
fi

for t in direct yarp pass default policies; do
  NS[$t]=$(echo "${NSR[$t]}" | median); SRPS[$t]=$(echo "${SRPSR[$t]}" | median)
  TP50[$t]=$(echo "${TP50R[$t]}" | median); TP99[$t]=$(echo "${TP99R[$t]}" | median)
  FP50[$t]=$(echo "${FP50R[$t]}" | median); FP99[$t]=$(echo "${FP99R[$t]}" | median)
  # Time to first chunk alone, one request at a time.
  line=$($LOAD stream --url "http://127.0.0.1:${PORT[$t]}/v1/chat/completions" --concurrency 1 --requests 400 --seconds 60)
  LAT50[$t]=$(echo "$line" | field ttfc_p50); LAT99[$t]=$(echo "$line" | field ttfc_p99)
done

# Memory per held stream: a slow backend (one event a second), HOLD concurrent streams held open through Luthien's
# pass-through chain, then through YARP; the growth of each proxy's resident memory, divided by the streams it held.
echo "e2e: holding $HOLD slow streams (Luthien, then YARP)"
start slowbackend 6595 "$(BIN bench/Luthien.Control.FakeBackend)" --chunks 60 --delay-ms 1000
start slowpass 6596 "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl=http://127.0.0.1:6595/v1 --Luthien:PolicyFile="$WORK/passthrough.json"
start slowyarp 6597 "$(BIN bench/Luthien.Control.YarpProxy)" --Logging:LogLevel:Default=Warning --backend http://127.0.0.1:6595
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# Live managed heap after a full collection (dotnet-gcdump forces one): what the streams really keep, without the
# garbage not yet collected that resident memory also counts.
heap() { "$GCDUMP" report -p "$1" 2>/dev/null | awk '/GC Heap bytes/ { gsub(",", "", $1); print int($1 / 1024) }'; }
hold() { # pid port -> "held grewKiB perStreamKiB heapPerStreamKiB"
  local pid=$1 port=$2 before during held heap0 heap1
  sleep 1; heap0=$(heap "$pid"); before=$(rss "$pid")
  $LOAD hold --url "http://127.0.0.1:$port/v1/chat/completions" --concurrency "$HOLD" --seconds 30 > "$WORK/hold-$port.txt" &
  local h=$!; PIDS+=($h)
  sleep 15; during=$(rss "$pid"); heap1=$(heap "$pid"); held=$(grep -o 'open=[0-9]*' "$WORK/hold-$port.txt" | tail -1 | cut -d= -f2)
  wait $h || true
  awk -v a="$before" -v b="$during" -v n="${held:-0}" -v h0="${heap0:-0}" -v h1="${heap1:-0}" \
    'BEGIN { printf "%d %d %s %s", n, (b - a), (n > 0 ? sprintf("%.1f", (b - a) / n) : "n/a"), (n > 0 && h1 > 0 ? sprintf("%.1f", (h1 - h0) / n) : "n/a") }'
}
read -r held_l grew_l per_l heap_l <<<"$(hold "$PID_slowpass" 6596)"
read -r held_y grew_y per_y heap_y <<<"$(hold "$PID_slowyarp" 6597)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
diff() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
{
  echo "### End-to-end on loopback ($(date -u +%Y-%m-%d), $(nproc) cores; $CONC connections, median of $ROUNDS runs of ${RUN_SECONDS}s, $CHUNKS content chunks per stream)"
  echo
  echo "| target | non-streaming req/s | × YARP | streams/s | × YARP | stream p50 / p99 ms | TTFC under load p50 / p99 ms | TTFC alone p50 / p99 ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for t in direct yarp pass default policies; do
    name=$t
    case $t in pass) name="Luthien, pass-through chain";; default) name="Luthien, default chain";; policies) name="Luthien, content + tool policies";; yarp) name="YARP";; direct) name="direct";; esac
    echo "| $name | ${NS[$t]} | $(ratio "${NS[$t]}" "${NS[yarp]}") | ${SRPS[$t]} | $(ratio "${SRPS[$t]}" "${SRPS[yarp]}") | ${TP50[$t]} / ${TP99[$t]} | ${FP50[$t]} / ${FP99[$t]} | ${LAT50[$t]} / ${LAT99[$t]} |"
  done
  if [ "${RESPONSES:-1}" != "0" ]; then
    echo
    echo "Responses API streams (\`POST /v1/responses\`, $CHUNKS deltas, OpenAI's event sequence with its repeats):"
    echo
    echo "| target | streams/s | × YARP | × the same target's chat streams | stream p50 / p99 ms | TTFC under load p50 / p99 ms |"
    echo "|---|---:|---:|---:|---:|---:|"
    for t in $RTARGETS; do
      name=$t
      case $t in pass) name="Luthien, pass-through chain";; policies) name="Luthien, content + tool policies";; yarp) name="YARP";; direct) name="direct";; esac
      echo "| $name | ${RRPS[$t]} | $(ratio "${RRPS[$t]}" "${RRPS[yarp]}") | $(ratio "${RRPS[$t]}" "${SRPS[$t]}") | ${RTP50[$t]} / ${RTP99[$t]} | ${RFP50[$t]} / ${RFP99[$t]} |"
    done
  fi
  echo
  echo "Added time to first chunk over YARP, one request at a time: pass-through $(diff "${LAT50[pass]}" "${LAT50[yarp]}") ms at p50, $(diff "${LAT99[pass]}" "${LAT99[yarp]}") ms at p99; with content + tool policies $(diff "${LAT50[policies]}" "${LAT50[yarp]}") ms at p50, $(diff "${LAT99[policies]}" "${LAT99[yarp]}") ms at p99."
  echo
  echo "Held streams ($HOLD slow streams open at once; growth of resident memory, and of the live managed heap after a full collection, per stream): Luthien pass-through held $held_l, resident +$((grew_l / 1024)) MiB = ${per_l} KiB, live heap ${heap_l} KiB per stream; YARP held $held_y, resident +$((grew_y / 1024)) MiB = ${per_y} KiB, live heap ${heap_y} KiB per stream."
} | tee "$OUT"
