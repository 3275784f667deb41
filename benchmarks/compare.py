#!/usr/bin/env python3
"""Train w2v and its peers on the same corpus with the same settings; compare speed, memory and quality.

    python benchmarks/compare.py --corpus corpus.txt.gz --epochs 1 --threads 1,2

Tools: w2v, gensim (corpus_file mode), gensim-iter (gensim fed by LineSentence), fasttext, and word2vec
(the original C tool, only with --word2vec-bin PATH). Each run is its own subprocess, so a run's peak
memory is that process's own maximum resident set size and nothing leaks from one tool to the next.
Every tool's saved vectors are scored by w2v's evaluator. Results go to --out as results.json (raw),
results.md (tables, settings, notes) and results.png (if matplotlib is installed).

See benchmarks/README.md for what each column means and which options do not map exactly.
"""
import argparse
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED_EVAL = os.path.join(os.path.dirname(REPO), "shared", "eval")
ALL_TOOLS = ("w2v", "w2v-gs", "gensim", "gensim-iter", "fasttext", "word2vec")
BASELINE = "gensim"
RESTRICT_VOCAB = 30000
SEED = 1

TOOL_LABELS = {
    "w2v": "w2v",
    "w2v-gs": "w2v, gensim's schedule",
    "gensim": "gensim (corpus_file)",
    "gensim-iter": "gensim (LineSentence)",
    "fasttext": "fastText",
    "word2vec": "word2vec.c",
}

# How each tool's training time is known: reported by the tool, derived from its own throughput
# figure, or not separable from the whole run (then the whole run is used, and the table marks it).
TRAIN_TIME_REPORTED = "reported"
TRAIN_TIME_DERIVED = "derived"
TRAIN_TIME_WHOLE_RUN = "whole run"


# ---------------------------------------------------------------------------------------------
# The child side: one tool, one model, one thread count. Writes a small JSON of phase timings.
# ---------------------------------------------------------------------------------------------

def _child_w2v(spec):
    import w2v
    t0 = time.perf_counter()
    model = w2v.train(spec["corpus"], model=spec["model"], dim=spec["dim"], window=spec["window"],
                      negative=spec["negative"], hs=spec["hs"], cbow_mean=spec["cbow_mean"],
                      min_count=spec["min_count"], sample=spec["sample"],
                      epochs=spec["epochs"], alpha=spec["alpha"], min_alpha=spec["min_alpha"],
                      threads=spec["threads"], seed=spec["seed"], quiet=True)
    t1 = time.perf_counter()
    model.wv.save(spec["output"], format="bin")
    t2 = time.perf_counter()
    return {"vocab_s": model.timings["scan"], "train_s": model.timings["train"], "save_s": t2 - t1,
            "wall_s": t2 - t0, "train_time": TRAIN_TIME_REPORTED, "vocab_size": len(model.vocab)}


def _child_gensim(spec, iterable):
    import logging
    logging.disable(logging.CRITICAL)
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence
    model = Word2Vec(vector_size=spec["dim"], window=spec["window"], min_count=spec["min_count"],
                     sample=spec["sample"], negative=spec["negative"], hs=int(spec["hs"]), sg=int(spec["model"] == "sg"),
                     cbow_mean=int(spec["cbow_mean"]), alpha=spec["alpha"], min_alpha=spec["min_alpha"],
                     workers=spec["threads"],
                     epochs=spec["epochs"], seed=spec["seed"])
    t0 = time.perf_counter()
    if iterable:
        sentences = LineSentence(spec["corpus"])
        model.build_vocab(corpus_iterable=sentences)
    else:
        model.build_vocab(corpus_file=spec["corpus"])
    t1 = time.perf_counter()
    if iterable:
        model.train(corpus_iterable=sentences, total_examples=model.corpus_count,
                    total_words=model.corpus_total_words, epochs=spec["epochs"])
    else:
        model.train(corpus_file=spec["corpus"], total_examples=model.corpus_count,
                    total_words=model.corpus_total_words, epochs=spec["epochs"])
    t2 = time.perf_counter()
    model.wv.save_word2vec_format(spec["output"], binary=True)
    t3 = time.perf_counter()
    return {"vocab_s": t1 - t0, "train_s": t2 - t1, "save_s": t3 - t2, "wall_s": t3 - t0,
            "train_time": TRAIN_TIME_REPORTED, "vocab_size": len(model.wv)}


def _child_fasttext(spec):
    import fasttext
    import numpy as np
    t0 = time.perf_counter()
    # verbose=2 makes fastText print its training throughput (words/sec/thread) to stderr;
    # the parent reads it to separate training from reading the vocabulary.
    model = fasttext.train_unsupervised(
        input=spec["corpus"], model="skipgram" if spec["model"] == "sg" else "cbow", dim=spec["dim"],
        ws=spec["window"], neg=spec["negative"], minCount=spec["min_count"], t=spec["sample"],
        epoch=spec["epochs"], thread=spec["threads"], minn=0, maxn=0, lr=spec["alpha"], wordNgrams=1,
        loss="hs" if spec["hs"] else "ns", verbose=2)
    t1 = time.perf_counter()
    words = model.get_words()
    with open(spec["output"], "w", encoding="utf-8", newline="\n") as fh:
        fh.write(f"{len(words)} {model.get_dimension()}\n")
        for word in words:
            vec = np.asarray(model.get_word_vector(word), dtype=np.float32)
            fh.write(word + " " + " ".join(f"{x:.6g}" for x in vec.tolist()) + "\n")
    t2 = time.perf_counter()
    sys.stderr.flush()
    return {"vocab_s": None, "train_s": None, "fit_s": t1 - t0, "save_s": t2 - t1, "wall_s": t2 - t0,
            "train_time": TRAIN_TIME_WHOLE_RUN, "vocab_size": len(words)}


