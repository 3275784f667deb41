#!/usr/bin/env python3
"""Do the workers' own copies of syn1's first rows (the inner nodes nearest the root) pay?

    python benchmarks/hot_nodes.py --corpus ../shared/corpora/wiki17m.txt.gz --threads 2 --rounds 3

Trains w2v with hierarchical softmax alone (--negative 0 unless given) with train.HOT_NODES on and
off, alternating, each run in its own process, and writes results.json and results.md to --out:
training words/s of every run and the median of each setting. The vocabulary and the corpus are the
same in every run; only the hot copies of syn1's rows differ (syn0's hot rows stay on).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def child(spec):
    sys.path.insert(0, REPO)
    import importlib
    import w2v
    train_module = importlib.import_module("w2v.train")
    train_module.HOT_NODES = spec.pop("hot_nodes")
    m = w2v.train(spec.pop("corpus"), quiet=True, **spec)
    return {"words_per_s": m.raw_words / m.timings["train"], "train_s": m.timings["train"],
            "load": os.getloadavg()[0], "w2v": os.path.dirname(w2v.__file__)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default="sg,cbow")
    ap.add_argument("--negative", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "hs", "hot-nodes"))
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    runs = []
    for r in range(args.rounds):
        for model in args.models.split(","):
            for hot in (True, False):
                spec = dict(corpus=args.corpus, model=model, hs=True, negative=args.negative, threads=args.threads,
                            epochs=1, seed=1 + r, hot_nodes=hot)
                out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True,
                                     text=True, check=True)
                row = dict(spec, **json.loads(out.stdout.strip().splitlines()[-1]), round=r)
                runs.append(row)
                print(f"{model:4} hot_nodes={hot!s:5} {row['words_per_s'] / 1e3:,.0f}k words/s "
                      f"(load {row['load']:.2f})", file=sys.stderr, flush=True)
    summary = {}
    for model in args.models.split(","):
        for hot in (True, False):
            rates = [r["words_per_s"] for r in runs if r["model"] == model and r["hot_nodes"] == hot]
            summary[f"{model} hot_nodes={hot}"] = statistics.median(rates)
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), None)
    report = {"command": " ".join([os.path.basename(sys.executable)] + sys.argv), "commit": commit, "cpu": cpu,
              "platform": platform.platform(), "runs": runs, "median_words_per_s": summary, "time": time.ctime()}
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    lines = ["# Hot copies of syn1's first rows, on and off", "",
             f"`{report['command']}` at commit {commit[:10]}, {cpu}, {args.threads} threads, hierarchical softmax, "
             f"negative {args.negative}, 1 epoch, seeds 1..{args.rounds} (one per round), runs alternating.", "",
             "| model | hot copies of syn1 rows | training words/s (median) | runs (words/s, load) |", "|---|---|---|---|"]
    for model in args.models.split(","):
        for hot in (True, False):
            rs = [r for r in runs if r["model"] == model and r["hot_nodes"] == hot]
            lines.append(f"| {model} | {'on' if hot else 'off'} | {summary[f'{model} hot_nodes={hot}'] / 1e3:,.0f}k | "
                         + ", ".join(f"{r['words_per_s'] / 1e3:,.0f}k ({r['load']:.1f})" for r in rs) + " |")
    with open(os.path.join(args.out, "results.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(json.loads(sys.argv[2]))))
        sys.exit(0)
    sys.exit(main())
