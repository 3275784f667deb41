"""Break one ingredient of training or evaluation on purpose, run the test suite, and check it fails.

    python tests/breakages.py                 # every breakage, each in a fresh copy of the committed tree
    python tests/breakages.py --only lr-frozen,cbow-sum
    python tests/breakages.py --list
    python tests/breakages.py --pip           # install each broken copy with pip and run plain `pytest`

Each breakage is a one-line change (an exact piece of text replaced by another). For each, a copy of the
repository's last commit gets the change, its compiled modules are rebuilt if the change touches them,
and the suite runs (stopping at the first failure). A breakage the suite does not notice is reported and
makes this script exit 1. Not collected by pytest (the name does not start with test_); it takes about a
minute per breakage that touches compiled code.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

KERNELS = "w2v/_kernels_impl.pxi"

# (name, ingredient, file, text, replacement)
BREAKAGES = [
    ("subsampling-off", "subsampling on/off", "w2v/train.py",
     "    keep = keep_probabilities(vocab.counts, p.sample)\n", "    keep = None\n"),
    ("subsampling-formula", "subsampling formula", "w2v/vocab.py",
     "np.sqrt(ratio) + ratio", "np.sqrt(ratio)"),
    ("subsampling-inverted", "subsampling in the kernel", KERNELS,
     "if kp < 1.0 and rng_uniform(&rng) >= kp:", "if kp < 1.0 and rng_uniform(&rng) < kp:"),
    ("lr-frozen", "learning rate as the kernel applies it", KERNELS,
     "            alpha = current_alpha(m, w2v_atomic_add(<long long *>m.progress, unreported))",
     "            w2v_atomic_add(<long long *>m.progress, unreported)"),
    ("lr-formula", "learning-rate formula", KERNELS,
     "(m.alpha0 - m.min_alpha) * (<double>done / <double>m.total_words)",
     "(m.alpha0 - m.min_alpha) * (<double>done / <double>m.total_words) * 0.5"),
    ("lr-epoch-restart", "learning rate across epochs", "w2v/train.py",
     "state.set_progress((s.epoch - s.base_epoch) * s.train_words if fresh else s.words_done)",
     "state.set_progress(0)"),
    ("noise-exponent-ignored", "noise exponent", "w2v/train.py",
     "prob, alias = alias_table(vocab.counts, p.ns_exponent)", "prob, alias = alias_table(vocab.counts, 0.75)"),
    ("noise-power", "noise distribution", "w2v/vocab.py",
     "weights = np.power(np.asarray(counts, dtype=np.float64), exponent)",
     "weights = np.asarray(counts, dtype=np.float64)"),
    ("noise-alias-unused", "noise draws in the training loop", KERNELS,
     "        nz.words[j] = alias_resolve(m, r[j], nz.words[j])\n", "        pass\n"),
    ("alias-build", "alias table", KERNELS,
     "scaled[l] = (scaled[l] + scaled[s]) - 1.0", "scaled[l] = scaled[l] - 1.0"),
    ("label-true", "label of the true word", KERNELS,
     "g = (1.0 - sigmoid(f)) * alpha", "g = (0.0 - sigmoid(f)) * alpha"),
    ("label-noise", "label of noise words", KERNELS,
     "g = -sigmoid(f) * alpha", "g = (1.0 - sigmoid(f)) * alpha"),
    ("noise-equal-to-word", "a noise word equal to the true word is skipped", KERNELS,
     "            if target == word:\n                continue\n", "\n"),
    ("window-not-reduced", "reduced window", KERNELS,
     "b = <int>rng_below(&rng, <uint32_t>m.window)", "b = 0"),
    ("window-right-edge", "window bounds", KERNELS,
     "hi = i + m.window - b + 1", "hi = i + m.window - b"),
    ("cbow-sum", "CBOW's mean", KERNELS, "neu1[d] *= scale", "neu1[d] *= 1.0"),
    ("cbow-error-divided", "CBOW's error to every context word", KERNELS,
     "axpy(1.0, neu1e, in_row(m, context[j]), dim)", "axpy(scale, neu1e, in_row(m, context[j]), dim)"),
    ("sg-last-context", "every context word of a skip-gram window", KERNELS,
     "                    for j in range(nctx):\n                        status = sg_example",
     "                    for j in range(nctx - 1):\n                        status = sg_example"),
    ("sg-per-pair-context", "every context word (per-pair negatives)", KERNELS,
     "                for j in range(lo, hi):\n                    if j == i:\n                        continue\n"
     "                    for k in range(m.negative):",
     "                for j in range(lo, hi - 1):\n                    if j == i:\n                        continue\n"
     "                    for k in range(m.negative):"),
    ("sg-orientation", "skip-gram: the context word's vector predicts the centre word", KERNELS,
     "status = sg_example(m, ctx[j], w, negs, alpha, neu1e, &res.loss)",
     "status = sg_example(m, w, ctx[j], negs, alpha, neu1e, &res.loss)"),
    ("min-count", "min-count", "w2v/vocab.py",
     "(unit_counts >= min_count)", "(unit_counts > min_count)"),
    ("max-vocab", "max-vocab", "w2v/vocab.py",
     "units = units[:max_vocab]", "units = units[:max_vocab + 1]"),
    ("hot-merge-overwrites", "merge of the workers' hot rows", KERNELS,
     "v = shared[i] + (copy[i] - snap[i])", "v = copy[i]"),
    ("hot-merge-syn1neg", "merge of the workers' hot rows (syn1neg)", KERNELS,
     "        merge_part(shared.syn1neg, m.hot1, m.snap1, m, m.hot, b, nb)\n", "        pass\n"),
    ("merge-block-unlocked", "a block of hot rows merged without its lock", KERNELS,
     "if (todo >> b) & 1 and w2v_trylock(shared.merge_locks + b * LOCK_STRIDE):", "if (todo >> b) & 1:"),
    ("merge-wait-unlocked", "a merge that waits for a busy block merges it without the lock", KERNELS,
     "            w2v_lock(shared.merge_locks + b * LOCK_STRIDE)\n", "            pass\n"),
    ("merge-block-rows", "the rows of a block of hot rows", KERNELS,
     "r1 = <int64_t>rows * (b + 1) // nb", "r1 = r0 + rows // nb"),
    ("hot-merge-last", "the merge at the end of a chunk", KERNELS,
     "    if hot != NULL:\n        hot_merge_locked(shared, m, NULL)\n",
     "    if hot != NULL:\n"),
    ("chunks-skipped", "multi-worker chunking", "w2v/train.py",
     "                    s.next_chunk += 1\n", "                    s.next_chunk += 2\n"),
    ("chunk-first-token", "chunk bounds", "w2v/train.py",
     "state.train_chunk(\n                    int(bounds[c]), ", "state.train_chunk(\n                    int(bounds[c]) + 1, "),
    ("analogy-question-words", "exclusion of question words in analogy evaluation", "w2v/evaluate.py",
     "kv.analogy_rows(q[:, 0], q[:, 1], q[:, 2], exclude,", "kv.analogy_rows(q[:, 0], q[:, 1], q[:, 2], None,"),
    ("checkpoint-progress", "checkpoint state: where the schedule stands", "w2v/train.py",
     "state.set_progress((s.epoch - s.base_epoch) * s.train_words if fresh else s.words_done)",
     "state.set_progress((s.epoch - s.base_epoch) * s.train_words)"),
    ("checkpoint-syn1neg", "checkpoint state: the output weights", "w2v/train.py",
     "_ckpt.save(path, meta, v.words, v.counts, self.syn0, self.syn1neg, self.syn1)",
     "_ckpt.save(path, meta, v.words, v.counts, self.syn0, np.zeros_like(self.syn1neg), self.syn1)"),
    ("phrase-delta", "word2phrase's phrase score: the discount delta", "w2v/_phrases.pyx",
     "s = (cab - delta) / <double>ca / <double>cb * n", "s = (cab - min_count) / <double>ca / <double>cb * n"),
    ("phrase-threshold", "a phrase's score must exceed the threshold", "w2v/_phrases.pyx",
     "                if not s > threshold:", "                if s < threshold:"),
    ("phrase-npmi", "gensim's normalised PMI score", "w2v/_phrases.pyx",
     "s = log(pab / (pa * pb)) / -log(pab)", "s = log(pab / (pa * pb))"),
    ("sentences-batch-unbounded", "batches of Python sentences bound the scanner's table", "w2v/vocab.py",
     "stats.block_bytes // 2 + 18", "stats.block_bytes * 64"),
    ("sentences-held", "a generator's sentences are let go as they are encoded", "w2v/vocab.py",
     "        it = source.sentences()\n", "        it = iter(list(source.sentences()))\n"),
    ("token-list-sentence-end", "a token list is one sentence", "w2v/_scan.pyx",
     "            self.cur_pos += 1\n        self._end_line()\n", "            self.cur_pos += 1\n"),
    ("fingerprint-tail", "a file's fingerprint, hashed while reading", "w2v/corpus.py",
     'h.update(b"".join(self.tail)[-_ENDS:])', 'h.update(b"".join(self.tail)[:_ENDS])'),
    ("resume-token-hash", "resuming checks the corpus's tokens", "w2v/corpus.py",
     'if a["hash"] != b["hash"]:', "if False:"),
    # hierarchical softmax and CBOW with a sum
    ("hs-code-flipped", "hierarchical softmax: label 1 - code at each node", KERNELS,
     "gs[j] = (1 - code - SIGMOID_TABLE[cell]) * alpha", "gs[j] = (code - SIGMOID_TABLE[cell]) * alpha"),
    ("hs-clip-removed", "hierarchical softmax: saturated nodes skipped", KERNELS,
     "                gs[j] = 0.0\n", "                gs[j] = (1 - code - sigmoid(f)) * alpha\n"),
    ("hs-loss-sign", "hierarchical softmax: the loss of branch 1", KERNELS,
     "path_loss += NLL_TABLE[cell] + code * f", "path_loss += NLL_TABLE[cell]"),
    ("hs-block", "hierarchical softmax: paths longer than one block", KERNELS,
     "        d += nb\n    loss[0] += path_loss", "        break\n    loss[0] += path_loss"),
    ("dot4-tail", "four scores at once: the last dim % 4 floats", KERNELS,
     "        for (; i < n; i++) {\n            out[0] += h[i] * b0[i];",
     "        for (; i < 0; i++) {\n            out[0] += h[i] * b0[i];"),
    ("path-update-tail", "a path's updates: the last dim % 4 floats", KERNELS,
     "        for (; x < n; x++)\n            for (r = 0; r < nrows; r++) {\n                float t = rows[r][x];",
     "        for (; x < 0; x++)\n            for (r = 0; r < nrows; r++) {\n                float t = rows[r][x];"),
    ("sum-rows", "CBOW's sum of the context vectors in one pass", KERNELS,
     "                a3 = _mm256_add_ps(a3, _mm256_loadu_ps(rows[r] + x + 24));\n", "\n"),
    ("hs-ns-separate", "hierarchical softmax and negative sampling in one error", KERNELS,
     "    if m.negative and predict(m, h, word, negs, alpha, err, loss) != STATUS_OK:",
     "    if m.negative and memset(err, 0, m.dim * sizeof(float)) != NULL and "
     "predict(m, h, word, negs, alpha, err, loss) != STATUS_OK:"),
    ("hs-syn1-merge-dropped", "merge of the workers' hot rows (syn1)", KERNELS,
     "        merge_part(shared.syn1, m.hot2, m.snap2, m, m.hot_nodes, b, nb)\n", "        pass\n"),
    ("huffman-largest", "Huffman tree: join the two smallest", KERNELS,
     "if pos1 >= 0 and (pos2 >= V + a or count[pos1] < count[pos2]):",
     "if pos1 >= 0 and (pos2 >= V + a or count[pos1] > count[pos2]):"),
    ("huffman-branch", "Huffman tree: word2vec.c's branch 1 for the larger child", KERNELS,
     "binary[pick[1]] = 1", "binary[pick[0]] = 1"),
    ("huffman-rows", "Huffman tree: inner nodes numbered from the root", KERNELS,
     "path[d] = <uint32_t>((root - parent[n]) << 1) | binary[n]",
     "path[d] = <uint32_t>((parent[n] - V) << 1) | binary[n]"),
    ("checkpoint-syn1", "checkpoint state: hierarchical softmax's weights", "w2v/train.py",
     "_ckpt.save(path, meta, v.words, v.counts, self.syn0, self.syn1neg, self.syn1)",
     "_ckpt.save(path, meta, v.words, v.counts, self.syn0, self.syn1neg, "
     "None if self.syn1 is None else np.zeros_like(self.syn1))"),
    ("cbow-sum-divided", "CBOW with a sum (cbow_mean off)", KERNELS,
     "    if m.cbow_mean:\n        for d in range(dim):", "    if True:\n        for d in range(dim):"),
    ("fixed-window-ignored", "the kernels' full-width windows (gensim's shrink_windows=False)", KERNELS,
     "            if not m.shrink_windows:\n                b = 0\n", "\n"),
    ("fixed-window-not-passed", "the trainer hands shrink_windows to the kernels", "w2v/train.py",
     "shrink_windows=p.shrink_windows,", "shrink_windows=True,"),
    ("cbow-mean-not-passed", "the trainer hands cbow_mean to the kernels", "w2v/train.py",
     "cbow_mean=p.cbow_mean,", "cbow_mean=True,"),
    ("sigmoid-table", "sigmoid table", KERNELS,
     "x = (i / <double>SIGMOID_TABLE_SIZE * 2.0 - 1.0) * MAX_EXP",
     "x = (i / <double>SIGMOID_TABLE_SIZE * 2.0 - 1.0) * MAX_EXP * 0.9"),
    ("dist-merge-unscaled", "distributed merge: the sum scaled where more than two workers took a row to its pull",
     "w2v/distributed.py", "        scale = np.minimum(1.0, PULL / np.maximum(c * k, 1e-12))\n",
     "        scale = np.ones(len(c))\n"),
    ("dist-contraction-one-band", "distributed merge: the contraction measured per band of frequency",
     "w2v/distributed.py", "        b = min(v, max(1, 2 * a))\n", "        b = v\n"),
    ("dist-merge-average-summed", "distributed merge: average", "w2v/distributed.py",
     "        delta /= c[:, None]\n", "        pass\n"),
    ("dist-lr-unscaled", "distributed learning rate: global progress scaled to the shard", "w2v/distributed.py",
     "self.state.set_progress(int(words_done) * self.train_words // max(1, self.corpus_words))",
     "self.state.set_progress(int(words_done))"),
    ("dist-incoming-dropped", "distributed: a replica takes the others' rows before its round", "w2v/distributed.py",
     "                getattr(self.model, name)[changed] = values\n", "                pass\n"),
]


def run(cmd, cwd, env=None, log=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if log is not None:
        log.write(f"$ {' '.join(cmd)}\n{r.stdout}{r.stderr}\n")
    return r


def first_failure(output):
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0]
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated breakage names")
    ap.add_argument("--list", action="store_true", help="list the breakages and exit")
    ap.add_argument("--pip", action="store_true", help="pip install each broken copy (slower) instead of building in place")
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    args = ap.parse_args(argv)
    chosen = BREAKAGES
    if args.only:
        names = set(args.only.split(","))
        unknown = names - {b[0] for b in BREAKAGES}
        if unknown:
            ap.error(f"unknown breakages: {', '.join(sorted(unknown))}")
        chosen = [b for b in BREAKAGES if b[0] in names]
    if args.list:
        for name, what, path, *_ in chosen:
            print(f"{name:24} {path:24} {what}")
        return 0

    repo = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=os.path.dirname(os.path.abspath(__file__)),
                          capture_output=True, text=True, check=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="w2v-breakages-")
    base = os.path.join(work, "base")
    subprocess.run(["git", "clone", "-q", repo, base], check=True)
    commit = run(["git", "rev-parse", "--short", "HEAD"], base).stdout.strip()
    log = open(os.path.join(work, "log.txt"), "w")
    print(f"breaking {len(chosen)} ingredients of commit {commit} (log: {log.name})", flush=True)
    if run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], base, log=log).returncode:
        print("the unbroken tree does not build", file=sys.stderr)
        return 2
    results = []
    for name, what, path, text, replacement in chosen:
        tree = os.path.join(work, name)
        shutil.copytree(base, tree, symlinks=True)
        target = os.path.join(tree, path)
        with open(target) as fh:
            source = fh.read()
        if source.count(text) != 1:
            results.append((name, what, "NOT APPLIED", f"the text occurs {source.count(text)} times in {path}"))
            print(f"{name:24} NOT APPLIED ({path} changed?)", flush=True)
            continue
        time.sleep(1.1)       # a newer mtime than the built modules, so the rebuild sees the change
        with open(target, "w") as fh:
            fh.write(source.replace(text, replacement))
        t0 = time.perf_counter()
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        if args.pip:
            venv = os.path.join(work, "venv")
            if not os.path.exists(venv):
                subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
            py = os.path.join(venv, "bin", "python")
            built = run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--force-reinstall", "."],
                        tree, log=log).returncode == 0
            test_cmd = [os.path.join(venv, "bin", "pytest"), "-x", "-q", "-p", "no:cacheprovider"]
        else:
            built = (not path.endswith((".pyx", ".pxi", ".pxd"))
                     or run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], tree, log=log).returncode == 0)
            env["PYTHONPATH"] = tree
            test_cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        if not built:
            results.append((name, what, "BUILD FAILED", ""))
            print(f"{name:24} BUILD FAILED", flush=True)
            continue
        r = run(test_cmd, tree, env=env, log=log)
        failed = first_failure(r.stdout)
        verdict = "caught" if r.returncode != 0 else "MISSED"
        results.append((name, what, verdict, failed or r.stdout.strip().splitlines()[-1:]))
        print(f"{name:24} {verdict:7} {time.perf_counter() - t0:5.0f}s  {failed or ''}", flush=True)
        shutil.rmtree(tree, ignore_errors=True)
    missed = [r for r in results if r[2] != "caught"]
    print(f"\n{len(results) - len(missed)} of {len(results)} breakages made the suite fail")
    if not args.keep:
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