def _own_peak_mb():
    """This process's peak resident memory since it started (VmHWM belongs to the address space
    exec created, so unlike ru_maxrss it does not include the parent's memory at spawn time)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _run_measured(cmd, result_path):
    """Run a non-Python tool from this small child process and record its own peak memory:
    a process forked from here inherits this process's small footprint, not the parent's."""
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    _write_atomic(result_path, json.dumps({"peak_mb": usage.ru_maxrss / 1024.0}))
    return os.waitstatus_to_exitcode(status)


def run_child(spec_path):
    with open(spec_path) as fh:
        spec = json.load(fh)
    tool = spec["tool"]
    if tool in ("w2v", "w2v-gs"):
        result = _child_w2v(spec)
    elif tool in ("gensim", "gensim-iter"):
        result = _child_gensim(spec, iterable=(tool == "gensim-iter"))
    elif tool == "fasttext":
        result = _child_fasttext(spec)
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    result["peak_mb"] = _own_peak_mb()
    _write_atomic(spec["result"], json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------------------
# The parent side
# ---------------------------------------------------------------------------------------------

def _write_atomic(path, text):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _csv(text, allowed=None, what="value", conv=str):
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}s")
    out = []
    for t in items:
        try:
            v = conv(t)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{t!r} is not a valid {what}") from None
        if allowed is not None and v not in allowed:
            raise argparse.ArgumentTypeError(f"unknown {what} {t!r}; choose from {', '.join(allowed)}")
        if isinstance(v, int) and v < 1:
            raise argparse.ArgumentTypeError(f"{what} must be at least 1, got {v}")
        if v not in out:
            out.append(v)
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Compare w2v with gensim, fastText and word2vec.c on one corpus (speed, memory, quality).")
    p.add_argument("--corpus", required=True, help="training text (.txt or .gz; one sentence per line)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=lambda s: _csv(s, what="thread count", conv=int), default=[1, 2],
                   help="comma-separated thread counts (default 1,2)")
    p.add_argument("--models", type=lambda s: _csv(s, ("sg", "cbow"), "model"), default=["sg", "cbow"],
                   help="sg, cbow or both (default sg,cbow)")
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5, help="noise words (default 5; 0 with --hs: hierarchical "
                   "softmax alone)")
    p.add_argument("--hs", action="store_true",
                   help="hierarchical softmax in every tool (word2vec.c -hs 1, gensim hs=1, fastText loss=hs, "
                        "w2v hs=True), beside --negative N, or alone with --negative 0")
    p.add_argument("--cbow-mean", type=int, choices=(0, 1), default=1,
                   help="CBOW: 1 the mean of the context vectors (default), 0 their sum (w2v and gensim only; "
                        "word2vec.c and fastText have only the mean and are skipped)")
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--alpha", type=float, default=None,
                   help="starting learning rate for every tool (default 0.025 for sg, 0.05 for cbow)")
    p.add_argument("--min-alpha", type=float, default=0.0001)
    p.add_argument("--tools", type=lambda s: _csv(s, ALL_TOOLS, "tool"), default=None,
                   help=f"comma-separated, from {','.join(ALL_TOOLS)} (default: all available; "
                        "word2vec needs --word2vec-bin)")
    p.add_argument("--word2vec-bin", default=None, help="path to a word2vec binary built from word2vec.c")
    p.add_argument("--max-threads-only", type=lambda s: _csv(s, ALL_TOOLS + ("none",), "tool"),
                   default=["gensim-iter", "w2v-gs"],
                   help="tools run only at the largest thread count, to keep a big run short "
                        "(default gensim-iter,w2v-gs; 'none' runs every tool at every thread count)")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="output directory (default benchmarks/results)")
    p.add_argument("--cache-dir", default=os.path.join(HERE, ".cache"),
                   help="where a .gz corpus is decompressed once for the tools that need a plain file")
    p.add_argument("--analogies", default=None,
                   help="questions-words file (default ../shared/eval/questions-words.txt)")
    p.add_argument("--pairs", default=None, help="word-pair file (default ../shared/eval/wordsim353.tsv)")
    p.add_argument("--keep-vectors", action="store_true", help="keep every tool's vectors in --out/vectors")
    p.add_argument("--seeds", type=lambda s: _csv(s, what="seed", conv=int), default=[SEED],
                   help="comma-separated seeds: each run is repeated once per seed and the table shows medians "
                        f"with the range (default {SEED}; word2vec.c and fastText take no seed here, so their "
                        "repeats differ only by thread timing)")
    args = p.parse_args(argv)
    for name in ("epochs", "dim", "window", "min_count"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.negative < (0 if args.hs else 1):
        p.error("--negative must be at least 1 (or 0 with --hs)")
    args.cbow_mean = bool(args.cbow_mean)
    if not os.path.isfile(args.corpus):
        p.error(f"corpus not found: {args.corpus}")
    if args.analogies is None:
        default = os.path.join(SHARED_EVAL, "questions-words.txt")
        args.analogies = default if os.path.isfile(default) else None
    if args.pairs is None:
        default = os.path.join(SHARED_EVAL, "wordsim353.tsv")
        args.pairs = default if os.path.isfile(default) else None
    return args


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _import_w2v():
    """w2v from this source tree when it is built in place (so a checkout measures its own code,
    not an older installed copy), or else as installed."""
    import glob
    if glob.glob(os.path.join(REPO, "w2v", "_kernels_*.so")) or glob.glob(os.path.join(REPO, "w2v", "_kernels_*.pyd")):
        sys.path.insert(0, REPO)
    import w2v
    log(f"w2v from {os.path.dirname(os.path.abspath(w2v.__file__))}")
    return w2v


def available_tools(requested, word2vec_bin, hs_and_negative=False, cbow_sum=False):
    """(tools to run, [(tool, why skipped)])."""
    import importlib.util
    tools, skipped = [], []
    for tool in (requested or ALL_TOOLS):
        why = None
        if tool in ("fasttext", "word2vec") and cbow_sum:
            why = "it has no CBOW with a sum of the context vectors (--cbow-mean 0)"
        elif tool == "fasttext" and hs_and_negative:
            why = "fastText trains one loss at a time (hierarchical softmax or negative sampling, not both)"
        elif tool in ("gensim", "gensim-iter") and importlib.util.find_spec("gensim") is None:
            why = "gensim is not installed (pip install gensim, or pip install '.[bench]')"
        elif tool == "fasttext" and importlib.util.find_spec("fasttext") is None:
            why = "fasttext is not installed (pip install fasttext-numpy2, or pip install '.[bench]')"
        elif tool == "word2vec":
            if not word2vec_bin:
                why = "no --word2vec-bin given (build word2vec.c and pass the binary's path)"
            elif not (os.path.isfile(word2vec_bin) and os.access(word2vec_bin, os.X_OK)):
                why = f"--word2vec-bin {word2vec_bin} is not an executable file"
        if why is None:
            tools.append(tool)
        else:
            skipped.append((tool, why))
            if requested or tool != "word2vec":
                log(f"skipping {tool}: {why}")
    return tools, skipped


def count_corpus(path, block_size=1 << 24):
    """Raw whitespace-separated words and lines of the corpus (what every tool reads)."""
    opener = gzip.open if path.endswith(".gz") else open
    words = lines = 0
    last = b"\n"
    with opener(path, "rb") as fh:
        while True:
            block = fh.read(block_size)
            if not block:
                break
            # extend the block to the next line end, so no word is split between two blocks
            nl = block.rfind(b"\n")
            tail = fh.readline() if nl != len(block) - 1 else b""
            block += tail
            words += len(block.split())
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return words, lines


def plain_corpus(path, cache_dir):
    """A plain-text copy of a .gz corpus (made once, reused), for gensim corpus_file, fastText, word2vec.c.

    Returns (path, seconds spent decompressing now, whether an existing copy was reused)."""
    if not path.endswith(".gz"):
        return path, 0.0, False
    st = os.stat(path)
    os.makedirs(cache_dir, exist_ok=True)
    name = f"{os.path.basename(path)[:-3]}.{st.st_size}-{int(st.st_mtime)}"
    target = os.path.join(cache_dir, name)
    if os.path.isfile(target):
        return target, 0.0, True
    log(f"decompressing {path} once to {target} (gensim corpus_file, fastText and word2vec.c need a plain "
        "file; this time is reported separately and not charged to any tool)")
    t0 = time.perf_counter()
    tmp = f"{target}.{os.getpid()}.tmp"
    with gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 22)
    os.replace(tmp, target)
    return target, time.perf_counter() - t0, False


def machine_info():
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count()}
    try:
        info["usable_cores"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        info["usable_cores"] = os.cpu_count()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        info["cpu"] = platform.processor() or None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    info["ram_gib"] = round(int(line.split()[1]) / 2**20, 1)
                    break
    except OSError:
        pass
    try:
        info["loadavg_at_start"] = list(os.getloadavg())
    except OSError:
        pass
    from importlib import metadata
    versions = {}
    for dist in ("numpy", "gensim", "fasttext-numpy2", "fasttext", "matplotlib", "w2v"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    import numpy
    versions["numpy"] = numpy.__version__
    w2v = _import_w2v()
    versions["w2v"] = getattr(w2v, "__version__", None)
    info["versions"] = versions
    info["w2v_path"] = os.path.dirname(os.path.abspath(w2v.__file__))
    info["w2v_git"] = _git_info(os.path.dirname(info["w2v_path"]))
    from w2v import _kernels
    info["w2v_kernels"] = _kernels.VARIANT      # the build the import picked (W2V_KERNELS is passed on)
    return info


def _git_info(path):
    def git(*cmd):
        r = subprocess.run(["git", "-C", path, *cmd], capture_output=True, text=True, timeout=30)
        return r.stdout.strip() if r.returncode == 0 else None
    try:
        top = git("rev-parse", "--show-toplevel")
        # an installed copy sits in site-packages, which may lie inside some other repository
        if top is None or os.path.realpath(top) != os.path.realpath(path):
            return None
        commit = git("rev-parse", "HEAD")
        if commit is None:
            return None
        dirty = git("status", "--porcelain", "--", "w2v", "setup.py", "pyproject.toml")
        return {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return None


def _busy_cpu_seconds():
    """CPU seconds all processes on the machine have used since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _spawn(cmd, log_path, env=None, cwd=None):
    """Run cmd to completion. Returns (returncode, wall seconds, {peak_mb, cpu_s, other_load}).

    peak_mb is that process's own maximum RSS; cpu_s its user + system time; other_load the average
    number of cores that everything else on the machine kept busy meanwhile (0 on an idle machine)."""
    with open(log_path, "wb") as logf:
        busy0 = _busy_cpu_seconds()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        busy1 = _busy_cpu_seconds()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    other = None
    if busy0 is not None and busy1 is not None and wall > 0:
        other = max(0.0, (busy1 - busy0 - cpu) / wall)
    return proc.returncode, wall, {"peak_mb": usage.ru_maxrss / 1024.0,   # ru_maxrss is in KiB on Linux
                                   "cpu_s": cpu, "other_load": other}


