#!/usr/bin/env python3
"""How the rows the workers changed in a round should be merged: a study in one process, without Dask.

    python benchmarks/merge_rules.py --corpus SHARD_DIR --workers 4 --epochs 1 --merge sum --measure

Runs the distributed algorithm of w2v.distributed in one process: one w2v.distributed.Replica per shard
(one thread each), trained one after the other on the same round, then merged by the rule given, exactly as
the Dask client does (the replicas, the rounds, the learning rate and the exchange are the library's own; only
the merge is chosen here). With --measure it also records, per round and per frequency band of the
vocabulary (rows sorted by count), for the rows every worker changed:

  cos     the mean cosine between two workers' changes of the same row (1: they all point the same way)
  gain    |sum of the changes| / mean |change|: what summing multiplies one worker's step by (W when aligned)
  grow    |change after the whole round| / |change after its first half| for worker 0: about 2 while the
          row moves linearly with the words it sees, about 1 when it has reached where its shard pulls it
          within the round (saturated: summing W such changes then overshoots by W - 1 times the step)
  drift   |master row after the round - before| / |master row|, the merged step

Prints one line per round and band, then analogy (30,000 most frequent words) and WS353 of the result.
--warmup K starts the first epoch with rounds of 1/2^K, ..., 1/2 of a round. The library's merge "scaled"
is cap:2 here. Results of the study: benchmarks/results/distributed/merge_study.md.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

BANDS = [(0, 100), (100, 1000), (1000, 10000), (10000, None)]


def main():
    from w2v.distributed import MATRICES, Replica, assign_shards, corpus_files, merge_counts, reconcile, _pack
    from w2v.params import Params
    from w2v.train import Word2Vec, init_weights

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--round-words", type=int, default=1_000_000)
    ap.add_argument("--merge", default="sum")
    ap.add_argument("--measure", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="append a result line to this file")
    ap.add_argument("--warmup", type=int, default=0, help="first epoch: K rounds of 1/2^K, ..., 1/2 round before the full ones")
    args = ap.parse_args()

    p = Params(model="sg", dim=100, epochs=args.epochs, seed=args.seed, threads=1).validate()
    files = corpus_files(args.corpus)
    shards = assign_shards([os.path.getsize(f) for f in files], args.workers)
    pdict = {k: getattr(p, k) for k in p.__dataclass_fields__ if k != "threads"}
    reps = [Replica(k, [files[i] for i in s], pdict, threads=1) for k, s in enumerate(shards)]
    per_file = {}
    for k, r in enumerate(reps):
        for i, c in zip(shards[k], r.count()):
            per_file[i] = c
    vocab, _ = merge_counts([per_file[i] for i in sorted(per_file)], p.min_count, p.max_vocab)
    corpus_words = sum(r.encode(_pack(vocab.words), vocab.counts)["train_words"] for r in reps)
    global CROSS, CAP, CAP_K
    CROSS = args.merge != "contract"
    CAP = args.merge.startswith("cap:")
    CAP_K = float(args.merge.split(":")[1]) if CAP else 1.0
    sub = 2 if (args.measure or args.merge.startswith(("contract", "cap:"))) else 1
    rounds = max(1, -(-max(r.train_words for r in reps) // args.round_words))
    master = Word2Vec(p, vocab, *[np.ascontiguousarray(w) for w in init_weights(len(vocab), p.dim, p.seed)])
    for r in reps:
        r.plan(rounds * sub, corpus_words, p.epochs)
        r.load(*[getattr(master, m) for m in MATRICES])
    print(f"{len(vocab):,} words, {corpus_words:,} corpus words, {args.workers} workers, {rounds} rounds/epoch, "
          f"merge {args.merge}", flush=True)
    incoming = [None] * len(reps)
    words_done = 0
    t0 = time.perf_counter()
    log = []
    uniform = [list(r.starts) for r in reps]
    for epoch in range(p.epochs):
        n_rounds = rounds
        if args.warmup and epoch == 0 and sub == 1:
            L = 1.0 / rounds
            fr = [0.0]
            for k in range(args.warmup, 0, -1):
                fr.append(fr[-1] + L / 2 ** k)
            while fr[-1] < 1 - 1e-12:
                fr.append(min(1.0, fr[-1] + L))
            for r in reps:
                before_w = np.concatenate([[0], np.cumsum(r.chunk_words)])[:-1]
                r.starts = [int(np.searchsorted(before_w, r.train_words * f, side="left")) for f in fr[:-1]] + [len(r.chunk_words)]
            n_rounds = len(fr) - 1
        else:
            for r, u in zip(reps, uniform):
                r.starts = list(u)
        for rnd in range(n_rounds):
            before = [getattr(master, m).copy() for m in MATRICES] if sub == 2 else None
            changed, half = [], []
            for k, r in enumerate(reps):
                res = r.train_round(incoming[k], epoch, rnd * sub, words_done)
                got = res["changed"]
                words = res["words"]
                if sub == 2:
                    # the first half's change of worker 0, then the second half (same replica, same round)
                    half.append([_dense(before[m], got[m]) - before[m] for m in range(len(MATRICES))])
                    res2 = r.train_round(None, epoch, rnd * sub + 1, words_done + words * len(reps))
                    got = [_union(a, b) for a, b in zip(got, res2["changed"])]
                    words += res2["words"]
                changed.append(got)
            words_done += _words_in_round(reps, rnd, sub)
            if args.measure:
                _measure(before, changed, half[0], epoch, rnd)
            if args.merge.startswith("damp"):
                per_matrix = [damp(getattr(master, name), [c[m] for c in changed], name)
                              for m, name in enumerate(MATRICES)]
            elif args.merge.startswith("bmuf"):
                per_matrix = [bmuf(getattr(master, name), [c[m] for c in changed], name, args.merge)
                              for m, name in enumerate(MATRICES)]
            elif args.merge.startswith(("contract", "cap:")):
                per_matrix = [contract(getattr(master, name), [c[m] for c in changed], [h[m] for h in half], name)
                              for m, name in enumerate(MATRICES)]
            else:
                per_matrix = [merge(getattr(master, name), [c[m] for c in changed], args.merge)
                              for m, name in enumerate(MATRICES)]
            incoming = [[back[k] for back in per_matrix] for k in range(len(reps))]
            if args.measure:
                for m, name in enumerate(MATRICES):
                    for band in BANDS[:2]:
                        a, b = band
                        d = np.linalg.norm(getattr(master, name)[a:b] - before[m][a:b], axis=1)
                        n = np.linalg.norm(before[m][a:b], axis=1) + 1e-12
                        print(f"  {name} rows {a}-{b}: drift {np.median(d / n):.3f}", flush=True)
    train_s = time.perf_counter() - t0
    from w2v.evaluate import evaluate_analogies, evaluate_word_pairs
    from compare import SHARED_EVAL
    kv = master.wv
    a = evaluate_analogies(kv, os.path.join(SHARED_EVAL, "questions-words.txt"), restrict_vocab=30000)
    w = evaluate_word_pairs(kv, os.path.join(SHARED_EVAL, "wordsim353.tsv"))
    out = {"warmup": args.warmup, "workers": args.workers, "merge": args.merge, "epochs": p.epochs, "round_words": args.round_words,
           "rounds_per_epoch": rounds, "analogy": a["accuracy"], "ws353": w["spearman"], "train_s": train_s}
    print(json.dumps(out), flush=True)
    if args.json:
        with open(args.json, "a") as fh:
            fh.write(json.dumps(out) + "\n")


def _words_in_round(reps, rnd, sub):
    total = 0
    for r in reps:
        a, b = r.starts[rnd * sub], r.starts[(rnd + 1) * sub]
        total += int(r.chunk_words[a:b].sum())
    return total


def _dense(base, pair):
    out = base.copy()
    rows, values = pair
    out[rows] = values
    return out


def _union(first, second):
    """Rows changed over two halves: the second half's values where it changed a row, else the first's."""
    r1, v1 = first
    r2, v2 = second
    keep = ~np.isin(r1, r2)
    rows = np.concatenate([r1[keep], r2])
    values = np.concatenate([v1[keep], v2])
    order = np.argsort(rows, kind="stable")
    return rows[order], values[order]


def merge(master, changed, rule):
    """The library's rules (scaled without the half-round measurement is sum; sum, average) and candidates:
    sqrt (the sum over the square root of the number of workers that changed the row), split:N (average the
    N most frequent rows, sum the others). Further candidates: contract, contract-cross, cap:K (contract()),
    bmuf (bmuf()), damp (damp())."""
    from w2v.distributed import MERGES, _who_changed, reconcile
    if rule in MERGES:
        return reconcile(master, changed, rule)
    v = len(master)
    count, union, _ = _who_changed(v, changed)
    where = np.full(v, -1, dtype=np.int64)
    where[union] = np.arange(len(union))
    delta = np.zeros((len(union), master.shape[1]), dtype=np.float32)
    for rows, values in changed:
        delta[where[rows]] += values - master[rows]
    c = count[union].astype(np.float32)
    if rule == "sqrt":
        scale = 1 / np.sqrt(c)
    elif rule.startswith("split:"):
        scale = np.where(union < int(rule.split(":")[1]), 1 / c, 1.0)
    else:
        raise SystemExit(f"unknown merge {rule}")
    master[union] += delta * scale[:, None].astype(np.float32)
    back = []
    for rows, _ in changed:
        mine = np.zeros(v, dtype=bool)
        mine[rows[count[rows] == 1]] = True
        send = union[~mine[union]].astype(np.int32)
        back.append((send, master[send]))
    return back


PREV = {}


def damp(master, changed, name):
    """Sum, with a per-row scale that halves (down to 1/c) when the workers' summed change of a row points
    back against the row's last merged step (the last step overshot) and grows back by 1.25 (up to 1) when not."""
    v, dim = master.shape
    prev, scale = PREV.setdefault(name, (np.zeros((v, dim), dtype=np.float32), np.ones(v, dtype=np.float32)))
    count = np.zeros(v, dtype=np.int32)
    total = np.zeros((v, dim), dtype=np.float32)
    for rows, values in changed:
        count[rows] += 1
        total[rows] += values - master[rows]
    union = np.flatnonzero(count)
    back_turn = np.einsum("ij,ij->i", total[union], prev[union]) < 0
    sc = scale[union]
    sc = np.where(back_turn, sc * 0.5, np.minimum(1.0, sc * 1.25))
    sc = np.maximum(sc, 1.0 / count[union])
    scale[union] = sc
    step = total[union] * sc[:, None]
    prev[union] = step
    master[union] += step
    if not hasattr(damp, "n"):
        damp.n = 0
    damp.n += 1
    print(f"  {name} scale by rank: " + " ".join(f"{a}:{float(np.mean(scale[a:b])):.2f}" for a, b in
          ((0, 100), (100, 1000), (1000, 10000), (10000, v))), flush=True)
    back = []
    for rows, _ in changed:
        mine = np.zeros(v, dtype=bool)
        mine[rows[count[rows] == 1]] = True
        send = union[~mine[union]].astype(np.int32)
        back.append((send, master[send]))
    return back


