"""compare.py end to end on a tiny corpus: w2v and a fake word2vec.c binary (collected by `pytest benchmarks/`)."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COMPARE = os.path.join(HERE, "compare.py")

# Stands in for a word2vec binary: records its arguments next to -output, then writes a valid
# word2vec binary file there (header "3 2", then each word, a space and two little-endian float32).
FAKE_WORD2VEC = r"""#!/bin/sh
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -output) out="$2"; shift ;;
  esac
  shift
done
[ -n "$out" ] || { echo "no -output" >&2; exit 1; }
printf '3 2\n' > "$out"
printf 'w0 \000\000\200\077\000\000\000\000\n' >> "$out"
printf 'w1 \000\000\000\000\000\000\200\077\n' >> "$out"
printf 'w2 \000\000\200\077\000\000\200\077\n' >> "$out"
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("compare")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    p = 1.0 / np.arange(1, 41)
    with open(d / "corpus.txt", "w") as fh:
        for _ in range(400):
            fh.write(" ".join(rng.choice(words, size=12, p=p / p.sum())) + "\n")
    (d / "questions.txt").write_text(": family\nw0 w1 w2 w3\nw4 w5 w6 w7\nw0 w1 w2 unknownword\n")
    (d / "pairs.tsv").write_text("word1\tword2\tscore\nw0\tw1\t5.0\nw1\tw2\t3.0\nw2\tw3\t1.0\nw0\tunknown\t2.0\n")
    fake = d / "word2vec"
    fake.write_text(FAKE_WORD2VEC)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return d


def _run(setup, *extra):
    out = setup / "out"
    cmd = [sys.executable, COMPARE, "--corpus", str(setup / "corpus.txt"), "--epochs", "1", "--threads", "1,2",
           "--models", "sg,cbow", "--dim", "8", "--min-count", "1", "--out", str(out),
           "--cache-dir", str(setup / "cache"), "--analogies", str(setup / "questions.txt"),
           "--pairs", str(setup / "pairs.tsv"), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / "results.json") as fh:
        return json.load(fh), (out / "results.md").read_text(), proc


def test_w2v_and_fake_word2vec(setup):
    report, md, _ = _run(setup, "--tools", "w2v,word2vec", "--word2vec-bin", str(setup / "word2vec"))
    runs = report["runs"]
    assert {(r["tool"], r["model"], r["threads"]) for r in runs} == {
        (t, m, n) for t in ("w2v", "word2vec") for m in ("sg", "cbow") for n in (1, 2)}
    assert all("error" not in r for r in runs)
    assert report["corpus"]["words"] == 400 * 12 and report["corpus"]["lines"] == 400
    for r in runs:
        assert r["peak_mb"] > 0 and r["wall_s"] > 0 and r["train_words_per_s"] > 0
        assert r["cpu_s"] >= 0 and r["other_load"] >= 0
        assert r["analogy"]["total"] == 3 and r["pairs"]["pairs"] == 4
        assert r["pairs"]["known"] == (3 if r["tool"] == "w2v" else 2)   # the fake knows w0, w1, w2
    assert len(report["summary"]) == 8
    assert all(r["speed_ratio_vs_gensim"] is None and r["n_runs"] == 1 for r in report["summary"])  # no gensim
    w2v_runs = [r for r in runs if r["tool"] == "w2v"]
    assert all(r["train_time"] == "reported" and r["vocab_size_saved"] == 40 for r in w2v_runs)
    fake_runs = [r for r in runs if r["tool"] == "word2vec"]
    assert all(r["train_time"] == "whole run" and r["vocab_size_saved"] == 3 for r in fake_runs)
    assert report["machine"]["versions"]["numpy"] == np.__version__
    assert md.count("| w2v |") == 4 and md.count("| word2vec.c |") == 4
    assert "word2vec.c:" in md   # its mapping note
    assert "* the tool does not report training time" in md