def _tail(path, n=15):
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln for ln in re.split(r"[\r\n]+", text) if ln.strip()]
    return "\n".join(lines[-n:])


_FASTTEXT_WST = re.compile(rb"words/sec/thread:\s*([0-9]+)")


def _fasttext_train_seconds(log_path, tokens, epochs, threads):
    """fastText's training time from its own final throughput line.

    fastText prints words/sec/thread = tokens processed / training seconds / threads, where training
    starts after the vocabulary is read, and it trains until it has processed epochs x its token count
    (every word plus one end-of-line token per line). So training seconds = epochs x tokens / (wst x threads).
    """
    try:
        with open(log_path, "rb") as fh:
            found = _FASTTEXT_WST.findall(fh.read())
    except OSError:
        return None
    if not found or int(found[-1]) <= 0:
        return None
    return epochs * tokens / (int(found[-1]) * threads)


def run_one(tool, model, threads, args, ctx, seed=SEED):
    """Train one tool once in its own process. Returns a result row (without quality scores)."""
    tag = f"{tool}-{model}-t{threads}-s{seed}"
    work = ctx["work"]
    output = os.path.join(work, tag + (".vec" if tool == "fasttext" else ".bin"))
    log_path = os.path.join(work, tag + ".log")
    alpha = args.alpha if args.alpha is not None else (0.05 if model == "cbow" and args.cbow_mean else 0.025)
    corpus = ctx["plain"] if tool in ("gensim", "fasttext", "word2vec") else args.corpus
    min_alpha = args.min_alpha
    if tool == "w2v-gs":
        # the rate gensim corpus_file ends at: each of its N workers reaches only 1/N of the
        # last epoch's progress (see mapping_notes)
        min_alpha = alpha - (alpha - args.min_alpha) * (args.epochs - 1 + 1 / threads) / args.epochs
    row = {"tool": tool, "model": model, "threads": threads, "seed": seed, "corpus_read": corpus, "output": output,
           "alpha": alpha,
           "min_alpha": min_alpha}
    if tool == "word2vec":
        cmd = [os.path.abspath(args.word2vec_bin), "-train", os.path.abspath(corpus), "-output", output,
               "-cbow", "1" if model == "cbow" else "0", "-size", str(args.dim), "-window", str(args.window),
               "-negative", str(args.negative), "-hs", "1" if args.hs else "0", "-sample", repr(args.sample),
               "-threads", str(threads), "-binary", "1", "-iter", str(args.epochs),
               "-min-count", str(args.min_count), "-alpha", repr(alpha)]
        measured = os.path.join(work, tag + ".result.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--measure", measured, "--"] + cmd
        rc, wall, usage = _spawn(cmd, log_path, cwd=work)
        if rc == 0 and os.path.isfile(measured):
            with open(measured) as fh:
                row.update(json.load(fh))
        row.update({"vocab_s": None, "train_s": wall, "save_s": None, "wall_s": wall,
                    "train_time": TRAIN_TIME_WHOLE_RUN, "process_wall_s": wall})
    else:
        spec = {"tool": tool, "model": model, "threads": threads, "corpus": corpus, "output": output,
                "result": os.path.join(work, tag + ".result.json"), "dim": args.dim, "window": args.window,
                "negative": args.negative, "hs": args.hs, "cbow_mean": bool(args.cbow_mean),
                "min_count": args.min_count, "sample": args.sample,
                "epochs": args.epochs, "alpha": alpha, "min_alpha": min_alpha, "seed": seed}
        spec_path = os.path.join(work, tag + ".spec.json")
        _write_atomic(spec_path, json.dumps(spec))
        cmd = [sys.executable, os.path.abspath(__file__), "--child", spec_path]
        rc, wall, usage = _spawn(cmd, log_path, env=ctx["env"])
        if rc == 0:
            with open(spec["result"]) as fh:
                row.update(json.load(fh))
            row["process_wall_s"] = wall
            if tool == "fasttext":
                train_s = _fasttext_train_seconds(log_path, ctx["words"] + ctx["lines"], args.epochs, threads)
                if train_s is not None and 0 < train_s <= row["fit_s"]:
                    row.update(train_s=train_s, vocab_s=row["fit_s"] - train_s, train_time=TRAIN_TIME_DERIVED)
                else:
                    row.update(train_s=row["wall_s"], train_time=TRAIN_TIME_WHOLE_RUN)
    own_peak = row.pop("peak_mb", None)
    row.update(usage)
    if own_peak is not None:
        # ru_maxrss from wait4 also counts the parent's memory at spawn time (the child starts
        # as a copy of it); the child's own measurement does not.
        row["peak_mb"] = own_peak
    if rc != 0 or not os.path.isfile(output):
        row["error"] = f"exit status {rc}" if rc != 0 else "no output written"
        log(f"  {tag} failed ({row['error']}); last lines of its log:\n{_tail(log_path)}")
        return row
    row["train_words_per_s"] = ctx["words"] * args.epochs / row["train_s"] if row["train_s"] else None
    row["train_words_per_s_per_thread"] = (row["train_words_per_s"] / threads
                                           if row["train_words_per_s"] else None)
    return row


