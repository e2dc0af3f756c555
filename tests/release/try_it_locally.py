"""Run the commands of the "Try it locally" guide as a reader would, and check the output it shows.

The guide (docs/docsite/rst/try_it_locally.rst) has the reader start `make endpoint`, paste the `export` lines it
prints, save two YAML files and run commands in order. This does the same against the local endpoint serving the demo
scenario in this process: the `export` lines are taken from the guide's sample of `make endpoint`'s output (its URL
replaced by the endpoint's), the YAML blocks are saved under the names the guide gives, and every `$ ` command of the
guide's console blocks runs with bash, in order, in a directory of its own, after those exports and the guide's own
`export` commands. A command must exit 0, and each line the guide shows under it (but `...`) must be among the lines
it printed, execution ids aside. The guide's sample execution id is replaced by the one its `curl` got.

`ansible-rulebook` runs from --rulebook-bin (a venv's bin with ansible-rulebook, as `make eda-venv` builds it) in the
background, as in the guide's third terminal: once its source has listed the policy twice (its first round only
records what has ended), the guide's `curl` runs the policy again, and ansible-rulebook must print the new
execution's id with SUCCESS within RULEBOOK_TIMEOUT seconds. Not run: `make` (the endpoint is this process's), the
reader's own venv and install (the install-paths check installs the tarball every way the docs show), and
`ansible-rulebook` without --rulebook-bin.

Run with the tools venv's Python, as a module of a staged copy:
    PYTHONPATH=.build/tarball python -m ansible_collections.imagebuilder_ops.aws.tests.release.try_it_locally \
        --collections-root .build/core221/installed --guide docs/docsite/rst/try_it_locally.rst
Exit status 0 when every command ran and showed what the guide says.
"""

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from ansible_collections.imagebuilder_ops.aws.tests.release.extract_examples import code_blocks
from ansible_collections.imagebuilder_ops.aws.tests.support.commands import stop_group
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env

