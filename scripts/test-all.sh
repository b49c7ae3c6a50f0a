#!/bin/sh
# The README's second command: install what is needed, build, and run every test
# (unit and integration in Node, the core suite in Chromium, type tests, end-to-end).
. "$(dirname "$0")/setup.sh"
ensure_chromium
ensure_netns
ensure_packages
echo "== build and type-check (tsc: strict, declarations for every package)"
$PNPM run typecheck
echo "== vitest: Node, Chromium, type tests"
$PNPM exec vitest run
echo "== playwright: end to end in Chromium (in a private network namespace, for WebRTC)"
$NETNS $PNPM --filter @oiafed/e2e run test
