"""Run one component as a process of its own, and stop it with everything it started.

Every component runs in its own session and process group and is stopped through that group:
SIGTERM, a wait, then SIGKILL for whatever is left. Nothing is ever stopped by name, so several
stacks (and other Airflow or PostgreSQL installations) can share the machine.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import IO

from http_trigger.errors import HttpTriggerError

log = logging.getLogger(__name__)


class EmbeddedStackError(HttpTriggerError):
    """A component of the embedded stack failed to start, died, or did not become healthy in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ensure_port_free(host: str, port: int, user: str) -> None:
    """Raise a clear error now rather than a dead server later when ``port`` is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is fine
        try:
            sock.bind((host, port))
        except OSError as error:
            raise EmbeddedStackError(f"Port {port} on {host} for the {user} is not free: {error}") from None


def _tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file, or a note that it is missing."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 64 * 1024))
            text = file.read().decode(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _proc_stat(pid: int) -> tuple[int, int, int, str, int] | None:
    """Return ``(ppid, pgid, sid, state, start time)`` of a process from /proc, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses; the fields follow the last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[2]), int(fields[3]), fields[0], int(fields[19])


def _related_processes(leader: int) -> set[tuple[int, int]]:
    """
    Return the live processes, as ``(pid, start time)``, of a component: session, group, descendants.

    Airflow puts each task runner in a process group of its own (so its supervisor can signal the
    task's children), which a group signal from here does not reach; the session does. Descendants
    cover anything that started a session of its own (e.g. a Bash task's shell). Linux only: where
    there is no /proc this returns nothing and stopping relies on the process group alone. The start
    time tells a process from a later one that got the same pid.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return set()
    table = {
        int(entry.name): stat
        for entry in proc.iterdir()
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None and stat[3] != "Z"
    }
    related = {pid for pid, (_, pgid, sid, *_) in table.items() if leader in (pgid, sid)}
    frontier = set(related) | {leader}
    while frontier:
        frontier = {pid for pid, (ppid, *_) in table.items() if ppid in frontier and pid not in related}
        related |= frontier
    return {(pid, table[pid][4]) for pid in related}


def _running(process: tuple[int, int]) -> bool:
    """Return whether the process ``(pid, start time)`` still runs (a zombie only waits to be reaped)."""
    stat = _proc_stat(process[0])
    return stat is not None and stat[3] != "Z" and stat[4] == process[1]


def _signal(processes: set[tuple[int, int]], group: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group and to single processes, skipping ones already gone."""
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for process in processes:
        if _running(process):
            try:
                os.kill(process[0], sig)
            except (ProcessLookupError, PermissionError):
                pass


class ManagedProcess:
    """One component process, started in a new session and process group and stopped by that group."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: Path, log_file: IO[bytes]):
        self.name = name
        self.log_path = log_path
        self._popen = popen
        self._log_file = log_file
        self._stopped = False

    @classmethod
    def start(
        cls,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        *,
        user: str | None = None,
    ) -> ManagedProcess:
        """Start ``argv`` with stdout and stderr appended to ``log_path``, in its own process group.

        ``user`` runs the process as another system user (only root may), e.g. PostgreSQL's server.
        """
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = log_path.open("ab")
        log_file.write(f"\n=== {datetime.now(timezone.utc).isoformat()} starting {' '.join(argv)}\n".encode())
        log_file.flush()
        try:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
            )
        except BaseException:
            log_file.close()
            raise
        log.info("Started %s (pid %s), log %s", name, popen.pid, log_path)
        return cls(name, popen, log_path, log_file)

    @property
    def pid(self) -> int:
        """Return the process id of the component's main process."""
        return self._popen.pid

    @property
    def pgid(self) -> int:
        """Return the process group id (equal to the pid: the process leads a new session)."""
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """Return the exit code of the main process, or None while it runs."""
        return self._popen.poll()

    def alive(self) -> bool:
        """Return whether the main process is still running."""
        return self._popen.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the main process to exit; return its exit code, or None on timeout."""
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def tail(self, lines: int = 40) -> str:
        """Return the last lines of the component's log."""
        return _tail(self.log_path, lines)

    def stop(self, timeout: float = 20) -> None:
        """
        Stop the component and everything it started; safe to call more than once.

        SIGTERM goes to the process group so each component shuts down its own children its own
        way. Once the main process has exited (or ``timeout`` has passed) whatever is left of the
        group, the session and the descendants gets SIGTERM, a short grace, then SIGKILL.
        """
        if self._stopped:
            return
        deadline = time.monotonic() + timeout
        related = _related_processes(self.pgid)
        if self.alive() or related:
            _signal(set(), self.pgid, signal.SIGTERM)
            self.wait(max(0.0, deadline - time.monotonic()))
            related |= _related_processes(self.pgid)
            related = self._wait_gone(related, min(5.0, max(1.0, deadline - time.monotonic())))
            if related:
                _signal(related, self.pgid, signal.SIGTERM)
                related = self._wait_gone(related, 3.0)
            if related or self.alive():
                log.warning("Killing what is left of %s: %s", self.name, sorted(pid for pid, _ in related))
                _signal(related, self.pgid, signal.SIGKILL)
                self.wait(5)
                related = self._wait_gone(related, 5.0)
            if related:
                left = sorted(pid for pid, _ in related)
                log.warning("Processes of %s still there after SIGKILL: %s", self.name, left)
        self.wait(0)
        self._stopped = True
        self._log_file.close()

    def kill(self) -> None:
        """
        SIGKILL the component and everything it started at once, as a machine's sudden death would.

        Nothing gets to clean up: no child is told, no task finishes, no message is acknowledged.
        The main process is left to be reaped (``alive`` turns false), so a supervisor sees it exit.
        """
        _signal(_related_processes(self.pgid), self.pgid, signal.SIGKILL)

    def _wait_gone(self, processes: set[tuple[int, int]], timeout: float) -> set[tuple[int, int]]:
        """Wait until the group and ``processes`` are gone; return those still there after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self._popen.poll()  # reap the main process so it does not linger as a zombie
            left = {process for process in processes | _related_processes(self.pgid) if _running(process)}
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.1)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