NOT_RUN = ("make ", "python3 -m venv", ". ", "python3 -m pip", "ansible-galaxy collection install")
LCE = re.compile(r"lce-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SAVE_AS = re.compile(r"[Ss]ave (?:this|it) [^.]*?as ``([^`]+)``")
# ansible-rulebook's start (a JVM), its source's first listing, then the event after the policy's run.
RULEBOOK_TIMEOUT = 120


def commands(body):
    """[(command, [lines shown after it])] of a console block."""
    result = []
    lines = body.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].startswith("$ "):
            command = lines[index][2:]
            while command.endswith("\\") and index + 1 < len(lines):
                index += 1
                command += "\n" + lines[index]
            result.append((command, []))
        elif result and lines[index].strip():
            result[-1][1].append(lines[index])
        index += 1
    return result


def comparable(line):
    return LCE.sub("lce-ID", line).strip()


def run_id_of(script, env):
    """The execution id that the guide's ``curl`` (in ``script``) printed."""
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["lifecycleExecutionId"]


def run_rulebook(script, env, endpoint, policy_run):
    """The rulebook in the background; once its source has listed twice, ``policy_run()`` runs the policy: None when
    ansible-rulebook printed that execution's id with SUCCESS, else what went wrong."""
    with tempfile.TemporaryFile("w+") as output:
        rulebook = subprocess.Popen(  # pylint: disable=consider-using-with
            ["bash", "-c", script], env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + RULEBOOK_TIMEOUT
            # Its second round: the first one's executions are history, recorded, so a run after it must be reported.
            before = len(endpoint.requests(operation="ListLifecycleExecutions"))
            while len(endpoint.requests(operation="ListLifecycleExecutions")) < before + 2:
                if rulebook.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            listed = len(endpoint.requests(operation="ListLifecycleExecutions")) >= before + 2
            run_id = policy_run() if listed else None
            while run_id and time.monotonic() < deadline and rulebook.poll() is None:
                output.seek(0)
                if any(run_id in line and "SUCCESS" in line for line in output):
                    return None
                time.sleep(0.5)
            output.seek(0)
            said = output.read()[-3000:]
            return f"no line with {run_id or 'a run (the source did not list twice)'} and SUCCESS:\n{said}"
        finally:
            stop_group(rulebook, grace=15)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections-root", required=True, help="directory holding ansible_collections/")
    parser.add_argument("--guide", required=True, help="docs/docsite/rst/try_it_locally.rst")
    parser.add_argument("--rulebook-bin", help="a bin directory with ansible-rulebook (.venv/eda/bin); else not run")
    args = parser.parse_args(argv)
    with open(args.guide, encoding="utf-8") as handle:
        found = [block[1:] for block in code_blocks(handle.read())]

    endpoint_sample = next(body for kind, body, _before in found if kind == "console" and "$ make endpoint" in body)
    sample_url = re.search(r"AWS_ENDPOINT_URL_IMAGEBUILDER=(\S+)", endpoint_sample).group(1)
    exports = [line for line in endpoint_sample.splitlines() if line.startswith(("unset AWS", "export AWS"))]
    sample_id = next(LCE.search(body).group(0) for kind, body, _before in found if "run_policy" in body)
    failures = []
    workdir = tempfile.mkdtemp(prefix="ibops-try-it-")
    try:
        files = []
        for kind, body, before in found:
            if kind.startswith("yaml"):
                saved = SAVE_AS.findall(before)
                if saved:
                    with open(os.path.join(workdir, saved[-1]), "w", encoding="utf-8") as handle:
                        handle.write(body + "\n")
                    files.append(saved[-1])
        print(f"saved {', '.join(files) or 'no file'}; the guide's exports: {len(exports)} lines")
        steps = [step for kind, body, _before in found if kind == "console" for step in commands(body)]
        with local_endpoint("demo") as endpoint:
            env = isolated_env(args.collections_root, workdir, credentials=False)
            env["HOME"] = os.path.join(workdir, "home")
            os.makedirs(env["HOME"])
            setup = "\n".join(exports).replace(sample_url, endpoint.url)
            run_id = None
            ran = 0
            run_policy = next(command for command, _shown in steps if "run_policy" in command)
            for command, shown in steps:
                if command.startswith(NOT_RUN) or (command.startswith("ansible-rulebook") and not args.rulebook_bin):
                    print(f"not run: {command.splitlines()[0]}")
                    continue
                if command.startswith("export "):
                    setup += "\n" + command
                    continue
                if run_id:
                    command = command.replace(sample_id, run_id)
                script = f"set -e\ncd {workdir}\n{setup}\n{command}\n"
                if command.startswith("ansible-rulebook"):
                    ran += 1
                    again = functools.partial(run_id_of, f"set -e\ncd {workdir}\n{setup}\n{run_policy}\n", env)
                    # Unbuffered, so that its lines reach the file while it runs, as they reach a terminal.
                    rulebook_env = dict(env, PATH=os.path.abspath(args.rulebook_bin) + os.pathsep + env["PATH"])
                    rulebook_env["PYTHONUNBUFFERED"] = "1"
                    problem = run_rulebook(script, rulebook_env, endpoint, again)
                    if problem:
                        failures.append(f"{command}: {problem}")
                    else:
                        print(f"ran: {command} (it printed the new run's id and SUCCESS)")
                    continue
                done = subprocess.run(
                    ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300, check=False
                )
                ran += 1
                output = done.stdout + done.stderr
                first = command.splitlines()[0]
                if done.returncode != 0:
                    failures.append(f"{first}: exit {done.returncode}\n{output[-3000:]}")
                    continue
                printed = {comparable(line) for line in output.splitlines()}
                missing = [line for line in shown if line.strip() != "..." and comparable(line) not in printed]
                if missing:
                    failures.append(f"{first}: the guide shows lines it did not print: {missing}\n{output[-3000:]}")
                if "run_policy" in command:
                    run_id = json.loads(done.stdout)["lifecycleExecutionId"]
                print(f"ran: {first}")
            print(f"{ran} commands run; the endpoint answered {len(endpoint.requests())} calls")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures or not ran else 0


if __name__ == "__main__":
    sys.exit(main())
