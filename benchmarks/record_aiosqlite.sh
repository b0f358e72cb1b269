#!/bin/bash
# aiosqlite's own perf tests (operations per second in 2 s), without and with loopsafe record, alternating
# Needs: pip download --no-deps --no-binary :all: aiosqlite==0.22.1 -d DIR, unpacked; run from its folder.
set -eu
# (loopsafe on PATH)
T="aiosqlite.tests.perf.PerfTest.test_inserts aiosqlite.tests.perf.PerfTest.test_select aiosqlite.tests.perf.PerfTest.test_select_macro aiosqlite.tests.perf.PerfTest.test_connection_memory"
for i in 1 2 3 4 5 6 7; do
  echo "== without $i"; python -m unittest $T 2>&1 | grep "/s"
  echo "== with $i"; loopsafe record -o "${TMPDIR:-/tmp}/aiosqlite-observed.json" -- python -m unittest $T 2>&1 | grep "/s\|stalls"
done
