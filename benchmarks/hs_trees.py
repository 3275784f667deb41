#!/usr/bin/env python3
"""Hierarchical softmax: do equally optimal Huffman trees train equally good vectors? One trainer at a time,
only the tree differs.

    python benchmarks/hs_trees.py --corpus wiki17m.txt --trainers gensim,w2v --trees gensim,order,perm:12345 --seeds 4,5,6

Trees (all of the same total code length): "gensim" (gensim's own, built with a heap whose items compare by
count only; w2v's default, `hs_tree="gensim"`), "order" (word2vec.c's CreateBinaryTree over the vocabulary
sorted by count, ties in vocabulary order, i.e. in the order the words first appear in the corpus; w2v's
`hs_tree="word2vec"`) and "perm:K" (the same two-pointer
build with the words of equal count in the order of a random permutation with seed K). gensim is given a tree by
replacing its code assignment (every word's codes and inner nodes); w2v by replacing the tree its trainer
builds. Hierarchical softmax alone (negative 0), 1 epoch, 1 thread, dim 100,
window 5, min_count 5, sample 1e-3, alpha 0.025 (sg) / 0.05 (cbow). Each run prints one JSON line: analogy
accuracy (30,000 most frequent words) and WS353 Spearman, scored by w2v's evaluator. The corpus must be a plain
text file (gensim's corpus_file).
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import SHARED_EVAL  # noqa: E402


def make_tree(counts, tree):
    """The "order" or "perm:K" tree over counts (in any order), as a w2v.vocab.HuffmanTree."""
    from w2v import _kernels
    from w2v.vocab import HuffmanTree
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    if tree == "order":
        return HuffmanTree(counts, "word2vec")
    if not tree.startswith("perm:"):
        raise SystemExit(f"unknown tree {tree!r}")
    n = len(counts)
    perm = np.random.default_rng(int(tree[5:])).permutation(n)
    order = perm[np.argsort(-counts[perm], kind="stable")]      # by count, ties in the permutation's order
    path, start = _kernels.build_huffman(np.ascontiguousarray(counts[order]))
    lengths = np.empty(n, dtype=np.int64)
    lengths[order] = np.diff(start)
    code_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=code_start[1:])
    source = np.empty(n, dtype=np.int64)
    source[order] = start[:-1]
    gather = np.repeat(source - code_start[:-1], lengths) + np.arange(code_start[-1], dtype=np.int64)
    t = HuffmanTree(counts[:1])
    t.path_entries, t.code_start = path[gather], code_start
    return t


def gensim_run(corpus, model, tree, seed, out):
    import gensim.models.word2vec as gw

    def assign(wv):
        counts = np.array([wv.get_vecattr(i, "count") for i in range(len(wv))], dtype=np.int64)
        t = make_tree(counts, tree)
        for k in range(len(wv)):
            codes, points = t.path(k)
            wv.set_vecattr(k, "code", np.asarray(codes, dtype=np.uint8))
            wv.set_vecattr(k, "point", np.asarray(points, dtype=np.uint32))

    if tree != "gensim":
        gw._assign_binary_codes = assign
    m = gw.Word2Vec(corpus_file=corpus, vector_size=100, window=5, min_count=5, sample=1e-3, hs=1, negative=0,
                    sg=int(model == "sg"), workers=1, epochs=1, seed=seed,
                    alpha=0.025 if model == "sg" else 0.05, min_alpha=0.0001)
    m.wv.save_word2vec_format(out, binary=True)


def w2v_run(corpus, model, tree, seed, out):
    import importlib
    import w2v
    wt = importlib.import_module("w2v.train")     # (w2v.train is also the function)
    kind = {"gensim": "gensim", "order": "word2vec"}.get(tree)
    if kind is None:        # a permuted tree: replace the one the trainer builds
        real = wt.HuffmanTree

        class Tree:
            estimate_bytes = staticmethod(real.estimate_bytes)

            def __new__(cls, counts, kind=None):
                return make_tree(counts, tree)

        wt.HuffmanTree = Tree
    m = w2v.train(corpus, model=model, hs=True, negative=0, threads=1, epochs=1, seed=seed, quiet=True,
                  alpha=0.025 if model == "sg" else 0.05, hs_tree=kind or "word2vec")
    m.wv.save(out, format="bin")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--trainers", default="gensim,w2v")
    ap.add_argument("--trees", default="gensim,order,perm:12345")
    ap.add_argument("--models", default="sg")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--work", default="/tmp")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        trainer, model, tree, seed = args.child
        out = os.path.join(args.work, f"hs-tree-{trainer}-{model}-{tree}-{seed}.bin")
        (gensim_run if trainer == "gensim" else w2v_run)(args.corpus, model, tree, int(seed), out)
        import w2v
        from w2v.evaluate import evaluate_analogies, evaluate_word_pairs
        kv = w2v.load(out)
        a = evaluate_analogies(kv, os.path.join(SHARED_EVAL, "questions-words.txt"), restrict_vocab=30000)
        w = evaluate_word_pairs(kv, os.path.join(SHARED_EVAL, "wordsim353.tsv"))
        os.remove(out)
        print(json.dumps({"trainer": trainer, "model": model, "tree": tree, "seed": int(seed),
                          "analogy": round(100 * a["accuracy"], 2), "ws353": round(w["spearman"], 4)}), flush=True)
        return
    import subprocess
    for model in args.models.split(","):
        for trainer in args.trainers.split(","):
            trees = args.trees.split(",")
            for seed in args.seeds.split(","):
                for tree in trees:       # a fresh process per run: gensim's code assignment is patched
                    subprocess.run([sys.executable, __file__, "--corpus", args.corpus, "--work", args.work,
                                    "--child", trainer, model, tree, seed], check=True)


if __name__ == "__main__":
    main()
