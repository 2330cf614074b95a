"""What runs cost the machine: CPU seconds by part of the stack, and where a task process spends them.

When many runs start at once on a small machine, how soon each one's action starts depends on the
CPU the machine has for them: every run is a task process of its own, and the scheduler, the task
supervisors, the API server (Airflow's execution API), PostgreSQL and the AWS endpoint all work for
it. :func:`cpu_by_part` reads each part's CPU time so far; two readings around a burst, once its
runs have ended, say what the burst cost and so what one run costs.

:class:`TaskProfile` says where the task processes' time goes, from py-spy's samples of the
scheduler's process tree (the LocalExecutor's workers and the task processes they fork): each
sample counts for the step its innermost named frame belongs to. Sampling slows the tasks down, so
it runs on a burst of its own, after the measured one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import psutil

from benchmarks.report import markdown_table
from benchmarks.trigger_profile import Step, frames_in, innermost_step, samples_by
from devstack.stack import EmbeddedStack

SCHEDULER = "scheduler"
TASK_SUPERVISORS = "task supervisors (the LocalExecutor's workers)"
TASK_PROCESSES = "task processes (forked by the supervisors, one per task)"
# A task process's frames all run under this module of Airflow's task SDK.
TASK_RUNNER = "airflow/sdk/execution_time/task_runner.py"
OTHER_TASK_WORK = "the task runner's own work (start-up, reporting to the execution API, logs)"


def _cpu_seconds(process: psutil.Process, *, reaped: bool) -> float:
    """The process's CPU time so far; with ``reaped``, only that of the children it has waited for."""
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.children_user + times.children_system if reaped else times.user + times.system


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU time so far of a process and its descendants, the children it already reaped included.

    A child's time moves to its parent's ``children_*`` times when it ends, so the sum stays whole
    between two readings.
    """
    try:
        root = psutil.Process(pid)
        descendants = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    return sum(
        _cpu_seconds(process, reaped=False) + _cpu_seconds(process, reaped=True)
        for process in [root, *descendants]
    )


def cpu_by_part(stack: EmbeddedStack) -> Counter[str]:
    """CPU seconds so far of each process of the stack, the scheduler's split into its own parts.

    The scheduler's children are the LocalExecutor's workers, which supervise the tasks; each task
    runs in a process a worker forks, whose time moves to the worker's reaped-children time when it
    ends (or counts as it runs, while it still does).
    """
    parts: Counter[str] = Counter()
    for name, managed in stack.processes.items():
        if managed.returncode is not None:  # a process that has done its work, e.g. the database migration
            continue
        if name != SCHEDULER:
            parts[name] = process_tree_cpu_seconds(managed.pid)
            continue
        scheduler = psutil.Process(managed.pid)
        parts[SCHEDULER] = _cpu_seconds(scheduler, reaped=False)
        for worker in scheduler.children():
            parts[TASK_SUPERVISORS] += _cpu_seconds(worker, reaped=False)
            parts[TASK_PROCESSES] += _cpu_seconds(worker, reaped=True) + sum(
                process_tree_cpu_seconds(task.pid) for task in worker.children()
            )
        parts[TASK_PROCESSES] += _cpu_seconds(scheduler, reaped=True)
    return parts


def cost_table(cost: Mapping[str, float], runs: int, seconds: float, cpus: int) -> str:
    """The CPU seconds of each part over a burst of ``runs`` runs, per run, and in all."""
    rows = [
        [part, f"{used:.1f}", f"{used / runs * 1000:.0f}"]
        for part, used in sorted(cost.items(), key=lambda item: -item[1])
    ]
    total = sum(cost.values())
    rows.append(
        [
            f"all of them, in {seconds:.1f} s ({cpus} CPUs: {cpus * seconds:.1f} CPU-seconds there)",
            f"{total:.1f}",
            f"{total / runs * 1000:.0f}",
        ]
    )
    return markdown_table(["part of the stack", "CPU-seconds", "per run (ms)"], rows, "lrr")


# Checked against each frame from the innermost outwards; the first step that names one takes the sample.
TASK_STEPS: tuple[Step, ...] = (
    Step(
        "botocore: reading the AWS service's model (JSON) for a new client", frames_in("botocore/loaders.py")
    ),
    Step(
        "Amazon provider: naming the calling operator for the client's user agent (inspect.stack)",
        lambda frame: "._get_caller (" in frame and "aws/hooks/base_aws.py" in frame,
    ),
    Step(
        "boto3/botocore: the rest of creating the client",
        frames_in("boto3/session.py", "botocore/session.py"),
    ),
    Step("AWS calls (HTTP to the endpoint, waiting for answers)", frames_in("botocore/endpoint.py")),
    Step(
        "loading the job's DAG (the factory file, parsed for this job alone)",
        frames_in("parse (" + TASK_RUNNER),
    ),
    Step("the action's own code", frames_in("http_trigger/actions/")),
)


def task_step_of(frames: Sequence[str]) -> str | None:
    """The step of a task process a sample (outermost frame first) belongs to; None outside a task."""
    if not any(TASK_RUNNER in frame for frame in frames):
        return None
    return innermost_step(frames, TASK_STEPS) or OTHER_TASK_WORK


@dataclass(frozen=True)
class TaskProfile:
    """py-spy's samples of task processes, by step."""

    samples: Counter[str]

    @classmethod
    def from_folded(cls, folded: Iterable[str]) -> TaskProfile:
        """Read py-spy's raw output (``frame;frame;… count`` per line)."""
        return cls(samples_by(folded, task_step_of))

    def table(self) -> str:
        total = sum(self.samples.values())
        names = [step.name for step in TASK_STEPS] + [OTHER_TASK_WORK]
        rows = [
            [name, str(self.samples[name]), f"{self.samples[name] / total:.0%}" if total else "–"]
            for name in names
        ]
        return markdown_table(["step of a task process", "samples", "share"], rows, "lrr")
