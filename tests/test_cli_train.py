"""`w2v train` from the command line: success paths, formats, and every user error."""
import os
import subprocess
import sys

import numpy as np
import pytest

import w2v
from w2v.cli import main

FAST = ["--dim", "16", "--epochs", "2", "--min-count", "1", "--threads", "2", "--quiet"]


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["native", "bin", "txt"])
def test_train_writes_loadable_vectors(tmp_path, capsys, planted_corpus, fmt):
    out = tmp_path / f"vec.{fmt}"
    code, _, err = run(capsys, "train", planted_corpus, "-o", out, "--format", fmt, *FAST)
    assert code == 0, err
    kv = w2v.load(out)
    assert len(kv) == 64 and kv.vector_size == 16
    assert sorted(kv.index_to_key) == sorted(f"g{g}w{i}" for g in range(8) for i in range(8))
    if fmt == "native":
        assert kv.counts is not None and kv.counts.sum() == 30_000
    # same model, same seed, one thread: identical vectors whatever the format
    assert not list(tmp_path.glob(".*part"))      # no temporary file left behind


def test_formats_agree(tmp_path, capsys, planted_corpus):
    paths = {}
    for fmt in ("native", "bin", "txt"):
        paths[fmt] = tmp_path / f"v.{fmt}"
        code, _, err = run(capsys, "train", planted_corpus, "-o", paths[fmt], "--format", fmt,
                           "--dim", "8", "--epochs", "1", "--min-count", "1", "--threads", "1", "--seed", "4", "-q")
        assert code == 0, err
    native, binary, text = (w2v.load(paths[f]) for f in ("native", "bin", "txt"))
    assert native.index_to_key == binary.index_to_key == text.index_to_key
    np.testing.assert_array_equal(native.vectors, binary.vectors)
    np.testing.assert_allclose(native.vectors, text.vectors, rtol=1e-5, atol=1e-7)


def test_progress_lines_when_not_quiet(tmp_path, capsys, planted_corpus):
    code, out, err = run(capsys, "train", planted_corpus, "-o", tmp_path / "v", "--dim", "8", "--epochs", "2",
                         "--min-count", "1")
    assert code == 0
    assert "vocabulary: 64 words" in err
    assert "epoch 2/2 done: loss" in err
    assert "wrote 64 vectors of dimension 8" in err


@pytest.mark.parametrize("args, message", [
    (["--dim", "0"], "--dim must be between 1"),
    (["--window", "-1"], "--window must be between 1"),
    (["--epochs", "0"], "--epochs must be between 1"),
    (["--negative", "0"], "--negative 0 leaves nothing to train: add --hs"),
    (["--negative", "-1", "--hs"], "--negative must be between 0"),
    (["--sample", "-1"], "--sample must be"),
    (["--alpha", "-0.1"], "--alpha must be > 0"),
    (["--threads", "0"], "--threads must be between 1"),
    (["--min-count", "100000"], "no word occurs at least 100000 times"),
    (["--hs-tree", "word2vec"], "--hs-tree chooses hierarchical softmax's tree: add --hs"),
])
def test_bad_values(tmp_path, capsys, planted_corpus, args, message):
    out = tmp_path / "v"
    code, _, err = run(capsys, "train", planted_corpus, "-o", out, "-q", *args)
    assert code == 2
    assert message in err
    assert err.startswith("w2v: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_missing_empty_and_unwritable(tmp_path, capsys, planted_corpus):
    code, _, err = run(capsys, "train", tmp_path / "missing.txt", "-o", tmp_path / "v")
    assert code == 2 and "corpus not found" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, _, err = run(capsys, "train", empty, "-o", tmp_path / "v")
    assert code == 2 and "contains no words" in err
    code, _, err = run(capsys, "train", planted_corpus, "-o", tmp_path / "nodir" / "v")
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "train", planted_corpus, "-o", tmp_path)
    assert code == 2 and "is a directory" in err
    code, _, err = run(capsys, "train")
    assert code == 2 and "give a corpus" in err


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "x", "--dim", "ten"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid int value: 'ten'" in err and "Traceback" not in err


