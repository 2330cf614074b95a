"""Where the API server's time goes while it answers trigger POSTs: py-spy's samples, by step of the trigger path.

``compare_trigger --profile C`` sends one more round of http-trigger POSTs at concurrency ``C`` with
py-spy attached to the API server and its worker processes (``py-spy record --subprocesses``,
sampling each thread that is not idle), then gives every sample to one step: the step of the
innermost frame that names one. A sample whose stack holds no frame of the trigger route is the
server's other work (its event loop, other requests, Airflow's own background tasks).

Sampling profilers see where CPU and waits fall, not what each call would cost alone, so the shares
guide optimisation; they are not timings of their own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import markdown_table

PY_SPY = Path(sys.executable).parent / "py-spy"
SAMPLES_PER_SECOND = 200
TRIGGER_ROUTE = "http_trigger/api/trigger.py"
OTHER_WORK = "the server's other work (event loop, other requests, Airflow's background tasks)"


@dataclass(frozen=True)
class Step:
    """One step of a path through the code, and how to tell its frames (``function (path:line)``)."""

    name: str
    matches: Callable[[str], bool]


def frames_in(*parts: str) -> Callable[[str], bool]:
    """Match a frame whose function or path holds any of ``parts``."""
    return lambda frame: any(part in frame for part in parts)


# Checked against each frame from the innermost outwards; the first step that names a frame takes
# the sample, so a commit inside the run creation counts as the commit.
STEPS: tuple[Step, ...] = (
    Step(
        "commit (the run and the call record reach PostgreSQL)",
        frames_in("commit (sqlalchemy/orm/session.py"),
    ),
    Step(
        "token check with the address's failed-token throttle (one statement), and the job's rate limit",
        frames_in("http_trigger/secrets/trigger_credentials.py", "http_trigger/runs/limits.py"),
    ),
    Step("spec read (the job's YAML file, validated)", frames_in("http_trigger/jobs/files.py")),
    Step("idempotency keys", frames_in("http_trigger/runs/idempotency.py")),
    Step("call record", frames_in("http_trigger/runs/trigger_calls.py")),
    Step(
        "run creation (the DAG's latest version, create_dagrun)",
        frames_in("create_dagrun (", "get_latest_version_of_dag (", "http_trigger/runs/start.py"),
    ),
    Step(
        "session and connection (SQLAlchemy pool, psycopg2)",
        frames_in("sqlalchemy/pool/", "create_session ("),
    ),
    Step(
        "request and answer (FastAPI, Starlette, access log)", frames_in(TRIGGER_ROUTE, "http_trigger/api/")
    ),
)


class Recording:
    """py-spy recording a process tree until stopped; its raw (folded) stacks end up in ``output``."""

    def __init__(self, pid: int, output: Path) -> None:
        self.output = output
        self._process = subprocess.Popen(
            [
                str(PY_SPY), "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
                "--rate", str(SAMPLES_PER_SECOND), "--format", "raw", "--output", str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> list[str]:
        """Stop recording (py-spy writes its file on SIGINT) and return the folded stacks."""
        os.killpg(self._process.pid, signal.SIGINT)
        _, errors = self._process.communicate(timeout=60)
        if not self.output.exists():
            raise RuntimeError(f"py-spy wrote no profile: {errors.decode(errors='replace')[-500:]}")
        return self.output.read_text().splitlines()


def innermost_step(frames: Sequence[str], steps: Sequence[Step]) -> str | None:
    """The step that names the innermost frame some step names (frames outermost first), else None."""
    for frame in reversed(frames):
        for step in steps:
            if step.matches(frame):
                return step.name
    return None


def samples_by(folded: Iterable[str], step_of: Callable[[Sequence[str]], str | None]) -> Counter[str]:
    """Samples per step from py-spy's raw output (``frame;frame;… count`` per line); None drops a sample."""
    samples: Counter[str] = Counter()
    for line in folded:
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit() and (step := step_of(stack.split(";"))) is not None:
            samples[step] += int(count)
    return samples


def step_of(frames: Sequence[str]) -> str:
    """The step of the trigger path a sample's stack (outermost frame first) belongs to."""
    if not any(TRIGGER_ROUTE in frame for frame in frames):
        return OTHER_WORK
    return innermost_step(frames, STEPS) or STEPS[-1].name


def breakdown(folded: Iterable[str]) -> Counter[str]:
    """Samples per step of the trigger path."""
    return samples_by(folded, step_of)


def breakdown_table(samples: Counter[str]) -> str:
    """The steps with their samples and their share of the trigger route's samples, in the path's order."""
    route = sum(count for name, count in samples.items() if name != OTHER_WORK)
    rows = [
        [step.name, str(samples[step.name]), f"{samples[step.name] / route:.0%}" if route else "–"]
        for step in STEPS
    ]
    rows.append([OTHER_WORK, str(samples[OTHER_WORK]), "–"])
    return markdown_table(["step of the trigger path", "samples", "share of the route"], rows, "lrr")
