"""Run gensim's own KeyedVectors and Word2Vec tests against gensim and against w2v.compat, and compare.

    python benchmarks/gensim_api_tests.py                  # both suites; needs gensim, pytest, testfixtures
    python benchmarks/gensim_api_tests.py --suite kv       # only test_keyedvectors.py (--suite w2v: test_word2vec.py)
    python benchmarks/gensim_api_tests.py --no-shim        # without redirecting gensim's private loader (see below)

The test file is read from the installed gensim package (gensim/test/test_keyedvectors.py, with its data in
gensim/test/test_data/) and copied to a temporary directory twice: unchanged, and with every reference to
gensim's KeyedVectors class replaced by w2v.compat.KeyedVectors (gensim's helpers REAL, datapath and
pseudorandom_weak_vector stay gensim's). Three tests call gensim's private loader
``gensim.models.keyedvectors._load_word2vec_format(cls=..., binary_chunk_size=...)``, the function behind
``KeyedVectors.load_word2vec_format``; in the w2v copy that call becomes
``cls.load_word2vec_format(fname, binary=..., limit=...)`` (binary_chunk_size is the size of gensim's read
buffer and changes nothing in the result). ``--no-shim`` leaves that call alone, so those tests run gensim's
own loader with the w2v class.

gensim/test/test_word2vec.py is adapted the same way: ``word2vec.Word2Vec`` becomes w2v.compat.Word2Vec and
``keyedvectors.KeyedVectors`` w2v.compat.KeyedVectors; gensim's corpus helpers (LineSentence, LeeCorpus,
common_texts, utils.save_as_line_sentence, the RULE_* constants) stay gensim's. Only the model's tests
(TestWord2VecModel, TestWMD) are counted: the file's other classes test gensim's own sentence iterators and
command-line scripts, which do not touch the model (they are listed, not counted). It needs testfixtures
(``pip install testfixtures``), which that file imports.

Each copy runs in its own pytest process; the script prints the outcome of every test, the number that
pass on each side, the ratio, and the first line of each failure on w2v.compat. No gensim code is kept in
this repository: the files are read from the installed package at run time.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

IMPORT_LINE = "from gensim.models.keyedvectors import KeyedVectors, REAL, pseudorandom_weak_vector"

SHIM = '''

def _w2v_load_word2vec_format(cls, fname, fvocab=None, binary=False, limit=None, binary_chunk_size=None, **kw):
    """gensim's private loader redirected to the public load_word2vec_format of `cls`."""
    return cls.load_word2vec_format(fname, fvocab=fvocab, binary=binary, limit=limit, **kw)
