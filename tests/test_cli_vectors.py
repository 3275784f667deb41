"""The vector commands: similar, analogy, eval, info, convert."""
import json

import numpy as np
import pytest

from w2v.cli import main
from w2v.vectors import KeyedVectors, load


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def vec_file(tmp_path):
    rng = np.random.default_rng(0)
    dim = 16
    male, royal = rng.standard_normal((2, dim))
    base = {"man": male, "woman": -male, "king": male + 3 * royal, "queen": -male + 3 * royal}
    words = list(base) + [f"filler{i}" for i in range(20)]
    vecs = np.array([base[w] for w in base] + list(3 * rng.standard_normal((20, dim))))
    kv = KeyedVectors(words, vecs, counts=np.arange(len(words), 0, -1) * 100)
    path = tmp_path / "vec.w2v"
    kv.save(path)
    return path


def test_similar(capsys, vec_file):
    code, out, err = run(capsys, "similar", vec_file, "king", "--topn", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].split()[0] == "queen"  # shares the royal direction
    float(lines[0].split()[1])
    assert len({line.index(line.split()[1]) for line in lines}) == 1  # scores aligned in one column


def test_analogy(capsys, vec_file):
    code, out, err = run(capsys, "analogy", vec_file, "man", "king", "woman", "--topn", "2")
    assert code == 0, err
    assert out.split()[0] == "queen" and len(out.splitlines()) == 2


@pytest.mark.parametrize("argv,message", [
    (["similar", "{f}", "nope"], "word 'nope' is not in the vocabulary"),
    (["analogy", "{f}", "man", "nope", "woman"], "word 'nope' is not in the vocabulary"),
    (["similar", "{f}", "king", "--topn", "0"], "--topn must be a positive integer"),
    (["similar", "{missing}", "king"], "cannot read"),
    (["similar", "{bad}", "king"], "not a word2vec file"),
    (["eval", "{f}"], "give --analogies FILE, --pairs FILE and/or --sts FILE"),
    (["eval", "{f}", "--pairs", "{missing}"], "cannot read the word-pair file"),
    (["convert", "{bad}", "{out}"], "not a word2vec file"),
])
def test_errors_are_one_line(capsys, tmp_path, vec_file, argv, message):
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not a vector file\n")
    names = {"f": vec_file, "missing": tmp_path / "missing.bin", "bad": bad, "out": tmp_path / "out.bin"}
    code, out, err = run(capsys, *[a.format(**names) for a in argv])
    assert code == 2
    assert err.startswith("w2v: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out.bin").exists()


@pytest.fixture
def eval_files(tmp_path):
    q = tmp_path / "questions.txt"
    q.write_text(": royal\nman king woman queen\nman king woman unknownword\n"
                 ": gram-x\nwoman queen man king\n")
    p = tmp_path / "pairs.tsv"
    p.write_text("# comment\nword1\tword2\tscore\nking\tqueen\t9\nman\tqueen\t2\nking\tfiller1\t1\nnope\tking\t3\n")
    return q, p


def test_eval_text(capsys, vec_file, eval_files):
    q, p = eval_files
    code, out, err = run(capsys, "eval", vec_file, "--analogies", q, "--pairs", p)
    assert code == 0, err
    lines = out.splitlines()
    royal = next(line for line in lines if line.strip().startswith("royal"))
    assert royal.split()[1:] == ["100.00%", "1", "1", "1"]
    total = next(line for line in lines if line.strip().startswith("total"))
    assert total.split()[1:] == ["100.00%", "2", "2", "1"]
    assert "spearman" in out and "known 3" in out and "oov 25.0%" in out


def test_eval_json(capsys, vec_file, eval_files):
    q, p = eval_files
    code, out, err = run(capsys, "eval", vec_file, "--analogies", q, "--pairs", p, "--json", "--restrict-vocab", "3")
    assert code == 0, err
    result = json.loads(out)
    a = result["analogies"]
    assert a["restrict_vocab"] == 3 and a["total"] == 3
    assert a["answered"] == 0 and a["accuracy"] is None  # queen is the 4th word: every question is skipped
    assert [s["name"] for s in a["sections"]] == ["royal", "gram-x"]
    assert result["pairs"]["pairs"] == 4 and result["pairs"]["known"] == 3
    code, out, _ = run(capsys, "eval", vec_file, "--pairs", p, "--json")
    assert code == 0 and "analogies" not in json.loads(out)


def test_info(capsys, vec_file, tmp_path):
    code, out, err = run(capsys, "info", vec_file, "--top", "3")
    assert code == 0, err
    assert "format:  native" in out and "words:   24" in out and "dim:     16" in out and "counts:  yes" in out
    assert "man (2,400), woman (2,300), king (2,200)" in out
    load(vec_file).save(tmp_path / "v.txt", "txt")
    code, out, _ = run(capsys, "info", tmp_path / "v.txt")
    assert code == 0 and "format:  txt" in out and "counts:  no" in out and "first words: man, woman" in out


@pytest.mark.parametrize("fmt", ["bin", "txt", "native"])
def test_convert(capsys, vec_file, tmp_path, fmt):
    out_path = tmp_path / f"out.{fmt}"
    code, _, err = run(capsys, "convert", vec_file, out_path, "--format", fmt)
    assert code == 0, err
    assert f"({fmt} format)" in err
    original, converted = load(vec_file), load(out_path)
    assert converted.source_format == fmt and converted.index_to_key == original.index_to_key
    np.testing.assert_allclose(converted.vectors, original.vectors, rtol=1e-6, atol=1e-6)
    code, _, _ = run(capsys, "convert", out_path, tmp_path / "small.vec", "--limit", "5")
    assert code == 0
    small = load(tmp_path / "small.vec")
    assert small.source_format == "txt" and len(small) == 5
