#!/usr/bin/env bash
# Builds the release upbeat and the bench, then runs N = 1,000 and N = 10,000 HTTP monitors
# (interval 10 s) against a loopback target with the default warm-up (12 s) and window (60 s).
# Extra arguments go to `upbeat-bench run`, e.g. `bench/run.sh --monitors 1000 --duration 30`.
# Loopback only; every run stops by itself (about 1.5 min per N with the defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p upbeat -p upbeat-bench
if [ "$#" -eq 0 ]; then
    set -- --monitors 1000 --monitors 10000
fi
exec target/release/upbeat-bench run "$@"
