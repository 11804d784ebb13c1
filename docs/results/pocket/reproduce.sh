#!/usr/bin/env bash
# Snell et al. 2024 in miniature, on the embedded pocket model and PRM: 300 generated
# problems (levels 1–5, 60 each), every strategy of the paper at budgets 1–64
# generation-equivalents, best-of-N from one set of 64 samples per problem.
# Run from the repository root:  bash docs/results/pocket/reproduce.sh
# It resumes where it stopped; delete docs/results/pocket/results.jsonl to start over.
set -euo pipefail
cd "$(dirname "$0")/../../.."
cargo build --release --quiet
ttc=target/release/ttc
out=docs/results/pocket
$ttc bench --backend pocket --dataset pocket --problems 300 \
  --strategies best-of-n:weighted,best-of-n:majority,beam:m=4,lookahead:k=1,dvts:m=4,revise:ratio=1:4,revise:ratio=1,revise:ratio=4,revise:ratio=16,particles \
  --budgets 1,2,4,8,16,32,64 --subsample 8 --jobs 2 --out "$out"
$ttc bench report "$out"
$ttc bench fit "$out" --out "$out/policy.toml"