def test_demo_runs_and_answers(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--demo", "-o", tmp_path / "demo.w2v", "--threads", "1")
    assert code == 0, err
    assert "nearest to 'cat':" in out
    kv = w2v.load(tmp_path / "demo.w2v")
    animals = {"dog", "horse", "cow", "sheep", "goat", "rabbit", "mouse", "fox", "wolf"}
    assert {w for w, _ in kv.most_similar("cat", topn=5)} <= animals
    assert kv.analogy("france", "paris", "italy", topn=3)[0][0] == "rome" or \
        "rome" in [w for w, _ in kv.analogy("france", "paris", "italy", topn=3)]


def test_demo_without_output_writes_into_a_new_temporary_directory(tmp_path, capsys, monkeypatch):
    import re
    import tempfile
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    (work / "vectors.w2v").write_text("the user's own file")
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    code, out, err = run(capsys, "train", "--demo", "--threads", "1", "--epochs", "1")
    assert code == 0, err
    written = re.search(r"to (\S+) \(native format\)", err).group(1)
    assert os.path.dirname(os.path.dirname(written)) == str(tmp)       # a new directory in the temp dir
    assert len(w2v.load(written)) > 50 and f"w2v similar {written} cat" in err
    assert sorted(os.listdir(work)) == ["vectors.w2v"]                   # nothing written here ...
    assert (work / "vectors.w2v").read_text() == "the user's own file"   # ... nor replaced


def test_default_output_never_replaces_an_existing_file(tmp_path, capsys, monkeypatch, planted_corpus):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vectors.w2v").write_text("keep me")
    code, _, err = run(capsys, "train", planted_corpus, *FAST)
    assert code == 2 and "vectors.w2v already exists; give -o vectors.w2v to replace it" in err
    assert (tmp_path / "vectors.w2v").read_text() == "keep me"
    code, _, err = run(capsys, "train", planted_corpus, "-o", "vectors.w2v", *FAST)     # asked for: replaced
    assert code == 0, err
    assert len(w2v.load(tmp_path / "vectors.w2v")) == 64
    (tmp_path / "vectors.w2v").unlink()
    code, _, err = run(capsys, "train", planted_corpus, *FAST)                       # the default, when free
    assert code == 0, err
    assert len(w2v.load(tmp_path / "vectors.w2v")) == 64


def test_module_and_console_script(tmp_path, planted_corpus):
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "w2v", "train", str(planted_corpus), "-o", str(tmp_path / "v"),
                        "--dim", "0"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 2 and "--dim must be between 1" in r.stderr and "Traceback" not in r.stderr


def test_cache_dir_and_resume_errors(tmp_path, capsys, planted_corpus):
    code, _, err = run(capsys, "train", planted_corpus, "-o", tmp_path / "v", "--cache-dir", tmp_path / "nope")
    assert code == 2 and "--cache-dir" in err and "not a directory" in err
    notckpt = tmp_path / "x.txt"
    notckpt.write_text("2 3\na 1 2 3\nb 1 2 3\n")
    code, _, err = run(capsys, "train", planted_corpus, "--resume", notckpt)
    assert code == 2 and "not a w2v model or checkpoint file" in err and "pickle" not in err


def test_vectors_follow_further_training(planted_corpus):
    m = w2v.train(planted_corpus, dim=8, epochs=1, min_count=1, threads=1)
    before = m.wv.get_normed_vectors().copy()
    m.train(planted_corpus, epochs=2)
    after = m.wv.get_normed_vectors()
    expected = m.syn0 / np.linalg.norm(m.syn0, axis=1, keepdims=True)
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(before, after)


def _unbuilt_tree(tmp_path):
    """A copy of the package's Python files without its compiled modules, as in a source checkout."""
    import glob
    import shutil
    tree = tmp_path / "checkout"
    (tree / "w2v").mkdir(parents=True)
    for name in glob.glob(os.path.join(os.path.dirname(w2v.__file__), "*.py")):
        shutil.copy(name, tree / "w2v")
    return tree


def test_an_unbuilt_source_tree_on_the_path_uses_the_installed_package(tmp_path):
    """`python -m pytest` or `python -c "import w2v"` from a clone's root puts the unbuilt w2v/
    first on sys.path: the import must still work, with the installed compiled modules."""
    tree = _unbuilt_tree(tmp_path)
    code = "import w2v, w2v._kernels as k; print(w2v.train.__module__, k.__file__)"
    r = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, cwd=tree)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "w2v.train" and not r.stdout.split()[1].startswith(str(tree))
    # a changed file in the tree is not silently ignored
    with open(tree / "w2v" / "params.py", "a") as fh:
        fh.write("\n# edited\n")
    r = subprocess.run([sys.executable, "-c", "import w2v"], capture_output=True, text=True, cwd=tree)
    assert r.returncode == 0 and "params.py differ: run `pip install .`" in r.stderr


def test_an_unbuilt_source_tree_alone_says_what_to_run(tmp_path):
    tree = _unbuilt_tree(tmp_path)
    # hide every installed copy: only the unbuilt tree (the current directory) can be found
    code = ("import os, sys; sys.path[:] = [p for p in sys.path if not p or not os.path.isdir(os.path.join(p, 'w2v'))]; "
            "from importlib import machinery as m; "
            "sys.meta_path[:] = [f for f in sys.meta_path if f in (m.BuiltinImporter, m.FrozenImporter, m.PathFinder)]; "
            "import w2v")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tree)
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith("ImportError: w2v is not built in")
    assert "run `pip install .`" in r.stderr