def test_seeds_repeat_each_run_and_the_table_shows_medians(setup):
    report, md, _ = _run(setup, "--tools", "w2v", "--models", "sg", "--threads", "1", "--seeds", "3,4,5")
    assert sorted(r["seed"] for r in report["runs"]) == [3, 4, 5]
    assert len({tuple(r["pairs"].values()) for r in report["runs"]}) > 1      # the seeds give different vectors
    (row,) = report["summary"]
    assert row["n_runs"] == 3
    accs = sorted(r["analogy"]["accuracy"] for r in report["runs"])
    assert row["analogy"]["accuracy"] == accs[1] and row["analogy_range"] == [accs[0], accs[2]]
    assert "| w2v ×3 |" in md and "seeds 3, 4, 5" in md


def test_word2vec_gets_the_settings(setup, tmp_path):
    # A wrapper that logs its arguments, then runs the fake: the flags word2vec.c expects, with our values.
    args_log = tmp_path / "args.txt"
    wrapper = tmp_path / "word2vec"
    wrapper.write_text(f'#!/bin/sh\necho "$@" > "{args_log}"\nexec "{setup / "word2vec"}" "$@"\n')
    wrapper.chmod(0o755)
    _run(setup, "--tools", "word2vec", "--word2vec-bin", str(wrapper), "--models", "cbow", "--threads", "2",
         "--window", "3", "--negative", "7", "--sample", "1e-4")
    argv = args_log.read_text().split()
    flags = dict(zip(argv[0::2], argv[1::2]))
    assert flags["-train"] == str(setup / "corpus.txt")
    assert flags["-cbow"] == "1" and flags["-size"] == "8" and flags["-window"] == "3"
    assert flags["-negative"] == "7" and flags["-hs"] == "0" and float(flags["-sample"]) == 1e-4
    assert flags["-threads"] == "2" and flags["-binary"] == "1" and flags["-iter"] == "1"
    assert flags["-min-count"] == "1" and float(flags["-alpha"]) == 0.05


def test_hierarchical_softmax_reaches_every_tool(setup, tmp_path):
    args_log = tmp_path / "args.txt"
    wrapper = tmp_path / "word2vec"
    wrapper.write_text(f'#!/bin/sh\necho "$@" > "{args_log}"\nexec "{setup / "word2vec"}" "$@"\n')
    wrapper.chmod(0o755)
    report, md, _ = _run(setup, "--tools", "w2v,word2vec", "--word2vec-bin", str(wrapper), "--models", "sg",
                         "--threads", "1", "--hs", "--negative", "0")
    argv = args_log.read_text().split()
    flags = dict(zip(argv[0::2], argv[1::2]))
    assert flags["-hs"] == "1" and flags["-negative"] == "0"
    assert report["settings"]["hs"] is True and all("error" not in r for r in report["runs"])
    assert "hierarchical softmax" in md


def test_cbow_with_a_sum_reaches_w2v_and_skips_the_tools_without_it(setup):
    report, md, proc = _run(setup, "--tools", "w2v,word2vec", "--word2vec-bin", str(setup / "word2vec"),
                            "--models", "cbow", "--threads", "1", "--cbow-mean", "0")
    assert [r["tool"] for r in report["runs"]] == ["w2v"] and report["settings"]["cbow_mean"] is False
    assert report["runs"][0]["alpha"] == 0.025
    assert "Skipped: word2vec" in md and "sum of the context vectors" in md


def test_missing_peer_is_skipped(setup):
    report, md, proc = _run(setup, "--tools", "w2v,word2vec", "--threads", "1", "--models", "sg")
    assert [r["tool"] for r in report["runs"]] == ["w2v"]
    assert "skipping word2vec" in proc.stderr
    assert "Skipped: word2vec" in md


