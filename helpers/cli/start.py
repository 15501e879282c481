"""What the sub-commands share as they start: OpenCV checked, the network loaded, Dask reached (the command line)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from ..backends.auto import backend_label
from ..backends.load import load_model
from ..common.opencv_install import OpenCvInstallError, OpenCvInstallWarning, check_opencv
from ..model.model_files import ModelLoadError, describe_model
from ..paths import SCHEDULER_ENV

NOT_STARTED = 2
"""Exit status: nothing was done (a bad option, an unusable output folder, the model not loaded), as
argparse's own for a bad option."""
STOPPED = 130
"""Exit status after Ctrl+C (128 + SIGINT, as shells report it)."""


def opencv_works() -> bool:
    """Check OpenCV before any work; False after saying on stderr what is wrong and how to repair it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OpenCvInstallWarning)
        try:
            check_opencv()
        except OpenCvInstallError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return False
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    return True


def load_network(args: argparse.Namespace):
    """The network for a command: OpenCV's, or a faster back end (after its accuracy check);
    None, after saying why on stderr, when it cannot be loaded."""
    try:
        net = load_model(args.variant, temperature=args.temperature, backend=args.backend)
    except (ModelLoadError, RuntimeError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    print(f"Model ({backend_label(net)}): {describe_model(args.variant)}")
    return net


def restore_steps(args: argparse.Namespace, every: tuple[str, ...]) -> tuple[str, ...]:
    """The restoration steps ``--restore`` asks for (photo or video): ``every`` one for ``--restore`` alone,
    none without it."""
    return every if args.restore == [] else tuple(args.restore or ())


@contextmanager
def dask_client(args: argparse.Namespace):
    """Start (or reach) the Dask cluster that ``--workers`` or ``--scheduler`` ask for, in the background
    while the model loads. Yields a function that waits for it and returns its client (None: one
    process, no Dask); the cluster is closed after.

    Dask is imported only here, when asked for: the command line starts without it.
    """
    address = args.scheduler or (None if args.workers else os.environ.get(SCHEDULER_ENV))
    if not args.workers and not address:
        yield lambda: None
        return
    from .. import cluster

    cluster.quiet_logs()
    pool = ThreadPoolExecutor(max_workers=1)
    starting = pool.submit(cluster.start_cluster, args.workers) if args.workers else pool.submit(cluster.connect,
                                                                                                  address)

    def ready():
        client = starting.result()
        if not getattr(ready, "said", False):
            print(cluster.describe(client))
            ready.said = True
        return client

    try:
        yield ready
    finally:
        pool.shutdown(wait=True)
        if starting.exception() is None:
            client = starting.result()
            client.close()
            if args.workers:
                client.cluster.close()
