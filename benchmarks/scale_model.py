#!/usr/bin/env python3
"""The arithmetic of benchmarks/scale.md: a distributed run's time, traffic and memory on a cluster, from
what was measured on one machine.

    python benchmarks/scale_model.py                        # 100 billion tokens, 50 machines of 32 cores
    python benchmarks/scale_model.py --tokens 1e11 --machines 50 --cores 32 --dim 300 --vocab 2000000 \\
        --round-words 50000000 --rare-every 8 --gbit 10 --check /tmp/wiki_counts.npy

Inputs (defaults are the measurements in benchmarks/results/distributed/ and the dim-300 runs in
benchmarks/results/dim300-padded/; change them with the options):

- words/s per core of skip-gram at dim 100 and dim 300 (one worker process, one thread);
- the client's merge cost per float of the rows it receives (seconds per 10^9 floats);
- how many rows a round touches: a word's input row (syn0) changes when one of its occurrences survives
  subsampling, its output row (syn1neg) when it is a centre word or drawn as a noise word, so with N corpus
  words a round, a word of frequency p, keep probability k and noise probability q (count^0.75) changes its
  syn0 row with probability 1 - exp(-N p k) and its syn1neg row with 1 - exp(-N (p k + negative K q)), K the
  share of words subsampling keeps. --check COUNTS.npy prints this model next to the shares measured on that
  corpus (the counts of its vocabulary, numpy int64, in vocabulary order).
- the vocabulary of a large corpus: Zipf's law (the r-th word's frequency proportional to 1/r^s over
  --distinct words), cut to the --vocab most frequent words.
"""
import argparse
import math

import numpy as np

GB = 1e9


def zipf_counts(tokens, distinct, vocab, s=1.0):
    """Counts of the `vocab` most frequent of `distinct` words whose frequencies follow Zipf's law."""
    head = min(distinct, max(vocab, 1_000_000))
    r = np.arange(1, head + 1, dtype=np.float64)
    w = r ** -s
    norm = w.sum()
    if distinct > head:     # the rest of the sum, as an integral
        norm += (math.log(distinct / head) if s == 1 else (distinct ** (1 - s) - head ** (1 - s)) / (1 - s))
    return w[:vocab] * tokens / norm


def keep_probability(counts, sample=1e-3, total=None):
    total = counts.sum() if total is None else total
    ratio = sample * total / counts
    return np.minimum(1.0, np.sqrt(ratio) + ratio)


def touched(counts, round_words, negative=5, sample=1e-3, total=None):
    """Expected share of rows (syn0, syn1neg) one worker changes in a round of round_words corpus words,
    and the per-row probabilities."""
    total = counts.sum() if total is None else total
    p = counts / total
    k = keep_probability(counts, sample, total)
    kept = (p * k).sum()
    q = counts ** 0.75
    q /= q.sum()
    s0 = -np.expm1(-round_words * p * k)
    s1 = -np.expm1(-round_words * (p * k + negative * kept * q))
    return s0, s1


def frequent_rows(counts, share=0.9):
    cum = np.cumsum(counts)
    return int(min(len(cum), np.searchsorted(cum, share * cum[-1]) + 1))


