import signal
import subprocess
import sys

import numpy as np
import pytest

# Python run as root would read and write any file whatever its mode: this prelude removes the two
# capabilities that let it (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from the process before anything
# else runs, so permission errors happen as for any other user. Threads started later inherit it.
DROP_FILE_PRIVILEGES = r"""
import ctypes, os
if os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]
    header, data = Header(0x20080522, 0), (Data * 2)()       # _LINUX_CAPABILITY_VERSION_3
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    for d in data:
        d.effective &= ~0b110; d.permitted &= ~0b110; d.inheritable &= ~0b110
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
"""


def require_gensim():
    """gensim's models module. gensim is optional for users, so a test needing it is skipped where
    it is missing, except under CI (CI=true), which installs it (.ci/run): there it must run."""
    import os
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        import gensim.models
        return gensim.models
    return pytest.importorskip("gensim.models")


def require_dask():
    """dask.distributed. Dask is optional for users (pip install ".[distributed]"), so a test needing it is
    skipped where it is missing, except under CI (CI=true), which installs it (.ci/run): there it must run."""
    import os
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        import distributed
        return distributed
    return pytest.importorskip("distributed")


def run_unprivileged(code, *args, cwd=None):
    """Run Python `code` (with sys.argv[1:] = args) in a process that cannot bypass file
    permissions, even as root. Returns the CompletedProcess (text mode)."""
    return subprocess.run([sys.executable, "-c", DROP_FILE_PRIVILEGES + code, *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def cli_unprivileged(*args, cwd=None):
    """The w2v command line run by run_unprivileged."""
    return run_unprivileged("import sys\nfrom w2v.cli import main\nsys.exit(main(sys.argv[1:]))", *args, cwd=cwd)


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
    """Each compiled build of the kernels this CPU can run (generic; avx2 and avx512 where supported),
    switched back to the one the import chose afterwards."""
    from w2v import _kernels
    yield _kernels.select(request.param)
    _kernels.select(_kernels.VARIANT)


def sigint_default():
    """A subprocess's preexec_fn: SIGINT at its default disposition, as for a command run in the
    foreground of a terminal. A suite started in the background by a non-interactive shell has
    SIGINT ignored, its children inherit that, and w2v (as any program that honours nohup) then
    leaves Ctrl-C ignored: a test of Ctrl-C would see no interruption."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
