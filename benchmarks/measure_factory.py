"""Measure what one parse of the DAG factory file costs at 10, 100 and 1,000 jobs; report it in BENCHMARKS.md.

Run from the repository root::

    .venv/bin/python -m benchmarks.measure_factory [--sizes 10 100 1000] [--rounds 3] [--factory-files N]

Every job change makes the DAG processor parse the factory file holding the job again (the one
file of all jobs, or with ``--factory-files N`` one of N files holding a share each): its cost grows
with the jobs in the file, and it is part of how long a new job takes to become triggerable. For each size this writes that many specs (the repository's two
example specs, alternately: one task, or three tasks and a cron schedule) to a temporary jobs
folder and parses the factory file in a fresh Python process per round, as the DAG processor does
per parse, recording:

1. imports: ``http_trigger.dag_builder`` and what it pulls in (the Amazon provider, boto3, the
   models), which the factory file's first line pays in a fresh process;
2. the factory file in Airflow's ``DagBag``: the whole import, as the DAG processor runs it (read,
   validate and build every job, then Airflow's checks as it bags each DAG), and, measured again
   on their own, its two parts: read + validate (YAML and the job model) and build (the DAGs);
3. serialisation: ``DagSerialization.to_dict`` of every DAG of the bag, as the DAG processor does
   before sending its result to its manager, then that result as JSON (and its size);
4. memory, in one more round of its own (tracing slows everything down): the peak of Python
   allocations over steps 2-3 (``tracemalloc``) and the parsing process's peak RSS.

Times are the median of the rounds. The database writes that follow a parse (one serialised DAG
row and one DAG row per job) are not here: ``measure_trigger --existing-jobs 1000`` measures a
whole stack at that scale. Figures are recorded, never judged.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from http_trigger.factory_files import Shard, write_factory_files

from benchmarks.report import MachineWatch, load_average, machine_facts, markdown_table, write_section

REPO = Path(__file__).resolve().parents[1]
COMMAND = ".venv/bin/python -m benchmarks.measure_factory"
EXAMPLE_SPECS = sorted((REPO / "dags" / "example_jobs").glob("*.yaml"))
SECTION = "measure_factory"
MIB = 1024 * 1024


def write_specs(folder: Path, count: int, *, first_id: int = 1) -> None:
    """Write ``count`` job specs to ``folder``: the example specs in turn, each with its own id and name."""
    examples = [yaml.safe_load(path.read_text()) for path in EXAMPLE_SPECS]
    folder.mkdir(parents=True, exist_ok=True)
    for job_id in range(first_id, first_id + count):
        spec = {**examples[job_id % len(examples)], "id": job_id}
        spec["name"] = f"{spec['name']} #{job_id}"
        (folder / f"job_{job_id}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


# ---------------------------------------------------------------------------------------------------
# One parse, in a process of its own


def parse_once(folder: Path, factory_file: Path, *, trace_memory: bool) -> dict[str, Any]:
    """Parse a factory file as the DAG processor does, in this (fresh) process; return the figures."""
    began = time.perf_counter()
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.serialization.serialized_objects import DagSerialization

    airflow_imported = time.perf_counter()
    from http_trigger import dag_builder
    from http_trigger.factory_files import shard_of_file
    from http_trigger.jobs import files as job_files

    plugin_imported = time.perf_counter()
    if trace_memory:
        tracemalloc.start()
    bag = BundleDagBag(
        dag_folder=factory_file,
        bundle_path=factory_file.parent,
        bundle_name="dags-folder",
        load_op_links=False,
    )
    bagged = time.perf_counter()
    serialised = [DagSerialization.to_dict(dag) for dag in bag.dags.values()]
    to_dict_done = time.perf_counter()
    payload = json.dumps(serialised)
    json_done = time.perf_counter()
    peak_traced = tracemalloc.get_traced_memory()[1] if trace_memory else None
    tracemalloc.stop()
    # The two parts of the factory's own work, again, from a cold cache of read specs as in a fresh process.
    job_files._read_cache.clear()
    started = time.perf_counter()
    shard = shard_of_file(factory_file.name)
    assert shard is not None, factory_file
    stored_jobs, broken = job_files.read_specs(shard.spec_files(folder))
    loaded = time.perf_counter()
    for stored in stored_jobs:
        dag_builder.build_job_dag(stored)
    built = time.perf_counter()
    from airflow.configuration import conf

    return {
        # The DAG processor's limits on one file's parse, as Airflow reads them here (its defaults).
        "limits": {
            "dagbag_import_timeout": conf.getfloat("core", "dagbag_import_timeout"),
            "dag_file_processor_timeout": conf.getfloat("dag_processor", "dag_file_processor_timeout"),
        },
        "dags": len(bag.dags),
        "tasks": sum(len(dag.tasks) for dag in bag.dags.values()),
        "import_errors": len(bag.import_errors),
        "broken": len(broken),
        "airflow_import_seconds": airflow_imported - began,
        "plugin_import_seconds": plugin_imported - airflow_imported,
        "dagbag_seconds": bagged - plugin_imported,
        "load_validate_seconds": loaded - started,
        "build_seconds": built - loaded,
        "to_dict_seconds": to_dict_done - bagged,
        "json_seconds": json_done - to_dict_done,
        "json_bytes": len(payload.encode()),
        "peak_traced_bytes": peak_traced,
        # Linux reports the peak resident set size in KiB.
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def child_environment(home: Path, folder: Path, factory_file: Path) -> dict[str, str]:
    """Return the environment of a parsing process: its own Airflow home, the jobs folder to parse."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(factory_file.parent),
            "AIRFLOW__HTTP_TRIGGER__JOBS_FOLDER": str(folder),
            "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])]),
        }
    )
    return env


