#!/usr/bin/env python3
"""w2v and gensim trained from the same Python object: a corpus held in memory as a list of token
lists, and a generator over a large text file.

    python benchmarks/iterables.py --corpus ../shared/corpora/wiki17m.txt.gz --runs 3
    python benchmarks/iterables.py --corpus ../shared/corpora/wiki17m.txt.gz --big-gb 1.1 --skip-list

Three measurements, each run in its own process, tools alternated, medians of --runs:

- vocab: the vocabulary pass on the list: w2v.vocab.scan(the_list) (counting and encoding) against
  gensim's Word2Vec().build_vocab(the_list);
- whole: a whole 1-epoch run from the list, w2v.train(the_list, ...) against gensim's
  Word2Vec(sentences=the_list, ...), same settings (skip-gram, dim 100, window 5, negative 5,
  min_count 5, sample 1e-3, 2 threads), then both vectors scored by w2v's evaluator;
- big (--big-gb): w2v.train on a generator of line.split() over a text file of that many GB
  (wiki17m repeated, written to --tmp and deleted afterwards): the process's peak resident memory
  against the sum of the encoded ids, the model and the interpreter with its imports.

The list is read from the corpus in each process before the clock starts (not timed). Results go to
--out as results.json and results.md (commands, commit, CPU model, load seen).
"""
import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED_EVAL = os.path.join(os.path.dirname(REPO), "shared", "eval")
SETTINGS = dict(dim=100, window=5, negative=5, min_count=5, sample=1e-3, epochs=1, threads=2, alpha=0.025,
                min_alpha=0.0001)


def _peak_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def _rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return None


