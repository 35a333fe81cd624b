"""Process settings for measuring. Every entry point of bench imports this module first.

* One thread for OpenMP, OpenBLAS and MKL: the libraries read these variables only when
  NumPy (or PyTorch) loads them, and on a 2-core machine shared with other work two
  threads are several times *slower*.
* `keep_freed_memory()`: glibc's malloc by default hands freed memory back to the kernel
  (large arrays are mmap'd, the heap top is trimmed), so a step may fault its arrays'
  pages in again: ~45% of a W2 step in a fresh process here, nothing in another process
  whose heap top happened to be pinned. Keeping freed memory makes every contestant's
  time independent of that.
"""
import ctypes
import ctypes.util
import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
_KEEP = 32 << 20  # glibc's largest mmap threshold; W4's arrays are a few MB


def keep_freed_memory() -> str:
    """Ask glibc to keep freed memory (no trimming, no mmap below 32 MB); says what it did."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_TRIM_THRESHOLD, _KEEP * 16) and libc.mallopt(_M_MMAP_THRESHOLD, _KEEP)
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows)
        ok = False
    if not ok:
        return "default (mallopt unavailable)"
    return "glibc mallopt: M_TRIM_THRESHOLD 512 MB, M_MMAP_THRESHOLD 32 MB (freed memory is kept)"
