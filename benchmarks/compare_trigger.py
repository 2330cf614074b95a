"""Measure http-trigger's trigger side by side with Airflow's own REST trigger; write BENCHMARKS.md.

Run from the repository root::

    .venv/bin/python -m benchmarks.compare_trigger [--requests N] [--rounds R] [--concurrency 1,10,50] [--profile C]
        [--idle SECONDS] [--setting AIRFLOW__SECTION__KEY=VALUE]

One embedded stack, one job, one DAG: the job's trigger URL with its token, and Airflow's
``POST /api/v2/dags/{dag_id}/dagRuns`` with a JWT, both starting runs of that same DAG in the same
database. At each concurrency the two take turns, round after round (the first of each round
alternates), each round sending ``N`` POSTs with at most that many in flight, so a load that comes
and goes on the machine falls on both alike. Before the first round each side sends unmeasured
warm-up POSTs: a server process's first calls of a route load the DAG, compile its statements and
open database connections, which a caller of a running server does not wait for. Each round starts
once the API server answers its health check quickly again, so one side's overload is not paid for
by the other's next round. Per side and concurrency it reports throughput (POSTs answered per
second of the round's wall time), the median and 99th percentile of the round trips,
and the answers that were not a success; the ratio column is http-trigger's figure over Airflow's.
With ``--idle`` the stack first stands idle, as a deployment does before its callers come: what a
server process builds on its first calls then comes well after it has started.

The runs the POSTs start are real: the scheduler runs them (the job does nothing and succeeds)
while the measurement goes on, as it would in production. Nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

from benchmarks.measure_trigger import add_setting_argument, percentile, settings_text
from benchmarks.report import (
    BENCHMARKS_FILE,
    MachineWatch,
    load_average,
    machine_facts,
    markdown_table,
    write_section,
)
from benchmarks.trigger_profile import SAMPLES_PER_SECOND, Recording, breakdown, breakdown_table
from devstack.stack import EmbeddedStack, StackConfig, free_port

log = logging.getLogger("benchmarks.compare_trigger")

COMMAND = ".venv/bin/python -m benchmarks.compare_trigger"
SECTION = "compare-trigger"
SIDES = ("http-trigger", "Airflow REST")
JOB = {
    "name": "bench-compare",
    "group": "benchmarks",
    "action": {"type": "utility_no_action", "parameters": {"note": "side-by-side benchmark"}},
}


@dataclass
class Round:
    """One round of one side at one concurrency: every POST's round trip and answer."""

    seconds: float = 0.0
    round_trips: list[float] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)


@dataclass
class Side:
    """Every round of one side at one concurrency."""

    rounds: list[Round] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(each.round_trips) for each in self.rounds)

    @property
    def throughput(self) -> float:
        return self.requests / sum(each.seconds for each in self.rounds)

    def round_trip(self, fraction: float) -> float:
        return percentile([trip for each in self.rounds for trip in each.round_trips], fraction) * 1000

    @property
    def refused(self) -> Counter[str]:
        return sum((each.refused for each in self.rounds), Counter())


async def send_round(
    post: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    requests: int,
    concurrency: int,
    base_url: str,
) -> Round:
    """Send ``requests`` POSTs, at most ``concurrency`` in flight, each on a connection kept open."""
    result = Round()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def one() -> None:
            async with gate:
                sent = time.perf_counter()
                try:
                    response = await post(client)
                except httpx.HTTPError as error:
                    result.refused[type(error).__name__] += 1
                    return
                result.round_trips.append(time.perf_counter() - sent)
                if not response.is_success:
                    result.refused[str(response.status_code)] += 1

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        result.seconds = time.perf_counter() - began
    return result


def settle(base_url: str, *, quick: float = 0.1, in_a_row: int = 3, limit: float = 600.0) -> float:
    """Wait until the API server answers its health check within ``quick`` seconds ``in_a_row`` times.

    A round that overloads the server leaves it working on POSTs whose callers have given up; the
    next round, the other side's, would pay for them. Returns the seconds waited (at most ``limit``).
    """
    began = time.perf_counter()
    quick_answers = 0
    with httpx.Client(base_url=base_url, timeout=limit) as client:
        while quick_answers < in_a_row and time.perf_counter() - began < limit:
            sent = time.perf_counter()
            try:
                answered = client.get("/api/v2/monitor/health").is_success
            except httpx.HTTPError:
                answered = False
            quick_answers = quick_answers + 1 if answered and time.perf_counter() - sent < quick else 0
            time.sleep(0.2)
    return time.perf_counter() - began


