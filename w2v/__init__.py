"""w2v: fast word2vec (skip-gram and CBOW, negative sampling and hierarchical softmax) on every CPU core.

    import w2v
    model = w2v.train("corpus.txt", model="sg", dim=100)     # or .gz/.bz2/.xz, a directory, a file object,
    model = w2v.train([["a", "cat"], ["a", "dog"]], min_count=1)   # or any iterable of token lists (read once)
    model.wv.most_similar("king")
    kv = w2v.load("vectors")
"""

def _find_build():
    """Where the compiled modules are. Normally here; but Python run from a source checkout
    (`python -m pytest`, `python -c "import w2v"` in the clone's root) imports this unbuilt
    tree ahead of the installed package: then the package's modules are taken from the
    installed copy, and if this tree's Python files differ from it, a warning says so."""
    import importlib.machinery
    import os
    import sys
    here = os.path.dirname(os.path.abspath(__file__))

    def built(d):
        return any(os.path.exists(os.path.join(d, "_scan" + s)) for s in importlib.machinery.EXTENSION_SUFFIXES)

    if built(here):
        return None
    candidates = [os.path.join(os.path.abspath(entry or os.curdir), "w2v") for entry in sys.path
                  if isinstance(entry, str)]
    for finder in sys.meta_path:            # an editable install maps the package by a finder of its own
        if finder is importlib.machinery.PathFinder or not hasattr(finder, "find_spec"):
            continue
        try:
            spec = finder.find_spec(__name__, None)
        except Exception:
            spec = None
        candidates.extend((spec and spec.submodule_search_locations) or [])
    for d in candidates:
        if os.path.normcase(d) != os.path.normcase(here) and built(d) and os.path.isfile(os.path.join(d, "__init__.py")):
            return d
    raise ImportError(f"w2v is not built in {here} and no installed copy was found: run `pip install .` "
                      f"(or `python setup.py build_ext --inplace` to build this tree in place)")


def _differs(here, there):
    import filecmp
    import glob
    import os
    names = {os.path.basename(p) for p in glob.glob(os.path.join(here, "*.py"))}
    return sorted(n for n in names if not os.path.exists(os.path.join(there, n))
                  or not filecmp.cmp(os.path.join(here, n), os.path.join(there, n), shallow=False))


_installed = _find_build()
if _installed is not None:
    import os as _os
    import warnings as _warnings
    _changed = _differs(_os.path.dirname(_os.path.abspath(__file__)), _installed)
    __path__[:] = [_installed]          # every submodule comes from the installed package
    if _changed:
        _warnings.warn(f"w2v: using the installed package in {_installed}; this source tree is not built and "
                       f"its {', '.join(_changed)} differ: run `pip install .` to use them", stacklevel=2)
del _find_build, _differs

from .errors import DivergedError, UnknownWordError, W2VError
from .params import Params
from .train import Progress, StopTraining, Word2Vec, train

__version__ = "0.1.0"

from .vectors import KeyedVectors, load
from . import evaluate, geometry, phrases

__all__ = ["train", "Word2Vec", "KeyedVectors", "load", "Params", "Progress", "StopTraining",
           "W2VError", "UnknownWordError", "DivergedError", "evaluate", "geometry", "phrases"]
