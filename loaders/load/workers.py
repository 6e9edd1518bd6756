"""Running the parsing of a file's segments in forked worker processes.

Each worker parses every Nth segment and sends its batches through a pipe; the loading
process only COPYs. A segment that fails to parse, or holds a different number of
records than the byte search counted, raises SegmentMismatch: the loader then reads the
file again in one pass, which is always right.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from multiprocessing import connection as mp_connection
from pathlib import Path

from loaders.errors import Crm7Error, FileRejected
from loaders.load.batches import Batch, produce_batches
from loaders.load.header import FileHeader
from loaders.load.split import Segment
from loaders.load.stopping import STOP_SIGNALS

PREFETCH_BATCHES = 8  # converted batches waiting for COPY at most: bounds memory


class SegmentMismatch(Exception):
    """A segment did not hold what the byte search counted: the cut was not safe."""


def segment_batches(
    path: Path, header: FileHeader, load_id: int, source_system: str, segments: list[Segment]
) -> Iterator[Batch]:
    """Batches of several segments, one after another, each checked against its count."""
    for segment in segments:
        try:
            produced = produce_batches(path, header, load_id, source_system, segment)
            for batch in produced:
                if batch.segment_items is None:
                    yield batch
                elif batch.segment_items != segment.expected_items:
                    raise SegmentMismatch(
                        f"segment at byte {segment.start} held {batch.segment_items} items, "
                        f"{segment.expected_items} counted"
                    )
        except FileRejected as error:
            # Broken XML, or a cut in the wrong place: only one pass over the whole file
            # can tell which, and name the right line.
            raise SegmentMismatch(str(error)) from None


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> None:
    """Make this worker end when the loading process ends, however it ends (kill -9 too).

    Linux: the kernel sends SIGKILL on the parent's death (PR_SET_PDEATHSIG). Elsewhere a
    thread checks once a second that the parent is still there.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="crm7-parent-watch", daemon=True).start()


def _worker_main(
    sender, inherited_fds, parent, path, header, load_id, source_system, segments
) -> None:
    """Entry point of a forked worker: send batches, then None, or the error.

    First it gives up what it inherited and must not hold: the loading process's database
    connection (a worker holding it would keep the load's session, its transaction and
    locks alive after the loader is killed) and the other workers' pipes.
    """
    _die_with_parent(parent)
    for number in STOP_SIGNALS:  # the loading process handles them, then kills us
        signal.signal(number, signal.SIG_IGN)
    for fd in inherited_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    try:
        for batch in segment_batches(path, header, load_id, source_system, segments):
            sender.send(batch)
        sender.send(None)
    except BaseException as error:  # reported by the parent, with its type
        sender.send(
            error
            if isinstance(error, SegmentMismatch)
            else RuntimeError(f"{type(error).__name__}: {error}")
        )
    finally:
        sender.close()


def batches_from_workers(
    path: Path,
    header: FileHeader,
    load_id: int,
    source_system: str,
    segments: list[Segment],
    workers: int,
    connection_fds: tuple[int, ...] = (),
) -> Iterator[Batch]:
    """Batches from forked workers, worker k taking segments k, k+workers, ...

    ``connection_fds``: the loading process's database sockets, closed in each worker.
    """
    context = multiprocessing.get_context("fork")
    receivers = []
    processes = []
    parent = os.getpid()
    for worker in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        inherited = (*connection_fds, *(other.fileno() for other in [*receivers, receiver]))
        process = context.Process(
            target=_worker_main,
            args=(
                sender,
                inherited,
                parent,
                path,
                header,
                load_id,
                source_system,
                segments[worker::workers],
            ),
            daemon=True,
        )
        process.start()
        sender.close()
        receivers.append(receiver)
        processes.append(process)
    try:
        active = list(receivers)
        while active:
            for receiver in mp_connection.wait(active):
                try:
                    message = receiver.recv()
                except EOFError:
                    raise Crm7Error(
                        "a loader worker process died; the load was rolled back"
                    ) from None
                if message is None:
                    active.remove(receiver)
                elif isinstance(message, BaseException):
                    raise message
                else:
                    yield message
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()  # they ignore SIGTERM (STOP_SIGNALS)
            process.join()
        for receiver in receivers:
            receiver.close()


def prefetched(batches: Iterator[Batch], size: int = PREFETCH_BATCHES) -> Iterator[Batch]:
    """Run ``batches`` in a thread, ``size`` ahead: producing overlaps the COPYs, which
    release the GIL while PostgreSQL works."""
    handoff: queue.Queue = queue.Queue(maxsize=size)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    break
                handoff.put(batch)
            handoff.put(done)
        except BaseException as error:  # re-raised in the consuming thread
            handoff.put(error)

    thread = threading.Thread(target=produce, name="crm7-parse", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)
        thread.join()
