#!/usr/bin/env bash
# The whole test suite, from a fresh machine: host setup (OS packages, podman config,
# Chromium, npm dependencies, build), the demo image fixture, then lint, typecheck, unit
# tests, the end-to-end tests with real podman, qemu, virtiofsd and a systemd guest, and
# the browser tests (Playwright in Debian's Chromium).
# Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --tests || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
./bin/bootc demo build --quiet || { echo "building the demo image failed"; echo "0 passed, 1 failed"; exit 1; }
./bin/bootc demo build --quiet --variant cloud || { echo "building the cloud demo image failed"; echo "0 passed, 1 failed"; exit 1; }

results=$(mktemp -d)
checks_passed=0
checks_failed=0
check() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then checks_passed=$((checks_passed + 1)); else checks_failed=$((checks_failed + 1)); echo "FAILED: $name"; fi
}
# Minutes since the suite started, printed as each part ends (bash's SECONDS counts them).
took() { echo "== $1 done at minute $((SECONDS / 60)).$((SECONDS % 60 / 6))"; }

echo "== unit tests"
npx vitest run --reporter=default --reporter=json --outputFile="$results/unit.json"

# The third lane, from here to the end: the browser specs one at a time, then the short e2e
# files of e2e/vitest.config.ts's THIRD_LANE one at a time. It starts after the unit tests
# (which keep both cores busy and some of which time things) and before lint, format and
# typecheck (one core each), and goes on beside the two e2e lanes below: an e2e
# file keeps about 0.8 of a core busy on average (boots, then waits on SSH, podman and
# timeouts), so two leave room for a third, and neither runner idles at the other's tail.
# Its output is kept and printed once the end-to-end tests are done.
ui_log="$results/ui.log"
third_log="$results/e2e-third.log"
third_lane() {
  PLAYWRIGHT_JSON_OUTPUT_NAME="$results/ui.json" BOOTC_UI_WORKERS=${BOOTC_UI_WORKERS:-1} \
    ./node_modules/.bin/playwright test -c e2e/playwright.config.ts --reporter=list,json >"$ui_log" 2>&1
  took "browser tests" >>"$ui_log"
  BOOTC_E2E_LANE=third BOOTC_E2E_WORKERS=1 ./node_modules/.bin/vitest run -c e2e/vitest.config.ts \
    --reporter=default --reporter=json --outputFile="$results/e2e-third.json" >"$third_log" 2>&1
  took "end-to-end tests of the third lane" >>"$third_log"
}
echo "== third lane: browser tests (Playwright, Debian's Chromium, real server and guest), ${BOOTC_UI_WORKERS:-1} file(s) at a time, then the short end-to-end files one at a time"
third_lane &
third_pid=$!
# Ours until waited for: if this script is ended first, so is the runner the lane is in.
trap 'pkill -P "$third_pid" 2>/dev/null; kill "$third_pid" 2>/dev/null' EXIT

check "lint (eslint, including import boundaries)" npx eslint .
check "format (prettier --check; npm run format fixes it)" npx prettier --check "**/*.{ts,tsx,js,mjs}"
check "typecheck (tsc --noEmit)" npx tsc -p tsconfig.json --noEmit
took "set-up, unit tests, lint and typecheck"
echo "== end-to-end tests (real podman, qemu, virtiofsd, systemd guest), ${BOOTC_E2E_WORKERS:-2} file(s) at a time"
BOOTC_E2E_LANE=main npx vitest run -c e2e/vitest.config.ts --reporter=default --reporter=json --outputFile="$results/e2e.json"
took "end-to-end tests"
wait "$third_pid"
trap - EXIT
echo "== browser tests (their output, kept while they ran; Playwright's own time on its last line)"
cat "$ui_log"
echo "== end-to-end tests of the third lane (their output, kept while they ran)"
cat "$third_log"
took "end-to-end and browser tests"

node scripts/summarize.mjs "$checks_passed" "$checks_failed" "$results/unit.json" "$results/e2e.json" "$results/e2e-third.json" "$results/ui.json"
