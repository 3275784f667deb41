"""Phrases side by side: `w2v phrases` against word2vec.c's word2phrase and gensim's Phrases.

    python benchmarks/phrases_compare.py --corpus ../shared/corpora/wiki17m.txt.gz \\
        --word2phrase-bin /tmp/word2phrase --rounds 3 --passes2 --out benchmarks/results/phrases

Every tool learns phrases with the same min_count and threshold and writes the joined corpus; each run is
its own process (wall time and peak memory from wait4), tools alternate within every round, and the table
gives medians over the rounds. Tools:

- w2v        `python -m w2v phrases CORPUS -o OUT` on the .gz corpus as given (it reads .gz itself), and
             `w2v (plain)` on the decompressed copy
- word2phrase word2vec.c's word2phrase (build it from its original source and pass --word2phrase-bin), on
             the decompressed copy (it reads plain text only)
- gensim     `Phrases(LineSentence(plain), min_count, threshold)` (its default scoring), then every sentence
             of LineSentence(plain) through `phrases[sentence]`, written one sentence per line

Overlap: the set of distinct joined bigrams ("a_b" tokens: the corpus must hold no "_") in each tool's output,
compared with word2phrase's: |both| / |word2phrase's| and the Jaccard index. gensim's default scoring
multiplies by the number of distinct words and pairs instead of the corpus's words, so its set differs by
design. --passes 2 adds w2v with 2 passes and word2phrase run twice (the second run on the first's output).
"""
import argparse
import collections
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import compare  # noqa: E402  (machine_info, _spawn, plain_corpus)

GENSIM = r"""
import sys
from gensim.models.phrases import Phrases
from gensim.models.word2vec import LineSentence
corpus, out, min_count, threshold = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
phrases = Phrases(LineSentence(corpus), min_count=min_count, threshold=threshold)
with open(out, "w", encoding="utf-8") as fh:
    for sentence in LineSentence(corpus):
        fh.write(" ".join(phrases[sentence]) + "\n")
"""


def joined_bigrams(path):
    """Counter of the tokens holding "_" in a file."""
    c = collections.Counter()
    with open(path, "rb") as fh:
        for line in fh:
            for tok in line.split():
                if b"_" in tok:
                    c[tok] += 1
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus")
    ap.add_argument("--render", metavar="RESULTS_JSON", help="only write results.md again from a results.json")
    ap.add_argument("--word2phrase-bin")
    ap.add_argument("--tools", default="w2v,w2v-plain,word2phrase,gensim")
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--threshold", type=float, default=100.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--passes2", action="store_true", help="also w2v --passes 2 and word2phrase twice")
    ap.add_argument("--plain", help="a decompressed copy of the corpus, if there is one already")
    ap.add_argument("--cache-dir", default=tempfile.gettempdir(), help="where to decompress the corpus once")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "phrases"))
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render) as fh:
            result = json.load(fh)
        _write(os.path.join(os.path.dirname(os.path.abspath(args.render)), "results.md"), _markdown(result))
        return 0
    if not args.corpus:
        ap.error("--corpus is required")
    tools = args.tools.split(",")
    if "word2phrase" in tools and not args.word2phrase_bin:
        ap.error("word2phrase needs --word2phrase-bin")
    if args.passes2 and not args.word2phrase_bin:
        ap.error("--passes2 needs --word2phrase-bin")
    plain = args.plain or compare.plain_corpus(os.path.abspath(args.corpus), args.cache_dir)[0]
    work = tempfile.mkdtemp(prefix="w2v-phrases-bench-")
    py = sys.executable
    mc, th = str(args.min_count), repr(args.threshold)
    env = dict(os.environ, PYTHONPATH=REPO)
    out = lambda name: os.path.join(work, f"{name}.txt")   # noqa: E731
    cmds = {
        "w2v": [py, "-m", "w2v", "phrases", os.path.abspath(args.corpus), "-o", out("w2v"), "-q",
                "--min-count", mc, "--threshold", th],
        "w2v-plain": [py, "-m", "w2v", "phrases", plain, "-o", out("w2v-plain"), "-q",
                      "--min-count", mc, "--threshold", th],
        "word2phrase": [args.word2phrase_bin, "-train", plain, "-output", out("word2phrase"),
                        "-min-count", mc, "-threshold", th, "-debug", "0"],
        "gensim": [py, "-c", GENSIM, plain, out("gensim"), mc, th],
    }
    if args.passes2:
        tools += ["w2v-2passes", "word2phrase-2passes"]
        cmds["w2v-2passes"] = cmds["w2v"][:6] + [out("w2v-2passes")] + cmds["w2v"][7:] + ["--passes", "2"]
    runs = []
    for r in range(args.rounds):
        order = tools if r % 2 == 0 else tools[::-1]
        for tool in order:
            load = os.getloadavg()
            compare.log(f"round {r + 1}: {tool} (load {load[0]:.2f})")
            if tool == "word2phrase-2passes":
                steps = [[args.word2phrase_bin, "-train", plain, "-output", out("w2p-pass1"), "-min-count", mc,
                          "-threshold", th, "-debug", "0"],
                         [args.word2phrase_bin, "-train", out("w2p-pass1"), "-output", out(tool), "-min-count", mc,
                          "-threshold", th, "-debug", "0"]]
            else:
                steps = [cmds[tool]]
            wall = peak = other = 0.0
            for step in steps:
                rc, w, stats = compare._spawn(step, os.path.join(work, f"{tool}.log"), env=env)
                if rc != 0:
                    raise SystemExit(f"{tool} failed ({rc}): {compare._tail(os.path.join(work, f'{tool}.log'))}")
                wall += w
                peak = max(peak, stats["peak_mb"])
                other += (stats["other_load"] or 0.0) * w
            runs.append({"round": r + 1, "tool": tool, "wall_s": wall, "peak_mb": peak,
                         "other_load": other / wall if wall else None, "loadavg_before": list(load)})
    sets = {t: joined_bigrams(out(t)) for t in tools}
    ref = set(sets.get("word2phrase", {}))
    overlap = {}
    for t, c in sets.items():
        s = set(c)
        row = {"distinct_joined": len(s), "joins": sum(c.values())}
        if ref and t in ("w2v", "w2v-plain", "gensim"):
            row.update(shared_with_word2phrase=len(s & ref), of_word2phrase=len(s & ref) / len(ref),
                       jaccard=len(s & ref) / len(s | ref), only_here=[x.decode() for x, _ in
                                                                      collections.Counter({k: c[k] for k in s - ref}).most_common(10)],
                       only_word2phrase=[x.decode() for x, _ in collections.Counter(
                           {k: sets["word2phrase"][k] for k in ref - s}).most_common(10)])
        if t == "w2v-2passes" and "word2phrase-2passes" in sets:
            r2 = set(sets["word2phrase-2passes"])
            row.update(of_word2phrase_2passes=len(s & r2) / len(r2), jaccard_2passes=len(s & r2) / len(s | r2))
        overlap[t] = row
    summary = {}
    for t in tools:
        walls = [x["wall_s"] for x in runs if x["tool"] == t]
        peaks = [x["peak_mb"] for x in runs if x["tool"] == t]
        other = [x["other_load"] or 0.0 for x in runs if x["tool"] == t]
        summary[t] = {"wall_s_median": statistics.median(walls), "wall_s": walls,
                      "peak_mb_median": statistics.median(peaks), "other_load_median": statistics.median(other)}
    info = compare.machine_info()
    model = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    info["lscpu_model"] = next((ln.split(":", 1)[1].strip() for ln in model.splitlines()
                                if ln.startswith("Model name:")), None)
    result = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": info,
              "settings": {"corpus": args.corpus, "plain": plain, "min_count": args.min_count,
                           "threshold": args.threshold, "rounds": args.rounds},
              "commands": {t: " ".join(c) for t, c in cmds.items()}, "runs": runs, "summary": summary,
              "overlap": overlap}
    os.makedirs(args.out, exist_ok=True)
    _write(os.path.join(args.out, "results.json"), json.dumps(result, indent=2))
    _write(os.path.join(args.out, "results.md"), _markdown(result))
    shutil.rmtree(work, ignore_errors=True)
    print(_markdown(result))
    return 0


