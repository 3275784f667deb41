"""Vocabulary files: --save-vocab and --read-vocab in word2vec.c's `word count` format."""
import numpy as np
import pytest

import w2v
from w2v.cli import main
from w2v.vocab import read_vocab, save_vocab


def corpus(path):
    lines = ["the cat sat on the mat", "the dog sat", "a cat and a dog and the bird", "rare"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_saved_vocabulary_is_word2vec_c_format(tmp_path, capsys):
    c = corpus(tmp_path / "c.txt")
    out = tmp_path / "v.vocab"
    assert main(["train", str(c), "-o", str(tmp_path / "v.w2v"), "--min-count", "2", "--dim", "4", "--epochs", "1",
                 "--threads", "1", "--save-vocab", str(out)]) == 0
    lines = [line.split() for line in out.read_text().splitlines()]
    # word2vec.c: `</s>` (one per sentence) first, then the words by descending count; min-count applies
    assert lines[0] == ["</s>", "4"]
    counts = {"the": 4, "cat": 2, "sat": 2, "dog": 2, "a": 2, "and": 2}
    assert {w: int(n) for w, n in lines[1:]} == counts
    assert [int(n) for _, n in lines[1:]] == sorted(counts.values(), reverse=True)
    assert "vocabulary written to" in capsys.readouterr().err


def test_read_vocabulary_keeps_its_order_and_counts_and_skips_counting(tmp_path, monkeypatch):
    c = corpus(tmp_path / "c.txt")
    vf = tmp_path / "given.vocab"
    vf.write_text("</s> 4\nthe 5\nsat 7\ndog 5\nbird 1\nnever 3\n")
    import importlib
    train_module = importlib.import_module("w2v.train")
    monkeypatch.setattr(train_module, "scan", lambda *a, **k: pytest.fail("the corpus was counted"))
    m = w2v.train(c, read_vocab=vf, min_count=2, dim=4, epochs=1, threads=1)
    assert m.vocab.words == ["the", "sat", "dog", "never"]          # the file's order; min-count 2 drops bird
    np.testing.assert_array_equal(m.vocab.counts, [5, 7, 5, 3])    # the file's counts (noise, subsampling)
    assert m.raw_words == 2 + 2 + 4                                # the corpus's words of that vocabulary
    m2 = w2v.train(c, read_vocab=vf, min_count=1, max_vocab=2, dim=4, epochs=1, threads=1)
    assert m2.vocab.words == ["the", "sat"]


def test_hierarchical_softmax_over_a_vocabulary_file_out_of_count_order(tmp_path):
    """The Huffman tree of a vocabulary read in the file's order is built over the counts, not the
    order: the most frequent word ("sat", second in the file) gets the shortest code."""
    c = corpus(tmp_path / "c.txt")
    vf = tmp_path / "given.vocab"
    vf.write_text("</s> 4\nthe 5\nsat 70\ndog 5\nnever 3\n")
    m = w2v.train(c, read_vocab=vf, min_count=1, dim=4, epochs=1, threads=1, hs=True, negative=0, sample=0)
    lengths = dict(zip(m.vocab.words, m.tree.lengths.tolist()))
    # "the" and "dog" (5 each): one joins "never" (3) first; which one is the tree's tie-break
    assert lengths["sat"] == 1 and lengths["never"] == 3 and sorted([lengths["the"], lengths["dog"]]) == [2, 3]
    m = w2v.train(c, read_vocab=vf, min_count=1, dim=4, epochs=1, threads=1, hs=True, negative=0, sample=0,
                  hs_tree="word2vec")
    assert dict(zip(m.vocab.words, m.tree.lengths.tolist())) == {"sat": 1, "the": 2, "dog": 3, "never": 3}
    assert np.isfinite(m.syn1).all() and np.abs(m.syn1).sum() > 0


def test_round_trip_gives_the_same_vocabulary_and_training(tmp_path):
    c = corpus(tmp_path / "c.txt")
    a = w2v.train(c, save_vocab=tmp_path / "v.vocab", min_count=1, dim=4, epochs=2, threads=1, seed=3)
    b = w2v.train(c, read_vocab=tmp_path / "v.vocab", min_count=1, dim=4, epochs=2, threads=1, seed=3)
    assert a.vocab.words == b.vocab.words
    np.testing.assert_array_equal(a.vocab.counts, b.vocab.counts)
    np.testing.assert_array_equal(a.syn0, b.syn0)


@pytest.mark.parametrize("text, message", [
    ("the 3\ncat\n", "line 2: expected `word count`"),
    ("the 3\ncat x\n", "line 2: expected `word count`"),
    ("the 3\ncat 2 1\n", "line 2: expected `word count`"),
    ("the 3\ncat 2\n\nthe 1\n", "line 4: the word 'the' was already given on line 1"),
    ("the -3\n", "line 1: expected `word count`"),
    ("", "holds no word seen at least 1 times"),
    ("the 0\n", "holds no word seen at least 1 times"),
])
def test_a_bad_vocabulary_file_is_a_one_line_error_with_the_line(tmp_path, capsys, text, message):
    vf = tmp_path / "bad.vocab"
    vf.write_text(text)
    with pytest.raises(w2v.W2VError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_vocab(vf)
    c = corpus(tmp_path / "c.txt")
    assert main(["train", str(c), "-o", str(tmp_path / "v"), "--read-vocab", str(vf), "--min-count", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "v").exists()


def test_vocabulary_flags_errors(tmp_path, capsys):
    c = corpus(tmp_path / "c.txt")
    assert main(["train", str(c), "-o", str(tmp_path / "v"), "--read-vocab", str(tmp_path / "none")]) == 2
    assert "vocabulary file not found" in capsys.readouterr().err
    assert main(["train", str(c), "-o", str(tmp_path / "v"), "--save-vocab", str(tmp_path / "no" / "v")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_save_vocab_writes_atomically_what_it_is_given(tmp_path):
    v = w2v.vocab.Vocab(words=["b", "a"], counts=np.array([5, 2]))
    save_vocab(v, tmp_path / "x.vocab", sentence_ends=9)
    assert (tmp_path / "x.vocab").read_text() == "</s> 9\nb 5\na 2\n"
    assert read_vocab(tmp_path / "x.vocab").words == ["b", "a"]
