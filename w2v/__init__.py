"""w2v: fast word2vec (skip-gram and CBOW with negative sampling) on every CPU core.

    import w2v
    model = w2v.train("corpus.txt", model="sg", dim=100)
    model.wv.most_similar("king")
    kv = w2v.load("vectors")
"""
from .errors import UnknownWordError, W2VError
from .params import Params
from .train import Progress, StopTraining, Word2Vec, train

__version__ = "0.1.0"

from .vectors import KeyedVectors, load
from . import evaluate, geometry

__all__ = ["train", "Word2Vec", "KeyedVectors", "load", "Params", "Progress", "StopTraining",
           "W2VError", "UnknownWordError", "evaluate", "geometry"]
