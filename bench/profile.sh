#!/usr/bin/env bash
# Where the proxy's CPU goes under one load: the sample (default chain, audit log on in a file of its own unless told
# otherwise) in front of the fake backend (50 chunks), warmed up, then loaded for SECONDS while it is measured.
# Prints the proxy's CPU per request (utime + stime of its process, load plus 1.5 s of drain, per request served); with
#   COUNTERS=1  the runtime's counters and the audit log's meter (dotnet-counters): GC collections by generation, GC
#               pause, bytes allocated, JIT time, luthien.transaction_log.queued — summed over the load
#   PERF=1      a CPU profile (Linux perf; JIT frames named through the runtime's perf map): share by module and the
#               top symbols, written to the out dir
#
#   bash bench/profile.sh ns|chat|resp|ttfc [SECONDS] [extra sample arguments…]
#   bash bench/profile.sh ns 10 --Luthien:TransactionLog:Provider=None      # the same with the log off, for the A/B
#   WARM=2 PORT_BASE=5600 OUT=/tmp/profile SAMPLE_DLL=/path/to/other/Luthien.Control.Sample.dll bash bench/profile.sh chat
#
# Runs on a quiet machine only (2 cores: anything else running moves the figures more than most changes do). Not part
# of CI. Builds what it needs in Release; installs dotnet-counters into bench/.tools and perf (Debian linux-perf) when
# asked for and missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:?usage: bench/profile.sh ns|chat|resp|ttfc [SECONDS] [sample arguments]}
SECS=${2:-10}
shift $(( $# >= 2 ? 2 : 1 ))
P=${PORT_BASE:-5600}
OUT=${OUT:-$ROOT/bench/.profile}
mkdir -p "$OUT"
W=$(mktemp -d)

for p in bench/Luthien.Control.FakeBackend bench/Luthien.Control.LoadClient samples/Luthien.Control.Sample; do
  [ -n "${SAMPLE_DLL:-}" ] && [ "$p" = samples/Luthien.Control.Sample ] && continue
  dotnet build -c Release -nologo -v q "$p" >/dev/null
done
BIN() { echo "$ROOT/$1/bin/Release/net10.0/$(basename "$1").dll"; }
DLL=${SAMPLE_DLL:-$(BIN samples/Luthien.Control.Sample)}
COUNTERS_TOOL=$ROOT/bench/.tools/dotnet-counters
if [ "${COUNTERS:-0}" = 1 ] && [ ! -x "$COUNTERS_TOOL" ]; then
  dotnet tool install dotnet-counters --tool-path "$ROOT/bench/.tools" >/dev/null
fi
if [ "${PERF:-0}" = 1 ] && ! command -v perf >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq linux-perf) >/dev/null
fi

DOTNET_gcServer=0 dotnet "$(BIN bench/Luthien.Control.FakeBackend)" --chunks 50 --urls "http://127.0.0.1:$P" >"$W/backend.log" 2>&1 &
BACKEND=$!
# W^X off and a perf map: perf can then name JIT-compiled frames (with W^X on they show as memfd:doublemapper).
DOTNET_EnableWriteXorExecute=0 DOTNET_PerfMapEnabled=$([ "${PERF:-0}" = 1 ] && echo 1 || echo 0) DOTNET_gcServer=0 \
  dotnet "$DLL" --Logging:LogLevel:Default=Warning --Luthien:Streaming:RequestUsage=false \
  --Luthien:Backend:BaseUrl="http://127.0.0.1:$P/v1" --Luthien:TransactionLog:Provider=Sqlite \
  --Luthien:TransactionLog:ConnectionString="Data Source=$W/audit.db" "$@" --urls "http://127.0.0.1:$((P + 1))" >"$W/proxy.log" 2>&1 &
PROXY=$!
trap 'kill $BACKEND $PROXY 2>/dev/null; wait 2>/dev/null; rm -rf "$W" "/tmp/perf-$PROXY.map" "/tmp/perfinfo-$PROXY.map"' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null -X POST "http://127.0.0.1:$((P + 1))/v1/chat/completions" -H 'content-type: application/json' \
    -d '{"model":"m","messages":[{"role":"user","content":"x"}]}' && break
  sleep 0.2
done
cat > "$W/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Tell me about foxes."}]}'
wrk.headers["Content-Type"] = "application/json"
LUA
URL=http://127.0.0.1:$((P + 1))/v1
LOAD="dotnet $(BIN bench/Luthien.Control.LoadClient)"
load() { # prints "served=N" and the load generator's own line
  case $MODE in
    ns) local out; out=$(wrk -t2 -c64 -d"${SECS}s" -s "$W/post.lua" "$URL/chat/completions")
        echo "served=$(echo "$out" | awk '/requests in/ {print $1}') $(echo "$out" | awk '/Requests\/sec/ {print "rps=" $2}')";;
    chat) local line; line=$($LOAD stream --url "$URL/chat/completions" --concurrency 64 --seconds "$SECS"); echo "served=$(echo "$line" | sed -n 's/.*completions=\([0-9]*\).*/\1/p') $line";;
    resp) local line; line=$($LOAD stream --api responses --url "$URL/responses" --concurrency 64 --seconds "$SECS"); echo "served=$(echo "$line" | sed -n 's/.*completions=\([0-9]*\).*/\1/p') $line";;
    ttfc) local line; line=$($LOAD stream --url "$URL/chat/completions" --concurrency 1 --requests 1000 --seconds 60); echo "served=$(echo "$line" | sed -n 's/.*completions=\([0-9]*\).*/\1/p') $line";;
    *) echo "bench/profile.sh: unknown load '$MODE' (ns, chat, resp, ttfc)" >&2; exit 2;;
  esac
}

