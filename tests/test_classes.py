"""Word classes: spherical k-means as word2vec.c's -classes."""
import numpy as np
import pytest

import w2v
from w2v.cli import main
from w2v.evaluate import ari
from w2v.geometry import word_classes
from w2v.vectors import KeyedVectors


def word2vec_c_classes(syn0, k, iterations):
    """word2vec.c's clustering loop, transcribed from its definition: word a starts in class
    a mod k; each round, every centre is the normalised sum of its words' vectors and every
    word moves to the centre of largest dot product (the first on ties)."""
    cl = [a % k for a in range(len(syn0))]
    for _ in range(iterations):
        cent = [[0.0] * syn0.shape[1] for _ in range(k)]
        for a, c in enumerate(cl):
            for d in range(syn0.shape[1]):
                cent[c][d] += float(syn0[a, d])
        for c in range(k):
            norm = sum(v * v for v in cent[c]) ** 0.5
            cent[c] = [v / norm for v in cent[c]]
        for a in range(len(syn0)):
            scores = [sum(cent[c][d] * float(syn0[a, d]) for d in range(syn0.shape[1])) for c in range(k)]
            cl[a] = max(range(k), key=lambda c: (scores[c], -c))
    return np.array(cl)


def planted(groups=12, per_group=30, dim=16, seed=0):
    """Words around `groups` random directions, with norms from 0.3 to 3 (cosine, not distance, groups them)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((groups, dim))
    truth = np.repeat(np.arange(groups), per_group)
    rng.shuffle(truth)
    vecs = centres[truth] + 0.25 * rng.standard_normal((len(truth), dim))
    vecs *= rng.uniform(0.3, 3.0, len(truth))[:, None] / np.linalg.norm(vecs, axis=1, keepdims=True)
    words = [f"w{i}" for i in range(len(truth))]
    return KeyedVectors(words, vecs.astype(np.float32)), truth


def test_word2vec_init_repeats_word2vec_c_exactly():
    rng = np.random.default_rng(3)
    syn0 = rng.standard_normal((60, 5)).astype(np.float32)
    kv = KeyedVectors([f"w{i}" for i in range(60)], syn0)
    for iterations in (1, 3):
        np.testing.assert_array_equal(word_classes(kv, 4, iterations=iterations, init="word2vec"),
                                      word2vec_c_classes(syn0, 4, iterations))


def test_planted_directions_are_recovered_whatever_the_norms():
    kv, truth = planted()
    labels = word_classes(kv, 12, seed=5)
    assert ari(truth, labels) == pytest.approx(1.0)
    again = word_classes(kv, 12, seed=5)
    np.testing.assert_array_equal(labels, again)          # seeded: repeatable
    # distance-based k-means on these vectors mixes the groups: the norms vary tenfold
    from w2v.geometry import kmeans
    assert ari(truth, kmeans(kv.vectors, 12, seed=5, restarts=1)) < 0.9


def test_every_class_is_used_even_with_as_many_classes_as_words():
    kv, _ = planted(groups=3, per_group=5)
    for init in ("kmeans++", "word2vec"):
        labels = word_classes(kv, 15, init=init, iterations=3)
        assert sorted(labels) == list(range(15))


def test_classes_command_writes_word2vec_c_format(tmp_path, capsys):
    kv, truth = planted(groups=4, per_group=10)
    vec = tmp_path / "v.w2v"
    kv.save(vec)
    out = tmp_path / "classes.txt"
    assert main(["classes", str(vec), "-k", "4", "-o", str(out), "--seed", "2"]) == 0
    lines = out.read_text().splitlines()
    assert [line.split()[0] for line in lines] == kv.index_to_key
    labels = np.array([int(line.split()[1]) for line in lines])
    assert ari(truth, labels) == pytest.approx(1.0)
    assert "wrote the classes of 40 words (4 classes" in capsys.readouterr().err
    assert main(["classes", str(vec), "-k", "4", "--seed", "2"]) == 0      # to standard output
    assert capsys.readouterr().out.splitlines() == lines


@pytest.mark.parametrize("args, message", [
    (["-k", "41"], "number of classes must be between 1 and the number of words (40)"),
    (["-k", "0"], "number of classes must be between 1"),
    (["-k", "3", "--iterations", "0"], "--iterations must be a positive integer"),
    (["-k", "3", "--seed", "-1"], "seed must be a whole number >= 0"),
])
def test_classes_command_errors_are_one_line(tmp_path, capsys, args, message):
    kv, _ = planted(groups=4, per_group=10)
    kv.save(tmp_path / "v.w2v")
    assert main(["classes", str(tmp_path / "v.w2v"), *args, "-o", str(tmp_path / "c.txt")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.txt").exists()
