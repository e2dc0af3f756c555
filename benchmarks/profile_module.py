"""Profile a benchmarked module along its own path: the AnsiballZ payload Ansible really runs.

    PYTHONPATH=.build/tarball python -m ansible_collections.imagebuilder_ops.aws.benchmarks.profile_module \
        --collections-path .build/core221/installed [--case get|list1k|list10k|res10k|preview500|safety2000] \
        [--top 40]

get, list1k, list10k and res10k run imagebuilder_lifecycle_execution_info; preview500 and safety2000 (with
safety_checks) imagebuilder_lifecycle_policy_preview_info, as run.py's cases of those names do.

Runs the module once with ANSIBLE_KEEP_REMOTE_FILES=1 against the local endpoint, then runs the kept
AnsiballZ file again under cProfile (and once under -X importtime) and prints where the time goes: imports by
package, client creation, API calls, our normalisation, the result's JSON, and the slowest functions. It also
times the controller's share (the `ansible` command minus the module process).
"""

from __future__ import annotations

import argparse
import io
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ansible_collections.imagebuilder_ops.aws.benchmarks import run as bench
from ansible_collections.imagebuilder_ops.aws.tests.support.commands import adhoc
from ansible_collections.imagebuilder_ops.aws.tests.support.commands import run
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import endpoint_environment
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import check_installed
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import REGION

# case -> (module, its arguments)
CASES = {
    "get": (bench.INFO, {"lifecycle_execution_id": bench.GET_ID}),
    "list1k": (bench.INFO, bench.LISTINGS["list 1k"][0]),
    "list10k": (bench.INFO, bench.LISTINGS["list 10k"][0]),
    "res10k": (bench.INFO, bench.LISTINGS["res 10k"][0]),
    "preview500": (bench.PREVIEW, bench.PREVIEWS[bench.PREVIEW_CASE][0]),
    "safety2000": (bench.PREVIEW, bench.PREVIEWS[bench.SAFETY_CASE][0]),
}

# Run inside the child: the AnsiballZ file as __main__, under cProfile; the module exits through SystemExit.
DRIVER = """
import cProfile, runpy, sys
path, out = sys.argv[1], sys.argv[2]
sys.argv = [path]
profile = cProfile.Profile()
profile.enable()
try:
    runpy.run_path(path, run_name="__main__")
except SystemExit:
    pass
profile.disable()
profile.dump_stats(out)
"""

# Where a function's file lives, for the summary by owner.
OWNERS = (
    ("our module_utils", "imagebuilder_ops/aws/plugins/module_utils/"),
    ("our module", "imagebuilder_ops/aws/plugins/modules/"),
    ("amazon.aws", "amazon/aws/plugins/"),
    ("botocore", "/botocore/"),
    ("boto3", "/boto3/"),
    ("urllib3", "/urllib3/"),
    ("ansible module_utils", "/ansible/module_utils/"),
)

# The questions a profile answers for us: cumulative seconds of these functions.
PHASES = (
    ("validate_options (our checks)", "_common.py", "validate_options"),
    ("connect (client creation)", "_common.py", "connect"),
    ("get_lifecycle_execution", "lifecycle_execution.py", "get_lifecycle_execution"),
    ("paginate (every page)", "_common.py", "paginate"),
    ("sort_newest_first", "lifecycle_execution.py", "sort_newest_first"),
    ("normalize (snake_case + ISO 8601)", "_common.py", "normalize"),
    ("camel_dict_to_snake_dict", "dict_transformations.py", "camel_dict_to_snake_dict"),
    ("describe_preview (the policy's rules)", "lifecycle_preview.py", "describe_preview"),
    ("describe_safety (safety_checks)", "lifecycle_safety.py", "describe_safety"),
    ("  image_uses (in use)", "image_references.py", "image_uses"),
    ("  region_storage (storage freed)", "snapshots.py", "region_storage"),
    ("  region_rules (Recycle Bin)", "recycle_bin.py", "region_rules"),
    ("exit_json (result to JSON)", "modules.py", "exit_json"),
    ("botocore parse answers", "parsers.py", "parse"),
    ("botocore HTTP send", "endpoint.py", "_send"),
    ("compile() of zipped sources", "~", "<built-in method builtins.compile>"),
)


