"""Memory estimate of the solver, checked before anything large is allocated."""

import logging
import re

import torch

__all__ = ["available_memory", "solver_memory_bytes", "check_memory"]

logger = logging.getLogger(__name__)

# Number of (n + 1) x (m + 1) matrices the solver keeps at its peak: the feature
# cost, the fixed part of log K, log K, the kernel that becomes the plan and the GW
# gradient, plus temporaries. ``benchmarks/bench_solver.py scaling`` measured peaks of
# 5.8 to 6.3 float32 plans at 4,096 and 8,192 frames, so 7 leaves a margin there.
# NOTE: at 256 and 1,024 frames the peaks were 8.9 and 7.2 plans, because fixed costs
# weigh more; those are a few MiB, far from any memory limit.
PEAK_MATRICES = 7


def available_memory(device):
    """Estimate the memory in bytes that a new allocation on ``device`` can use.

    CUDA devices report their free memory with :func:`torch.cuda.mem_get_info`. For the
    CPU, ``psutil.virtual_memory().available`` is used when psutil is installed, else
    ``MemAvailable`` from ``/proc/meminfo``.

    Parameters
    ----------
    device : str or torch.device
        The device of the allocation, such as ``"cpu"`` or ``"cuda:0"``.

    Returns
    -------
    available : int or None
        The estimate in bytes, or ``None`` when no estimate exists (a device other than
        the CPU or CUDA, or another platform without psutil), in which case no limit is
        enforced.

    Examples
    --------
    >>> from sk_realign.ot import available_memory
    >>> available = available_memory("cpu")
    >>> available is None or available > 0
    True
    """
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":
        return None
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            match = re.search(r"^MemAvailable:\s+(\d+)\s+kB", meminfo.read(), re.M)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def solver_memory_bytes(
    batch_size, n, m, *, itemsize, sink, dense_structure, differentiable_steps=0
):
    """Estimate the peak bytes of :func:`~sk_realign.ot.solve_rfpgwot` on one batch.

    Parameters
    ----------
    batch_size, n, m : int
        Pairs in the batch and frames per sequence (padding included).
    itemsize : int
        Bytes per element of the dtype.
    sink : bool
        Whether the plan has the extra sink row and column.
    dense_structure : bool
        Whether the structure costs are dense ``n x n`` and ``m x m`` matrices.
    differentiable_steps : int, default=0
        Outer steps whose graph autograd keeps (0 when solving without gradient).

    Returns
    -------
    n_bytes : int
        The estimated peak, in bytes.

    Examples
    --------
    >>> from sk_realign.ot import solver_memory_bytes
    >>> solver_memory_bytes(1, 100, 100, itemsize=4, sink=True, dense_structure=False)
    285628
    >>> solver_memory_bytes(
    ...     1, 100, 100, itemsize=4, sink=True, dense_structure=True
    ... ) > 285628
    True
    """
    rows, columns = (n + 1, m + 1) if sink else (n, m)
    # NOTE: an estimate. The graph of an unrolled outer step keeps about six full
    # matrices (kernel, plan, gradient and their temporaries). The scalings of the inner
    # iterations are vectors and are neglected.
    matrices = PEAK_MATRICES + 6 * differentiable_steps
    total = batch_size * rows * columns * matrices
    if dense_structure:
        total += 2 * batch_size * (n * n + m * m)
    return total * itemsize


def _format_bytes(count):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.1f} {unit}" if unit != "bytes" else f"{count} bytes"
        count /= 1024


def check_memory(needed, device, memory_limit=None):
    """Raise :class:`MemoryError` when ``needed`` bytes exceed the memory available.

    Parameters
    ----------
    needed : int
        Estimated peak bytes of the solve.
    device : torch.device
    memory_limit : int, default=None
        Bytes the solve may use; ``None`` uses :func:`available_memory`.
    """
    limit = memory_limit if memory_limit is not None else available_memory(device)
    if limit is None:
        logger.debug("No estimate of the available memory on %s; skipping the check.", device)
        return
    if needed > limit:
        raise MemoryError(
            f"The transport problem needs about {_format_bytes(needed)} on {device}, but "
            f"only {_format_bytes(limit)} is available. Solve fewer pairs at a time "
            "(a smaller batch_size), use float32 features instead of float64, or "
            "subsample the sequences to fewer frames."
        )