def evaluate(row, args):
    """Score a run's saved vectors with w2v's evaluator (the same code for every tool)."""
    w2v = _import_w2v()
    from w2v.evaluate import evaluate_analogies, evaluate_word_pairs
    try:
        try:
            kv = w2v.load(row["output"])
        except w2v.W2VError:
            kv = w2v.load(row["output"], unicode_errors="replace")
    except Exception as exc:   # a peer's file we cannot read is a result, not a crash
        row["eval_error"] = f"cannot load vectors: {exc}"
        return row
    row["vocab_size_saved"] = len(kv)
    if args.analogies:
        res = evaluate_analogies(kv, args.analogies, restrict_vocab=RESTRICT_VOCAB)
        row["analogy"] = {k: res[k] for k in ("accuracy", "correct", "answered", "skipped", "total")}
        row["analogy"]["semantic"] = res["semantic"]["accuracy"]
        row["analogy"]["syntactic"] = res["syntactic"]["accuracy"]
    if args.pairs:
        res = evaluate_word_pairs(kv, args.pairs)
        row["pairs"] = {k: res[k] for k in ("spearman", "pearson", "known", "pairs", "oov_ratio")}
    return row


_MEDIAN_FIELDS = ("wall_s", "vocab_s", "train_s", "save_s", "fit_s", "train_words_per_s",
                  "train_words_per_s_per_thread", "peak_mb", "other_load")


