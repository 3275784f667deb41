#!/usr/bin/env python3
"""Distributed training on a local Dask cluster against a single process: quality, wall time, traffic.

    python benchmarks/distributed_runs.py --corpus SHARD_DIR --epochs 3 \\
        --runs single:2,dist:2,dist:1,dist:4,dist:8,spark:2,spark:4,spark:8 --seeds 1 \\
        --out benchmarks/results/distributed

SHARD_DIR is a directory of corpus files (the shards are dealt from them; every run, the single-process ones
included, trains on the same directory, so the vocabulary is the same). Runs:

    single:T                one process, T threads (w2v.train)
    dist:N[:WORDS][:MERGE][:K][:overlap]  w2v.distributed.train on a local cluster of N worker processes with
                            1 thread each; WORDS per worker between reconciliations (default 1,000,000; "epoch":
                            once per epoch), MERGE scaled (default), sum or average, K: rare_every (default 1),
                            overlap: the next round starts before the last one is merged (default: it waits)
    spark:N                 dist:N:epoch:average, Spark MLlib's scheme (each partition trains a whole epoch,
                            then the rows are averaged over the partitions that changed them)

Each run is its own subprocess; wall time is measured inside it from before training starts (the local
cluster's start included) to after it returns. The saved vectors are scored with w2v's evaluator (analogy
over the 30,000 most frequent words, WordSim353 Spearman). Before every run the script waits until other
processes keep fewer than --max-load cores busy (the machine is shared). Results: results.json and results.md.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import SHARED_EVAL, _spawn, machine_info  # noqa: E402

RESTRICT_VOCAB = 30000


def parse_run(text):
    parts = text.split(":")
    kind = parts[0]
    if kind == "single":
        return {"name": text, "kind": "single", "threads": int(parts[1]) if len(parts) > 1 else 2}
    if kind == "spark":
        return {"name": text, "kind": "dist", "workers": int(parts[1]), "round_words": "epoch", "merge": "average",
                "rare_every": 1}
    if kind == "dist":
        words = parts[2] if len(parts) > 2 else "1000000"
        return {"name": text, "kind": "dist", "workers": int(parts[1]),
                "round_words": words if words == "epoch" else int(words),
                "merge": parts[3] if len(parts) > 3 else "scaled", "rare_every": int(parts[4]) if len(parts) > 4 else 1,
                "overlap": len(parts) > 5 and parts[5] == "overlap"}
    raise SystemExit(f"unknown run {text!r}: single:T, dist:N[:WORDS][:MERGE][:K][:overlap] or spark:N")


# ---------------------------------------------------------------------------------------------
# the child: one run
# ---------------------------------------------------------------------------------------------

def child(spec):
    import numpy as np
    import w2v
    params = dict(model=spec["model"], dim=spec["dim"], epochs=spec["epochs"], seed=spec["seed"])
    import resource
    out = {}

    def cpu_seconds():      # this process and its children that ended (the local cluster's workers)
        a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

    c0 = cpu_seconds()
    t0 = time.perf_counter()
    if spec["kind"] == "single":
        model = w2v.train(spec["corpus"], threads=spec["threads"], quiet=True, **params)
    else:
        import w2v.distributed as wd
        round_words = spec["round_words"]
        if round_words == "epoch":
            round_words = 10 ** 12          # more than any shard: one round per epoch
        model = wd.train(spec["corpus"], address=f"local:{spec['workers']}", threads=1, round_words=round_words,
                         merge=spec["merge"], rare_every=spec["rare_every"], overlap=spec.get("overlap", False),
                         quiet=True, **params)
        rounds = model.rounds
        v = len(model.vocab)
        out["rounds"] = len(rounds)
        out["rounds_per_epoch"] = len(rounds) // spec["epochs"]
        out["bytes_up"] = sum(r["bytes_up"] for r in rounds)
        out["bytes_down"] = sum(r["bytes_down"] for r in rounds)
        out["dense_bytes_per_round"] = 2 * spec["workers"] * 2 * v * spec["dim"] * 4
        out["reconcile_s"] = sum(r["reconcile_seconds"] for r in rounds)
        out["round_s"] = sum(r["seconds"] for r in rounds)
        out["train_s_workers"] = float(np.mean([sum(r["train_seconds"][k] for r in rounds)
                                                 for k in range(spec["workers"])]))
        # rows a worker sent per round, as a share of the vocabulary, per matrix
        out["rows_up_share"] = [float(np.mean([x[m] for r in rounds for x in r["rows_up"]])) / v for m in (0, 1)]
        out["rows_down_share"] = [float(np.mean([x[m] for r in rounds for x in r["rows_down"]])) / v for m in (0, 1)]
        out["recoveries"] = model.recoveries
    t1 = time.perf_counter()
    out["cpu_s"] = cpu_seconds() - c0
    out.update(wall_s=t1 - t0, train_s=model.timings["train"], words_per_s=model.words_per_sec,
               vocab=len(model.vocab), loss_history=model.loss_history)
    model.wv.save(spec["output"], format="native")
    with open(spec["stats"], "w") as fh:
        json.dump(out, fh)


# ---------------------------------------------------------------------------------------------
# the parent
# ---------------------------------------------------------------------------------------------

def busy_cores(seconds=5.0):
    """Cores kept busy by all processes over the next few seconds (/proc/stat): between runs, the others'."""
    from compare import _busy_cpu_seconds
    b0 = _busy_cpu_seconds()
    time.sleep(seconds)
    b1 = _busy_cpu_seconds()
    return (b1 - b0) / seconds if b0 is not None and b1 is not None else os.getloadavg()[0]