def run_child(home: Path, folder: Path, factory_file: Path, *, trace_memory: bool) -> dict[str, Any]:
    """Run :func:`parse_once` in a fresh interpreter and return its figures."""
    result_file = home / "result.json"
    command = [
        sys.executable, "-m", "benchmarks.measure_factory",
        "--child", str(folder), str(result_file), str(factory_file),
    ]  # fmt: skip
    if trace_memory:
        command.append("--trace-memory")
    done = subprocess.run(
        command, cwd=REPO, env=child_environment(home, folder, factory_file), capture_output=True, text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the parsing process failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return dict(json.loads(result_file.read_text()))


# ---------------------------------------------------------------------------------------------------
# Rounds, sizes and the report


@dataclass(frozen=True)
class SizeResult:
    jobs: int
    in_file: int  # the jobs the parsed factory file builds: all of them, or its share
    rounds: list[dict[str, Any]]
    memory: dict[str, Any]

    def median(self, key: str) -> float:
        return statistics.median(float(r[key]) for r in self.rounds)

    def totals(self) -> list[float]:
        """Return each round's parse and serialisation together: what the DAG processor's child spends."""
        return [r["dagbag_seconds"] + r["to_dict_seconds"] + r["json_seconds"] for r in self.rounds]

    def spread(self, key: str) -> str:
        values = [float(r[key]) for r in self.rounds]
        return f"{min(values):.2f}-{max(values):.2f}"


def measure_size(jobs: int, rounds: int, work: Path, log: Any, factory_files: int = 1) -> SizeResult:
    """Parse one factory file of a set of ``factory_files`` (the one of job 1) among ``jobs`` jobs."""
    folder = work / f"jobs-{jobs}"
    write_specs(folder, jobs)
    home = work / f"home-{jobs}"
    home.mkdir()
    written, _ = write_factory_files(work / f"dags-{jobs}", factory_files)
    shard = Shard(1 % factory_files, factory_files)
    factory_file = written[shard.index]
    in_file = len(shard.spec_files(folder))
    results = []
    for number in range(1, rounds + 1):
        result = run_child(home, folder, factory_file, trace_memory=False)
        if result["dags"] != in_file or result["import_errors"] or result["broken"]:
            raise RuntimeError(f"{jobs} specs gave {result['dags']} DAGs: {result}")
        results.append(result)
        log(
            f"[{jobs} jobs] round {number}/{rounds}: DagBag {result['dagbag_seconds']:.2f} s "
            f"(read+validate {result['load_validate_seconds']:.2f} s, "
            f"build {result['build_seconds']:.2f} s), "
            f"serialise {result['to_dict_seconds']:.2f} s + JSON {result['json_seconds']:.2f} s, "
            f"imports {result['plugin_import_seconds']:.2f} s"
        )
    memory = run_child(home, folder, factory_file, trace_memory=True)
    log(
        f"[{jobs} jobs] memory round: peak traced {memory['peak_traced_bytes'] / MIB:.1f} MiB, "
        f"peak RSS {memory['peak_rss_bytes'] / MIB:.0f} MiB"
    )
    return SizeResult(jobs=jobs, in_file=in_file, rounds=results, memory=memory)


def figures_table(results: Sequence[SizeResult]) -> str:
    rows = []
    for r in results:
        total = statistics.median(r.totals())
        rows.append(
            [
                f"{r.jobs:,}",
                f"{r.in_file:,}",
                str(r.rounds[0]["tasks"]),
                f"{r.median('dagbag_seconds'):.2f}",
                f"{r.median('load_validate_seconds'):.2f}",
                f"{r.median('build_seconds'):.2f}",
                f"{r.median('to_dict_seconds'):.2f}",
                f"{r.median('json_seconds'):.2f}",
                f"{r.rounds[0]['json_bytes'] / MIB:.1f}",
                f"{total:.2f}",
                f"{min(r.totals()):.2f}",
                f"{total / r.in_file * 1000:.1f}",
                f"{r.memory['peak_traced_bytes'] / MIB:.0f}",
                f"{r.memory['peak_rss_bytes'] / MIB:.0f}",
            ]
        )
    header = [
        "jobs", "in the file", "tasks", "DagBag parse (s)", "of which read + validate (s)", "of which build (s)",
        "serialise (s)", "JSON (s)", "JSON (MiB)", "parse + serialise (s)", "fastest round (s)",
        "per job (ms)", "peak Python memory (MiB)", "peak RSS (MiB)",
    ]
    return markdown_table(header, rows, "rrrrrrrrrrrrrr")


def render_section(
    *, command: str, started_at: datetime, total_seconds: float, rounds: int, results: Sequence[SizeResult],
    facts: dict[str, str], limits: dict[str, float], factory_files: int = 1,
) -> str:
    largest = results[-1]
    per_job = statistics.median(largest.totals()) / largest.in_file
    fastest = min(largest.totals())
    per_job_by_size = ", ".join(
        f"{statistics.median(r.totals()) / r.in_file * 1000:.1f} ms at {r.in_file:,}" for r in results
    )
    serialise_share = largest.median("to_dict_seconds") / largest.median("dagbag_seconds")
    growing = len(results) > 1 and per_job > 1.2 * statistics.median(results[-2].totals()) / results[-2].in_file
    extrapolation = (
        "a linear extrapolation, so an optimistic one: the cost per job grows with the number of jobs"
        if growing
        else "a linear extrapolation"
    )
    parse_per_job = largest.median("dagbag_seconds") / largest.in_file
    imports = statistics.median(r.median("plugin_import_seconds") for r in results)
    facts_table = markdown_table(["Item", "Value"], [[k, v] for k, v in facts.items()], "ll")
    spreads = "; ".join(
        f"{r.jobs:,} jobs: DagBag parse {r.spread('dagbag_seconds')} s" for r in results
    )
    import_limit = limits["dagbag_import_timeout"]
    process_limit = limits["dag_file_processor_timeout"]
    if factory_files == 1:
        title = "the DAG factory file"
        which = (
            "All jobs' DAGs come from that one file, so the DAG processor parses all of them again after "
            "any job change, and a new job is triggerable only after such a parse."
        )
        split = (
            "- With many jobs, split them across several factory files (`airflow http-trigger factory "
            "write --shards N`, see the README): a job change then re-parses one file, holding about 1/N "
            "of the jobs, and no file approaches the timeouts. `--factory-files N` measures that."
        )
    else:
        title = f"one of {factory_files} DAG factory files"
        which = (
            f"The jobs are split by id across {factory_files} factory files (`airflow http-trigger factory "
            f"write --shards {factory_files}`), and a job change re-parses the one file holding it: this "
            "parses that file (the one of job 1), holding about 1/{factory_files} of the jobs."
        ).replace("{factory_files}", str(factory_files))
        split = (
            f"- Split {factory_files} ways, the largest size's file is parsed in {fastest:.1f}-"
            f"{max(largest.totals()):.1f} s, and each file stays far below the timeouts."
        )
    return f"""## Parsing {title} at {', '.join(f'{r.jobs:,}' for r in results)} jobs

How much one parse of a factory file costs as jobs grow. {which} Each round parses in a fresh
Python process, as the DAG processor does; no Airflow service runs. The jobs alternate between the
repository's two example specs (one task; or three tasks, a cron schedule and webhook
post-processing).

- **DagBag parse**: Airflow's `DagBag` importing the factory file: read, validate and build every
  job it holds, then Airflow's own checks as it bags each DAG. Its parts, timed again on their own:
  **read + validate** (YAML and the job model) and **build** (the DAG objects and their operators).
- **serialise** and **JSON**: what the DAG processor does next, before it sends the result to its
  manager: `DagSerialization.to_dict` of every DAG, and the result as JSON (its size shown).
- **peak Python memory** (`tracemalloc`, over the parse and the serialisation) and **peak RSS** (the
  whole parsing process, Airflow's own imports included), from one more round of their own.
- Not included: importing `http_trigger.dag_builder` itself (median {imports:.2f} s, whatever the number
  of jobs), and the database writes of the result, which the sections "with 1,000 jobs already
  loaded" measure on a whole stack.

Times are medians of {rounds} round{'s' if rounds != 1 else ''} (range of the DagBag parse: {spreads}).

### Command

```
{command}
```

### Machine

{facts_table}

Date (UTC): {started_at:%Y-%m-%d %H:%M}; the whole command took {total_seconds:.0f} s.

### Figures

{figures_table(results)}

### What this means

- One parse costs about {per_job * 1000:.1f} ms per job it holds (parse and serialisation, median
  at {largest.in_file:,} jobs in the file), so a job change among {largest.jobs:,} jobs waits
  {per_job * largest.in_file:.1f} s (the fastest round: {fastest:.1f} s) for the parse that loads it,
  and then for the DAG processor to write the file's {largest.in_file:,} serialised DAGs to the
  database, before the API can start it. Per job: {per_job_by_size}. Airflow's serialisation takes
  {serialise_share:.0%} as long as the parse itself.
- Airflow stops a file's import that takes longer than `[core] dagbag_import_timeout`
  ({import_limit:.0f} s here) and records an import error for the file instead of its DAGs, so no
  job's change would go live any more; it also kills a parsing process that runs longer than
  `[dag_processor] dag_file_processor_timeout` ({process_limit:.0f} s). At {parse_per_job * 1000:.1f} ms
  per job for the import alone, on this machine the first limit is reached at about
  {import_limit / parse_per_job:,.0f} jobs in one file; the parse and the serialisation together pass
  {process_limit:.0f} s at about {process_limit / per_job:,.0f} jobs in one file ({extrapolation}).
{split}
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.measure_factory",
        description="Measure one parse of the DAG factory file at several numbers of jobs; print the figures "
        "and write their section of BENCHMARKS.md.",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000], help="numbers of jobs")
    parser.add_argument("--rounds", type=int, default=3, help="timed parses per size (default 3)")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md", help="report to update")
    parser.add_argument(
        "--factory-files", type=int, default=1, help="split the jobs across this many factory files (default 1)"
    )
    parser.add_argument("--child", nargs=3, metavar=("FOLDER", "RESULT", "FACTORY"), help=argparse.SUPPRESS)
    parser.add_argument("--trace-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or min(args.sizes) < 1:
        parser.error("--rounds and every size must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    raw_args = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw_args)
    if args.child:
        folder, result_file, factory_file = map(Path, args.child)
        result_file.write_text(json.dumps(parse_once(folder, factory_file, trace_memory=args.trace_memory)))
        return 0

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    command = " ".join([COMMAND, *map(shlex.quote, raw_args)])
    started_at = datetime.now(timezone.utc)
    begun = time.monotonic()
    load_before = load_average()
    watch = MachineWatch().start()
    work = Path(tempfile.mkdtemp(prefix="http-trigger-factory-bench-"))
    try:
        results = []
        for jobs in sorted(args.sizes):
            log(f"[{jobs} jobs] writing the specs, then {args.rounds} timed parses and one for memory")
            results.append(measure_size(jobs, args.rounds, work, log, args.factory_files))
    finally:
        watch.stop()
        shutil.rmtree(work, ignore_errors=True)
    facts = {
        **machine_facts(),
        "Load average 1/5/15 min": f"{load_before} before, {load_average()} after",
        "Other processes' CPU use during the run": watch.describe(),
    }
    section = render_section(
        command=command, started_at=started_at, total_seconds=time.monotonic() - begun, rounds=args.rounds,
        results=results, facts=facts, limits=results[-1].rounds[0]["limits"], factory_files=args.factory_files,
    )
    print(figures_table(results))
    key = SECTION if args.factory_files == 1 else f"{SECTION} --factory-files {args.factory_files}"
    write_section(key, section, path=args.output)
    print(f"\nWrote the section {key!r} of {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