def _median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def summarise(runs):
    """One row per (tool, model, threads): the run itself, or with several seeds the median of each
    timing and score, the scores' range (`analogy_range`, `spearman_range`) and `n_runs`."""
    groups = {}
    for r in runs:
        groups.setdefault((r["tool"], r["model"], r["threads"]), []).append(r)
    out = []
    for rows in groups.values():
        ok = [r for r in rows if "error" not in r]
        if not ok:
            out.append(dict(rows[0]))
            continue
        row = dict(ok[0])
        row["n_runs"] = len(ok)
        row["failed_runs"] = len(rows) - len(ok)
        for key in _MEDIAN_FIELDS:
            row[key] = _median(r.get(key) for r in ok)
        accs = [r["analogy"]["accuracy"] for r in ok if r.get("analogy")]
        rhos = [r["pairs"]["spearman"] for r in ok if r.get("pairs")]
        if accs:
            row["analogy"] = dict(ok[0]["analogy"], accuracy=_median(accs))
            row["analogy_range"] = (min(accs), max(accs))
        if rhos:
            row["pairs"] = dict(ok[0]["pairs"], spearman=_median(rhos))
            row["spearman_range"] = (min(rhos), max(rhos))
        row.pop("seed", None)
        out.append(row)
    return out


def add_ratios(rows):
    """speed ratio = gensim (corpus_file) wall / tool wall; train ratio = tool train words/s / gensim's."""
    base = {(r["model"], r["threads"]): r for r in rows if r["tool"] == BASELINE and "error" not in r}
    for r in rows:
        b = base.get((r["model"], r["threads"]))
        ok = b is not None and "error" not in r
        r["speed_ratio_vs_gensim"] = b["wall_s"] / r["wall_s"] if ok and r.get("wall_s") else None
        r["train_ratio_vs_gensim"] = (r["train_words_per_s"] / b["train_words_per_s"]
                                      if ok and r.get("train_words_per_s") and b.get("train_words_per_s")
                                      else None)


# ---------------------------------------------------------------------------------------------
# Notes on options that do not map exactly (also written into results.md)
# ---------------------------------------------------------------------------------------------

