#!/usr/bin/env bash
# End-to-end comparison on loopback: direct backend vs YARP vs Luthien (pass-through chain, default chain, content +
# tool policies). Installs wrk and dotnet-gcdump if missing, builds in Release, starts everything on 127.0.0.1, stops
# all it started, and prints one table (also written to bench/results/e2e-latest.md). About 17 minutes by default (AUDIT=0 skips the audit log's 7).
#   bash bench/e2e.sh            # SECONDS_PER_RUN=8 ROUNDS=5 CONCURRENCY=32 CHUNKS=50 HOLD=2000 to change the load
#   ONLY=audit bash bench/e2e.sh # only the audit log section (on vs off, below); AUDIT=0 leaves it out of a full run
#   PORT_BASE=6590               # the loopback ports used are PORT_BASE .. PORT_BASE+12
#   KEEP_WORK=1                  # keep the work dir (logs, the audit database) and print where it is
# Every Luthien row but the audit section's runs with the audit log off (--Luthien:TransactionLog:Provider=None), as
# before the sample turned it on: those rows stay comparable with earlier results.
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
ONLY=${ONLY:-}
AUDIT=${AUDIT:-1}
P=${PORT_BASE:-6590}
OUT=$ROOT/bench/results/e2e-latest.md
[ "$ONLY" = "audit" ] && OUT=$ROOT/bench/results/e2e-audit-latest.md
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = "1" ]; then echo "e2e: work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
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
  [ -n "${SAMPLE_DLL:-}" ] && [ "$p" = samples/Luthien.Control.Sample ] && continue
  dotnet build -c Release -nologo -v q "$p" >/dev/null
done
# SAMPLE_DLL=/path/to/Luthien.Control.Sample.dll runs the Luthien targets from another build (e.g. of the code before
# a change, for an A/B of the same tools and script).
BIN() {
  if [ "$1" = samples/Luthien.Control.Sample ] && [ -n "${SAMPLE_DLL:-}" ]; then echo "$SAMPLE_DLL"; return; fi
  echo "$ROOT/$1/bin/Release/net10.0/$(basename "$1").dll"
}

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
# Every Luthien target but the audit section's runs with the audit log off, as before the sample turned it on.
LUTHIEN_ARGS=(--Logging:LogLevel:Default=Warning --Luthien:Streaming:RequestUsage=false --Luthien:TransactionLog:Provider=None)
start backend "$P" "$(BIN bench/Luthien.Control.FakeBackend)" --chunks "$CHUNKS"
if [ "$ONLY" != "audit" ]; then
  start yarp $((P + 1)) "$(BIN bench/Luthien.Control.YarpProxy)" --Logging:LogLevel:Default=Warning --backend "http://127.0.0.1:$P"
  start pass $((P + 2)) "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl="http://127.0.0.1:$P/v1" --Luthien:PolicyFile="$WORK/passthrough.json"
  start default $((P + 3)) "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl="http://127.0.0.1:$P/v1"
  start policies $((P + 4)) "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl="http://127.0.0.1:$P/v1" --Luthien:PolicyFile="$WORK/policies.json"
fi

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Tell me about foxes."}]}'
wrk.headers["Content-Type"] = "application/json"
LUA
declare -A PORT=([direct]=$P [yarp]=$((P + 1)) [pass]=$((P + 2)) [default]=$((P + 3)) [policies]=$((P + 4)) [auditoff]=$((P + 8)) [auditon]=$((P + 9)))
declare -A NS SRPS TP50 TP99 FP50 FP99 LAT50 LAT99
LOAD="dotnet $(BIN bench/Luthien.Control.LoadClient)"
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else print a[int((NR + 1) / 2)] }'; }
minmax() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR == 0) print "n/a"; else print lo "–" hi }'; }
declare -A NSR SRPSR TP50R TP99R FP50R FP99R
declare -A RRPSR RTP50R RTP99R RFP50R RFP99R RRPS RTP50 RTP99 RFP50 RFP99
RTARGETS="direct yarp pass policies"
if [ "$ONLY" != "audit" ]; then
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
fi

