"""Builds processbench_grade.jsonl from ProcessBench + MATH-500 + GSM8K test (see README.md).

Usage: python3 tests/data/make_processbench_grade.py /work/shared/data > tests/data/processbench_grade.jsonl
With --all it writes every matched item (512) instead of the checked-in subset.
"""
import json
import re
import sys


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def main():
    root = sys.argv[1]
    everything = "--all" in sys.argv
    math500 = {}
    for line in open(f"{root}/math500.jsonl"):
        row = json.loads(line)
        math500[norm(row["problem"])] = row["answer"]
    gsm8k = {}
    for line in open(f"{root}/gsm8k_test.jsonl"):
        row = json.loads(line)
        gsm8k[norm(row["question"])] = row["answer"].split("####")[-1].strip()
    for part, gold, limit in [("math", math500, None), ("gsm8k", gsm8k, 200)]:
        items = json.load(open(f"{root}/processbench/{part}.json"))
        kept = [x for x in items if norm(x["problem"]) in gold]
        if limit is not None and not everything:
            # ProcessBench lists wrong answers first: items 0,1 of every 4 keep both verdicts
            # and both id parities (the held-out split is by id parity).
            kept = [x for i, x in enumerate(kept) if i % 4 < 2][:limit]
        for x in kept:
            row = {
                "id": x["id"],
                "generator": x["generator"],
                "gold": gold[norm(x["problem"])],
                "verdict": x["final_answer_correct"],
                "pred": "\n\n".join(x["steps"]),
            }
            print(json.dumps(row, ensure_ascii=False))


main()
