#!/bin/sh
# The README's second command: install what is needed, build, and run every test
# (unit and integration in Node, the core suite in Chromium, type tests, end-to-end).
. "$(dirname "$0")/setup.sh"
ensure_chromium
ensure_netns
ensure_packages
echo "== build and type-check (tsc: strict, declarations for every package)"
$PNPM run typecheck
echo "== import rules (dependency-cruiser: layers import one way, the core stays platform-free)"
$PNPM run check:imports
echo "== lint and format (typescript-eslint strict type-checked, prettier)"
$PNPM run lint
echo "== the README holds: its TypeScript compiles (strict), its YAML configs load, its commands and flags exist"
$PNPM run check:readme
# Outside the network namespace: npm installs the tarballs' dependencies from the registry.
echo "== the outsider's path: pack, npm install into a project outside the workspace, strict tsc, Node, a Vite page in Chromium"
$PNPM exec vitest run --config scripts/outsider/vitest.config.ts
# The tests below run in a private network namespace where possible (see ensure_netns): WebRTC
# peers then have one known interface to meet on, and nothing can leave the machine.
echo "== vitest: Node, Chromium, type tests"
$NETNS $PNPM exec vitest run
echo "== playwright: end to end in Chromium"
$NETNS $PNPM --filter @oiafed/e2e run test
