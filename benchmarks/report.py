"""What the benchmark scripts share: tables, the machine they ran on, and their sections of BENCHMARKS.md.

Each script owns one section of ``BENCHMARKS.md``, between two markers naming the script and its
scale, and rewrites only that section, so the figures of one command never overwrite another's
and each section always matches the command it names.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS_FILE = REPO / "BENCHMARKS.md"
_HEADER = """# Benchmarks

How quickly http-trigger turns jobs into work on Airflow, and what it costs as jobs grow. Each section
below is written by the command it names, which records and asserts nothing; running the command
again rewrites that section only. Figures of different sections come from different runs.
"""


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    """Return a Markdown table, padded so it reads as well in a terminal; ``align`` has "l"/"r" per column."""
    widths = [max(3, *(len(str(cell)) for cell in column)) for column in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            str(cell).rjust(width) if side == "r" else str(cell).ljust(width)
            for cell, width, side in zip(cells, widths, align)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (width - 1) + ":" if side == "r" else "-" * width for width, side in zip(widths, align)]
    return "\n".join([line(header), "| " + " | ".join(rule) + " |", *(line(row) for row in rows)])


def load_average() -> str:
    """Return the 1/5/15-minute load averages, so a busy machine shows in the report."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def version(distribution: str) -> str:
    """Return an installed distribution's version, or "not installed"."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts() -> dict[str, str]:
    """Return what every figure depends on: CPUs, kernel, Python and Airflow's versions."""
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        uname = subprocess.run(["uname", "-srm"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        uname = f"{platform.system()} {platform.release()} {platform.machine()}"
    cpus = str(os.cpu_count() or "unknown")
    return {
        "CPUs": f"{cpus} ({cpu_model})" if cpu_model else cpus,
        "uname -srm": uname,
        "Python": platform.python_version(),
        "Apache Airflow": version("apache-airflow"),
        "apache-airflow-providers-amazon": version("apache-airflow-providers-amazon"),
    }


class MachineWatch:
    """
    Measure what else ran on the machine while the benchmark did: CPU time and other Airflow stacks.

    The figures are only comparable on an otherwise quiet machine; another stack or a test suite
    running at the same time competes for the CPUs, and the report says how much. Every process
    that is not a descendant of this one is "other"; their CPU time is sampled from /proc every
    ``interval`` seconds (a process that starts and ends between two samples is missed). Linux only;
    elsewhere it reports nothing.
    """

    # Share of the machine's CPU capacity used by other processes above which the report warns.
    BUSY_SHARE = 0.05

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.ticks_per_second = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.cpus = os.cpu_count() or 1
        self.first: dict[tuple[int, int], int] = {}  # (pid, start tick) -> CPU ticks when first seen
        self.last: dict[tuple[int, int], int] = {}  # (pid, start tick) -> CPU ticks when last seen
        self.stack_processes: dict[tuple[int, int], str] = {}  # other Airflow / moto processes
        self._began = self._ended = time.monotonic()
        self._began_tick = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="machine-watch", daemon=True)

    def start(self) -> MachineWatch:
        self._began = time.monotonic()
        try:
            self._began_tick = int(float(Path("/proc/uptime").read_text().split()[0]) * self.ticks_per_second)
        except OSError:
            return self
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self.sample()
        self._ended = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        table: dict[int, tuple[int, int, int, str]] = {}  # pid -> (parent, start tick, CPU ticks, cmdline)
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu = int(fields[11]) + int(fields[12])  # utime + stime
            table[int(entry.name)] = (int(fields[1]), int(fields[19]), cpu, cmdline.strip())
        mine = {os.getpid()}
        while children := {pid for pid, (parent, *_) in table.items() if parent in mine} - mine:
            mine |= children
        for pid, (_, started, cpu, cmdline) in table.items():
            if pid in mine:
                continue
            key = (pid, started)
            # A process born after the watch began counts all its CPU time; an older one, from now on.
            self.first.setdefault(key, 0 if started > self._began_tick else cpu)
            self.last[key] = cpu
            if "airflow" in cmdline or "moto" in cmdline:
                self.stack_processes.setdefault(key, cmdline[:100])

    @property
    def wall_seconds(self) -> float:
        return max(self._ended - self._began, 1e-9)

    @property
    def other_cpu_seconds(self) -> float:
        return sum(self.last[key] - self.first[key] for key in self.last) / self.ticks_per_second

    @property
    def other_share(self) -> float:
        """Return the share of the machine's CPU capacity other processes used meanwhile."""
        return self.other_cpu_seconds / (self.wall_seconds * self.cpus)

    @property
    def busy(self) -> bool:
        """Return whether other work took enough CPU to matter (an idle second stack does not)."""
        return self.other_share > self.BUSY_SHARE

    def describe(self) -> str:
        commands = self.stack_processes.values()
        servers = sum(1 for cmd in commands if "api-server" in cmd or "api_server" in cmd)
        stacks = (
            f"{len(self.stack_processes)} other Airflow or moto processes "
            f"({servers} API server{'' if servers == 1 else 's'})"
            if self.stack_processes
            else "no other Airflow or moto process"
        )
        return (
            f"{self.other_cpu_seconds:.0f} CPU-seconds in {self.wall_seconds:.0f} s "
            f"({self.other_share:.0%} of the {self.cpus} CPUs); {stacks}"
        )


def _markers(key: str) -> tuple[str, str]:
    return f"<!-- section {key}: begin -->", f"<!-- section {key}: end -->"


def write_section(key: str, text: str, path: Path = BENCHMARKS_FILE) -> None:
    """Put ``text`` into the section ``key`` of the report: in place of its last version, else at the end."""
    begin, end = _markers(key)
    block = f"{begin}\n{text.strip()}\n{end}\n"
    current = path.read_text() if path.exists() else ""
    if begin not in current:
        # A report from before sections existed was one command's output as a whole: start afresh.
        base = current if "<!-- section " in current else _HEADER
        path.write_text(f"{base.rstrip()}\n\n{block}")
        return
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    path.write_text(pattern.sub(lambda _: block, current, count=1))