def create_job(api: httpx.Client) -> dict:
    """Create the job both sides trigger and wait until Airflow has loaded (and enabled) its DAG."""
    created = api.post("/http-trigger/api/jobs", json=JOB)
    created.raise_for_status()
    job = created.json()
    deadline = time.monotonic() + 120
    while api.get(f"/http-trigger/api/jobs/{job['id']}").json()["is_paused"] is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"Airflow did not load job {job['id']} in 120 s")
        time.sleep(0.5)
    return job


def measure(
    stack: EmbeddedStack, args: argparse.Namespace
) -> tuple[dict[int, dict[str, Side]], Counter[str] | None]:
    """Send the rounds of both sides at each concurrency; then, with ``--profile``, the profiled round."""
    token = stack.get_api_token()
    with httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as api:
        job = create_job(api)
    trigger_path = httpx.URL(job["trigger_url"]).path
    posts = {
        "http-trigger": lambda client: client.post(
            trigger_path, headers={"Authorization": f"CAAuth {job['token']}", "Content-Length": "0"}
        ),
        "Airflow REST": lambda client: client.post(
            f"/api/v2/dags/{job['dag_id']}/dagRuns",
            headers={"Authorization": f"Bearer {token}"},
            json={"logical_date": None},
        ),
    }
    stand_idle(args.idle)
    log.info("Warming up: %s unmeasured POSTs per side", args.warm_up)
    for side in SIDES:
        asyncio.run(send_round(posts[side], args.warm_up, 1, stack.api_url))
    results: dict[int, dict[str, Side]] = {}
    for concurrency in args.concurrency:
        results[concurrency] = {side: Side() for side in SIDES}
        for number in range(args.rounds):
            order = SIDES if number % 2 == 0 else SIDES[::-1]
            for side in order:
                waited = settle(stack.api_url)
                if waited > 2:
                    log.info("the API server was busy with the previous round for %.0f s", waited)
                done = asyncio.run(send_round(posts[side], args.requests, concurrency, stack.api_url))
                results[concurrency][side].rounds.append(done)
                log.info(
                    "concurrency %s, round %s/%s, %s: %.0f POSTs/s, %s not a success",
                    concurrency,
                    number + 1,
                    args.rounds,
                    side,
                    len(done.round_trips) / done.seconds,
                    sum(done.refused.values()),
                )
    return results, profile_round(stack, posts["http-trigger"], args) if args.profile else None


def stand_idle(seconds: float, *, report_every: float = 30.0) -> None:
    """Leave the started stack alone for ``seconds``, saying every half minute how long is left."""
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        log.info("The stack stands idle before the first POST: %.0f s left", left)
        time.sleep(min(report_every, left))


def profile_round(
    stack: EmbeddedStack, post: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]], args: argparse.Namespace
) -> Counter[str]:
    """One more round of http-trigger POSTs at ``--profile`` concurrency, with py-spy on the API server."""
    output = stack.config.home / "trigger-profile.txt"
    recording = Recording(stack.processes["api-server"].pid, output)
    time.sleep(1)  # py-spy attaches to the server and its workers
    try:
        done = asyncio.run(send_round(post, args.requests, args.profile, stack.api_url))
    finally:
        samples = breakdown(recording.stop())
    log.info("profiled round: %.0f POSTs/s, %s samples", len(done.round_trips) / done.seconds, samples.total())
    return samples