def mapping_notes(tools, args):
    notes = [
        "Same settings for every tool: dim, window (each centre word draws its window from 1..window), negative, "
        "min_count, sample (kept with probability sqrt(t/f) + t/f, word2vec.c's formula, in every tool), epochs, "
        "threads, starting learning rate (--alpha; 0.025 for sg and 0.05 for cbow unless given), CBOW as the "
        + ("mean of the context vectors" if args.cbow_mean else "sum of the context vectors (--cbow-mean 0; gensim "
           "divides the error by the number of context words, w2v adds it undivided as word2vec.c's sum did)")
        + ", seed 1; "
        + (f"hierarchical softmax (Huffman tree over the vocabulary's counts){' and negative sampling' if args.negative else ''}."
           if args.hs else "negative sampling only (no hierarchical softmax)."),
        "Training words/s = raw corpus words (whitespace tokens, before min_count and subsampling) x epochs / "
        "training seconds, the same numerator for every tool.",
    ]
    if "w2v" in tools:
        notes.append(
            "w2v: skip-gram draws one set of noise words per centre word for all the context words of its "
            "window (word2vec.c and gensim: a set per pair; --per-pair-negatives restores that); initial "
            "vectors uniform in [-1/dim, 1/dim) as gensim's (word2vec.c: half that range).")
    if "w2v-gs" in tools:
        notes.append(
            "w2v, gensim's schedule: w2v with --min-alpha set to the rate gensim corpus_file actually ends at "
            "with the same threads and epochs (alpha x (1 - 1/N) for 1 epoch and N threads), to compare the "
            "tools' training at an equal learning-rate schedule. Plain w2v decays to min_alpha by all workers' "
            "progress together, as word2vec.c and fastText do.")
    if "gensim" in tools:
        notes.append(
            "gensim corpus_file: each worker reads its own byte range of the file, and its learning rate decays "
            "with its own progress (its sentences / all sentences; get_next_alpha and train_epoch_sg/_cbow in "
            "gensim/models/word2vec_corpusfile.pyx), so with N workers the rate only falls to about "
            "alpha x (1 - 1/N) by the end of a 1-epoch run (alpha/2 with 2 threads) instead of min_alpha. "
            "This changes 1-epoch quality at 2+ threads; the effect shrinks with more epochs. It needs an "
            "uncompressed file: a .gz corpus is decompressed once (time reported separately, not charged).")
    if "gensim-iter" in tools:
        notes.append(
            "gensim LineSentence (iterable) mode: one Python thread reads and batches sentences for the workers; "
            "it reads the .gz directly (decompression is part of its time) and re-reads the text every epoch.")
    if "fasttext" in tools:
        notes.append(
            "fastText (minn=0 maxn=0 wordNgrams=1 loss=ns, i.e. plain word2vec): its noise distribution is "
            "count^0.5, fixed in its code (word2vec.c, gensim and w2v use count^0.75); its learning rate decays "
            "linearly to 0 (not min_alpha); it adds an end-of-line token </s> to the vocabulary and to the "
            "training text; it cuts lines into pieces of 1,024 in-vocabulary tokens (word2vec.c: 1,000 words; "
            "gensim and w2v: 10,000); its subsampling frequency f divides by all tokens including "
            "out-of-vocabulary ones; and it trains until it has processed epochs x all tokens counting only "
            "in-vocabulary ones, so it makes slightly more than `epochs` passes when min_count drops words. "
            "Skip-gram predicts the context word from the centre word (word2vec.c the reverse; equivalent in "
            "expectation). It needs an uncompressed file. Its training time is derived from the "
            "words/sec/thread it prints (training only); vocabulary time is the rest of train_unsupervised. "
            "Its vectors are saved as text (.vec), which is slower to write than the binary format the others use.")
    if "word2vec" in tools:
        notes.append(
            "word2vec.c: 1e8-entry unigram^0.75 noise table; learning rate floor alpha x 1e-4 (not min_alpha); "
            "sentences end at line ends and are cut at 1,000 words; it does not report training time "
            "separately, so its whole run (reading vocabulary, training, saving) is used as training time. "
            "It needs an uncompressed file.")
    if args.hs:
        notes.append(
            "Hierarchical softmax: w2v builds gensim's Huffman tree (the same heap build, so the same codes; "
            "inner nodes numbered from the root instead of towards it; `--hs-tree word2vec` gives word2vec.c's "
            "CreateBinaryTree instead, which pairs words of equal count differently). With negative sampling as well, "
            "w2v and word2vec.c add both gradients into one update of the input vectors, gensim applies them "
            "one after the other. fastText (loss=hs) cannot combine the two and is skipped then.")
    notes.append(
        "Quality: every tool's saved vectors are scored by w2v's evaluator: analogy accuracy over answered "
        f"questions, candidates restricted to the {RESTRICT_VOCAB:,} most frequent words, case-insensitive; "
        "WordSim353 Spearman over pairs with both words known. One run of each, with several threads "
        "(Hogwild), so the last digit is noise.")
    return notes


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------

def _f(x, fmt, none="n/a"):
    return none if x is None else format(x, fmt)


def _kw(x):
    return "n/a" if x is None else f"{x / 1e3:,.0f}k"