def read_list(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [line.split() for line in fh]


# ---------------------------------------------------------------------------------------------
# children
# ---------------------------------------------------------------------------------------------

def child(spec):
    s = SETTINGS
    task, tool = spec["task"], spec["tool"]
    out = {"task": task, "tool": tool, "seed": spec["seed"]}
    if task == "big":
        import numpy as np
        import w2v
        from w2v.train import MemoryEstimate, row_stride
        base_mb = _rss_mb()

        def sentences():
            with open(spec["corpus"], "rb") as fh:
                for line in fh:
                    yield line.split()
        t0 = time.perf_counter()
        model = w2v.train(sentences(), model=spec["model"], dim=s["dim"], window=s["window"],
                          negative=s["negative"], min_count=s["min_count"], sample=s["sample"], epochs=1,
                          threads=s["threads"], seed=spec["seed"], quiet=True)
        out["wall_s"] = time.perf_counter() - t0
        out["scan_s"] = model.timings["scan"]
        v = model.vocab
        out.update(vocab_size=len(v), total_tokens=v.total_tokens, train_words=v.train_words,
                   base_mb=base_mb, model="cbow" if spec["model"] == "cbow" else "sg")
        # what the run has to hold: the ids (in-vocabulary tokens and sentence ends), the model
        sentences_ = model.fingerprint["tokens"]["sentences"]
        out["ids_mb"] = 4 * (v.train_words + sentences_) / 2**20
        est = MemoryEstimate(vocab_size=len(v), dim=s["dim"], tokens=v.train_words + sentences_, cache_dir=None,
                             exact=True, threads=s["threads"])
        out["model_mb"] = est.model_bytes / 2**20
        out["words_mb"] = est.words_bytes / 2**20
        out["peak_mb"] = _peak_mb()
        out["sentences"] = sentences_
        return out
    the_list = read_list(spec["corpus"])
    out["list_rss_mb"] = _rss_mb()
    if tool == "w2v":
        import w2v
        if task == "vocab":
            from w2v.vocab import scan
            t0 = time.perf_counter()
            enc = scan(the_list, min_count=s["min_count"])
            out["vocab_s"] = time.perf_counter() - t0
            out["vocab_size"] = len(enc.vocab)
        else:
            t0 = time.perf_counter()
            model = w2v.train(the_list, model="sg", dim=s["dim"], window=s["window"], negative=s["negative"],
                              min_count=s["min_count"], sample=s["sample"], epochs=s["epochs"],
                              threads=s["threads"], alpha=s["alpha"], min_alpha=s["min_alpha"], seed=spec["seed"],
                              quiet=True)
            out["wall_s"] = time.perf_counter() - t0
            out["vocab_s"] = model.timings["scan"]
            out["train_s"] = model.timings["train"]
            out["vocab_size"] = len(model.vocab)
            model.wv.save(spec["output"], format="bin")
    else:
        import logging
        logging.disable(logging.CRITICAL)
        from gensim.models import Word2Vec
        kw = dict(vector_size=s["dim"], window=s["window"], min_count=s["min_count"], sample=s["sample"],
                  negative=s["negative"], hs=0, sg=1, alpha=s["alpha"], min_alpha=s["min_alpha"],
                  workers=s["threads"], epochs=s["epochs"], seed=spec["seed"])
        if task == "vocab":
            model = Word2Vec(**kw)
            t0 = time.perf_counter()
            model.build_vocab(the_list)
            out["vocab_s"] = time.perf_counter() - t0
            out["vocab_size"] = len(model.wv)
        else:
            t0 = time.perf_counter()
            model = Word2Vec(sentences=the_list, **kw)
            out["wall_s"] = time.perf_counter() - t0
            out["vocab_size"] = len(model.wv)
            model.wv.save_word2vec_format(spec["output"], binary=True)
    out["peak_mb"] = _peak_mb()
    return out


# ---------------------------------------------------------------------------------------------
# parent
# ---------------------------------------------------------------------------------------------

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _busy():
    with open("/proc/stat") as fh:
        f = fh.readline().split()
    return sum(int(x) for x in f[1:9] if x) - int(f[4]) - int(f[5])


def run(spec, work):
    path = os.path.join(work, f"{spec['task']}-{spec['tool']}-{spec['seed']}.json")
    spec = dict(spec, result=path)
    spec_path = path + ".spec"
    with open(spec_path, "w") as fh:
        json.dump(spec, fh)
    load0 = os.getloadavg()[0]
    b0, t0 = _busy(), time.perf_counter()
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", spec_path], env=env,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    ticks = os.sysconf("SC_CLK_TCK")
    if r.returncode != 0:
        raise SystemExit(f"{spec['task']} {spec['tool']} failed:\n{r.stderr[-3000:]}")
    with open(path) as fh:
        res = json.load(fh)
    res["loadavg_before"] = load0
    res["busy_cores"] = (_busy() - b0) / ticks / wall     # every process's, this one's included
    return res


def evaluate(res, args):
    sys.path.insert(0, REPO)
    import w2v
    from w2v.evaluate import evaluate_analogies, evaluate_word_pairs
    kv = w2v.load(res["output"])
    res["analogy"] = evaluate_analogies(kv, args.analogies, restrict_vocab=30000)["accuracy"]
    res["ws353"] = evaluate_word_pairs(kv, args.pairs)["spearman"]
    os.unlink(res.pop("output"))


def machine():
    info = {"platform": platform.platform(), "python": platform.python_version()}
    try:
        info["lscpu_model"] = [ln.split(":", 1)[1].strip() for ln in subprocess.run(
            ["lscpu"], capture_output=True, text=True).stdout.splitlines() if ln.startswith("Model name")][0]
    except (OSError, IndexError):
        info["lscpu_model"] = None
    info["cores"] = os.cpu_count()
    info["commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
                                    text=True).stdout.strip()
    info["dirty"] = bool(subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "w2v"],
                                        capture_output=True, text=True).stdout.strip())
    from importlib import metadata
    for dist in ("gensim", "numpy"):
        try:
            info[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return info


def make_big(corpus, gb, tmp):
    fd, path = tempfile.mkstemp(prefix="w2v-big-", suffix=".txt", dir=tmp)
    with gzip.open(corpus, "rb") as fh:
        text = fh.read()
    with os.fdopen(fd, "wb") as out:
        written = 0
        while written < gb * 1e9:
            out.write(text)
            written += len(text)
    return path, written


def median(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child")
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(REPO), "shared", "corpora", "wiki17m.txt.gz"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "iterables"))
    ap.add_argument("--analogies", default=os.path.join(SHARED_EVAL, "questions-words.txt"))
    ap.add_argument("--pairs", default=os.path.join(SHARED_EVAL, "wordsim353.tsv"))
    ap.add_argument("--skip-list", action="store_true", help="only the big-file generator run")
    ap.add_argument("--big-gb", type=float, default=0.0, help="also train from a generator over a file this big")
    ap.add_argument("--big-model", default="cbow", choices=("sg", "cbow"))
    ap.add_argument("--tmp", default="/tmp")
    args = ap.parse_args(argv)
    if args.child:
        with open(args.child) as fh:
            spec = json.load(fh)
        res = child(spec)
        with open(spec["result"] + ".tmp", "w") as fh:
            json.dump(res, fh)
        os.replace(spec["result"] + ".tmp", spec["result"])
        return 0

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results.json")
    results = {}
    if os.path.exists(path):
        with open(path) as fh:
            results = json.load(fh)
    results.setdefault("runs", {})
    results["machine"] = machine()
    commands = results.setdefault("commands", [results.pop("command")] if "command" in results else [])
    commands.append(" ".join(["python"] + sys.argv))
    results["settings"] = SETTINGS
    results["corpus"] = args.corpus
    work = tempfile.mkdtemp(prefix="w2v-iterables-")
    if not args.skip_list:
        for task in ("vocab", "whole"):
            rows = []
            for seed in range(1, args.runs + 1):
                for tool in (("w2v", "gensim") if seed % 2 else ("gensim", "w2v")):
                    spec = {"task": task, "tool": tool, "seed": seed, "corpus": args.corpus,
                            "output": os.path.join(work, f"{tool}-{seed}.bin")}
                    log(f"{task} {tool} seed {seed} (load {os.getloadavg()[0]:.2f})")
                    res = run(spec, work)
                    if task == "whole":
                        res["output"] = spec["output"]
                        evaluate(res, args)
                    log(f"  {json.dumps(res)}")
                    rows.append(res)
            results["runs"][task] = rows
    if args.big_gb:
        big, size = make_big(args.corpus, args.big_gb, args.tmp)
        try:
            log(f"big: {size / 1e9:.2f} GB in {big} (load {os.getloadavg()[0]:.2f})")
            res = run({"task": "big", "tool": "w2v", "seed": 1, "corpus": big, "model": args.big_model}, work)
            res["file_bytes"] = size
            log(f"  {json.dumps(res)}")
            results["runs"]["big"] = [res]
        finally:
            os.unlink(big)
    with open(path + ".tmp", "w") as fh:
        json.dump(results, fh, indent=1)
    os.replace(path + ".tmp", path)
    write_md(results, os.path.join(args.out, "results.md"))
    return 0