# What the audit log costs: the default chain twice, the log off and on (SQLite, the sample's default, in a file of its
# own in the work dir), the same loads as above (non-streaming, chat streams, Responses streams) and time to first
# chunk alone, on and off interleaved in each round (which goes first alternates). After each run the script waits
# until the process is idle again — the log written — so a backlog neither costs the next run nor goes unseen (its
# time is the "drain" column). At the end the logging process is stopped gracefully (SIGTERM: the writer drains what is
# queued) and the rows are counted against the requests the load generators saw served.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
settle() { # pid -> seconds until it used under 1% of a core for half a second (at most 120 s)
  local pid=$1 t0 a b
  t0=$(date +%s.%N); a=$(cpu_ticks "$pid")
  for _ in $(seq 1 240); do
    sleep 0.5; b=$(cpu_ticks "$pid")
    [ $((b - a)) -le 0 ] && break
    a=$b
  done
  awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s - 0.5 }'
}
pid_of() { eval echo "\$PID_$1"; }
HZ=$(getconf CLK_TCK)
# CPU time the process used since $1 (ticks), in microseconds per request served ($3): a measure other loads on the
# machine disturb far less than throughput.
cpu_per() { awk -v d="$(( $(cpu_ticks "$2") - $1 ))" -v n="$3" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.0f", d * 1e6 / hz / n; else print "n/a" }'; }
if [ "$AUDIT" != "0" ]; then
  AUDIT_DB=$WORK/audit.db
  start auditoff $((P + 8)) "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl="http://127.0.0.1:$P/v1"
  start auditon $((P + 9)) "$(BIN samples/Luthien.Control.Sample)" --Logging:LogLevel:Default=Warning --Luthien:Streaming:RequestUsage=false \
    --Luthien:Backend:BaseUrl="http://127.0.0.1:$P/v1" --Luthien:TransactionLog:Provider=Sqlite --Luthien:TransactionLog:ConnectionString="Data Source=$AUDIT_DB"
  declare -A AR ASERVED
  ASERVED[ns]=1; ASERVED[chat]=0; ASERVED[resp]=0   # the start-up probe is one non-streaming request
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="auditon auditoff"; else order="auditoff auditon"; fi
    for t in $order; do
      url="http://127.0.0.1:${PORT[$t]}/v1"
      echo "e2e: audit round $round/$ROUNDS: $t"
      c0=$(cpu_ticks "$(pid_of $t)")
      wrk -t2 -c"$CONC" -d"${RUN_SECONDS}s" --latency -s "$WORK/post.lua" "$url/chat/completions" > "$WORK/wrk-$t.txt" 2>&1
      AR[$t.ns]+=" $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk-$t.txt")"
      AR[$t.nsp50]+=" $(awk '$1 == "50%" { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v }' "$WORK/wrk-$t.txt")"
      AR[$t.nsp99]+=" $(awk '$1 == "99%" { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v }' "$WORK/wrk-$t.txt")"
      if [ "$t" = auditon ]; then ASERVED[ns]=$(( ASERVED[ns] + $(awk '/requests in/ {print $1}' "$WORK/wrk-$t.txt") )); fi
      AR[$t.nsdrain]+=" $(settle "$(pid_of $t)")"
      AR[$t.nscpu]+=" $(cpu_per "$c0" "$(pid_of $t)" "$(awk '/requests in/ {print $1}' "$WORK/wrk-$t.txt")")"
      for api in chat resp; do
        c0=$(cpu_ticks "$(pid_of $t)")
        if [ $api = chat ]; then line=$($LOAD stream --url "$url/chat/completions" --concurrency "$CONC" --seconds "$RUN_SECONDS")
        else line=$($LOAD stream --api responses --url "$url/responses" --concurrency "$CONC" --seconds "$RUN_SECONDS"); fi
        AR[$t.$api]+=" $(echo "$line" | field rps)"; AR[$t.${api}p50]+=" $(echo "$line" | field total_p50)"; AR[$t.${api}p99]+=" $(echo "$line" | field total_p99)"
        AR[$t.${api}f50]+=" $(echo "$line" | field ttfc_p50)"; AR[$t.${api}f99]+=" $(echo "$line" | field ttfc_p99)"
        errs=$(echo "$line" | field errors); [ "$errs" = "0" ] || echo "e2e: $t ($api) had $errs failed streams"
        if [ "$t" = auditon ]; then ASERVED[$api]=$(( ASERVED[$api] + $(echo "$line" | field completions) + errs )); fi
        AR[$t.${api}drain]+=" $(settle "$(pid_of $t)")"
        AR[$t.${api}cpu]+=" $(cpu_per "$c0" "$(pid_of $t)" "$(echo "$line" | field completions)")"
      done
      # Time to first chunk alone, one request at a time.
      line=$($LOAD stream --url "$url/chat/completions" --concurrency 1 --requests 400 --seconds 60)
      AR[$t.a50]+=" $(echo "$line" | field ttfc_p50)"; AR[$t.a99]+=" $(echo "$line" | field ttfc_p99)"
      if [ "$t" = auditon ]; then ASERVED[chat]=$(( ASERVED[chat] + $(echo "$line" | field completions) + $(echo "$line" | field errors) )); fi
      settle "$(pid_of $t)" >/dev/null
    done
    # The ratio of each round's pair, to show how much the ratio itself varies.
    for k in ns chat resp; do
      AR[ratio.$k]+=" $(awk -v a="$(echo "${AR[auditon.$k]}" | awk '{ print $NF }')" -v b="$(echo "${AR[auditoff.$k]}" | awk '{ print $NF }')" 'BEGIN { if (b > 0) printf "%.3f", a / b }')"
    done
  done
  # At a model's pace: the same chain on and off in front of a backend that waits PACE_MS between events (50 events,
  # about 0.1 s a stream, as a fast model streams), the same connections. Here the proxy is not what limits
  # throughput — as in use, where the model is — and the question is only whether the log slows anything down.
  PACE_MS=${PACE_MS:-2}
  start pacedbackend $((P + 10)) "$(BIN bench/Luthien.Control.FakeBackend)" --chunks "$CHUNKS" --delay-ms "$PACE_MS"
  start pacedoff $((P + 11)) "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl="http://127.0.0.1:$((P + 10))/v1"
  start pacedon $((P + 12)) "$(BIN samples/Luthien.Control.Sample)" --Logging:LogLevel:Default=Warning --Luthien:Streaming:RequestUsage=false \
    --Luthien:Backend:BaseUrl="http://127.0.0.1:$((P + 10))/v1" --Luthien:TransactionLog:Provider=Sqlite --Luthien:TransactionLog:ConnectionString="Data Source=$WORK/audit-paced.db"
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="pacedon pacedoff"; else order="pacedoff pacedon"; fi
    for t in $order; do
      echo "e2e: audit round $round/$ROUNDS at a model's pace: $t"
      c0=$(cpu_ticks "$(pid_of $t)")
      line=$($LOAD stream --url "http://127.0.0.1:$([ $t = pacedon ] && echo $((P + 12)) || echo $((P + 11)))/v1/chat/completions" --concurrency "$CONC" --seconds "$RUN_SECONDS")
      AR[$t.rps]+=" $(echo "$line" | field rps)"; AR[$t.f50]+=" $(echo "$line" | field ttfc_p50)"; AR[$t.f99]+=" $(echo "$line" | field ttfc_p99)"
      AR[$t.t50]+=" $(echo "$line" | field total_p50)"; AR[$t.t99]+=" $(echo "$line" | field total_p99)"
      errs=$(echo "$line" | field errors); [ "$errs" = "0" ] || echo "e2e: $t had $errs failed streams"
      settle "$(pid_of $t)" >/dev/null
      AR[$t.cpu]+=" $(cpu_per "$c0" "$(pid_of $t)" "$(echo "$line" | field completions)")"
    done
  done
  kill "$PID_pacedbackend" "$PID_pacedoff" "$PID_pacedon" 2>/dev/null || true

  echo "e2e: stopping the logging process (SIGTERM; its writer drains the queue)"
  t0=$(date +%s.%N)
  kill -TERM "$PID_auditon"; wait "$PID_auditon" || true
  STOP_S=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  q() { sqlite3 "$AUDIT_DB" "$1"; }
  ROWS_REQ=$(q "SELECT COUNT(*) FROM luthien_log WHERE datatype = 'request'")
  ROWS_RESP=$(q "SELECT COUNT(*) FROM luthien_log WHERE datatype = 'response'")
  ROWS_OUT=$(q "SELECT COUNT(*) FROM luthien_log WHERE datatype = 'outcome'")
  TX=$(q "SELECT COUNT(DISTINCT transaction_id) FROM luthien_log")
  TX3=$(q "SELECT COUNT(*) FROM (SELECT transaction_id FROM luthien_log GROUP BY transaction_id HAVING COUNT(*) = 3 AND COUNT(DISTINCT datatype) = 3)")
  # Outcomes by load: served (200) and not.
  OUT_NS=$(q "SELECT COUNT(*) FROM luthien_log WHERE datatype = 'outcome' AND json_extract(data, '\$.stream') = 0 AND json_extract(data, '\$.status') = 200")
  OUT_CHAT=$(q "SELECT COUNT(*) FROM luthien_log WHERE datatype = 'outcome' AND json_extract(data, '\$.stream') = 1 AND json_extract(data, '\$.api') = 'chat.completions' AND json_extract(data, '\$.status') = 200")
  OUT_RESP=$(q "SELECT COUNT(*) FROM luthien_log WHERE datatype = 'outcome' AND json_extract(data, '\$.api') = 'responses' AND json_extract(data, '\$.status') = 200")
  OUT_OTHER=$(q "SELECT COALESCE(group_concat(st || ' ' || COALESCE(code, '') || ' ×' || n, ', '), 'none') FROM (SELECT json_extract(data, '\$.status') AS st, json_extract(data, '\$.error_code') AS code, COUNT(*) AS n FROM luthien_log WHERE datatype = 'outcome' AND json_extract(data, '\$.status') <> 200 GROUP BY st, code)")
  DB_MB=$(du -m "$AUDIT_DB" | awk '{ print $1 }')
  AUDIT_LOG_LINES=$(grep -c "Audit log" "$WORK/auditon.log" || true)
  grep "Audit log" "$WORK/auditon.log" | head -5 || true
