#!/usr/bin/env python3
"""The merge of the workers' hot rows under load: what one merge costs, and how long the merge lock(s)
are held and waited for when many workers merge against one shared model.

    python benchmarks/merge_lock.py --label after            # writes benchmarks/results/merge-lock/
    python benchmarks/merge_lock.py --threads 1,2,8 --merges 50 --label quick --out /tmp/ml

(a) One merge, timed by the kernels' merge path itself (TrainState._merge_loop, one thread, merges
    back to back, the copies written between merges): ns per merge and per MB of shared hot rows, at
    each --dims, for negative sampling (syn0 + syn1neg hot rows) and hierarchical softmax (syn0 + syn1's
    first rows), with the trainer's own row counts (train.hot_rows, HOT_NODES) and padded rows.
(b) N threads (--threads) each run the merge path in a loop against one shared model: between two
    merges a worker "trains" for --work-ms (the time 10,000 words take at 1M words/s; it sleeps, so
    many more workers than cores can be simulated), then merges. Measured: the time each merge holds a
    lock and waits for one, merges/s, and the share of wall time a lock is held. The projection
    W* = 1 / (merges per second per worker x hold time of one lock per merge) is the worker count where
    a lock would be held all the time.

Each --label is one entry of --out/results.json (a rerun replaces it); results.md is rewritten from all
entries. Run it alone on the machine (the numbers are wall-clock times).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def make_state(output, dim, vocab, blocks):
    """A TrainState with the trainer's hot-row counts for 2+ workers; blocks=None: kernels with one lock."""
    from w2v import _kernels
    from w2v.train import HOT_NODES, hot_rows, input_weights, output_weights
    syn0 = input_weights(vocab, dim, 1)
    hot = hot_rows(2, vocab, dim)
    ids = np.zeros(1, dtype=np.uint32)
    kw = dict(hot_rows=hot, hot_sync=10_000)
    if output == "ns":
        syn1neg, syn1, tree, negative = output_weights(vocab, dim), None, None, 5
        prob = np.ones(vocab, dtype=np.float32)
        alias = np.arange(vocab, dtype=np.int32)
    else:
        syn1neg, negative, prob, alias = None, 0, None, None
        syn1 = output_weights(vocab - 1, dim)
        tree = _kernels.build_huffman(np.arange(vocab, 0, -1, dtype=np.int64))
        kw.update(syn1=syn1, tree=tree, hot_nodes=hot if HOT_NODES else 0)
    if blocks is not None:
        kw["merge_blocks"] = blocks
    state = _kernels.TrainState(syn0, syn1neg, ids, None, prob, alias, False, 5, negative, 0.025, 0.0001,
                                10**9, **kw)
    rows = hot * (2 if output == "ns" else 1) + (kw.get("hot_nodes", 0) or 0)
    mb = rows * syn0.strides[0] / 1e6          # shared hot rows merged, padding included
    return state, hot, mb


def blocks_supported():
    try:
        make_state("ns", 8, 100, 1)
        return True
    except TypeError:          # kernels from before the block locks: one lock
        return False


def one_merge(output, dim, vocab, blocks, merges):
    state, hot, mb = make_state(output, dim, vocab, blocks)
    state._merge_loop(5, 0, 1.0)                       # warm up (page faults of the copies)
    r = state._merge_loop(merges, 0, 1.0)
    ns = r["hold_ns"] / r["merges"]
    return {"output": output, "dim": dim, "hot_rows": hot, "mb": mb, "merges": r["merges"],
            "ns_per_merge": ns, "ns_per_mb": ns / mb}


def many(output, dim, vocab, blocks, threads, merges, work_ms, spin):
    state, hot, mb = make_state(output, dim, vocab, blocks)
    locks = blocks or 1
    out = [None] * threads
    go = threading.Barrier(threads)

    def worker(k):
        go.wait()
        out[k] = state._merge_loop(merges, int(work_ms * 1e6), 1.0, not spin)

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = (max(r["end_ns"] for r in out) - min(r["start_ns"] for r in out)) / 1e9
    n = sum(r["merges"] for r in out)
    hold = sum(r["hold_ns"] for r in out)
    wait = sum(r["wait_ns"] for r in out)
    per_worker_rate = statistics.mean(r["merges"] / ((r["end_ns"] - r["start_ns"]) / 1e9) for r in out)
    return {"output": output, "dim": dim, "threads": threads, "locks": locks, "merges": n, "wall_s": wall,
            "merges_per_s": n / wall, "merges_per_s_per_worker": per_worker_rate,
            "hold_us_per_merge": hold / n / 1e3, "hold_us_per_lock_per_merge": hold / n / locks / 1e3,
            "wait_us_per_merge": wait / n / 1e3, "max_wait_us": max(r["max_wait_ns"] for r in out) / 1e3,
            "lock_held_fraction": hold / (wall * 1e9) / locks,
            "merge_fraction_of_worker_time": hold / (wall * 1e9) / threads,
            "load": os.getloadavg()[0]}


def projection(hold_us_per_lock, rate):
    """Workers at which one lock is held all the time: W* = 1 / (rate x hold)."""
    return 1.0 / (rate * hold_us_per_lock * 1e-6)


