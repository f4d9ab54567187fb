#!/usr/bin/env bash
# Runs every benchmark in turn; each prints its figures next to a baseline measured in the
# same run (bare node and podman ps, plain qemu, an ACPI stop, a raw websocket). Not a test.
# Needs the demo image and a built tree (npm run build); under TCG it takes about 30 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
for bench in cli boot loop console terminal-render disk server-load ui rootless libvirt; do
  echo "== e2e/bench/$bench.ts"
  npx tsx "e2e/bench/$bench.ts"
done