def wait_for_quiet(max_load, poll=60, log=print):
    """Wait until other processes keep fewer than max_load cores busy (the machine is shared)."""
    while True:
        load = busy_cores()
        if load < max_load:
            return load
        log(f"  other processes keep {load:.2f} cores busy (>= {max_load}): waiting {poll}s")
        time.sleep(poll)


def evaluate(path, analogies, pairs):
    import w2v
    from w2v.evaluate import evaluate_analogies, evaluate_word_pairs
    kv = w2v.load(path)
    a = evaluate_analogies(kv, analogies, restrict_vocab=RESTRICT_VOCAB)
    p = evaluate_word_pairs(kv, pairs)
    return {"analogy": a["accuracy"], "answered": a["answered"], "ws353": p["spearman"], "ws353_known": p["known"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus")
    ap.add_argument("--runs", default="single:2,dist:2,dist:1,dist:4,dist:8,spark:2,spark:4,spark:8")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--model", default="sg")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "distributed"))
    ap.add_argument("--work", default=None, help="where vectors and logs go (default: a new temporary directory)")
    ap.add_argument("--analogies", default=os.path.join(SHARED_EVAL, "questions-words.txt"))
    ap.add_argument("--pairs", default=os.path.join(SHARED_EVAL, "wordsim353.tsv"))
    ap.add_argument("--max-load", type=float, default=0.5, help="wait until others keep fewer cores busy")
    ap.add_argument("--max-other-load", type=float, default=0.25,
                    help="run again when others kept more cores busy during a run (up to --attempts times)")
    ap.add_argument("--attempts", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0
    if not args.corpus:
        ap.error("--corpus is required")
    import tempfile
    work = args.work or tempfile.mkdtemp(prefix="w2v-dist-bench-")
    os.makedirs(args.out, exist_ok=True)
    results_path = os.path.join(args.out, "results.json")
    runs = [parse_run(r) for r in args.runs.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    info = machine_info()
    try:
        info["lscpu"] = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        pass
    doc = {"machine": info, "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
           "settings": {"corpus": os.path.abspath(args.corpus), "epochs": args.epochs, "model": args.model,
                        "dim": args.dim, "files": sorted(os.listdir(args.corpus))}, "runs": []}
    if os.path.exists(results_path):
        with open(results_path) as fh:
            old = json.load(fh)
        if old.get("settings") == doc["settings"]:
            doc["runs"] = old["runs"]           # add to the earlier runs of the same settings
    for seed in seeds:
        for run in runs:           # the runs alternate: a drift in the machine's load spreads over all of them
            spec = dict(run, corpus=os.path.abspath(args.corpus), epochs=args.epochs, model=args.model, dim=args.dim,
                        seed=seed)
            tag = f"{run['name'].replace(':', '-')}-s{seed}"
            spec["output"] = os.path.join(work, tag + ".w2v")
            spec["stats"] = os.path.join(work, tag + ".json")
            for attempt in range(args.attempts):
                load = wait_for_quiet(args.max_load)
                print(f"{run['name']} seed {seed} (others kept {load:.2f} cores busy before)", flush=True)
                code, wall, usage = _spawn([sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
                                           os.path.join(work, tag + ".log"))
                other = usage["other_load"] or 0.0
                if code != 0 or other <= args.max_other_load or attempt + 1 == args.attempts:
                    break
                print(f"  others kept {other:.2f} cores busy during the run: again", flush=True)
            if code != 0:
                print(f"  failed ({code}); see {os.path.join(work, tag + '.log')}", flush=True)
                continue
            with open(spec["stats"]) as fh:
                row = dict(run, seed=seed, **json.load(fh))
            row["process_wall_s"] = wall
            row["other_load"] = usage["other_load"]
            row["load_at_start"] = load
            row.update(evaluate(spec["output"], args.analogies, args.pairs))
            print(f"  wall {row['wall_s']:.1f}s  analogy {100 * row['analogy']:.2f}%  ws353 {row['ws353']:.3f}"
                  + (f"  {row['rounds_per_epoch']} rounds/epoch, {(row['bytes_up'] + row['bytes_down']) / row['rounds'] / 1e6:.1f} MB/round"
                     if "rounds" in row else ""), flush=True)
            doc["runs"].append(row)
            with open(results_path + ".tmp", "w") as fh:
                json.dump(doc, fh, indent=1)
            os.replace(results_path + ".tmp", results_path)
    write_markdown(doc, os.path.join(args.out, "results.md"))
    print(f"results in {args.out}")
    return 0


def _median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def write_markdown(doc, path):
    m, s = doc["machine"], doc["settings"]
    git = m.get("w2v_git") or {}
    lines = [
        "# Distributed training on a local Dask cluster",
        "",
        f"Corpus: {len(s['files'])} files in `{s['corpus']}`; {s['model']}, dim {s['dim']}, {s['epochs']} epochs, other "
        f"parameters at their defaults. Machine: {m.get('cpu')}, {m.get('usable_cores')} usable cores, "
        f"{m.get('ram_gib')} GiB; Python {m.get('python')}; w2v commit "
        f"{git.get('commit', '?')[:10]}{' (modified)' if git.get('dirty') else ''}.",
        "",
        f"Command: `{doc['command']}`",
        "",
        "| run | workers x threads | merge | rounds/epoch | wall s | train s | words/s | analogy % | WS353 | "
        "MB/round (up+down) | MB total | merge s | CPU s | other load | seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = []
    for r in doc["runs"]:
        if r["name"] not in order:
            order.append(r["name"])
    for name in order:
        rows = [r for r in doc["runs"] if r["name"] == name]
        r0 = rows[0]
        med = {k: _median([r.get(k) for r in rows]) for k in ("wall_s", "train_s", "words_per_s", "analogy", "ws353",
                                                               "other_load", "reconcile_s", "cpu_s")}
        scores = ""
        if len(rows) > 1:
            scores = (f" ({100 * min(r['analogy'] for r in rows):.1f}-{100 * max(r['analogy'] for r in rows):.1f}; "
                      f"{min(r['ws353'] for r in rows):.3f}-{max(r['ws353'] for r in rows):.3f})")
        if r0["kind"] == "single":
            shape, merge, rounds, per_round, total, rec = f"1 x {r0['threads']}", "", "", "", "", ""
        else:
            shape, merge = f"{r0['workers']} x 1", r0["merge"] + (", overlap" if r0.get("overlap") else "")
            rounds = str(r0["rounds_per_epoch"])
            per_round = f"{(r0['bytes_up'] + r0['bytes_down']) / r0['rounds'] / 1e6:,.1f}"
            total = f"{(r0['bytes_up'] + r0['bytes_down']) / 1e6:,.0f}"
            rec = f"{med['reconcile_s']:.1f}"
        cpu = "" if med["cpu_s"] is None else f"{med['cpu_s']:.0f}"
        lines.append(f"| {name} | {shape} | {merge} | {rounds} | {med['wall_s']:.1f} | {med['train_s']:.1f} | "
                     f"{med['words_per_s'] / 1e3:,.0f}k | {100 * med['analogy']:.2f} | {med['ws353']:.3f} | "
                     f"{per_round} | {total} | {rec} | {cpu} | "
                     f"{med['other_load']:.2f} | "
                     f"{','.join(str(r['seed']) for r in rows)}{scores} |")
    lines += [
        "",
        "Columns: **wall s** from before training starts to after it returns, inside the run's process (for "
        "distributed runs the local cluster's start and shutdown, the workers' counting and encoding included); "
        "**train s** the rounds (distributed) or the training loop (single); **words/s** corpus words x epochs / "
        "train s; **analogy %** questions-words over the 30,000 most frequent words; **WS353** Spearman; "
        "**MB/round** rows the workers sent plus rows sent back, per round, all workers; **merge s** the client's "
        "reconciliation time in total; **CPU s** processor time of the run's process and of the processes it started "
        "(the local cluster's workers), user and system; **other load** cores other processes kept busy during the run. With "
        "several seeds: medians, the range of the scores in brackets.",
    ]
    shares = [r for r in doc["runs"] if r["kind"] == "dist"]
    if shares:
        lines += ["", "Rows a worker sent (up) and received (down) per round, as a share of the vocabulary "
                  "(syn0 / syn1neg):", ""]
        seen = set()
        for r in shares:
            if r["name"] in seen:
                continue
            seen.add(r["name"])
            lines.append(f"- {r['name']}: up {100 * r['rows_up_share'][0]:.0f}% / {100 * r['rows_up_share'][1]:.0f}%, "
                         f"down {100 * r['rows_down_share'][0]:.0f}% / {100 * r['rows_down_share'][1]:.0f}% of "
                         f"{r['vocab']:,} words; dense would be {r['dense_bytes_per_round'] / 1e6:,.0f} MB/round")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
