"""Output folders written whole, by one process at a time.

A folder is written into a staging folder beside it and swapped in with one rename, so a failure (an error,
a full disk, Ctrl-C, a kill) leaves the old folder or the new one, never a mix. While a process writes a
folder it holds a lock beside it (``.NAME.lock``, removed when done); a second writer is refused at once.
A staging folder left by a killed run is removed by the next writer of that folder. Folders and files get
the permissions the umask gives, like every other file the commands write.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# OS errors a user can act on, and what to do.
OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, or write elsewhere",
    errno.EDQUOT: "the disk quota is used up: free some space, or write elsewhere",
    errno.EACCES: "check its permissions, or use another path",
    errno.EPERM: "check its permissions, or use another path",
    errno.EROFS: "the file system is read-only: write elsewhere",
}
_RENAME_EXCHANGE = 2  # renameat2 flag (Linux): swap two paths in one step
_AT_FDCWD = -100


class FolderError(ValueError):
    """A folder cannot be written: another process is writing it, it holds files bayes-sauce did not write, or the
    disk refused a file. The message names the folder or the file."""


_held: dict[Path, int] = {}  # folder -> depth of nested ``locked`` blocks in this process


def lock_path(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.lock"


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's write lock (reentrant within a process); another process holding it is a FolderError."""
    key = Path(os.path.abspath(folder))
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    key.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(key)
    fd = _acquire(path, key)
    _held[key] = 1
    try:
        yield
    finally:
        del _held[key]
        with contextlib.suppress(OSError):
            path.unlink()  # while still holding it: a process that opened it before will see another inode
        os.close(fd)


def _acquire(path: Path, folder: Path) -> int:
    """An open, exclusively flock-ed lock file at ``path`` (the one the path names now)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 500).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise FolderError(f"{folder}: {holder} is writing it; wait until it has finished, or write "
                              "elsewhere") from None
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            os.ftruncate(fd, 0)
            os.write(fd, f"bayes-sauce (pid {os.getpid()}: {' '.join(['bayes-sauce', *sys.argv[1:]])})".encode())
            return fd
        os.close(fd)  # the holder removed it between our open and our lock: take the new one


def leftovers(folder: Path) -> list[Path]:
    """Staging folders beside ``folder`` left by a run that was killed while writing it."""
    if not folder.parent.is_dir():
        return []
    prefix = f".{folder.name}."
    pattern = re.compile(re.escape(prefix) + r"(staging-\d+-[0-9a-f]+|old-\d+|[a-z0-9_]{8})")
    return sorted(p for p in folder.parent.iterdir()
                  if p.name.startswith(prefix) and pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink())


def remove_leftovers(folder: Path) -> None:
    """Remove the staging folders an interrupted run left beside ``folder`` (call with its lock held), saying so."""
    for path in leftovers(folder):
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
        shutil.rmtree(path, ignore_errors=True)
        print(f"Removed {path}/ ({size / 1e6:.1f} MB), left by an interrupted run", file=sys.stderr)


def write_folder(folder: Path, write: Callable[[Path], T], keep: Callable[[Path], bool] | None = None) -> T:
    """Write ``folder`` whole and return what ``write`` returns.

    ``write`` fills an empty staging folder beside it. Entries of the old folder that ``write`` did not write
    and ``keep`` accepts are linked into the staging folder (hard links: no copy); the rest of the old folder
    goes. The staging folder then takes the old one's place in one rename. A failure leaves the old folder as
    it was; an OS error (a full disk) becomes a FolderError naming the file."""
    folder = Path(folder)
    with locked(folder):
        remove_leftovers(folder)
        staging = Path(os.path.abspath(folder.parent / f".{folder.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"))
        os.mkdir(staging)  # 0o777 less the umask
        _staging_open.append([f"{staging}/", None])
        try:
            try:
                result = write(staging)
                if folder.is_dir():
                    for entry in folder.iterdir():
                        if keep is not None and keep(entry) and not os.path.lexists(staging / entry.name):
                            _link(entry, staging / entry.name)
            except OSError as err:
                raise FolderError(os_error_message(err, staging, folder)) from None
            _swap(staging, folder)
        finally:
            _staging_open.pop()
            shutil.rmtree(staging, ignore_errors=True)  # after an exchange it holds the old folder
    return result


def write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Write bytes with plain file I/O (a full disk is an OSError naming the file, nothing else)."""
    with open(path, "wb") as f:
        f.write(data)


def _link(source: Path, target: Path) -> None:
    """``target`` as a hard-linked copy of ``source`` (a tree for a folder; a copy where links are refused)."""
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_dir():
        os.mkdir(target)
        for entry in source.iterdir():
            _link(entry, target / entry.name)
        shutil.copystat(source, target)
    else:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)


def _swap(staging: Path, folder: Path) -> None:
    """Put ``staging`` at ``folder``'s path: one atomic exchange where the system has it, else two renames."""
    if not folder.exists():
        os.rename(staging, folder)
        return
    rename2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if rename2 is not None and rename2(_AT_FDCWD, bytes(staging), _AT_FDCWD, bytes(folder), _RENAME_EXCHANGE) == 0:
        return
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    os.rename(folder, old)
    os.rename(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def os_error_message(err: OSError, staging: Path | None = None, folder: Path | None = None) -> str:
    """One line for an OS error: the file (named as in ``folder`` for one written in ``staging``), what failed and
    what to do; for a folder being written, that nothing in it was changed."""
    opened = next((last for folder_, last in reversed(_staging_open) if staging and folder_ == f"{staging}/"), None)
    name = Path(err.filename) if err.filename else opened
    if name is not None and staging is not None and folder is not None and name.is_relative_to(staging):
        name = folder / name.relative_to(staging)
    hint = OS_HINTS.get(err.errno)
    text = f"{name}: " if name is not None else ""
    text += (err.strerror or str(err)) + (f" ({hint})" if hint else "")
    return text + (f"; nothing in {folder} was changed" if folder is not None else "")


def _record_opens(event: str, args: tuple) -> None:
    """Audit hook: while a folder is being written, the last file opened in its staging folder (an OS error from
    pandas, matplotlib or HDF5 often carries no file name; this is the file it was writing)."""
    if event == "open" and _staging_open and isinstance(args[0], str | os.PathLike):
        path = os.fspath(args[0])
        if isinstance(path, str) and os.path.abspath(path).startswith(_staging_open[-1][0]):
            _staging_open[-1][1] = Path(os.path.abspath(path))


_staging_open: list[list] = []  # [staging folder + "/", last file opened in it] per write in progress
sys.addaudithook(_record_opens)
