#!/usr/bin/env python3
"""Regenerate the bundled problem subsets from the shared data sets.

Usage: python3 assets/problems/make_subsets.py [DATA_DIR]

DATA_DIR defaults to ../shared/data relative to the repository root. The
output is deterministic, so rerunning it must leave the committed files
unchanged (check with `git diff`).

- math500_50.jsonl: the first 10 MATH-500 problems of each level 1-5, in file
  order; `solution` is dropped to keep the binary small.
- gsm8k_50.jsonl: the first 50 GSM8K test problems, lines copied verbatim so
  the original `question`/`answer` form (with `#### <answer>`) is kept.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PER_LEVEL = 10
GSM8K_COUNT = 50
MATH_FIELDS = ("problem", "answer", "level", "subject", "unique_id")


def make_math500(data_dir: Path) -> int:
    counts = {level: 0 for level in range(1, 6)}
    out = []
    with open(data_dir / "math500.jsonl", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            level = row["level"]
            if counts.get(level, PER_LEVEL) >= PER_LEVEL:
                continue
            counts[level] += 1
            out.append(json.dumps({k: row[k] for k in MATH_FIELDS}))
    short = {lvl: n for lvl, n in counts.items() if n < PER_LEVEL}
    if short:
        sys.exit(f"math500.jsonl has too few problems at levels {short}")
    (HERE / "math500_50.jsonl").write_text("\n".join(out) + "\n", encoding="utf-8")
    return len(out)


def make_gsm8k(data_dir: Path) -> int:
    out = []
    with open(data_dir / "gsm8k_test.jsonl", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            if "####" not in row["answer"]:
                sys.exit(f"GSM8K row without '####': {line[:80]}")
            out.append(line.rstrip("\r\n"))
            if len(out) == GSM8K_COUNT:
                break
    if len(out) < GSM8K_COUNT:
        sys.exit(f"gsm8k_test.jsonl has only {len(out)} problems")
    (HERE / "gsm8k_50.jsonl").write_text("\n".join(out) + "\n", encoding="utf-8")
    return len(out)


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data"
    print(f"math500_50.jsonl: {make_math500(data_dir)} problems")
    print(f"gsm8k_50.jsonl: {make_gsm8k(data_dir)} problems")


if __name__ == "__main__":
    main()