def _markdown(r):
    s, o = r["summary"], r["overlap"]
    lines = [f"# Phrases: w2v, word2phrase, gensim ({r['date']})", "",
             f"corpus {r['settings']['corpus']}, min_count {r['settings']['min_count']}, threshold "
             f"{r['settings']['threshold']}, medians of {r['settings']['rounds']} rounds (tools alternating); "
             f"{(r['machine'].get('lscpu_model') or r['machine'].get('cpu') or '').replace('Model name:', '').strip()}, "
             f"{r['machine'].get('usable_cores')} cores; "
             f"w2v commit {(r['machine'].get('w2v_git') or {}).get('commit')}", "",
             "| tool | wall s (median) | runs | other load | peak MB | distinct joined tokens | joins | shared with word2phrase | Jaccard |",
             "|---|---|---|---|---|---|---|---|---|"]
    base = s.get("word2phrase", {}).get("wall_s_median")
    for t, x in s.items():
        ov = o.get(t, {})
        shared = f"{100 * ov['of_word2phrase']:.2f} %" if "of_word2phrase" in ov else ""
        jac = f"{ov['jaccard']:.4f}" if "jaccard" in ov else ""
        others = [y["other_load"] or 0.0 for y in r["runs"] if y["tool"] == t]
        lines.append(f"| {t} | {x['wall_s_median']:.1f} | {', '.join(f'{w:.1f}' for w in x['wall_s'])} | "
                     f"{statistics.median(others):.2f} | {x['peak_mb_median']:.0f} | {ov.get('distinct_joined', '')} | {ov.get('joins', '')} | {shared} | {jac} |")
    lines.append("")
    for t in ("w2v", "w2v-plain"):
        if t in s and "gensim" in s:
            lines.append(f"- {t}: {s['gensim']['wall_s_median'] / s[t]['wall_s_median']:.1f}x faster than gensim")
        if t in s and base:
            lines.append(f"- {t}: {base / s[t]['wall_s_median']:.1f}x faster than word2phrase")
    if "w2v-2passes" in s and "word2phrase-2passes" in s:
        lines.append(f"- w2v-2passes: {s['word2phrase-2passes']['wall_s_median'] / s['w2v-2passes']['wall_s_median']:.1f}x "
                     f"faster than word2phrase run twice")
    if "w2v-2passes" in o and "of_word2phrase_2passes" in o["w2v-2passes"]:
        lines.append(f"- 2 passes: w2v shares {100 * o['w2v-2passes']['of_word2phrase_2passes']:.2f} % of word2phrase's "
                     f"distinct joined tokens (Jaccard {o['w2v-2passes']['jaccard_2passes']:.4f})")
    lines += ["", "other load: cores other processes kept busy during the run (median; the machine has 2). Overlap: "
              "distinct tokens holding \"_\" in each written corpus against word2phrase's (same passes).",
              "", "Commands:", ""] + [f"- {t}: `{c}`" for t, c in r["commands"].items()] + [""]
    return "\n".join(lines)


def _write(path, text):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
