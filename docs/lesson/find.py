#!/usr/bin/env python3
"""Find and record the lesson's traces (docs/lesson.md) on the embedded pocket model.

For each scenario it tries seeds 0, 1, 2, … in order and takes the first run that shows
it, reading `ttc run --json`. With no problem named, `ttc run --backend pocket --seed S`
solves the generated problem pocket:L3:(1+S) and samples candidate i with seed S+i, so a
seed names both the problem and the samples, and the same command gives the same run.

    python3 docs/lesson/find.py                 # search, print the seeds and the commands
    python3 docs/lesson/find.py --write         # ... and record the traces into assets/traces/
    python3 docs/lesson/find.py --ttc target/release/ttc --seeds 60

The user's config, environment and data directory are kept out (a temporary HOME), so a
`[run]` table in config.toml cannot change what is found.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRACES = os.path.join(ROOT, "assets", "traces")
EQUATION = re.compile(r"^\s*(-?\d+)\s*([-+*])\s*(-?\d+)\s*=\s*(-?\d+)\s*$")


def ttc_json(ttc, home, cmd):
    """`ttc CMD`, its JSON output parsed, isolated from the user's config and servers."""
    env = {k: v for k, v in os.environ.items() if k not in ("OLLAMA_HOST", "TTC_CONFIG", "TTC_BACKEND")}
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, "config"), XDG_DATA_HOME=os.path.join(home, "data"))
    cmd = [ttc, *cmd]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr}")
    return json.loads(out.stdout)


def ttc_run(ttc, home, args, trace=None):
    """`ttc run --backend pocket ARGS --json`; records into `trace` when given."""
    return ttc_json(ttc, home, ["run", "--backend", "pocket", *args, "--json",
                                *(["--trace", trace] if trace else ["--no-trace"])])


def majority(run):
    """The answers with the most votes, and that count."""
    answers = run["selection"]["answers"]
    top = max(a["votes"] for a in answers)
    return [a["answer"] for a in answers if a["votes"] == top], top


def votes_of(run, answer):
    return next(a["votes"] for a in run["selection"]["answers"] if a["answer"] == answer)


def false_equation(step):
    """True when the step is `a op b = c` and c is not a op b."""
    m = EQUATION.match(step)
    if not m:
        return False
    a, op, b, c = int(m[1]), m[2], int(m[3]), int(m[4])
    return {"+": a + b, "-": a - b, "*": a * b}[op] != c


def wrong_pruned(run):
    """Pruned nodes whose own (last) step is a false equation."""
    out = []
    for n in run["candidates"]:
        steps = n.get("steps", [])
        if n["status"] == "pruned" and len(steps) > n["depth"] and false_equation(steps[n["depth"]]["text"]):
            out.append(n)
    return out


def right_then_wrong(run):
    """(chain, revision r, revision r+1) where attempt r is right and r+1 is wrong."""
    by = {(n.get("chain"), n.get("revision")): n for n in run["candidates"] if n.get("chain") is not None}
    out = []
    for (chain, rev), n in sorted(by.items()):
        later = by.get((chain, rev + 1))
        if n.get("correct") is True and later is not None and later.get("correct") is False:
            out.append((chain, rev, rev + 1))
    return out


# Each scenario: file names, the flags of each run (seed appended), and the test on the runs.
GREEDY = ["-n", "1", "--temperature", "0"]
BEST_OF_N = ["-n", "8"]
BEAM = ["--strategy", "beam", "-n", "8"]
REVISE = ["--strategy", "revise", "--chains", "2", "--revisions", "4"]


def scenario_1(runs):
    greedy, bon = runs
    if greedy["correct"] is not False or bon["correct"] is not True:
        return None
    top, _ = majority(bon)
    # Sampling alone wins here: the majority of the samples is right too (scenario 2 is
    # where the verifier has to overrule the vote).
    if top != [bon["selected"]]:
        return None
    return f"greedy answers {greedy['selected']} (wrong); best-of-8 answers {bon['selected']} (right, {votes_of(bon, bon['selected'])} of 8 votes)"