# Warm-up: under full load tiered compilation keeps going for seconds; one round is often not enough.
for _ in $(seq 1 "${WARM:-2}"); do load >/dev/null; done
sleep 2
ticks() { awk '{ print $14 + $15 }' "/proc/$PROXY/stat"; }
t0=$(ticks)
if [ "${COUNTERS:-0}" = 1 ]; then
  "$COUNTERS_TOOL" collect -p "$PROXY" --counters System.Runtime,Luthien.Control --format csv -o "$W/counters.csv" \
    --refresh-interval 1 --duration "00:00:00:$((SECS - 1))" >/dev/null 2>&1 &
  COLLECT=$!
fi
if [ "${PERF:-0}" = 1 ]; then
  perf record -F 499 -g -p "$PROXY" -o "$W/perf.data" -- sleep $((SECS - 1)) >/dev/null 2>&1 &
  RECORD=$!
fi
result=$(load)
sleep 1.5
served=$(echo "$result" | sed -n 's/^served=\([0-9]*\).*/\1/p')
echo "$MODE: ${result#served=* }"
awk -v d="$(( $(ticks) - t0 ))" -v n="$served" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { if (n > 0) printf "proxy CPU: %.0f µs per request (%d served)\n", d * 1e6 / hz / n, n }'

if [ "${COUNTERS:-0}" = 1 ]; then
  wait "$COLLECT" || true
  cp "$W/counters.csv" "$OUT/counters-$MODE.csv"
  python3 - "$W/counters.csv" <<'PY'
import collections, csv, sys
sums, last = collections.defaultdict(float), {}
for row in list(csv.reader(open(sys.argv[1])))[1:]:
    sums[row[2]] += float(row[4]); last[row[2]] = float(row[4])
gen = lambda g: sums[f"dotnet.gc.collections ({{collection}} / 1 sec)[gc.heap.generation={g}]"]
print(f"GC: gen0 {gen('gen0'):.0f}, gen1 {gen('gen1'):.0f}, gen2 {gen('gen2'):.0f} collections; "
      f"pause {sums['dotnet.gc.pause.time (s / 1 sec)']:.3f} s; allocated {sums['dotnet.gc.heap.total_allocated (By / 1 sec)'] / 1e6:.0f} MB; "
      f"JIT {sums['dotnet.jit.compilation.time (s / 1 sec)']:.2f} s")
queued = [v for k, v in last.items() if k.startswith("luthien.transaction_log.queued")]
if queued: print(f"audit log queue at the end: {queued[0]:.0f} transactions")
PY
fi
if [ "${PERF:-0}" = 1 ]; then
  wait "$RECORD" || true
  perf report -i "$W/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E "^ +[0-9.]+%" | head -12 | tee "$OUT/modules-$MODE.txt"
  perf report -i "$W/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null | grep -E "^ +[0-9.]+%" > "$OUT/symbols-$MODE.txt"
  echo "top symbols: $OUT/symbols-$MODE.txt"
fi
