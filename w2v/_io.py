"""Atomic file writes: a temporary file beside the target, fsync, then rename.

An interrupted or failed save never leaves a truncated file under the final name, and
a full disk or a read-only directory becomes a W2VError that says so. The temporary file's
name holds the writer's process id; a process killed outright (SIGKILL, power loss) cannot
remove its own, so the next successful save of the same file removes those of processes
that no longer exist.
"""
import contextlib
import errno
import glob
import os
import re
import tempfile

from .errors import W2VError

_REASONS = {
    errno.ENOSPC: "the disk is full; free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is exceeded; free some space or write elsewhere",
    errno.EACCES: "permission denied; choose a directory you can write to",
    errno.EPERM: "permission denied; choose a directory you can write to",
    errno.EROFS: "the file system is read-only; choose a writable directory",
    errno.ENOENT: "the directory does not exist; create it first",
    errno.EISDIR: "it is a directory; give a file name",
    errno.ENOTDIR: "a part of the path is not a directory",
}


def describe_os_error(exc, path, action="write"):
    if action != "write" and exc.errno == errno.ENOENT:
        return f"cannot {action} {path!s}: no such file; check the path"
    reason = _REASONS.get(exc.errno, exc.strerror or str(exc))
    return f"cannot {action} {path!s}: {reason}"


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file object; on success the data appears at `path` in one rename.

    On any exception (including KeyboardInterrupt) the temporary file is removed and
    `path` is left as it was.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise W2VError(f"cannot write {path}: it is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".part",
                                   dir=directory)
    except OSError as exc:
        raise W2VError(describe_os_error(exc, path)) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())   # mkstemp creates 0600; give the file the usual mode
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise W2VError(describe_os_error(exc, path)) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    _remove_orphans(directory, os.path.basename(path))


def _remove_orphans(directory, name):
    """Remove temporary files of earlier saves of `name` whose writer process is gone."""
    prefix = f".{name}."
    for tmp in glob.glob(os.path.join(glob.escape(directory), glob.escape(prefix) + "*.part")):
        m = re.fullmatch(r"(\d+)\.[^.]+\.part", os.path.basename(tmp)[len(prefix):])
        if m is not None and not _alive(int(m.group(1))):
            _unlink_quietly(tmp)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:        # exists, but is another user's
        return True
    return True


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass
