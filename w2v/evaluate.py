"""Intrinsic benchmarks: word analogies (questions-words format) and word-pair similarity (WordSim353, SimLex).

evaluate_analogies follows word2vec's compute-accuracy protocol: only the `restrict_vocab` most frequent
words (the first rows; trainers store words by descending frequency) are candidates, a question with a
word outside them is skipped, the three question words are never the answer, and matching is
case-insensitive by default. All questions go through one matrix-matrix product per chunk.
"""
import math
import os

import numpy as np

from ._io import describe_os_error
from .errors import W2VError

__all__ = ["evaluate_analogies", "evaluate_word_pairs", "read_analogies", "read_word_pairs", "spearman", "pearson",
           "analogy_outcomes", "pair_similarities", "correlation_pvalue", "betainc_regularized"]


def _read_lines(path, what, encoding="utf-8"):
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise W2VError(describe_os_error(exc, path, f"read the {what} file")) from None
    try:
        text = data.decode(encoding)
    except LookupError:
        raise W2VError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        name = "UTF-8" if encoding == "utf-8" else encoding
        raise W2VError(f"{path}: line {line}: not valid {name}") from None
    return text.splitlines()


def read_analogies(path):
    """Parse a questions-words file into a list of (section name, [(line, a, b, c, d), ...]).

    Sections start with ": name" lines; blank lines and lines starting with "#" are ignored.
    """
    sections = []
    current = None
    for line_no, line in enumerate(_read_lines(path, "analogy"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            current = (line[1:].strip() or f"section at line {line_no}", [])
            sections.append(current)
            continue
        parts = line.split()
        if len(parts) != 4:
            raise W2VError(f"{path}: line {line_no}: expected 4 words (a b c d) or ': section', "
                           f"got {len(parts)} fields")
        if current is None:
            current = ("(no section)", [])
            sections.append(current)
        current[1].append((line_no, *parts))
    if not any(questions for _, questions in sections):
        raise W2VError(f"{path}: no analogy questions found (expected lines 'a b c d' under ': section' headers)")
    return sections


def _lookup(kv, n_words, case_insensitive):
    """Word -> row among the first `n_words` rows (lower-cased words map to their most frequent form),
    and each row's canonical row (the row of its lower-cased form; the row itself if case-sensitive)."""
    keys = kv.index_to_key[:n_words]
    if not case_insensitive:
        return {w: i for i, w in enumerate(keys)}, np.arange(n_words)
    lookup = {}
    for i, w in enumerate(keys):
        lookup.setdefault(w.lower(), i)
    canon = np.fromiter((lookup[w.lower()] for w in keys), dtype=np.int64, count=n_words)
    return lookup, canon


def _summary(name, correct, answered, total):
    return {
        "name": name, "correct": int(correct), "answered": int(answered), "skipped": int(total - answered),
        "total": int(total), "accuracy": (correct / answered) if answered else None,
    }


def _candidates(kv, restrict_vocab):
    n_cand = len(kv) if restrict_vocab is None else int(restrict_vocab)
    if n_cand < 1:
        raise W2VError(f"restrict_vocab must be a positive integer, got {restrict_vocab!r}")
    return min(n_cand, len(kv))


def analogy_outcomes(kv, sections, restrict_vocab=30000, case_insensitive=True):
    """The analogy loop behind evaluate_analogies and w2v.compat's evaluate_word_analogies.

    `sections` is read_analogies' list. Returns (n_cand, known, correct): the number of candidate
    words, and two boolean arrays over all questions in file order: all four words are among the
    candidates, and the answer (the best candidate that is no question word) is the expected word.
    """
    n_cand = _candidates(kv, restrict_vocab)
    lookup, canon = _lookup(kv, n_cand, case_insensitive)

    # Rows sharing a canonical row are case variants of one word; all are excluded when it is a question word.
    variants = {}
    if case_insensitive:
        order = np.argsort(canon, kind="stable")
        bounds = np.flatnonzero(np.diff(canon[order])) + 1
        for group in np.split(order, bounds):
            if len(group) > 1:
                variants[int(canon[group[0]])] = group

    n_questions = sum(len(questions) for _, questions in sections)
    known = np.zeros(n_questions, dtype=bool)
    rows = []
    q_no = 0
    for _, questions in sections:
        for _, *words in questions:
            if case_insensitive:
                words = [w.lower() for w in words]
            idx = [lookup.get(w) for w in words]
            if None not in idx:
                known[q_no] = True
                rows.append(idx)
            q_no += 1

    correct = np.zeros(n_questions, dtype=bool)
    if rows:
        q = np.array(rows, dtype=np.int64)
        exclude = q[:, :3]
        if variants:
            groups = [[variants.get(int(i), (i,)) for i in row] for row in exclude]
            width = max(sum(len(g) for g in row) for row in groups)
            exclude = np.full((len(q), width), -1, dtype=np.int64)
            for r, row in enumerate(groups):
                flat = np.concatenate([np.asarray(g, dtype=np.int64) for g in row])
                exclude[r, :len(flat)] = flat
        best, _ = kv.analogy_rows(q[:, 0], q[:, 1], q[:, 2], exclude, topn=1, restrict_vocab=n_cand)
        best = best[:, 0]
        correct[known] = (best >= 0) & (canon[np.maximum(best, 0)] == canon[q[:, 3]])
    return n_cand, known, correct


def evaluate_analogies(kv, path, restrict_vocab=30000, case_insensitive=True):
    """Analogy accuracy ("a is to b as c is to d": is d the nearest word to b - a + c?).

    Returns a dict: "accuracy" (correct / answered, None if nothing was answered), "correct", "answered",
    "skipped", "total", "semantic" and "syntactic" (sections whose name does not / does start with
    "gram", each with name/correct/answered/skipped/total/accuracy), "sections" (the same per section,
    in file order), "restrict_vocab", "case_insensitive".

    With case_insensitive=True, questions and vocabulary are lower-cased and a lower-cased word stands
    for its most frequent form; every case variant of a question word is excluded from the answer and a
    case variant of the expected word counts as correct.
    """
    sections = read_analogies(path)
    n_cand, known, correct = analogy_outcomes(kv, sections, restrict_vocab, case_insensitive)
    result_sections = []
    totals = {"semantic": [0, 0, 0], "syntactic": [0, 0, 0]}
    lo = 0
    for name, questions in sections:
        hi = lo + len(questions)
        c, a = int(correct[lo:hi].sum()), int(known[lo:hi].sum())
        result_sections.append(_summary(name, c, a, len(questions)))
        kind = totals["syntactic" if name.startswith("gram") else "semantic"]
        kind[0] += c
        kind[1] += a
        kind[2] += len(questions)
        lo = hi
    out = _summary("total", int(correct.sum()), int(known.sum()), len(known))
    del out["name"]
    out["semantic"] = _summary("semantic", *totals["semantic"])
    out["syntactic"] = _summary("syntactic", *totals["syntactic"])
    out["sections"] = result_sections
    out["restrict_vocab"] = n_cand
    out["case_insensitive"] = bool(case_insensitive)
    return out


# ---------------------------------------------------------------------------------------------
# word pairs
# ---------------------------------------------------------------------------------------------

def read_word_pairs(path, score_column=2, delimiter=None, encoding="utf-8"):
    """Parse a word-pair file into a list of (word1, word2, score).

    Fields are separated by `delimiter` if given, else by tabs when the line has a tab, else by
    whitespace; word1 and word2 are the first two fields and the score is field `score_column`
    (0-based, default 2: "w1 w2 score"). Lines starting with "#" and blank lines are ignored, and so
    is a first line whose score is not a number (a column header).
    """
    pairs = []
    seen_data = False
    for line_no, line in enumerate(_read_lines(path, "word-pair", encoding), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if delimiter is not None:
            fields = [f.strip() for f in stripped.split(delimiter)]
        else:
            fields = [f.strip() for f in stripped.split("\t")] if "\t" in stripped else stripped.split()
        if len(fields) <= max(2, score_column):
            raise W2VError(f"{path}: line {line_no}: expected 'word1 word2 score', got {len(fields)} fields")
        try:
            score = float(fields[score_column])
            if not math.isfinite(score):
                raise ValueError
        except ValueError:
            if not seen_data:
                seen_data = True  # a header line
                continue
            raise W2VError(f"{path}: line {line_no}: score {fields[score_column]!r} is not a number") from None
        seen_data = True
        pairs.append((fields[0], fields[1], score))
    if not pairs:
        raise W2VError(f"{path}: no word pairs found (expected lines 'word1 word2 score')")
    return pairs


def _rank(x):
    """Ranks 1..n, ties given their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1], True])
    avg = (starts[:-1] + starts[1:] - 1) / 2.0 + 1.0
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(avg, np.diff(starts))
    return ranks


def pearson(x, y):
    """Pearson correlation; None when undefined (fewer than two points or a constant input)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if denom == 0:
        return None
    return float(np.clip((dx @ dy) / denom, -1.0, 1.0))


def spearman(x, y):
    """Spearman rank correlation (Pearson on average ranks, so ties are handled); None when undefined."""
    if len(x) < 2:
        return None
    return pearson(_rank(x), _rank(y))


def pair_similarities(kv, pairs, restrict_vocab=None, case_insensitive=True):
    """Cosine similarity of each (word1, word2, score) pair, NaN where a word is not among the first
    `restrict_vocab` words (all by default). With case_insensitive=True a word matches the most
    frequent vocabulary word equal to it lower-cased. Behind evaluate_word_pairs and w2v.compat's."""
    n_words = len(kv) if restrict_vocab is None else min(len(kv), int(restrict_vocab))
    lookup, _ = _lookup(kv, n_words, case_insensitive)
    i1, i2, where = [], [], []
    for k, (w1, w2, _) in enumerate(pairs):
        if case_insensitive:
            w1, w2 = w1.lower(), w2.lower()
        a, b = lookup.get(w1), lookup.get(w2)
        if a is not None and b is not None:
            i1.append(a)
            i2.append(b)
            where.append(k)
    sims = np.full(len(pairs), np.nan)
    if i1:
        normed = kv.get_normed_vectors()
        sims[where] = np.einsum("ij,ij->i", normed[i1], normed[i2])
    return sims


def evaluate_word_pairs(kv, path, case_insensitive=True, restrict_vocab=None, score_column=2):
    """Correlation between human similarity scores and cosine similarity, over pairs with both words known.

    Returns a dict: "spearman", "pearson" (None if fewer than two known pairs), "pairs" (in the file),
    "known" (pairs scored), "oov" (pairs with an unknown word) and "oov_ratio" (oov / pairs).
    With case_insensitive=True a word matches the most frequent vocabulary word equal to it lower-cased.
    `restrict_vocab` limits the vocabulary to the first N words.
    """
    pairs = read_word_pairs(path, score_column)
    sims = pair_similarities(kv, pairs, restrict_vocab, case_insensitive)
    known = ~np.isnan(sims)
    human = np.array([score for _, _, score in pairs])[known]
    model = sims[known]
    oov = len(pairs) - int(known.sum())
    return {
        "spearman": spearman(human, model),
        "pearson": pearson(human, model),
        "pairs": len(pairs),
        "known": int(known.sum()),
        "oov": oov,
        "oov_ratio": oov / len(pairs),
    }


# ---------------------------------------------------------------------------------------------
# significance of a correlation
# ---------------------------------------------------------------------------------------------

def correlation_pvalue(r, n):
    """Two-sided p-value of a Pearson (or Spearman) correlation `r` over `n` pairs, from the t test
    with n - 2 degrees of freedom, as scipy.stats.pearsonr and spearmanr compute it.

    With t = r * sqrt((n - 2) / (1 - r^2)), P(|T| >= |t|) = I_x(df / 2, 1 / 2) with x = df / (df + t^2)
    = 1 - r^2 (I the regularised incomplete beta function). NaN when r is undefined or n < 3.
    """
    if r is None or not math.isfinite(r) or n < 3:
        return math.nan
    return betainc_regularized((n - 2) / 2.0, 0.5, max(0.0, 1.0 - r * r))


def betainc_regularized(a, b, x):
    """I_x(a, b), the regularised incomplete beta function: scipy.special.betainc when scipy is
    installed, else the continued fraction of Numerical Recipes (3rd ed., section 6.4; modified
    Lentz's method), accurate to about 1e-14 for the a, b of correlation tests."""
    try:
        from scipy.special import betainc
    except ImportError:
        return _betainc_cf(a, b, x)
    return float(betainc(a, b, x))


def _betainc_cf(a, b, x):
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    # x^a (1-x)^b / (a B(a, b)) times the continued fraction; use the symmetry
    # I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly.
    log_front = a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a, b, x, eps=1e-15, max_terms=100000):
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, max_terms):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))  # even step
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))  # odd step
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise W2VError(f"the incomplete beta function did not converge (a={a}, b={b}, x={x})")
