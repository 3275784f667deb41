"""Model and checkpoint files: the whole training state in one file, written atomically.

The file is an uncompressed NumPy .npz archive (a zip file, so every member carries a CRC-32
that is checked on reading) with these members:

    meta      UTF-8 JSON: format name and version, parameters, vocabulary statistics, epochs done,
              loss history, the position in an unfinished training run (epoch, next chunk,
              progress counter, the epoch's loss so far) and the corpus fingerprint
    words     the vocabulary, UTF-8, one word per line (tokens never contain whitespace)
    counts    int64 corpus count per word
    syn0      float32 (V, dim) input vectors (the word vectors)
    syn1neg   float32 (V, dim) output vectors of negative sampling (absent when negative is 0)
    syn1      float32 (V - 1, dim) output vectors of hierarchical softmax, one per inner node of
              the Huffman tree, root first (only with hs; the tree itself is rebuilt from counts)

Version 1 (written before hierarchical softmax) always has syn1neg and never syn1; it is read
as a model without hierarchical softmax. No pickles: loading never runs code from the file. A truncated or damaged file is a W2VError.
The random state needs no storing: every chunk's stream is derived from (seed, epoch, chunk).
"""
import json
import os
import zipfile

import numpy as np

from ._io import atomic_write, describe_os_error
from .errors import W2VError

FORMAT = "w2v-model"
VERSION = 2
READS = (1, 2)          # the versions load() reads


def save(path, meta, words, counts, syn0, syn1neg, syn1=None):
    """Write a model/checkpoint file atomically (temporary file, fsync, rename). syn1neg or
    syn1 may be None (not written)."""
    meta = dict(meta, format=FORMAT, version=VERSION)
    blob = "\n".join(words).encode("utf-8")
    matrices = {name: a for name, a in (("syn1neg", syn1neg), ("syn1", syn1)) if a is not None}
    with atomic_write(path) as fh:
        np.savez(fh, meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
                 words=np.frombuffer(blob, dtype=np.uint8), counts=np.asarray(counts, dtype=np.int64),
                 syn0=syn0, **matrices)


def load(path):
    """Read a model/checkpoint file. Returns (meta, words, counts, syn0, syn1neg, syn1), with
    None for a matrix the file does not have."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                raise W2VError(f"{path} is not a w2v model or checkpoint file (give the .ckpt a run wrote, "
                               f"or a file saved by Word2Vec.save)")
        with np.load(path, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("not a zip archive")
            missing = {"meta", "words", "counts", "syn0"} - set(z.files)
            if missing:
                raise ValueError(f"missing {', '.join(sorted(missing))}")
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise ValueError("not a w2v model file")
            if meta.get("version") not in READS:
                raise W2VError(f"{path}: model file version {meta.get('version')!r} is not supported "
                               f"(this w2v reads versions {', '.join(map(str, READS))}); use a newer w2v")
            if meta["version"] == 1 and "syn1neg" not in z.files:
                raise ValueError("missing syn1neg")
            blob = z["words"].tobytes().decode("utf-8")
            words = blob.split("\n") if blob else []
            counts = z["counts"]
            syn0 = z["syn0"]
            syn1neg = z["syn1neg"] if "syn1neg" in z.files else None
            syn1 = z["syn1"] if "syn1" in z.files and meta["version"] >= 2 else None
    except W2VError:
        raise
    except FileNotFoundError:
        raise W2VError(f"model file not found: {path}") from None
    except OSError as exc:
        raise W2VError(describe_os_error(exc, path, "read")) from None
    except MemoryError:
        raise W2VError(f"{path}: not enough memory to load the model") from None
    except (ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError, TypeError) as exc:
        raise W2VError(f"{path} is damaged or not a w2v model file ({exc})") from None
    v = len(words)
    ok = (counts.dtype == np.int64 and counts.shape == (v,) and syn0.dtype == np.float32
          and syn0.ndim == 2 and syn0.shape[0] == v and v > 0
          and (syn1neg is None or (syn1neg.shape == syn0.shape and syn1neg.dtype == np.float32))
          and (syn1 is None or (syn1.shape == (v - 1, syn0.shape[1]) and syn1.dtype == np.float32)))
    if not ok:
        shapes = "".join(f", {name} {a.shape}" for name, a in (("syn1neg", syn1neg), ("syn1", syn1)) if a is not None)
        raise W2VError(f"{path} is damaged: {v} words, counts {counts.shape}, syn0 {syn0.shape}{shapes} "
                       f"do not agree")
    return meta, words, counts, syn0, syn1neg, syn1