fi

# Memory per held stream: a slow backend (one event a second), HOLD concurrent streams held open through Luthien's
# pass-through chain, then through YARP; the growth of each proxy's resident memory, divided by the streams it held.
if [ "$ONLY" != "audit" ]; then
  echo "e2e: holding $HOLD slow streams (Luthien, then YARP)"
  start slowbackend $((P + 5)) "$(BIN bench/Luthien.Control.FakeBackend)" --chunks 60 --delay-ms 1000
  start slowpass $((P + 6)) "$(BIN samples/Luthien.Control.Sample)" "${LUTHIEN_ARGS[@]}" --Luthien:Backend:BaseUrl="http://127.0.0.1:$((P + 5))/v1" --Luthien:PolicyFile="$WORK/passthrough.json"
  start slowyarp $((P + 7)) "$(BIN bench/Luthien.Control.YarpProxy)" --Logging:LogLevel:Default=Warning --backend "http://127.0.0.1:$((P + 5))"
fi
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
if [ "$ONLY" != "audit" ]; then
  read -r held_l grew_l per_l heap_l <<<"$(hold "$PID_slowpass" $((P + 6)))"
  read -r held_y grew_y per_y heap_y <<<"$(hold "$PID_slowyarp" $((P + 7)))"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
diff() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
{
  if [ "$ONLY" != "audit" ]; then
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
  fi
  if [ "$AUDIT" != "0" ]; then
    [ "$ONLY" = "audit" ] || echo
    echo "### What the audit log costs ($(date -u +%Y-%m-%d), $(nproc) cores; $CONC connections, median of $ROUNDS runs of ${RUN_SECONDS}s, $CHUNKS content chunks per stream)"
    echo
    echo "The default chain, audit log off (\`Provider=None\`) and on (\`Provider=Sqlite\`, the sample's default), on and off interleaved in each round; \"× off\" is the ratio of the medians, \"rounds\" the range of the ratio of each round's pair; \"drain\" is how long the logging process stayed busy after the load stopped (writing what was queued); \"proxy CPU\" is the CPU time the proxy process used from the start of the load to the end of its drain, per request served (the load generators and the backend share the 2 cores, so throughput falls by less than the proxy's CPU grows, and other work on the machine moves throughput much more than it moves CPU per request)."
    echo
    echo "| load | audit log | req/s or streams/s | × off | rounds | p50 / p99 ms | TTFC under load p50 / p99 ms | drain s | proxy CPU µs per request | × off |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for k in ns chat resp; do
      case $k in ns) load="chat, non-streaming";; chat) load="chat streams";; resp) load="Responses streams";; esac
      for t in auditoff auditon; do
        name=$([ $t = auditon ] && echo "on (SQLite)" || echo "off")
        v=$(echo "${AR[$t.$k]}" | median); off=$(echo "${AR[auditoff.$k]}" | median)
        if [ $k = ns ]; then lat="$(echo "${AR[$t.nsp50]}" | median) / $(echo "${AR[$t.nsp99]}" | median)"; ttfc="–"; drain=$(echo "${AR[$t.nsdrain]}" | median)
        else lat="$(echo "${AR[$t.${k}p50]}" | median) / $(echo "${AR[$t.${k}p99]}" | median)"; ttfc="$(echo "${AR[$t.${k}f50]}" | median) / $(echo "${AR[$t.${k}f99]}" | median)"; drain=$(echo "${AR[$t.${k}drain]}" | median); fi
        rng=$([ $t = auditon ] && echo "${AR[ratio.$k]}" | minmax || echo "")
        cpu=$(echo "${AR[$t.${k}cpu]}" | median); cpuoff=$(echo "${AR[auditoff.${k}cpu]}" | median)
        echo "| $load | $name | $v | $(ratio "$v" "$off") | $rng | $lat | $ttfc | $drain | $cpu | $(ratio "$cpu" "$cpuoff") |"
      done
    done
    echo
    echo "At a model's pace (the backend waits ${PACE_MS:-2} ms before each of its $CHUNKS events; chat streams, $CONC connections, median of $ROUNDS runs):"
    echo
    echo "| audit log | streams/s | × off | TTFC p50 / p99 ms | total p50 / p99 ms | proxy CPU µs per stream |"
    echo "|---|---:|---:|---:|---:|---:|"
    for t in pacedoff pacedon; do
      v=$(echo "${AR[$t.rps]}" | median); off=$(echo "${AR[pacedoff.rps]}" | median)
      echo "| $([ $t = pacedon ] && echo "on (SQLite)" || echo "off") | $v | $(ratio "$v" "$off") | $(echo "${AR[$t.f50]}" | median) / $(echo "${AR[$t.f99]}" | median) | $(echo "${AR[$t.t50]}" | median) / $(echo "${AR[$t.t99]}" | median) | $(echo "${AR[$t.cpu]}" | median) |"
    done
    echo
    echo "Time to first chunk alone (one chat stream at a time, 400 per round, median of the rounds' p50 / p99): off $(echo "${AR[auditoff.a50]}" | median) / $(echo "${AR[auditoff.a99]}" | median) ms, on $(echo "${AR[auditon.a50]}" | median) / $(echo "${AR[auditon.a99]}" | median) ms."
    echo
    echo "Rows after a graceful stop (SIGTERM, ${STOP_S} s to exit): $ROWS_REQ request, $ROWS_RESP response, $ROWS_OUT outcome rows; $TX transactions, $TX3 of them with all three rows; database ${DB_MB} MB. Served as the load generators counted them (all rounds, the start-up probe included) against outcomes with status 200: non-streaming ${ASERVED[ns]} vs $OUT_NS (wrk does not count the requests it cuts off at its end, up to $CONC a run), chat streams ${ASERVED[chat]} vs $OUT_CHAT, Responses streams ${ASERVED[resp]} vs $OUT_RESP; other outcomes: $OUT_OTHER. Writer warnings/errors in the log: $AUDIT_LOG_LINES."
  fi
} | tee "$OUT"