def kept_module(remote_tmp):
    found = sorted(Path(remote_tmp).glob("ansible-tmp-*/AnsiballZ_*.py"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit("profile_module.py: no kept AnsiballZ file; did the module run?")
    return found[-1]


def phase_seconds(stats, filename, function):
    total = 0.0
    for (file, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        if name == function and (filename == "~" or file.endswith(filename)):
            total = max(total, cumulative)  # the outermost call holds the recursion's total
    return total


def owner_seconds(stats):
    """Own time (tottime) per package: where the CPU actually goes, whoever called it."""
    totals = {}
    for (file, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        owner = next((label for label, needle in OWNERS if needle in file), "other (stdlib, interpreter)")
        totals[owner] = totals.get(owner, 0.0) + own
    return sorted(totals.items(), key=lambda item: -item[1])


def import_seconds(importtime_output):
    """Cumulative import time of the top-level packages, from python -X importtime."""
    found = {}
    for line in importtime_output.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match.group(2)) <= 2:
            name = match.group(3)
            top = ".".join(name.split(".")[:4]) if name.startswith("ansible_collections") else name.split(".")[0]
            found[top] = found.get(top, 0) + int(match.group(1)) / 1e6
    return sorted(found.items(), key=lambda item: -item[1])[:12]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collections-path", type=Path, required=True, help="holds ansible_collections/")
    parser.add_argument("--case", choices=sorted(CASES), default="get")
    parser.add_argument("--top", type=int, default=25, help="how many of the slowest functions to list")
    parser.add_argument("--save", type=Path, help="also keep the cProfile data here (for snakeviz, pstats)")
    args = parser.parse_args(argv)
    problem = check_installed(args.collections_path)
    if problem:
        raise SystemExit(f"profile_module.py: {problem}")

    with tempfile.TemporaryDirectory(prefix="ib-profile-") as workdir:
        remote_tmp = Path(workdir) / "remote"
        with local_endpoint(bench.scenario(0)) as endpoint:
            module, module_args = CASES[args.case]
            module_args = dict(module_args, endpoint_url=endpoint.url, region=REGION)
            # The preview's EC2, Auto Scaling and Recycle Bin clients find the endpoint as botocore configures it.
            services = endpoint_environment(endpoint.url)
            extra = {"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote_tmp), **services}
            whole, answer = adhoc(args.collections_path, workdir, module, module_args, env_extra=extra)
            if whole.rc != 0:
                raise SystemExit(f"profile_module.py: the module failed: {whole.stdout[-2000:]}")
            payload = kept_module(remote_tmp)
            env = isolated_env(args.collections_path, workdir, services)
            started = time.monotonic()
            alone = run([sys.executable, str(payload)], env)
            alone_json = alone.stdout
            out = Path(workdir) / "profile.out"
            subprocess.run(
                [sys.executable, "-c", DRIVER, str(payload), str(out)], env=env, check=True, capture_output=True
            )
            importtime = subprocess.run(
                [sys.executable, "-X", "importtime", str(payload)], env=env, capture_output=True, text=True, check=False
            ).stderr
            print(f"profile_module.py: case {args.case}, profiled in {time.monotonic() - started:.1f} s")

        stats = pstats.Stats(str(out), stream=io.StringIO())
        if args.save:
            stats.dump_stats(str(args.save))
        print(f"\nwhole `ansible` command: {whole.wall:.2f} s wall, {whole.cpu:.2f} s CPU")
        print(
            f"module process alone:    {alone.wall:.2f} s wall, {alone.cpu:.2f} s CPU, {alone.maxrss_kib // 1024} MiB"
        )
        print(f"controller's share:      {whole.cpu - alone.cpu:.2f} s CPU (whole command minus module alone)")
        print(f"result JSON: {len(alone_json) / 1e6:.1f} MB; answer keys: {sorted(answer or {})}")
        print(f"\nunder cProfile ({stats.total_tt:.2f} s in all; profiling inflates Python-heavy code):")
        for label, filename, function in PHASES:
            print(f"  {label:40} {phase_seconds(stats, filename, function):7.3f} s")
        print("\nown time by package:")
        for owner, own in owner_seconds(stats):
            print(f"  {owner:40} {own:7.3f} s")
        print("\nimport time (python -X importtime, cumulative, top level):")
        for name, spent in import_seconds(importtime):
            print(f"  {name:60} {spent:7.3f} s")
        listing = io.StringIO()
        pstats.Stats(str(out), stream=listing).sort_stats("tottime").print_stats(args.top)
        print("\nslowest functions by own time:")
        print(re.sub(r"/tmp/ansible_\S+?payload\.zip/", "", listing.getvalue().split("\n\n", 2)[-1]).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
