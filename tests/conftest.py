import numpy as np
import pytest


def write_planted_corpus(path, groups=8, per_group=8, sentences=3000, length=10, seed=0):
    """Sentences drawn from one group of words each: words of a group share all contexts."""
    rng = np.random.default_rng(seed)
    vocab = [[f"g{g}w{i}" for i in range(per_group)] for g in range(groups)]
    with open(path, "w") as fh:
        for _ in range(sentences):
            g = rng.integers(groups)
            fh.write(" ".join(rng.choice(vocab[g], size=length)) + "\n")
    return path


def group_of(word):
    return word.split("w")[0]


def neighbour_accuracy(words, vectors):
    """Share of words whose nearest neighbour (cosine) is in the same group."""
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    nearest = sims.argmax(axis=1)
    return float(np.mean([group_of(words[i]) == group_of(words[j]) for i, j in enumerate(nearest)]))


@pytest.fixture(scope="session")
def planted_corpus(tmp_path_factory):
    return write_planted_corpus(tmp_path_factory.mktemp("corpus") / "planted.txt")


def _kernel_builds():
    from w2v import _kernels
    return _kernels.variants()


@pytest.fixture(params=sorted(_kernel_builds()))
def kernels(request):
    """Each compiled build of the kernels this CPU can run (generic, and avx2 where supported)."""
    return _kernel_builds()[request.param]
