"""Safe file output: nothing is ever written partially (temporary file, then atomic rename)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from actlab.errors import ActlabError


def writable_target(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` can be created as a file; return it as a Path.

    Raises ActlabError when the path is a directory, its folder does not exist, or a file cannot
    be created there (checked by creating and removing a temporary file).
    """
    target = Path(path)
    if target.is_dir():
        raise ActlabError(f"cannot write {target}: it is a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ActlabError(f"cannot write {target}: folder {parent} does not exist")
    try:  # a real try, not os.access: root passes that check on read-only file systems
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as error:
        raise ActlabError(f"cannot write {target}: folder {parent} is not writable "
                          f"({error.strerror or error})") from None
    return target


def current_umask() -> int:
    """The process's umask (os.umask can only be read by setting it, so set it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Create ``path`` by calling ``write(tmp_path)`` and renaming the result into place.

    If ``write`` raises, the temporary file is removed and ``path`` is left untouched.
    """
    target = writable_target(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix,
                                        dir=target.parent if str(target.parent) else ".")
    except OSError as error:  # e.g. /proc, a read-only file system
        raise ActlabError(f"cannot write {target}: {error.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        tmp.chmod(0o666 & ~current_umask())  # mkstemp makes 0600; a new file follows the umask
        os.replace(tmp, target)
    except OSError as error:  # disk full, file system gone
        tmp.unlink(missing_ok=True)
        raise ActlabError(f"cannot write {target}: {error.strerror or error}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))