MOMENTUM = {}


def bmuf(master, changed, name, rule):
    """Blockwise model-update filtering (Chen & Huo 2016): the workers' changes averaged over all W workers
    (a worker that did not change a row contributes 0), filtered by a momentum eta = 1 - 1/W across rounds:
    step = eta * step + mean; master += step. A steady change of every worker adds up to the sum of the
    changes; a change that overshoots dies out instead of growing."""
    w = len(changed)
    v, dim = master.shape
    eta = 1.0 - 1.0 / w if rule == "bmuf" else float(rule.split(":")[1])
    step = MOMENTUM.setdefault(name, np.zeros((v, dim), dtype=np.float32))
    mean = np.zeros((v, dim), dtype=np.float32)
    for rows, values in changed:
        mean[rows] += values - master[rows]
    mean /= w
    step *= eta
    step += mean
    master += step
    moved = np.flatnonzero(np.any(step != 0, axis=1)).astype(np.int32)
    return [(moved, master[moved]) for _ in changed]


CROSS = False     # set by the rule's name: contract (own products), contract-cross, cap:K (cross products, capped)
CAP = False
CAP_K = 1.0


def contract(master, changed, halves, name):
    """Each row's merged step is what one process taking all the workers' updates of the row would have
    moved it, if each update pulled the row a fixed share of the way to where the data pulls it: from a
    worker's first-half change h and whole-round change f, the half round's contraction rho = <f - h, h> / |h|^2
    (1: the row moves linearly, 0: it got there within the half round), pooled over the workers and over
    rows of similar frequency (bins of doubling rank). c workers, each f: mean f x (1 - rho^2c) / (1 - rho^2)."""
    v = len(master)
    count = np.zeros(v, dtype=np.int32)
    for rows, _ in changed:
        count[rows] += 1
    union = np.flatnonzero(count)
    where = np.full(v, -1, dtype=np.int64)
    where[union] = np.arange(len(union))
    delta = np.zeros((len(union), master.shape[1]), dtype=np.float32)
    num = np.zeros(v)
    den = np.zeros(v)
    dim = master.shape[1]
    sum_h = np.zeros((v, dim))
    sum_s = np.zeros((v, dim))
    for (rows, values), h in zip(changed, halves):
        f = values - master[rows]
        delta[where[rows]] += f
        hr = h[rows]
        sr = f - hr
        sum_h[rows] += hr
        sum_s[rows] += sr
        if CROSS:       # only products of different workers' changes: their noise is independent
            num[rows] -= np.einsum("ij,ij->i", sr, hr)
            den[rows] -= np.einsum("ij,ij->i", hr, hr)
        else:
            num[rows] += np.einsum("ij,ij->i", sr, hr)
            den[rows] += np.einsum("ij,ij->i", hr, hr)
    if CROSS:
        num += np.einsum("ij,ij->i", sum_s, sum_h)
        den += np.einsum("ij,ij->i", sum_h, sum_h)
    edges = [0] + [1 << i for i in range(int(np.ceil(np.log2(max(v, 2)))) + 1)]
    edges = sorted(set(min(e, v) for e in edges))
    rho = np.ones(v)
    shown = []
    for a, b in zip(edges[:-1], edges[1:]):
        d = den[a:b].sum()
        r = float(np.clip(num[a:b].sum() / d, 0.0, 1.0)) if d > 0 else 1.0
        rho[a:b] = r
        shown.append(f"{a}:{r:.2f}")
    print(f"  {name} rho by rank: {' '.join(shown)}", flush=True)
    c = count[union].astype(np.float64)
    r2 = rho[union] ** 2
    if CAP:     # sum, unless the workers together pull the row past where each alone would take it
        factor = np.minimum(c, CAP_K / np.maximum(1 - r2, 1e-12))
    else:
        factor = np.where(r2 < 1 - 1e-9, (1 - r2 ** c) / np.maximum(1 - r2, 1e-12), c)
    master[union] += (delta * (factor / c)[:, None]).astype(np.float32)
    back = []
    for rows, _ in changed:
        mine = np.zeros(v, dtype=bool)
        mine[rows[count[rows] == 1]] = True
        send = union[~mine[union]].astype(np.int32)
        back.append((send, master[send]))
    return back


