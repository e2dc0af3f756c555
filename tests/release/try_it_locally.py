"""Run the commands of the "Try it locally" guide as a reader would, and check the output it shows.

The guide (docs/docsite/rst/try_it_locally.rst) has the reader start `make endpoint`, paste the `export` lines it
prints, save two YAML files and run commands in order. This does the same against the local endpoint serving the demo
scenario in this process: the `export` lines are taken from the guide's sample of `make endpoint`'s output (its URL
replaced by the endpoint's), the YAML blocks are saved under the names the guide gives, and every `$ ` command of the
guide's console blocks runs in one bash session, in order, in a directory of its own. A command must exit 0, and each
line the guide shows under it (but `...`) must be among the lines it printed, with execution ids and the date of
today's runs left out of the comparison. The guide's sample execution id is replaced by the one its `curl` got.

Not run: `make` (the endpoint is this process's), the reader's own venv and install (the install-paths check
installs the tarball every way the docs show), and `ansible-rulebook` unless it is on PATH (the event source's own
guide runs in `make eda`).

Run with the tools venv's Python, as a module of a staged copy:
    PYTHONPATH=.build/tarball python -m ansible_collections.imagebuilder_ops.aws.tests.release.try_it_locally \
        --collections-root .build/core221/installed --guide docs/docsite/rst/try_it_locally.rst
Exit status 0 when every command ran and showed what the guide says.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import local_endpoint
from ansible_collections.imagebuilder_ops.aws.tests.support.environment import isolated_env

NOT_RUN = ("make ", "python3 -m venv", ". ", "python3 -m pip", "ansible-galaxy collection install")
LCE = re.compile(r"lce-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SAVE_AS = re.compile(r"[Ss]ave (?:this|it) [^.]*?as ``([^`]+)``")


def blocks(text):
    """(kind, dedented body, the text before it) of every code block, nested ones included."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)\.\. code-block:: (\S+)\s*$", line)
        if not match:
            continue
        indent = len(match.group(1))
        body = []
        for following in lines[number + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        before = "\n".join(lines[max(0, number - 6) : number])
        yield match.group(2), textwrap.dedent("\n".join(body)).strip("\n"), before


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections-root", required=True, help="directory holding ansible_collections/")
    parser.add_argument("--guide", required=True, help="docs/docsite/rst/try_it_locally.rst")
    args = parser.parse_args(argv)
    with open(args.guide, encoding="utf-8") as handle:
        found = list(blocks(handle.read()))

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
            for command, shown in steps:
                if command.startswith(NOT_RUN) or (
                    command.startswith("ansible-rulebook") and not shutil.which("ansible-rulebook", path=env["PATH"])
                ):
                    print(f"not run: {command.splitlines()[0]}")
                    continue
                if command.startswith("export "):
                    setup += "\n" + command
                    continue
                if run_id:
                    command = command.replace(sample_id, run_id)
                script = f"set -e\ncd {workdir}\n{setup}\n{command}\n"
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
