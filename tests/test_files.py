"""Safe files: atomic writes with the umask's permissions, leftovers of killed runs, the folder lock."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from helpers.common.files import FolderInUseError, FolderLock, atomic_path, remove_stale_parts, write_bytes


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_files_get_the_umask_permissions(tmp_path, umask_022):
    path = write_bytes(tmp_path / "sub" / "a.bin", b"abc")
    assert path.read_bytes() == b"abc"
    assert path.stat().st_mode & 0o777 == 0o644
    os.umask(0o077)
    assert write_bytes(tmp_path / "b.bin", b"x").stat().st_mode & 0o777 == 0o600


def test_failed_write_leaves_nothing(tmp_path):
    (tmp_path / "keep.txt").write_text("old")
    with pytest.raises(ZeroDivisionError), atomic_path(tmp_path / "keep.txt") as tmp:
        tmp.write_text("half")
        raise ZeroDivisionError
    assert (tmp_path / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_stale_parts_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".frame_000001.png.{dead_pid}-0123abcd.part"
    live = tmp_path / f".frame_000002.png.{os.getpid()}-0123abcd.part"
    other = tmp_path / "notes.part"
    for path in (stale, live, other):
        path.write_bytes(b"")
    assert remove_stale_parts(tmp_path) == [stale]
    assert live.exists() and other.exists() and not stale.exists()


def test_lock_refuses_a_second_process_and_names_the_first(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from helpers.common.files import FolderLock
            with FolderLock({str(tmp_path)!r}):
                print("locked", flush=True)
                sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderInUseError, match=f"in use by process {holder.pid}"), FolderLock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    with FolderLock(tmp_path):  # the dead holder's lock is taken over
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
