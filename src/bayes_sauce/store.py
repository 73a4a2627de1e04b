"""Output written whole, by one process at a time.

A fit folder is written into a staging folder beside it and swapped in with one rename (``write_folder``); a
command's set of files (a report, a summary) is written into a staging folder inside its folder and renamed into
place with Ctrl-C held off, behind a journal (``write_files``). Either way a failure (an error, a full disk,
Ctrl-C, a kill) leaves the old folder or set or the new one, never a mix. While a process writes a folder it holds
a lock beside it (``.NAME.lock``, removed when done); a second writer is refused at once. What a killed run left
(staging folders, a journal) is removed or finished by the next writer of that folder. Folders and files get the
permissions the umask gives, like every other file the commands write.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
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
    key = Path(os.path.realpath(folder))
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
    """Staging folders beside ``folder`` left by a run killed while writing it: this module's (``.NAME.staging-*``),
    and the earlier code's (``.NAME.XXXXXXXX``, ``.NAME.old-PID``) where they hold a posterior or nothing, so that no
    folder of the user's that happens to be named so is taken for one."""
    if not folder.parent.is_dir():
        return []
    ours = re.compile(re.escape(f".{folder.name}.staging-") + r"\d+-[0-9a-f]{8}")
    earlier = re.compile(re.escape(f".{folder.name}.") + r"(old-\d+|[a-z0-9_]{8})")
    return sorted(p for p in folder.parent.iterdir() if p.is_dir() and not p.is_symlink() and (
        ours.fullmatch(p.name) or earlier.fullmatch(p.name) and ((p / "posterior.nc").is_file() or not any(p.iterdir()))))


def remove_leftovers(folder: Path) -> None:
    """Remove the staging folders an interrupted run left beside ``folder`` (call with its lock held), saying so."""
    for path in leftovers(folder):
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
        shutil.rmtree(path, ignore_errors=True)
        print(f"Removed {path}/ ({size / 1e6:.1f} MB), left by an interrupted run", file=sys.stderr)


def write_folder(folder: Path, write: Callable[[Path], T]) -> T:
    """Write ``folder`` whole, as a new folder in place of the old one (a fit), and return what ``write`` returns.

    ``write`` fills an empty staging folder beside it, which then takes the old folder's place in one rename
    (everything of the old folder goes). A failure leaves the old folder as it was; an OS error (a full disk)
    becomes a FolderError naming the file."""
    folder = Path(os.path.realpath(folder)) if Path(folder).is_symlink() else Path(folder)
    _check_swappable(folder)
    with locked(folder):
        remove_leftovers(folder)
        staging = Path(os.path.abspath(folder.parent / f".{folder.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"))
        os.mkdir(staging)  # 0o777 less the umask
        try:
            result = _written(staging, folder, write)
            _swap(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # after an exchange it holds the old folder
    return result


def write_files(folder: Path, write: Callable[[Path], list[str]], drop: Iterable[str] = ()) -> list[str]:
    """Write a set of files into ``folder`` (made if missing) so that a failure leaves the old set or the new one,
    never a mix; return their names. Other entries of the folder stay as they are.

    ``write`` writes the files into a staging folder inside ``folder`` and returns their names. Then, with Ctrl-C
    held off, a journal lists the moves, each file is renamed into place, the files of ``drop`` that the new set
    lacks (an earlier run's) are removed, and the journal goes. A run killed among those renames leaves the
    journal, and the next write of the folder finishes them first."""
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with locked(folder):
            _finish(folder)
            staging = folder / f"{STAGING}{os.getpid()}-{secrets.token_hex(4)}"
            os.mkdir(staging)
            try:
                names = _written(staging, folder, write)
                plan = {"staging": staging.name, "move": names, "remove": sorted(set(drop) - set(names))}
                with _no_interrupts():
                    journal = folder / JOURNAL
                    write_bytes(journal.with_suffix(".tmp"), json.dumps(plan).encode())
                    os.replace(journal.with_suffix(".tmp"), journal)
                    _finish(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        if created:  # a folder this call made stays only with the files in it
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return names


STAGING = ".staging-"  # write_files' staging folders inside the folder: .staging-<pid>-<hex>
JOURNAL = ".bayes-sauce-journal.json"  # the renames write_files is making


def is_store_entry(name: str) -> bool:
    """Whether an entry of a folder is the store's own (write_files' staging folder or journal)."""
    return name.startswith(STAGING) or name in (JOURNAL, Path(JOURNAL).with_suffix(".tmp").name)


def _finish(folder: Path) -> None:
    """Finish the renames a journal lists (a run killed among them), then remove the store's leftovers inside."""
    journal = folder / JOURNAL
    if journal.exists():
        plan = json.loads(journal.read_text())
        staging = folder / plan["staging"]
        for name in plan["move"]:
            if (staging / name).exists():
                os.replace(staging / name, folder / name)
        for name in plan["remove"]:
            (folder / name).unlink(missing_ok=True)
        journal.unlink()
    for entry in folder.iterdir():
        if entry.name.startswith(STAGING) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name == Path(JOURNAL).with_suffix(".tmp").name:
            entry.unlink()


def _written(staging: Path, folder: Path, write: Callable[[Path], T]) -> T:
    """``write(staging)``, an OS error in it a FolderError naming the file (as it would be named in ``folder``)."""
    _staging_open.append([f"{staging}/", None])
    try:
        return write(staging)
    except OSError as err:
        raise FolderError(os_error_message(err, staging, folder)) from None
    finally:
        _staging_open.pop()


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (then arrive as usual)."""
    signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _check_swappable(folder: Path) -> None:
    """Refuse to swap a folder that is, or holds, the working folder or the home folder, or is a mount point:
    a new folder in its place would leave other processes in the old one."""
    if not folder.is_dir():
        return
    target, here, home = (Path(os.path.realpath(p)) for p in (folder, Path.cwd(), Path.home()))
    if target in (here, *here.parents, home, *home.parents) or os.path.ismount(target):
        raise FolderError(f"{folder}: a fit folder is written whole (a new folder in place of the old), which "
                          "bayes-sauce does not do to the working folder, the home folder, a folder holding them or "
                          "a mount point; give --out a folder of its own, e.g. results/x")


def write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Write bytes with plain file I/O (a full disk is an OSError naming the file, nothing else)."""
    with open(path, "wb") as f:
        f.write(data)


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
