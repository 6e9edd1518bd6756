"""Running the parsing of a file's segments in forked worker processes.

Each worker parses every Nth segment and sends its batches through a pipe; the loading
process only COPYs. A segment that fails to parse, or holds a different number of
records than the byte search counted, raises SegmentMismatch: the loader then reads the
file again in one pass, which is always right.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import threading
from collections.abc import Iterator
from multiprocessing import connection as mp_connection
from pathlib import Path

from loaders.errors import Crm7Error, FileRejected
from loaders.load.batches import Batch, produce_batches
from loaders.load.header import FileHeader
from loaders.load.split import Segment

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


def _worker_main(sender, path, header, load_id, source_system, segments) -> None:
    """Entry point of a forked worker: send batches, then None, or the error."""
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
) -> Iterator[Batch]:
    """Batches from forked workers, worker k taking segments k, k+workers, ..."""
    context = multiprocessing.get_context("fork")
    receivers = []
    processes = []
    for worker in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_worker_main,
            args=(sender, path, header, load_id, source_system, segments[worker::workers]),
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
                process.terminate()
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