def project(a):
    counts = zipf_counts(a.tokens, a.distinct, a.vocab, a.zipf)
    v, dim, n = len(counts), a.dim, a.machines
    # float32 values (float16 changes with overlapping rounds) and an int32 row number
    row = (2 if a.overlap else 4) * dim + 4
    per_core = a.speed300 if dim >= 300 else a.speed100
    machine_rate = a.cores * per_core * a.core_efficiency
    epoch_s = a.tokens / (n * machine_rate)
    shard = a.tokens / n
    round_s = a.round_words / machine_rate
    rounds = math.ceil(shard / a.round_words)
    s0, s1 = touched(counts, a.round_words, total=a.tokens)
    f = frequent_rows(counts)
    # rows a worker sends: all changed rows in a full round; only the frequent ones in the others
    up_full = (s0.sum() + s1.sum()) * row
    up_part = (s0[:f].sum() + s1[:f].sum()) * row
    # rows it gets back: those any other worker changed
    o0, o1 = 1 - (1 - s0) ** (n - 1), 1 - (1 - s1) ** (n - 1)
    down_full = (o0.sum() + o1.sum()) * row
    down_part = (o0[:f].sum() + o1[:f].sum()) * row
    k = a.rare_every
    up = (up_full + (k - 1) * up_part) / k
    down = (down_full + (k - 1) * down_part) / k
    link = a.gbit * 1e9 / 8
    hub_s = max(n * up, n * down) / link               # every byte passes the client's link (full duplex)
    merge_s = n * up / row * dim / 1e9 * a.merge_s_per_gfloat
    worker_net_s = max(up, down) / link
    model = 2 * v * dim * 4
    padded = 2 * v * (math.ceil(dim / 16) * 16 if (math.ceil(dim / 16) * 16 - dim) * 16 <= dim else dim) * 4
    mem_worker = padded + model + 4 * shard * 1.05 + a.cores * 4 * 512 * 1024
    # the master copy, every worker's rows of a full round, the merged changes, and every worker's rows to send back
    mem_client = model + n * up_full + model + n * down_full
    return {
        "vocab": v, "dim": dim, "machines": n, "cores": a.cores, "frequent_rows": f,
        "machine_words_per_s": machine_rate, "epoch_compute_s": epoch_s, "rounds_per_epoch": rounds,
        "round_compute_s": round_s, "touched_syn0": float(s0.mean()), "touched_syn1neg": float(s1.mean()),
        "up_per_worker_full_gb": up_full / GB, "up_per_worker_gb": up / GB, "down_per_worker_gb": down / GB,
        "hub_bytes_per_round_gb": n * (up + down) / GB, "hub_s_per_round": hub_s, "merge_s_per_round": merge_s,
        "worker_net_s_per_round": worker_net_s,
        # with overlap, a round's merge and transfer run during the next round's compute
        "epoch_s_hub": rounds * (max(round_s, hub_s + merge_s) if a.overlap else round_s + hub_s + merge_s),
        "epoch_s_sharded": rounds * max(round_s, 2 * worker_net_s),
        "traffic_per_epoch_tb": rounds * n * (up + down) / 1e12,
        "dense_per_worker_gb": model / GB,
        "mem_worker_gb": mem_worker / GB, "mem_client_gb": mem_client / GB,
    }


def check(path, round_words_list, negative=5, sample=1e-3):
    counts = np.load(path).astype(np.float64)
    print(f"{path}: {len(counts):,} words, {counts.sum():,.0f} tokens, frequent rows (90%): {frequent_rows(counts):,}")
    for nw in round_words_list:
        s0, s1 = touched(counts, nw, negative, sample)
        print(f"  round of {nw:,.0f} words: model says syn0 {100 * s0.mean():.0f}%, syn1neg {100 * s1.mean():.0f}% of "
              f"the rows change")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=float, default=1e11)
    ap.add_argument("--distinct", type=int, default=100_000_000, help="distinct tokens in the corpus")
    ap.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent of the word frequencies")
    ap.add_argument("--vocab", type=int, default=2_000_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--machines", type=int, default=50)
    ap.add_argument("--cores", type=int, default=32)
    ap.add_argument("--core-efficiency", type=float, default=1.0,
                    help="words/s of a core among 32 against alone (memory bandwidth, the hot-row merge)")
    ap.add_argument("--speed100", type=float, default=700e3, help="skip-gram words/s per core at dim 100")
    ap.add_argument("--speed300", type=float, default=326e3, help="skip-gram words/s per core at dim 300")
    ap.add_argument("--merge-s-per-gfloat", type=float, default=2.0,
                    help="the client's merge: seconds per 10^9 floats received")
    ap.add_argument("--round-words", type=float, default=50e6)
    ap.add_argument("--rare-every", type=int, default=1)
    ap.add_argument("--gbit", type=float, default=10.0, help="network link of every machine, Gbit/s")
    ap.add_argument("--overlap", action="store_true",
                    help="overlapping rounds: changes travel as float16, the client's work hides behind the compute")
    ap.add_argument("--check", help="a vocabulary's counts (.npy) to compare the touched-rows model with")
    ap.add_argument("--check-rounds", default="250000,1000000,4000000")
    args = ap.parse_args()
    if args.check:
        check(args.check, [float(x) for x in args.check_rounds.split(",")])
        return
    r = project(args)
    width = max(len(k) for k in r)
    for k, v in r.items():
        print(f"{k:<{width}}  {v:,.3f}" if isinstance(v, float) else f"{k:<{width}}  {v:,}")


if __name__ == "__main__":
    main()