'''


W2V_IMPORT_LINE = "from gensim.models import word2vec, keyedvectors"
W2V_COUNTED = ("TestWord2VecModel", "TestWMD")      # the model's tests; the file's other classes test gensim's tools


def find_test_file(name="test_keyedvectors.py"):
    try:
        import gensim
    except ImportError:
        sys.exit("gensim is not installed: pip install gensim")
    path = os.path.join(os.path.dirname(gensim.__file__), "test", name)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing; this gensim was installed without its tests "
                 "(pip download gensim --no-binary :all: --no-deps gets the source)")
    data = os.path.join(os.path.dirname(path), "test_data", "euclidean_vectors.bin")
    if not os.path.exists(data):
        sys.exit(f"{data} is missing: gensim's test data is not installed")
    return path, gensim.__version__


def adapt(source, shim=True):
    """The test source with gensim's KeyedVectors class replaced by w2v.compat's."""
    if IMPORT_LINE not in source:
        sys.exit("gensim's test file no longer has the import this script replaces; update the script")
    out = source.replace(IMPORT_LINE, "from gensim.models.keyedvectors import REAL, pseudorandom_weak_vector\n"
                                      "from w2v.compat import KeyedVectors")
    out = out.replace("gensim.models.keyedvectors.KeyedVectors", "KeyedVectors")
    out = out.replace("gensim.models.KeyedVectors", "KeyedVectors")
    if shim:
        out = out.replace("gensim.models.keyedvectors._load_word2vec_format(", "_w2v_load_word2vec_format(")
        out += SHIM
    left = re.findall(r"gensim\.models\.(?:keyedvectors\.)?KeyedVectors\b", out)
    if left:
        sys.exit(f"references to gensim's KeyedVectors left after the replacement: {left}")
    return out


def adapt_word2vec(source, shim=True):
    """gensim's test_word2vec.py with its Word2Vec and KeyedVectors classes replaced by w2v.compat's."""
    if W2V_IMPORT_LINE not in source:
        sys.exit("gensim's test_word2vec.py no longer has the import this script replaces; update the script")
    out = source.replace(W2V_IMPORT_LINE, W2V_IMPORT_LINE + "\nfrom w2v.compat import Word2Vec, KeyedVectors")
    out = re.sub(r"\bword2vec\.Word2Vec\b", "Word2Vec", out)
    out = re.sub(r"\bkeyedvectors\.KeyedVectors\b", "KeyedVectors", out)
    left = re.findall(r"\b(?:word2vec\.Word2Vec|keyedvectors\.KeyedVectors)\b", out)
    if left:
        sys.exit(f"references to gensim's classes left after the replacement: {left}")
    return out


SUITES = {
    "kv": ("test_keyedvectors.py", adapt, None),
    "w2v": ("test_word2vec.py", adapt_word2vec, W2V_COUNTED),
}


def run(path, workdir, name):
    """{test id: (outcome, first line of the message)} from one pytest run."""
    xml = os.path.join(workdir, f"{name}.xml")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", path]
    subprocess.run(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not os.path.exists(xml):
        sys.exit(f"pytest did not run {path}")
    results = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        test_id = f"{case.get('classname').rsplit('.', 1)[-1]}.{case.get('name')}"
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or node.text or "").strip().splitlines()
                message = message[0] if message else ""
                break
        results[test_id] = (outcome, message)
    return results


def compare(suite, shim):
    """Run one suite on both sides and print the comparison. Returns (passing on gensim, passing on both)."""
    name, adapter, counted = SUITES[suite]
    path, version = find_test_file(name)
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    with tempfile.TemporaryDirectory() as tmp:
        original = os.path.join(tmp, f"test_{suite}_gensim.py")
        adapted = os.path.join(tmp, f"test_{suite}_w2v.py")
        with open(original, "w", encoding="utf-8") as fh:
            fh.write(source)
        with open(adapted, "w", encoding="utf-8") as fh:
            fh.write(adapter(source, shim=shim))
        on_gensim = run(original, tmp, "gensim")
        on_w2v = run(adapted, tmp, "w2v")

    def is_counted(test):
        return counted is None or test.split(".", 1)[0] in counted

    passing = sorted(t for t, (o, _) in on_gensim.items() if o == "passed" and is_counted(t))
    both = [t for t in passing if on_w2v.get(t, ("missing", ""))[0] == "passed"]
    print(f"gensim {version}: {path}" + (" (private loader not redirected)" if not shim else ""))
    for test in sorted(on_gensim):
        note = "" if is_counted(test) else "   (not counted: gensim's own tools)"
        print(f"  {test:70s} gensim {on_gensim[test][0]:7s} w2v.compat {on_w2v.get(test, ('missing',))[0]}{note}")
    print(f"\n{name}: pass on gensim: {len(passing)} of {sum(map(is_counted, on_gensim))} counted; of those, pass on "
          f"w2v.compat: {len(both)} ({100.0 * len(both) / max(1, len(passing)):.1f}%)")
    failing = [t for t in passing if t not in both]
    if failing:
        print("\nfail on w2v.compat:")
        for test in failing:
            outcome, message = on_w2v.get(test, ("missing", ""))
            print(f"  {test}: {outcome}: {message[:150]}")
    print()
    return len(passing), len(both)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=["all", *SUITES], default="all",
                        help="which of gensim's test files to run (default: all)")
    parser.add_argument("--no-shim", action="store_true",
                        help="leave gensim's private _load_word2vec_format calls unchanged")
    args = parser.parse_args(argv)
    for suite in (SUITES if args.suite == "all" else [args.suite]):
        compare(suite, shim=not args.no_shim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