def write_md(path, data):
    lines = ["# The merge of the hot rows: cost, lock hold and wait times", "",
             "Written by `benchmarks/merge_lock.py` (see its docstring); one section per run label. "
             "W* = 1 / (merges per second per worker x hold time of one lock per merge): the worker count "
             "at which a lock would be held all the time, projected from this machine's hold times at "
             "100 merges/s per worker (10,000 words between merges at 1M words/s per core) and at 175/s "
             "(CBOW's 1.75M words/s per thread on wiki17m)."]
    for label, e in data.items():
        lines += ["", f"## {label}", "",
                  f"`{e['command']}` at commit {e['commit'][:10]}, {e['cpu']} ({e['cores']} cores), "
                  f"{e['time']}. Merge locks: {e['locks_desc']}.", "",
                  "### One merge (1 thread, back to back)", "",
                  "| output | dim | hot rows | MB of shared rows | µs per merge | ns per MB |", "|---|---|---|---|---|---|"]
        for r in e["one_merge"]:
            lines.append(f"| {r['output']} | {r['dim']} | {r['hot_rows']:,} | {r['mb']:.2f} | "
                         f"{r['ns_per_merge'] / 1e3:,.0f} | {r['ns_per_mb']:,.0f} |")
        lines += ["", f"### Many workers, each merging after {e['work_ms']} ms of simulated training "
                  f"({'spinning' if e['spin'] else 'sleeping'})", "",
                  "| output | dim | threads | locks | merges/s | per worker | hold µs/merge | hold µs per lock | "
                  "wait µs/merge | max wait µs | lock held | W* @100/s | W* @175/s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in e["many"]:
            h = r["hold_us_per_lock_per_merge"]
            lines.append(f"| {r['output']} | {r['dim']} | {r['threads']} | {r['locks']} | {r['merges_per_s']:,.0f} | "
                         f"{r['merges_per_s_per_worker']:.1f} | {r['hold_us_per_merge']:,.0f} | {h:,.1f} | "
                         f"{r['wait_us_per_merge']:,.0f} | {r['max_wait_us']:,.0f} | "
                         f"{100 * r['lock_held_fraction']:.1f} % | {projection(h, 100):,.0f} | "
                         f"{projection(h, 175):,.0f} |")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--label", required=True, help="name of this run's entry in results.json (e.g. before, after)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "merge-lock"))
    ap.add_argument("--dims", default="100,300")
    ap.add_argument("--outputs", default="ns,hs", help="ns (negative sampling), hs (hierarchical softmax)")
    ap.add_argument("--vocab", type=int, default=100_000)
    ap.add_argument("--one-merges", type=int, default=300, help="merges timed in (a)")
    ap.add_argument("--threads", default="1,2,4,8,16,32,64")
    ap.add_argument("--many-dim", type=int, default=100, help="dim of the runs of (b)")
    ap.add_argument("--merges", type=int, default=150, help="merges per worker in (b)")
    ap.add_argument("--work-ms", type=float, default=10.0, help="simulated training between two merges")
    ap.add_argument("--spin", action="store_true", help="spin instead of sleeping between merges")
    ap.add_argument("--blocks", default="1,default",
                    help="merge locks to compare: block counts, or 'default' (train.MERGE_BLOCKS); ignored by "
                         "kernels with one lock")
    args = ap.parse_args(argv)
    sys.path.insert(0, REPO)
    import w2v
    from w2v import _kernels
    if blocks_supported():
        from w2v.train import MERGE_BLOCKS
        blocks = [MERGE_BLOCKS if b == "default" else int(b) for b in args.blocks.split(",")]
        desc = " and ".join(map(str, blocks)) + f" blocks of rows with a lock each (training uses {MERGE_BLOCKS})"
    else:
        blocks, desc = [None], "one global lock"
    one = []
    for output in args.outputs.split(","):
        for dim in map(int, args.dims.split(",")):
            r = one_merge(output, dim, args.vocab, blocks[-1], args.one_merges)
            one.append(r)
            print(f"one merge {output} dim {dim}: {r['hot_rows']} rows, {r['mb']:.2f} MB, "
                  f"{r['ns_per_merge'] / 1e3:,.0f} µs", file=sys.stderr, flush=True)
    rows = []
    for output in args.outputs.split(","):
        for b in blocks:
            for n in map(int, args.threads.split(",")):
                r = many(output, args.many_dim, args.vocab, b, n, args.merges, args.work_ms, args.spin)
                rows.append(r)
                print(f"{output} {r['locks']:2} lock(s) {n:3} threads: {r['merges_per_s']:,.0f} merges/s, hold "
                      f"{r['hold_us_per_merge']:,.0f} µs/merge, wait {r['wait_us_per_merge']:,.0f} µs/merge, "
                      f"lock held {100 * r['lock_held_fraction']:.1f} % (load {r['load']:.2f})",
                      file=sys.stderr, flush=True)
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    entry = {"command": " ".join(["python"] + [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
             "commit": commit, "cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
             "kernels": _kernels.VARIANT, "w2v": os.path.dirname(w2v.__file__), "time": time.ctime(),
             "locks_desc": desc, "work_ms": args.work_ms, "spin": args.spin, "one_merge": one, "many": rows}
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results.json")
    data = {}
    if os.path.exists(path):
        with open(path) as fh:
            data = json.load(fh)
    data[args.label] = entry
    with open(path + ".tmp", "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(path + ".tmp", path)
    write_md(os.path.join(args.out, "results.md"), data)
    print(open(os.path.join(args.out, "results.md")).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