def figures(results: dict[int, dict[str, Side]]) -> str:
    rows = []
    for concurrency, sides in results.items():
        ours, airflows = sides["http-trigger"], sides["Airflow REST"]
        for name, side in sides.items():
            refused = ", ".join(f"{count} × {kind}" for kind, count in side.refused.items()) or "0"
            rows.append(
                [
                    str(concurrency),
                    name,
                    str(side.requests),
                    f"{side.throughput:.1f}",
                    f"{side.round_trip(0.5):.1f}",
                    f"{side.round_trip(0.99):.1f}",
                    refused,
                ]
            )
        rows.append(
            [
                str(concurrency),
                "ratio",
                "",
                f"{ours.throughput / airflows.throughput:.2f}",
                f"{ours.round_trip(0.5) / airflows.round_trip(0.5):.2f}",
                f"{ours.round_trip(0.99) / airflows.round_trip(0.99):.2f}",
                "",
            ]
        )
    header = ["concurrency", "trigger", "POSTs", "POSTs/s", "p50 (ms)", "p99 (ms)", "not a success"]
    return markdown_table(header, rows, "rlrrrrl")


def render(
    command: str,
    started_at: datetime,
    results: dict[int, dict[str, Side]],
    facts: dict[str, str],
    profile: Counter[str] | None,
    profiled_concurrency: int,
    settings: dict[str, str],
) -> str:
    machine = "\n".join(f"- {name}: {value}" for name, value in facts.items())
    profile_text = ""
    if profile is not None:
        profile_text = f"""
### Where the API server's time goes

py-spy sampled the API server and its workers ({SAMPLES_PER_SECOND} samples a second, busy threads
only) during one more round of http-trigger POSTs at concurrency {profiled_concurrency}, after the
measured ones. Each sample counts for the step of the trigger path its innermost named frame belongs
to (`benchmarks/trigger_profile.py`).

{breakdown_table(profile)}
"""
    return f"""## Trigger side by side: http-trigger vs Airflow's own REST trigger

Both start runs of one DAG on one embedded stack (API server, scheduler, DAG processor and
triggerer, LocalExecutor, the stack's own PostgreSQL): http-trigger's `POST` on the job's trigger
URL with its token, and Airflow's `POST /api/v2/dags/{{dag_id}}/dagRuns` with a JWT. Each side first
sends unmeasured warm-up POSTs (a server's first calls load the DAG and compile statements). At each
concurrency the two take turns round after round, each round once the API server answers its health
check quickly again; the ratio is http-trigger over Airflow (throughput above 1 and round trips below 1 favour http-trigger).

### Command

```sh
{command}
```

Run {started_at:%Y-%m-%d %H:%M} UTC.
{settings_text(settings)}
### Machine

{machine}

### Figures

{figures(results)}
{profile_text}"""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="POSTs per side and round (default 200)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="rounds per side and concurrency; even, so each side leads as often (default 4)",
    )
    parser.add_argument(
        "--warm-up", type=int, default=50, help="unmeasured POSTs per side before the rounds (default 50)"
    )
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 10, 50],
        help="POSTs in flight at once, comma-separated (default 1,10,50)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="C",
        help="then profile one more http-trigger round at concurrency C with py-spy (default: no profile)",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="leave the started stack idle this long before the first POST (default 0)",
    )
    add_setting_argument(parser)
    parser.add_argument("--output", type=Path, default=BENCHMARKS_FILE, help="the report to update")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    raw_args = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw_args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started_at = datetime.now(timezone.utc)
    load_before = load_average()
    watch = MachineWatch().start()
    home = Path(tempfile.mkdtemp(prefix="http-trigger-compare-"))
    stack = EmbeddedStack(
        StackConfig(home=home, api_port=free_port(), moto_port=free_port(), extra_env=dict(args.setting))
    )
    try:
        log.info("Starting the embedded stack in %s", home)
        stack.start(timeout=300)
        results, profile = measure(stack, args)
    finally:
        watch.stop()
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)
    facts = {
        **machine_facts(),
        "Load average 1/5/15 min, before / after": f"{load_before} / {load_average()}",
        "Other processes' CPU use during the run": watch.describe(),
    }
    command = " ".join([COMMAND, *map(shlex.quote, raw_args)])
    print(figures(results))
    if profile is not None:
        print(breakdown_table(profile))
    section = render(command, started_at, results, facts, profile, args.profile, dict(args.setting))
    write_section(SECTION, section, path=args.output)
    print(f"\nWrote the section {SECTION!r} of {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
