"""Benchmarks: what imagebuilder_lifecycle_execution_info adds to the API calls it makes (`make bench`).

    PYTHONPATH=.build/tarball python -m ansible_collections.imagebuilder_ops.aws.benchmarks.run \
        [--collections-path .build/core221/installed] [--reps 5] [--list-reps 3] [--doc docs/performance.md]

One local endpoint (tests/local_endpoint, in this process) serves every case. Each round runs every command
once, in a shuffled order, so that a busy moment on the machine falls on module and floor alike:

* get: `ansible localhost -m <info module>` for one execution, against the floor `ansible -m ping` plus a bare
  boto3 script making the same GetLifecycleExecution (benchmarks/bare_boto3.py);
* list 1k / list 10k: every execution of a policy with 1,000 and 10,000 executions, and res 10k: an execution
  with 10,000 resources. Floor: ping plus a bare boto3 paginator loop at the best page size. Data floor: a
  trivial module returning the same answer (benchmarks/modules/bench_echo.py) plus the bare loop, which adds
  what Ansible itself spends carrying a result that large;
* wait: a wait on an execution whose terminal status appears at a known time, counted from the endpoint's
  request log (one GetLifecycleExecution per poll, none after the terminal status) and timed from the terminal
  status to the module returning its result.

Module processes, commands and bare scripts run under small measuring wrappers that record peak RSS and end time. The
table goes to stdout and, unless --no-write, into --doc (docs/performance.md) between its results markers. Exit
status 1 when a goal is missed, 2 when a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ansible_collections.imagebuilder_ops.aws.tests.support.commands import adhoc_result
from ansible_collections.imagebuilder_ops.aws.tests.support.commands import run
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import check_installed
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import tool
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import REGION
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import execution_id
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import policy_arn

HERE = Path(__file__).resolve().parent
BARE = HERE / "bare_boto3.py"
LIBRARY = HERE / "modules"
INFO = "imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info"
START_MARK = "<!-- benchmark results: start (written by benchmarks/run.py) -->"
END_MARK = "<!-- benchmark results: end -->"

GET_ID = execution_id("0000beef", 1)
RES_ID = execution_id("0000cafe", 1)
RESOURCES = 10000
# case -> (module arguments, bare_boto3.py arguments, expected item count)
LISTINGS = {
    "list 1k": (
        {"lifecycle_policy_arn": policy_arn("bench-1k")},
        ("executions", policy_arn("bench-1k")),
        1000,
    ),
    "list 10k": (
        {"lifecycle_policy_arn": policy_arn("bench-10k")},
        ("executions", policy_arn("bench-10k")),
        10000,
    ),
    "res 10k": ({"lifecycle_execution_id": RES_ID, "include_resources": True}, ("resources", RES_ID), RESOURCES),
}
WAIT_SLEEP = 2
# The terminal status appears this long after the first poll: just after the third poll (0, 2, 4 s), so that
# the module sees it nearly a whole wait_sleep later, the worst case the goal allows for.
WAIT_TERMINAL_AFTER = 2 * WAIT_SLEEP + 0.3
RATIO_GOAL = 1.10


def scenario(wait_reps):
    executions = [
        {"lifecycleExecutionId": GET_ID, "lifecyclePolicyArn": policy_arn("bench-get"), "status": "SUCCESS"},
        {
            "lifecycleExecutionId": RES_ID,
            "lifecyclePolicyArn": policy_arn("bench-res"),
            "status": "SUCCESS",
            "generate_resources": RESOURCES,
        },
    ]
    for rep in range(wait_reps):
        executions.append(
            {
                "lifecycleExecutionId": wait_id(rep),
                "lifecyclePolicyArn": policy_arn("bench-wait"),
                "timeline_seconds": [["PENDING", 1], ["IN_PROGRESS", WAIT_TERMINAL_AFTER - 1], ["SUCCESS", None]],
            }
        )
    policies = [
        {"arn": policy_arn(name), "generate_executions": count, "generate_id_prefix": f"{count:08x}"}
        for name, count in (("bench-1k", 1000), ("bench-10k", 10000))
    ]
    return {"description": "benchmarks/run.py", "executions": executions, "policies": policies}


def wait_id(rep):
    return execution_id("0000a1a1", rep + 1)


def measuring_wrappers(workdir):
    """Two scripts: ``measure FILE PROGRAM ARGS...`` runs PROGRAM, then appends its peak RSS (KiB) and end time to
    FILE; ``python-measured`` is an interpreter for modules that does the same into $BENCH_RSS_FILE.

    Peak RSS must come from a small process that starts the measured one: a child forked from this process
    (which holds the endpoint's data) would report this process's size until it execs.
    """
    measure = Path(workdir) / "measure"
    if Path("/usr/bin/time").exists():
        measure.write_text(
            "#!/bin/sh\n"
            'out=$1\nshift\n/usr/bin/time -a -o "$out" -f "rss %M" "$@"\ncode=$?\n'
            'echo "end $(date +%s.%N)" >> "$out"\nexit $code\n'
        )
    else:
        measure.write_text(
            f"#!{sys.executable} -S\n"
            "import resource, subprocess, sys, time\n"
            "code = subprocess.call(sys.argv[2:])\n"
            "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "with open(sys.argv[1], 'a') as f:\n"
            "    f.write('rss %d\\nend %f\\n' % (rss, time.time()))\n"
            "sys.exit(code)\n"
        )
    interpreter = Path(workdir) / "python-measured"
    interpreter.write_text(f'#!/bin/sh\nexec {measure} "$BENCH_RSS_FILE" {sys.executable} "$@"\n')
    for path in (measure, interpreter):
        path.chmod(0o755)
    return measure, interpreter


def read_measured(path):
    """(peak RSS KiB, end time) a measuring wrapper wrote to ``path``, then forget them."""
    found = {}
    try:
        for line in path.read_text().splitlines():
            key, _space, value = line.partition(" ")
            if key in ("rss", "end"):
                found[key] = float(value)
        path.unlink()
    except (OSError, ValueError):
        pass
    return (int(found["rss"]) if "rss" in found else None), found.get("end")


class Bench:
    def __init__(self, args, endpoint, workdir):
        self.args = args
        self.endpoint = endpoint
        self.workdir = Path(workdir)
        self.module_file = self.workdir / "module-measured.txt"
        self.command_file = self.workdir / "command-measured.txt"
        self.measure, interpreter = measuring_wrappers(workdir)
        # Implicit localhost sets ansible_python_interpreter as a host variable: only an extra var overrides it.
        self.interpreter = f"ansible_python_interpreter={interpreter}"
        self.env = isolated_env(
            args.collections_path,
            workdir,
            {"BENCH_RSS_FILE": str(self.module_file), "ANSIBLE_LIBRARY": str(LIBRARY)},
        )
        self.bare_env = isolated_env(args.collections_path, workdir, {"AWS_DEFAULT_REGION": REGION})
        self.samples = {}  # name -> list of dicts (wall, cpu, rss, ...)
        self.errors = []
        self.data = {}  # listing case -> file holding the bare script's answer, for the data floor

    def record(self, name, **values):
        self.samples.setdefault(name, []).append(values)

    def ansible(self, name, module, module_args, expect, timeout=600):
        args = dict(module_args)
        if module.startswith("imagebuilder_ops."):
            args.update(endpoint_url=self.endpoint.url, region=REGION)
        cmd = [str(self.measure), str(self.command_file), tool("ansible"), "localhost", "-m", module]
        cmd += ["-e", self.interpreter] + (["-a", json.dumps(args)] if args else [])
        result = run(cmd, self.env, timeout=timeout)
        total_rss, _end = read_measured(self.command_file)
        rss, ended = read_measured(self.module_file)
        answer = adhoc_result(result)
        if result.rc != 0 or answer is None:
            problem = f"exit {result.rc}: {(answer or {}).get('msg') or result.stdout[-600:] or result.stderr[-600:]}"
        else:
            problem = expect(answer)
        if problem:
            self.errors.append(f"{name}: {problem}")
        self.record(name, wall=result.wall, cpu=result.cpu, rss=rss, total_rss=total_rss)
        return result, ended

    def bare(self, name, what, ident, count, keep=None):
        cmd = [str(self.measure), str(self.command_file), sys.executable, str(BARE), self.endpoint.url, what, ident]
        cmd.append(str(PAGE_SIZE))
        result = run(cmd, self.bare_env, timeout=600)
        rss, _end = read_measured(self.command_file)
        got = result.stderr.strip().splitlines()[-1:]
        if result.rc != 0 or got != [str(count)]:
            self.errors.append(f"{name}: bare boto3 exit {result.rc}, {result.stderr[-600:]}")
        if keep is not None:
            keep.write_text(result.stdout)
        self.record(name, wall=result.wall, cpu=result.cpu, rss=rss)

    # -- the cases ---------------------------------------------------------------------------------------------

    def ping(self):
        self.ansible("ping", "ansible.builtin.ping", {}, lambda a: None if a.get("ping") == "pong" else "no pong")

    def get_module(self):
        def expect(answer):
            got = answer.get("lifecycle_execution", {}).get("lifecycle_execution_id")
            return None if got == GET_ID else f"got {got!r}"

        self.ansible("get: module", INFO, {"lifecycle_execution_id": GET_ID}, expect)

    def get_bare(self):
        self.bare("get: bare boto3", "get", GET_ID, 1)

    def listing_module(self, case):
        module_args, _bare, count = LISTINGS[case]

        def expect(answer):
            if "lifecycle_executions" in answer:
                ids = [e["lifecycle_execution_id"] for e in answer["lifecycle_executions"]]
            else:
                ids = [r["resource_id"] for r in answer.get("lifecycle_execution", {}).get("resources", [])]
            return None if len(ids) == count == len(set(ids)) else f"{len(ids)} items, {len(set(ids))} distinct"

        self.ansible(f"{case}: module", INFO, module_args, expect)

    def listing_bare(self, case):
        _module, (what, ident), count = LISTINGS[case]
        keep = None
        if case not in self.data:
            keep = self.data[case] = self.workdir / f"data-{case.replace(' ', '-')}.json"
        self.bare(f"{case}: bare boto3", what, ident, count, keep)

    def listing_echo(self, case):
        if case not in self.data:
            self.listing_bare(case)  # the first round's answer is the data; not a sample of its own
            self.samples[f"{case}: bare boto3"].pop()
        self.ansible(f"{case}: echo", "bench_echo", {"path": str(self.data[case])}, lambda a: None)

    def wait(self, rep):
        ident = wait_id(rep)
        args = {"lifecycle_execution_id": ident, "wait": True, "wait_sleep": WAIT_SLEEP, "wait_timeout": 120}

        def expect(answer):
            status = answer.get("lifecycle_execution", {}).get("state", {}).get("status")
            return None if status == "SUCCESS" else f"status {status!r}"

        result, module_ended = self.ansible("wait: module", INFO, args, expect)
        gets = [
            e
            for e in self.endpoint.requests("GetLifecycleExecution")
            if (e["params"] or {}).get("lifecycleExecutionId") == ident
        ]
        if not gets or module_ended is None:
            self.errors.append(f"wait {ident}: no GetLifecycleExecution in the request log, or no module end time")
            return
        terminal_at = gets[0]["time"] + WAIT_TERMINAL_AFTER
        times = [e["time"] for e in gets]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.record(
            "wait",
            gets=len(gets),
            # Two calls closer together than the poll interval would be two calls in one poll.
            extra_per_poll=sum(1 for gap in gaps if gap < WAIT_SLEEP - 0.05),
            after_terminal=max(0, sum(1 for t in times if t >= terminal_at) - 1),
            errors=sum(1 for e in gets if e["status"] != 200),
            lag=times[-1] - terminal_at,
            delay=module_ended - terminal_at,
            command_delay=result.ended - terminal_at,
        )

    def rounds(self):
        rng = random.Random(self.args.seed)
        for number in range(self.args.reps):
            steps = [self.ping, self.get_module, self.get_bare]
            if number < self.args.list_reps:
                for case in LISTINGS:
                    steps += [
                        lambda c=case: self.listing_module(c),
                        lambda c=case: self.listing_bare(c),
                        lambda c=case: self.listing_echo(c),
                    ]
            if number < self.args.wait_reps:
                steps.append(lambda n=number: self.wait(n))
            rng.shuffle(steps)
            began = time.monotonic()
            for step in steps:
                step()
            print(f"  round {number + 1}/{self.args.reps}: {len(steps)} commands, {time.monotonic() - began:.0f} s")


# -- the report --------------------------------------------------------------------------------------------------


def wall(samples):
    return [x["wall"] for x in samples]


def median_ratio(numerator, denominator):
    return statistics.median(numerator) / statistics.median(denominator)


def mib(kib):
    return f"{kib / 1024:.0f} MiB" if kib else "n/a"


class Report:
    def __init__(self):
        self.rows = []  # (measurement, median, min, max, ratio, goal, result)
        self.verdicts = []

    def row(self, name, values=(), ratio="", goal="", ok=None, unit="s", cpu=""):
        cells = ("", "", "")
        if values:
            fmt = (lambda v: f"{v:.2f} s") if unit == "s" else (lambda v: f"{v:g}")
            cells = tuple(fmt(v) for v in (statistics.median(values), min(values), max(values)))
        if ok is not None:
            self.verdicts.append(ok)
        self.rows.append((name, *cells, ratio, cpu, goal, "" if ok is None else ("PASS" if ok else "FAIL")))

    def table(self):
        header = ("measurement", "median", "min", "max", "ratio", "CPU ratio", "goal", "result")
        widths = [max(len(str(r[i])) for r in [header, *self.rows]) for i in range(len(header))]
        lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(header, widths)) + " |"]
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in self.rows]
        return "\n".join(lines)


def report(samples):
    out = Report()
    ping = wall(samples["ping"])
    out.row("ansible -m ping", ping)
    medians = {}
    for case in ("get", *LISTINGS):
        if f"{case}: module" not in samples:
            continue
        module = wall(samples[f"{case}: module"])
        bare = wall(samples[f"{case}: bare boto3"])
        medians[case] = statistics.median(module)
        # Each round's floor is that round's ping (or echo) plus that round's bare script.
        floor = [p + b for p, b in zip(ping, bare)]
        module_cpu = [x["cpu"] for x in samples[f"{case}: module"]]
        bare_cpu = [x["cpu"] for x in samples[f"{case}: bare boto3"]]
        floor_cpu = [p["cpu"] + b for p, b in zip(samples["ping"], bare_cpu)]
        out.row(f"{case}: bare boto3", bare)
        out.row(f"{case}: floor = ping + bare", floor)
        if f"{case}: echo" in samples:
            data_floor = [e + b for e, b in zip(wall(samples[f"{case}: echo"]), bare)]
            data_floor_cpu = [e["cpu"] + b for e, b in zip(samples[f"{case}: echo"], bare_cpu)]
            out.row(f"{case}: data floor = echo + bare", data_floor)
            # No goal: what Ansible alone adds to the floor for carrying a result of this size, with no module code.
            out.row(
                f"{case}: data floor vs floor",
                data_floor,
                f"{median_ratio(data_floor, floor):.2f}",
                cpu=f"{median_ratio(data_floor_cpu, floor_cpu):.2f}",
            )
        ratio = median_ratio(module, floor)
        goal = f"<= {RATIO_GOAL:.2f}"
        cpu = f"{median_ratio(module_cpu, floor_cpu):.2f}"
        out.row(f"{case}: module vs floor", module, f"{ratio:.2f}", goal, ratio <= RATIO_GOAL, cpu=cpu)
        if f"{case}: echo" in samples:
            ratio = median_ratio(module, data_floor)
            cpu = f"{median_ratio(module_cpu, data_floor_cpu):.2f}"
            out.row(f"{case}: module vs data floor", module, f"{ratio:.2f}", goal, ratio <= RATIO_GOAL, cpu=cpu)
    if {"list 1k", "list 10k"} <= set(medians):
        whole = medians["list 10k"] / medians["list 1k"]
        out.row("list: 10x items, time x", (), f"{whole:.2f}", "<= 10", whole <= 10)
    if "wait" in samples:
        waits = samples["wait"]
        out.row("wait: terminal status -> last poll", [w["lag"] for w in waits])
        delays = [w["delay"] for w in waits]
        ok = max(delays) <= WAIT_SLEEP + 1
        out.row("wait: terminal status -> module returned", delays, "", f"<= {WAIT_SLEEP + 1} s", ok)
        out.row("wait: terminal status -> ansible exited", [w["command_delay"] for w in waits])
        out.row("wait: GetLifecycleExecution calls", [w["gets"] for w in waits], unit="n")
        extra = sum(w["extra_per_poll"] + w["errors"] for w in waits)
        out.row("wait: calls beyond one per poll", (), f"{extra}", "0", extra == 0)
        after = sum(w["after_terminal"] for w in waits)
        out.row("wait: calls after the terminal status", (), f"{after}", "0", after == 0)
    memory = []
    for case in ("get", *LISTINGS):
        runs = samples.get(f"{case}: module")
        if runs:
            rss = [x["rss"] for x in runs if x["rss"]]
            echo = [x["rss"] for x in samples.get(f"{case}: echo", []) if x["rss"]]
            memory.append(
                (
                    case,
                    mib(max(rss) if rss else None),
                    mib(max((x["total_rss"] or 0) for x in runs)),
                    mib(max((x["rss"] or 0) for x in samples[f"{case}: bare boto3"])),
                    mib(max(echo) if echo else None),
                )
            )
    return out, memory


def memory_table(memory):
    lines = [
        "| case | module process peak RSS | `ansible` command peak RSS | bare boto3 peak RSS | echo module peak RSS |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in memory]
    return "\n".join(lines)


def versions(collections_path):
    import boto3  # pylint: disable=import-outside-toplevel
    import botocore  # pylint: disable=import-outside-toplevel

    import ansible.release  # pylint: disable=import-outside-toplevel

    found = {"ansible-core": ansible.release.__version__, "boto3": boto3.__version__, "botocore": botocore.__version__}
    for name in ("amazon/aws", "imagebuilder_ops/aws"):
        manifest = Path(collections_path) / "ansible_collections" / name / "MANIFEST.json"
        try:
            found[name.replace("/", ".")] = json.loads(manifest.read_text())["collection_info"]["version"]
        except (OSError, ValueError, KeyError):
            found[name.replace("/", ".")] = "?"
    return found


def machine():
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"CPU": model, "cores": os.cpu_count(), "OS": f"{platform.system()} {platform.release()}"}


def write_doc(doc, text):
    current = doc.read_text() if doc.exists() else f"# Performance\n\n{START_MARK}\n{END_MARK}\n"
    if START_MARK not in current or END_MARK not in current:
        current = current.rstrip("\n") + f"\n\n{START_MARK}\n{END_MARK}\n"
    head, rest = current.split(START_MARK, 1)
    _old, tail = rest.split(END_MARK, 1)
    doc.write_text(f"{head}{START_MARK}\n{text}\n{END_MARK}{tail}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collections-path", type=Path, required=True, help="holds ansible_collections/")
    parser.add_argument("--reps", type=int, default=5, help="rounds; each runs ping, get and bare get (default 5)")
    parser.add_argument("--list-reps", type=int, default=3, help="rounds that also run the listings (default 3)")
    parser.add_argument("--wait-reps", type=int, default=3, help="rounds that also run a wait (default 3)")
    parser.add_argument("--seed", type=int, default=5, help="seed of the command order (default 5)")
    parser.add_argument("--doc", type=Path, help="the docs/performance.md to write the results into")
    parser.add_argument("--no-write", action="store_true", help="print only; write no --doc")
    args = parser.parse_args(argv)
    if not args.no_write and args.doc is None:
        parser.error("give --doc (the checkout's docs/performance.md) or --no-write")
    args.list_reps = min(args.list_reps, args.reps)
    args.wait_reps = min(args.wait_reps, args.reps)
    problem = check_installed(args.collections_path)
    if problem:
        print(f"run.py: {problem}", file=sys.stderr)
        return 2

    load_before = os.getloadavg()[0]
    began = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="ib-bench-")
    try:
        with local_endpoint(scenario(args.wait_reps)) as endpoint:
            bench = Bench(args, endpoint, workdir)
            print(
                f"benchmarks: endpoint {endpoint.url}; {args.reps} rounds ({args.list_reps} with listings)", flush=True
            )
            bench.rounds()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if bench.errors:
        print("benchmarks: commands failed:\n  " + "\n  ".join(bench.errors), file=sys.stderr)
        return 2

    out, memory = report(bench.samples)
    ok = all(out.verdicts)
    info = {
        **machine(),
        "Python": platform.python_version(),
        **versions(args.collections_path),
        "load average (1 min) before/after": f"{load_before:.1f}/{os.getloadavg()[0]:.1f}",
    }
    defaults = (args.reps, args.list_reps, args.wait_reps) == (5, 3, 3)
    command = (
        "make bench"
        if defaults
        else (
            "python -m ansible_collections.imagebuilder_ops.aws.benchmarks.run "
            f"--reps {args.reps} --list-reps {args.list_reps} --wait-reps {args.wait_reps}"
        )
    )
    text = "\n".join(
        [
            f"Latest run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.monotonic() - began:.0f} s; "
            f"reproduce with `{command}`.",
            "",
            "Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".",
            "",
            out.table(),
            "",
            memory_table(memory),
            "",
            f"Overall: {'PASS' if ok else 'FAIL'} ({sum(out.verdicts)} of {len(out.verdicts)} goals met).",
        ]
    )
    print()
    print(text)
    if not args.no_write:
        write_doc(args.doc, text)
        print(f"\nbenchmarks: written to {args.doc}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