def render_markdown(report):
    s = report["settings"]
    c = report["corpus"]
    m = report["machine"]
    lines = ["# w2v vs peers", ""]
    lines.append(f"Corpus `{os.path.basename(c['path'])}`: {c['words']:,} words, {c['lines']:,} lines. "
                 f"{s['epochs']} epoch(s), dim {s['dim']}, window {s['window']}, negative {s['negative']}, "
                 + ("hierarchical softmax, " if s.get("hs") else "")
                 + ("CBOW with the sum of the context vectors, " if s.get("cbow_mean") is False else "") +
                 f"min_count {s['min_count']}, sample {s['sample']:g}, alpha {s['alpha'] or ('0.025' if s.get('cbow_mean') is False else '0.025 sg / 0.05 cbow')}, "
                 f"min_alpha {s['min_alpha']:g}.")
    if c.get("plain_copy"):
        how = "reused a cached copy" if c["plain_reused"] else f"{c['decompress_s']:.1f} s"
        lines.append(f"Decompressing the .gz once for the tools that need a plain file: {how} (not in any wall time).")
    git = m.get("w2v_git") or {}
    lines.append(f"Machine: {m.get('cpu', '?')}, {m.get('usable_cores')} usable cores, "
                 f"{m.get('ram_gib', '?')} GiB RAM; "
                 f"Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in sorted(m["versions"].items()) if v)
                 + (f"; w2v commit {git['commit'][:10]}{' (modified)' if git.get('dirty') else ''}" if git else "")
                 + (f"; w2v kernels {m['w2v_kernels']}" if m.get("w2v_kernels") else "")
                 + ".")
    lines.append("")
    header = ("| tool | model | threads | wall s | vocab s | train s | save s | train words/s | per thread "
              "| peak MB | analogy % | WS353 ρ | speed × gensim | train × gensim |")
    lines.append(header)
    n_cols = header.count("|") - 1
    lines.append("|" + "---|" * n_cols)
    rows = report.get("summary") or report["runs"]
    several = any(r.get("n_runs", 1) > 1 for r in rows)
    for r in rows:
        label = TOOL_LABELS.get(r["tool"], r["tool"])
        if "error" in r:
            lines.append(f"| {label} | {r['model']} | {r['threads']} | failed: {r['error']} |" + " |" * (n_cols - 4))
            continue
        mark = {TRAIN_TIME_REPORTED: "", TRAIN_TIME_DERIVED: " †"}.get(r["train_time"], " *")
        an = r.get("analogy") or {}
        acc = an.get("accuracy")
        acc_s = "n/a" if acc is None else f"{100 * acc:.1f}"
        pr = (r.get("pairs") or {}).get("spearman")
        pr_s = _f(pr, ".3f")
        if r.get("n_runs", 1) > 1:
            label += f" ×{r['n_runs']}"
            if r.get("analogy_range"):
                lo, hi = r["analogy_range"]
                acc_s += f" ({100 * lo:.1f}–{100 * hi:.1f})"
            if r.get("spearman_range"):
                lo, hi = r["spearman_range"]
                pr_s += f" ({lo:.3f}–{hi:.3f})"
        lines.append(
            f"| {label} | {r['model']} | {r['threads']} | {_f(r['wall_s'], '.1f')} | {_f(r.get('vocab_s'), '.1f')} "
            f"| {_f(r['train_s'], '.1f')}{mark} | {_f(r.get('save_s'), '.2f')} | {_kw(r.get('train_words_per_s'))} "
            f"| {_kw(r.get('train_words_per_s_per_thread'))} | {_f(r['peak_mb'], ',.0f')} | {acc_s} "
            f"| {pr_s} | {_f(r.get('speed_ratio_vs_gensim'), '.2f')} "
            f"| {_f(r.get('train_ratio_vs_gensim'), '.2f')} |")
    lines.append("")
    lines.append("Columns: **wall s** vocabulary + training + saving, measured inside the tool's process (interpreter "
                 "start-up and imports excluded; word2vec.c: the whole process). **train words/s** raw corpus words "
                 "× epochs / training seconds; **per thread** that / threads. **peak MB** maximum resident memory of "
                 "the tool's process. **analogy %** accuracy on answered questions "
                 f"(restricted to the {RESTRICT_VOCAB:,} most frequent words); **WS353 ρ** Spearman on known pairs. "
                 "**speed × gensim** gensim corpus_file wall / this wall (same model and threads; >1 is faster); "
                 "**train × gensim** this training words/s / gensim corpus_file's."
                 + (" **×n** after a tool: medians of n runs with seeds "
                    + ", ".join(map(str, report["settings"].get("seeds") or [])) + ", the scores' range in brackets."
                    if several else ""))
    lines.append("† training time derived from the tool's own throughput report (vocabulary time is the rest). "
                 "* the tool does not report training time separately: the whole run is used.")
    answered = {(r["tool"], r["model"], r["threads"]): (r.get("analogy") or {}).get("answered")
                for r in report["runs"] if "error" not in r}
    vals = {v for v in answered.values() if v is not None}
    if vals:
        an_total = next((r["analogy"]["total"] for r in report["runs"] if r.get("analogy")), None)
        span = f"{min(vals):,}" if len(vals) == 1 else f"{min(vals):,}–{max(vals):,}"
        lines.append(f"Analogy questions answered: {span} of {an_total:,} "
                     f"(the rest have a word outside the {RESTRICT_VOCAB:,} most frequent).")
    loads = [r["other_load"] for r in report["runs"] if r.get("other_load") is not None]
    if loads:
        lines.append(f"Other processes kept {min(loads):.1f}–{max(loads):.1f} of the {m.get('cpu_count')} cores busy "
                     f"during the runs (mean {sum(loads) / len(loads):.1f}; `other_load` per run in results.json)"
                     + ("; times are inflated, multi-thread runs most." if max(loads) > 0.3 else "."))
    only = [t for t in report["settings"]["max_threads_only"] if t in report["settings"]["tools"]]
    if only and len(report["settings"]["threads"]) > 1:
        lines.append(f"Run only at {max(report['settings']['threads'])} threads (--max-threads-only): "
                     + ", ".join(TOOL_LABELS[t] for t in only) + ".")
    lines.append("")
    if report.get("skipped"):
        lines.append("Skipped: " + "; ".join(f"{t}: {why}" for t, why in report["skipped"]) + ".")
        lines.append("")
    lines.append("## Options that do not map exactly")
    lines.append("")
    lines.extend(f"- {n}" for n in report["notes"])
    lines.append("")
    return "\n".join(lines)


def _percent(row, key, field):
    value = ((row or {}).get(key) or {}).get(field)
    return 0.0 if value is None else 100.0 * value