def scenario_2(runs):
    (bon,) = runs
    if bon["correct"] is not True:
        return None
    top, votes = majority(bon)
    if bon["selected"] in top:
        return None
    return f"majority {'/'.join(top)} ({votes} votes, wrong); the verifier's weighted choice {bon['selected']} ({votes_of(bon, bon['selected'])} votes, right)"


def scenario_3(runs):
    (beam,) = runs
    wrong = wrong_pruned(beam)
    if beam["correct"] is not True or not wrong:
        return None
    n = wrong[0]
    return f"node {n['node']} at depth {n['depth']} writes {n['steps'][n['depth']]['text']!r} and is pruned; the beam answers {beam['selected']} (right)"


def scenario_4(runs):
    (rev,) = runs
    found = right_then_wrong(rev)
    # Best when the selection still ends right: the reason the last attempt is never simply taken.
    if not found or rev["correct"] is not True:
        return None
    chain, a, b = found[0]
    by = {(n.get("chain"), n.get("revision")): n for n in rev["candidates"]}
    return (
        f"chain {chain}: revision {a} answers {by[(chain, a)]['answer']} (right), revision {b} "
        f"{by[(chain, b)]['answer']} (wrong); the run selects {rev['selected']} (right)"
    )


SCENARIOS = [
    ("1", ["01-greedy.jsonl", "01-best-of-n-beats-greedy.jsonl"], [GREEDY, BEST_OF_N], scenario_1),
    ("2", ["02-verifier-picks-a-minority.jsonl"], [BEST_OF_N], scenario_2),
    ("3", ["03-beam-prunes-a-wrong-step.jsonl"], [BEAM], scenario_3),
    ("4", ["04-revision-turns-right-wrong.jsonl"], [REVISE], scenario_4),
]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ttc", default=os.path.join(ROOT, "target", "debug", "ttc"))
    p.add_argument("--seeds", type=int, default=40, help="try seeds 0..SEEDS-1 (default 40)")
    p.add_argument("--write", action="store_true", help="record the traces into assets/traces/")
    p.add_argument("--pace", type=int, default=20,
                   help="record at this many tokens/s per candidate, as the view paces a live run "
                        "(default 20), so a replay at 1x can be watched; the search runs at full speed")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="ttc-lesson-") as home:
        for name, files, flags, check in SCENARIOS:
            for seed in range(a.seeds):
                runs = []
                for f in flags:
                    runs.append(ttc_run(a.ttc, home, [*f, "--seed", str(seed)]))
                    if len(flags) > 1 and runs[0]["correct"] is not False:
                        break  # scenario 1: greedy is right here, best-of-N cannot beat it
                what = check(runs) if len(runs) == len(flags) else None
                if what is None:
                    continue
                print(f"scenario {name}: seed {seed}, problem {runs[0]['run']['problem']['id']} "
                      f"({runs[0]['run']['problem']['text']}, gold {runs[0]['run']['problem']['gold']}): {what}")
                for f, fl in zip(files, flags):
                    path = os.path.join("assets", "traces", f)
                    record = [*fl, "--seed", str(seed), "--pace", str(a.pace)]
                    print(f"  ttc run --backend pocket {' '.join(record)} --trace {path}")
                    if a.write:
                        os.makedirs(TRACES, exist_ok=True)
                        ttc_run(a.ttc, home, record, os.path.join(ROOT, path))
                if a.write:
                    # The recorded traces must show it too (the same seed gives the same run).
                    again = [ttc_json(a.ttc, home, ["replay", os.path.join(TRACES, f), "--json"]) for f in files]
                    if check(again) != what:
                        sys.exit(f"scenario {name}: the trace of seed {seed} shows {check(again)!r}")
                break
            else:
                sys.exit(f"scenario {name}: no seed below {a.seeds} shows it")


if __name__ == "__main__":
    main()