def write_md(results, path):
    m = results["machine"]
    lines = [f"# w2v and gensim trained from the same Python objects", "",
             "Commands: " + ", ".join(f"`{c}`" for c in results.get("commands", [results.get("command")])) + "  ",
             f"Commit {m['commit'][:10]}{' (w2v/ modified)' if m['dirty'] else ''}; CPU: {m['lscpu_model']} "
             f"({m['cores']} cores); Python {m['python']}; gensim {m.get('gensim')}, numpy {m.get('numpy')}.  ",
             f"Settings: {', '.join(f'{k} {v}' for k, v in results['settings'].items())}; skip-gram.", ""]
    runs = results["runs"]
    if "vocab" in runs and "whole" in runs:
        def row(task, tool):
            return [r for r in runs[task] if r["tool"] == tool]
        wv, gv = row("vocab", "w2v"), row("vocab", "gensim")
        ww, gw = row("whole", "w2v"), row("whole", "gensim")
        loads = [r["loadavg_before"] for r in runs["vocab"] + runs["whole"]]
        busy = [r["busy_cores"] for r in runs["vocab"] + runs["whole"]]
        lines += [f"Corpus `{os.path.basename(results['corpus'])}` read into a list of token lists "
                  f"(`line.split()` per line) in each process before timing; "
                  f"{len(wv)} runs of each, tools alternated; medians (all runs in results.json). "
                  f"Load average before the runs {min(loads):.2f}-{max(loads):.2f}; cores kept busy during "
                  f"them (all processes, the run's own included) {min(busy):.2f}-{max(busy):.2f}.", "",
                  "| measurement | w2v | gensim | w2v × gensim |", "|---|---|---|---|",
                  f"| vocabulary pass on the list, s (w2v: counting and encoding; gensim: build_vocab) | "
                  f"{median(wv, 'vocab_s'):.2f} | {median(gv, 'vocab_s'):.2f} | "
                  f"**{median(gv, 'vocab_s') / median(wv, 'vocab_s'):.1f}** |",
                  f"| whole 1-epoch skip-gram run from the list, s (w2v.train / Word2Vec(sentences=...)) | "
                  f"{median(ww, 'wall_s'):.1f} | {median(gw, 'wall_s'):.1f} | "
                  f"**{median(gw, 'wall_s') / median(ww, 'wall_s'):.1f}** |",
                  f"| analogy % (30,000 most frequent words) | {100 * median(ww, 'analogy'):.1f} | "
                  f"{100 * median(gw, 'analogy'):.1f} | |",
                  f"| WS353 Spearman | {median(ww, 'ws353'):.3f} | {median(gw, 'ws353'):.3f} | |",
                  f"| peak MB of the process (the list itself: {median(ww, 'list_rss_mb'):,.0f} MB) | "
                  f"{median(ww, 'peak_mb'):,.0f} | {median(gw, 'peak_mb'):,.0f} | |", "",
                  "Per run (whole): " + "; ".join(
                      f"{r['tool']} seed {r['seed']}: {r['wall_s']:.1f} s, {100 * r['analogy']:.1f} %, "
                      f"{r['ws353']:.3f}" for r in runs["whole"]) + ".  ",
                  "Per run (vocab): " + "; ".join(f"{r['tool']} {r['vocab_s']:.2f} s" for r in runs["vocab"]) + ".",
                  ""]
    if "big" in runs:
        r = runs["big"][0]
        total = r["base_mb"] + r["ids_mb"] + r["model_mb"] + r["words_mb"]
        lines += [f"## A generator over a {r['file_bytes'] / 1e9:.2f} GB text file", "",
                  f"`w2v.train((line.split() for line in open(path, 'rb')), model='{r['model']}', epochs=1, "
                  f"threads=2)`: {r['total_tokens']:,} tokens in {r['sentences']:,} sentences, "
                  f"{r['vocab_size']:,} words; {r['wall_s']:.0f} s ({r['scan_s']:.0f} s reading and encoding). "
                  f"Load average before: {r['loadavg_before']:.2f}.", "",
                  "| part | MB |", "|---|---|",
                  f"| the interpreter with numpy and w2v imported, before reading | {r['base_mb']:,.0f} |",
                  f"| encoded ids (4 bytes per in-vocabulary token and sentence end) | {r['ids_mb']:,.0f} |",
                  f"| model (syn0, syn1neg, counts, alias table, workers' hot rows) | {r['model_mb']:,.0f} |",
                  f"| the words as Python strings and their index | {r['words_mb']:,.0f} |",
                  f"| sum | {total:,.0f} |",
                  f"| **peak resident memory of the process** | **{r['peak_mb']:,.0f}** |",
                  f"| peak minus sum: the scanner's table, a batch of ids, the generator's lines | "
                  f"{r['peak_mb'] - total:,.0f} |", ""]
    with open(path + ".tmp", "w") as fh:
        fh.write("\n".join(lines))
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