def render_png(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no results.png (pip install matplotlib)")
        return False
    runs = [r for r in (report.get("summary") or report["runs"]) if "error" not in r]
    if not runs:
        return False
    models = [m for m in ("sg", "cbow") if any(r["model"] == m for r in runs)]
    tools = [t for t in ALL_TOOLS if any(r["tool"] == t for r in runs)]
    colors = dict(zip(ALL_TOOLS, ("#d62728", "#ff9896", "#1f77b4", "#17becf", "#2ca02c", "#7f7f7f")))
    fig, axes = plt.subplots(2, len(models), figsize=(6.2 * len(models), 8.4), squeeze=False)
    threads_all = sorted({r["threads"] for r in runs})
    for j, model in enumerate(models):
        ax = axes[0][j]
        for tool in tools:
            pts = sorted((r["threads"], r["train_words_per_s"]) for r in runs
                         if r["tool"] == tool and r["model"] == model and r.get("train_words_per_s"))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] / 1e3 for p in pts], marker="o", color=colors[tool],
                        label=TOOL_LABELS[tool])
        ax.set_title(f"{model}: training throughput")
        ax.set_xlabel("threads")
        ax.set_ylabel("raw corpus words/s (thousands)")
        ax.set_xticks(threads_all)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        # quality at the largest thread count
        ax = axes[1][j]
        tmax = max(r["threads"] for r in runs if r["model"] == model)
        sel = [next((r for r in runs if r["tool"] == t and r["model"] == model and r["threads"] == tmax), None)
               for t in tools]
        xs = range(len(tools))
        width = 0.38
        acc = [_percent(r, "analogy", "accuracy") for r in sel]
        rho = [_percent(r, "pairs", "spearman") for r in sel]
        b1 = ax.bar([x - width / 2 for x in xs], acc, width, color=[colors[t] for t in tools])
        b2 = ax.bar([x + width / 2 for x in xs], rho, width, color=[colors[t] for t in tools], alpha=0.45,
                    hatch="//")
        for bars in (b1, b2):
            for b in bars:
                ax.annotate(f"{b.get_height():.1f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                            ha="center", va="bottom", fontsize=7)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([TOOL_LABELS[t].replace(" (", "\n(") for t in tools], fontsize=8)
        ax.set_title(f"{model}: quality at {tmax} thread(s)")
        from matplotlib.patches import Patch
        ax.legend(handles=[Patch(facecolor="#888888", label="analogy accuracy %"),
                           Patch(facecolor="#888888", alpha=0.45, hatch="//", label="WS353 Spearman × 100")],
                  fontsize=8)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.grid(alpha=0.3, axis="y")
    c, s = report["corpus"], report["settings"]
    fig.suptitle(f"{os.path.basename(c['path'])} ({c['words'] / 1e6:.1f}M words), {s['epochs']} epoch(s), "
                 f"dim {s['dim']}, window {s['window']}, negative {s['negative']}"
                 + (", hs" if s.get("hs") else ""), fontsize=11)
    fig.tight_layout()
    tmp = f"{path}.{os.getpid()}.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return True


def main(argv=None):
    args = parse_args(argv)
    _import_w2v()
    tools, skipped = available_tools(args.tools, args.word2vec_bin, hs_and_negative=args.hs and args.negative > 0,
                                     cbow_sum=not args.cbow_mean)
    if not tools:
        log("no tool to run")
        return 2
    for f, what in ((args.analogies, "analogy"), (args.pairs, "word-pair")):
        if f is None:
            log(f"no {what} file (pass --{'analogies' if what == 'analogy' else 'pairs'}): that score is skipped")
    os.makedirs(args.out, exist_ok=True)
    info = machine_info()
    log(f"counting words in {args.corpus} ...")
    words, lines = count_corpus(args.corpus)
    need_plain = any(t in ("gensim", "fasttext", "word2vec") for t in tools)
    plain, decompress_s, reused = (plain_corpus(args.corpus, args.cache_dir) if need_plain
                                   else (args.corpus, 0.0, False))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.dirname(info["w2v_path"]), env.get("PYTHONPATH")) if p)
    work = tempfile.mkdtemp(prefix="w2v-compare-", dir=args.cache_dir if os.path.isdir(args.cache_dir) else None)
    ctx = {"work": work, "plain": plain, "env": env, "words": words, "lines": lines}
    max_threads = max(args.threads)
    runs = []
    t_start = time.perf_counter()
    try:
        for model in args.models:
            for threads in args.threads:
                for tool, seed in ((t, s) for s in args.seeds for t in tools):   # tools interleaved
                    if tool in args.max_threads_only and threads != max_threads:
                        continue
                    log(f"{TOOL_LABELS[tool]:22s} {model:4s} threads={threads} seed={seed} ...")
                    row = run_one(tool, model, threads, args, ctx, seed)
                    if "error" not in row:
                        evaluate(row, args)
                        acc = (row.get("analogy") or {}).get("accuracy")
                        rho = (row.get("pairs") or {}).get("spearman")
                        log(f"    wall {row['wall_s']:.1f}s  train {row['train_s']:.1f}s "
                            f"({row['train_words_per_s'] / 1e3:,.0f}k words/s)  peak {row['peak_mb']:,.0f} MB  "
                            f"analogy {_f(acc and 100 * acc, '.1f')}%  ws353 {_f(rho, '.3f')}")
                        if args.keep_vectors:
                            keep = os.path.join(args.out, "vectors")
                            os.makedirs(keep, exist_ok=True)
                            dest = os.path.join(keep, os.path.basename(row["output"]))
                            shutil.move(row["output"], dest)
                            row["output"] = dest
                        else:
                            os.remove(row["output"])
                            row["output"] = None
                    runs.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = summarise(runs)
    add_ratios(summary)
    report = {
        "machine": info,
        "settings": {k: getattr(args, k) for k in ("epochs", "threads", "models", "dim", "window", "negative", "hs",
                                                   "cbow_mean",
                                                   "min_count", "sample", "alpha", "min_alpha",
                                                   "max_threads_only")}
                    | {"tools": tools, "seeds": args.seeds, "restrict_vocab": RESTRICT_VOCAB,
                       "analogies": args.analogies, "pairs": args.pairs,
                       "word2vec_bin": args.word2vec_bin if "word2vec" in tools else None},
        "corpus": {"path": os.path.abspath(args.corpus), "words": words, "lines": lines,
                   "plain_copy": plain if plain != args.corpus else None, "decompress_s": decompress_s,
                   "plain_reused": reused},
        "runs": runs,
        "summary": summary,
        "skipped": skipped,
        "notes": mapping_notes(tools, args),
        "total_s": time.perf_counter() - t_start,
    }
    _write_atomic(os.path.join(args.out, "results.json"), json.dumps(report, indent=1, default=str) + "\n")
    md = render_markdown(report)
    _write_atomic(os.path.join(args.out, "results.md"), md)
    png = render_png(report, os.path.join(args.out, "results.png"))
    log(f"\nwrote {os.path.join(args.out, 'results.md')}, results.json{', results.png' if png else ''} "
        f"({report['total_s']:.0f}s of runs)")
    print(md)
    return 0 if all("error" not in r for r in runs) else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(run_child(sys.argv[2]))
    if len(sys.argv) > 4 and sys.argv[1] == "--measure" and sys.argv[3] == "--":
        sys.exit(_run_measured(sys.argv[4:], sys.argv[2]))
    sys.exit(main())