def _measure(before, changed, half, epoch, rnd):
    from w2v.distributed import MATRICES
    for m, name in enumerate(MATRICES):
        base = before[m]
        deltas = [_dense(base, c[m]) - base for c in changed]
        for a, b in BANDS:
            d = np.stack([x[a:b] for x in deltas])             # workers x rows x dim
            norms = np.linalg.norm(d, axis=2)
            every = np.all(norms > 0, axis=0)
            if not every.any():
                continue
            d, norms = d[:, every], norms[:, every]
            u = d / norms[:, :, None]
            w = len(d)
            cos = [np.sum(u[i] * u[j], axis=1) for i in range(w) for j in range(i + 1, w)]
            cos = float(np.median(np.mean(cos, axis=0))) if cos else float("nan")
            gain = float(np.median(np.linalg.norm(d.sum(axis=0), axis=1) / norms.mean(axis=0)))
            h = np.linalg.norm(half[m][a:b][every], axis=1)
            grow = float(np.median(norms[0] / np.maximum(h, 1e-12)))
            print(f"e{epoch} r{rnd} {name} rows {a}-{b if b else 'end'}: {int(every.sum())} changed by all; "
                  f"cos {cos:.2f} gain {gain:.2f} grow {grow:.2f} |change| {float(np.median(norms)):.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
