"""Stopping a load by a signal: SIGINT (Ctrl-C), SIGTERM (systemd, docker stop), SIGHUP.

While files load, each of these signals raises LoadInterrupted in the loading process.
The load in flight is then rolled back by closing its connection (the server aborts the
transaction, whatever state the COPY protocol is in), its raw.loads row is marked failed
naming the signal, and the command exits 128 + the signal's number (130, 143, 129).
The worker processes ignore them: the loading process kills its workers as it unwinds.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PSYCOPG_LOGGERS = ("psycopg", "psycopg.transaction")  # where it logs "error ignored in rollback"


class LoadInterrupted(BaseException):
    """A stop signal arrived during a load: not caught by ``except Exception``."""

    def __init__(self, signum: int):
        self.signum = signum
        self.load_id: int | None = None
        self.file_name: str | None = None
        super().__init__(self.signal_name)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def failure_message(self) -> str:
        """What the load's raw.loads row says."""
        return (
            f"stopped by {self.signal_name}: rolled back, nothing of this load was kept; "
            "load the file again"
        )

    def summary(self) -> str:
        """The one line the command prints."""
        if self.file_name is None:
            return f"stopped by {self.signal_name}"
        load = f" (load {self.load_id}, marked failed)" if self.load_id is not None else ""
        return (
            f"stopped by {self.signal_name} while loading {self.file_name}{load}: "
            "rolled back, nothing of it was kept; load it again"
        )


class _QuietUnwinding(logging.Filter):
    """Drops psycopg's "error ignored in rollback" warnings once a stop signal arrived:
    unwinding through the load's transaction blocks in the middle of a COPY cannot roll
    back on the connection, and need not (closing the connection does)."""

    stopping = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.stopping and "error ignored in rollback" in record.getMessage())


_QUIET = _QuietUnwinding()


def _raise_interrupted(signum: int, _frame) -> None:
    # A second signal must not interrupt the rollback and the failure record.
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    _QUIET.stopping = True
    raise LoadInterrupted(signum)


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Within the block, a stop signal raises LoadInterrupted (in the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    loggers = [logging.getLogger(name) for name in PSYCOPG_LOGGERS]
    for logger in loggers:
        logger.addFilter(_QUIET)
    for number in STOP_SIGNALS:
        signal.signal(number, _raise_interrupted)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for logger in loggers:
            logger.removeFilter(_QUIET)
        _QUIET.stopping = False
