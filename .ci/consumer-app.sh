#!/usr/bin/env bash
# A new app built from the packed packages alone, as README.md tells a user to make it: packs every package into a
# temporary folder under a version of this run's own (so NuGet's global cache can never serve an older copy), makes an
# app with `dotnet new web`, copies in README's web-app files (the very files test/Luthien.Control.Readme.Tests compiles:
# Program.cs, the two policies, appsettings.json, policies.json), adds the packages from that folder (a nuget.config adding
# it to the machine's sources; no project reference), builds it, runs it on a free loopback port in front of the fake
# backend (bench/Luthien.Control.FakeBackend) and sends one streamed chat completion with curl. It passes when the answer
# is a well-formed event stream that went through the README's streaming policy (Disclaimer) and ends with
# `data: [DONE]`. Everything it started is stopped and everything it made removed on exit, this version's packages in
# the global cache included. Run alone: `bash .ci/consumer-app.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

packages=(Luthien.Control Luthien.Control.AspNetCore Luthien.Control.AI Luthien.Control.Sqlite Luthien.Control.PostgreSql)
version="0.1.0-ci.$(date -u +%Y%m%d%H%M%S).$$"
work=$(mktemp -d)
cache=$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: *//p')
pids=()

cleanup() {
  local pid id
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$cache" ]; then
    for id in "${packages[@]}"; do
      rm -rf "${cache%/}/${id,,}/$version"
      rmdir "${cache%/}/${id,,}" 2>/dev/null || true
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

started=$SECONDS
last=$SECONDS
step() {
  echo "consumer-app: $1 ($((SECONDS - last)) s)"
  last=$SECONDS
}
fail() {
  echo "consumer-app: FAILED: $1" >&2
  exit 1
}
# Runs a command quietly; on failure shows its output and stops.
quiet() {
  local out=$work/last-command.log
  if ! "$@" >"$out" 2>&1; then
    cat "$out" >&2
    fail "$*"
  fi
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# start_server NAME URL_VAR DIR COMMAND…: starts COMMAND (with --urls on a free port) in DIR and waits until it answers
# HTTP; another session may take the port between the check and the start, so it tries three ports.
start_server() {
  local name=$1 dir=$2 attempt port pid i
  shift 2
  for attempt in 1 2 3; do
    port=$(free_port)
    (cd "$dir" && exec "$@" --urls "http://127.0.0.1:$port") >"$work/$name.log" 2>&1 &
    pid=$!
    for i in $(seq 1 300); do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)" != "000" ]; then
        pids+=("$pid")
        server_port=$port
        return 0
      fi
      sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  tail -n 30 "$work/$name.log" >&2 || true
  fail "$name did not start"
}

echo "consumer-app: packages $version into $work/packages"
# One pack of a solution filter of the src projects: one restore and build for all five.
{
  printf '{ "solution": { "path": "%s", "projects": [' "$repo/Luthien.Control.sln"
  sep=
  for id in "${packages[@]}"; do
    printf '%s"src/%s/%s.csproj"' "$sep" "$id" "$id"
    sep=", "
  done
  printf '] } }\n'
} >"$work/packages.slnf"
quiet dotnet pack "$work/packages.slnf" -c Release -o "$work/packages" -p:Version="$version"
for id in "${packages[@]}"; do
  [ -f "$work/packages/$id.$version.nupkg" ] && [ -f "$work/packages/$id.$version.snupkg" ] || fail "no $id.$version .nupkg and .snupkg"
done
step "packed ${#packages[@]} packages with symbols"

app=$work/app
quiet dotnet new web --name ReadmeApp --output "$app" --no-restore
cp test/Luthien.Control.Readme.Tests/Snippets/WebApp/*.cs test/Luthien.Control.Readme.Tests/Snippets/WebApp/*.json "$app/"
cat >"$app/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="luthien-ci" value="$work/packages" />
  </packageSources>
</configuration>
CONFIG
quiet dotnet add "$app/ReadmeApp.csproj" package Luthien.Control.AspNetCore --version "$version"
if grep -q ProjectReference "$app/ReadmeApp.csproj"; then
  fail "the app references a project"
fi
step "made the app (dotnet new web, README's files, package Luthien.Control.AspNetCore $version)"

# Warnings as errors: the README's code should build clean in a new app. (NuGet's vulnerability audit is left out: it
# depends on the day's advisories, not on this code.)
quiet dotnet build "$app/ReadmeApp.csproj" -c Release -p:TreatWarningsAsErrors=true -p:NuGetAudit=false
step "built the app"

quiet dotnet build bench/Luthien.Control.FakeBackend/Luthien.Control.FakeBackend.csproj -c Release
start_server fake-backend "$repo" dotnet "$repo/bench/Luthien.Control.FakeBackend/bin/Release/net10.0/Luthien.Control.FakeBackend.dll" --chunks 5
backend_port=$server_port
# The app's folder is its working directory, as under `dotnet run`: appsettings.json and policies.json are read there.
start_server app "$app" dotnet "$app/bin/Release/net10.0/ReadmeApp.dll" --Luthien:Backend:BaseUrl="http://127.0.0.1:$backend_port/v1"
app_port=$server_port
step "started the fake backend (127.0.0.1:$backend_port) and the app (127.0.0.1:$app_port)"

status=$(curl -sS -N --max-time 60 -o "$work/answer.txt" -D "$work/headers.txt" -w '%{http_code}' \
  "http://127.0.0.1:$app_port/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hello"}]}') || fail "curl: the request failed"
[ "$status" = 200 ] || { cat "$work/answer.txt" >&2; fail "status $status, not 200"; }
grep -qi '^content-type: text/event-stream' "$work/headers.txt" || { cat "$work/headers.txt" >&2; fail "not text/event-stream"; }
python3 - "$work/answer.txt" <<'CHECK' || fail "the answer is not what README's app gives"
import json, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8")
if not raw.endswith("data: [DONE]\n\n"):
    sys.exit("the stream does not end with 'data: [DONE]' and a blank line: " + repr(raw[-200:]))
events = raw[:-len("\n\n")].split("\n\n")
if any(not e.startswith("data: ") or "\n" in e for e in events):
    sys.exit("an event is not one 'data: ' line: " + repr(raw[:400]))
if events.count("data: [DONE]") != 1:
    sys.exit("[DONE] is not sent exactly once")
text = ""
for event in events[:-1]:
    chunk = json.loads(event[len("data: "):])
    if chunk.get("object") != "chat.completion.chunk":
        sys.exit("not a chat.completion.chunk: " + event)
    for choice in chunk["choices"]:
        text += (choice.get("delta") or {}).get("content") or ""
if not text.endswith(" (AI-generated)"):
    sys.exit("the answer did not go through DisclaimerPolicy: " + repr(text))
print("consumer-app: answer: %d events, text %r" % (len(events), text))
CHECK
step "streamed chat completion answered through the README's policies, ending with data: [DONE]"

echo "consumer-app: ok in $((SECONDS - started)) s"