def test_gz_corpus_is_decompressed_once_for_plain_file_tools(setup):
    import gzip
    gz = setup / "corpus.txt.gz"
    with open(setup / "corpus.txt", "rb") as src, gzip.open(gz, "wb") as dst:
        dst.write(src.read())
    out = setup / "out-gz"
    base = [sys.executable, COMPARE, "--corpus", str(gz), "--threads", "1", "--models", "sg", "--dim", "8",
            "--min-count", "1", "--out", str(out), "--cache-dir", str(setup / "cache-gz"),
            "--tools", "w2v,word2vec", "--word2vec-bin", str(setup / "word2vec")]
    for expect_reused in (False, True):
        proc = subprocess.run(base, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        report = json.loads((out / "results.json").read_text())
        c = report["corpus"]
        assert c["plain_reused"] is expect_reused and c["words"] == 400 * 12
        with open(c["plain_copy"], "rb") as fh:
            assert fh.read() == (setup / "corpus.txt").read_bytes()
        by_tool = {r["tool"]: r for r in report["runs"]}
        assert by_tool["w2v"]["corpus_read"] == str(gz)              # w2v reads the .gz itself
        assert by_tool["word2vec"]["corpus_read"] == c["plain_copy"]


def test_ratios_and_word_count(tmp_path):
    sys.path.insert(0, HERE)
    try:
        import compare
    finally:
        sys.path.remove(HERE)
    rows = [
        {"tool": "gensim", "model": "sg", "threads": 2, "wall_s": 10.0, "train_s": 8.0, "train_words_per_s": 1e5},
        {"tool": "w2v", "model": "sg", "threads": 2, "wall_s": 5.0, "train_s": 2.0, "train_words_per_s": 4e5},
        {"tool": "w2v", "model": "sg", "threads": 1, "wall_s": 5.0, "train_s": 2.0, "train_words_per_s": 4e5},
        {"tool": "fasttext", "model": "sg", "threads": 2, "error": "exit status 1"},
    ]
    compare.add_ratios(rows)
    assert rows[1]["speed_ratio_vs_gensim"] == 2.0 and rows[1]["train_ratio_vs_gensim"] == 4.0
    assert rows[0]["speed_ratio_vs_gensim"] == 1.0
    assert rows[2]["speed_ratio_vs_gensim"] is None and rows[3]["speed_ratio_vs_gensim"] is None
    # counting words does not double-count a word cut by a block boundary
    p = tmp_path / "c.txt"
    p.write_bytes(b"a bb ccc\n" * 5 + b"last line no newline")
    for block_size in (1, 3, 4, 7, 1 << 20):
        assert compare.count_corpus(str(p), block_size) == (19, 6)


def test_summary_takes_medians_and_ranges_over_seeds():
    sys.path.insert(0, HERE)
    try:
        import compare
    finally:
        sys.path.remove(HERE)
    runs = [{"tool": "w2v", "model": "sg", "threads": 2, "seed": s, "wall_s": w, "train_words_per_s": 1e5 * w,
             "peak_mb": 100.0, "analogy": {"accuracy": a, "total": 10}, "pairs": {"spearman": r}}
            for s, w, a, r in ((1, 3.0, 0.10, 0.40), (2, 1.0, 0.30, 0.50), (3, 2.0, 0.20, 0.45))]
    runs.append({"tool": "w2v", "model": "sg", "threads": 2, "seed": 4, "error": "exit status 1"})
    runs.append({"tool": "gensim", "model": "sg", "threads": 2, "seed": 1, "wall_s": 4.0, "train_words_per_s": 1e5,
                 "peak_mb": 120.0})
    summary = compare.summarise(runs)
    w2v, gensim = summary
    assert w2v["n_runs"] == 3 and w2v["failed_runs"] == 1
    assert w2v["wall_s"] == 2.0 and w2v["analogy"]["accuracy"] == 0.20 and w2v["pairs"]["spearman"] == 0.45
    assert w2v["analogy_range"] == (0.10, 0.30) and w2v["spearman_range"] == (0.40, 0.50)
    assert gensim["n_runs"] == 1 and gensim["wall_s"] == 4.0
    compare.add_ratios(summary)
    assert w2v["speed_ratio_vs_gensim"] == 2.0
