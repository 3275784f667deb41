"""Model and checkpoint files: the whole training state in one file, written atomically.

The file is an uncompressed NumPy .npz archive (a zip file, so every member carries a CRC-32
that is checked on reading) with five members:

    meta      UTF-8 JSON: format name and version, parameters, vocabulary statistics, epochs done,
              loss history, the position in an unfinished training run (epoch, next chunk,
              progress counter, the epoch's loss so far) and the corpus fingerprint
    words     the vocabulary, UTF-8, one word per line (tokens never contain whitespace)
    counts    int64 corpus count per word
    syn0      float32 (V, dim) input vectors (the word vectors)
    syn1neg   float32 (V, dim) output vectors of negative sampling

No pickles: loading never runs code from the file. A truncated or damaged file is a W2VError.
The random state needs no storing: every chunk's stream is derived from (seed, epoch, chunk).
"""
import json
import os
import zipfile

import numpy as np

from ._io import atomic_write, describe_os_error
from .errors import W2VError

FORMAT = "w2v-model"
VERSION = 1


def save(path, meta, words, counts, syn0, syn1neg):
    """Write a model/checkpoint file atomically (temporary file, fsync, rename)."""
    meta = dict(meta, format=FORMAT, version=VERSION)
    blob = "\n".join(words).encode("utf-8")
    with atomic_write(path) as fh:
        np.savez(fh, meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
                 words=np.frombuffer(blob, dtype=np.uint8), counts=np.asarray(counts, dtype=np.int64),
                 syn0=syn0, syn1neg=syn1neg)


def load(path):
    """Read a model/checkpoint file. Returns (meta, words, counts, syn0, syn1neg)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                raise W2VError(f"{path} is not a w2v model or checkpoint file (give the .ckpt a run wrote, "
                               f"or a file saved by Word2Vec.save)")
        with np.load(path, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("not a zip archive")
            missing = {"meta", "words", "counts", "syn0", "syn1neg"} - set(z.files)
            if missing:
                raise ValueError(f"missing {', '.join(sorted(missing))}")
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise ValueError("not a w2v model file")
            if meta.get("version") != VERSION:
                raise W2VError(f"{path}: model file version {meta.get('version')!r} is not supported "
                               f"(this w2v reads version {VERSION})")
            blob = z["words"].tobytes().decode("utf-8")
            words = blob.split("\n") if blob else []
            counts = z["counts"]
            syn0 = z["syn0"]
            syn1neg = z["syn1neg"]
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
          and syn0.ndim == 2 and syn0.shape[0] == v and syn1neg.shape == syn0.shape
          and syn1neg.dtype == np.float32 and v > 0)
    if not ok:
        raise W2VError(f"{path} is damaged: {v} words, counts {counts.shape}, syn0 {syn0.shape}, "
                       f"syn1neg {syn1neg.shape} do not agree")
    return meta, words, counts, syn0, syn1neg
