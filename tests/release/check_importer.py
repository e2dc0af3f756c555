"""Run galaxy-importer (the checker Galaxy runs on every upload) on the built tarball and read what it says.

    python check_importer.py TARBALL COLLECTIONS_ROOT WORKDIR

galaxy-importer exits 0 through many problems: it only logs "WARNING: ansible-doc not found", lint
violations, or amazon.aws doc fragments it could not resolve. So this fails on any ERROR or WARNING line,
on a missing success line, and on a module whose documentation the importer could not load.

COLLECTIONS_ROOT (with amazon.aws) goes on PYTHONPATH, where ansible-core finds collections; the tools venv's
bin goes first on PATH, where the importer looks for ansible-doc and ansible-lint.
Run with the tools venv's Python. Exit status 0 when the importer accepted the tarball cleanly.
"""

import json
import os
import subprocess
import sys

SUCCESS_LINE = "Importer processing completed successfully"


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    tarball, collections_root, workdir = (os.path.abspath(a) for a in argv)
    os.makedirs(workdir, exist_ok=True)
    bindir = os.path.dirname(sys.executable)
    env = dict(
        os.environ,
        PATH=bindir + os.pathsep + os.environ["PATH"],
        PYTHONPATH=collections_root,
        GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=os.path.join(workdir, "ansible-tmp"),
        # Stricter than the defaults, as Automation Hub is: a known category tag, a version >= 1.0.0.
        GALAXY_IMPORTER_CHECK_REQUIRED_TAGS="true",
        GALAXY_IMPORTER_REQUIRE_V1_OR_GREATER="true",
    )
    env.pop("GALAXY_IMPORTER_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "galaxy_importer.main", tarball],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    print(output)

    problems = []
    if result.returncode != 0:
        problems.append(f"galaxy-importer exited {result.returncode}")
    for line in output.splitlines():
        if line.startswith(("ERROR", "WARNING", "[WARNING]", "[ERROR]")):
            problems.append(f"importer said: {line.strip()}")
    if SUCCESS_LINE not in output:
        problems.append(f"no {SUCCESS_LINE!r} line")

    result_file = os.path.join(workdir, "importer_result.json")
    if os.path.isfile(result_file):
        with open(result_file, encoding="utf-8") as handle:
            imported = json.load(handle)
        contents = imported["docs_blob"]["contents"]
        modules = [c for c in contents if c["content_type"] == "module"]
        if not modules:
            problems.append("the importer found no module")
        for module in modules:
            if not (module.get("doc_strings") or {}).get("doc"):
                problems.append(f"the importer could not load the documentation of {module['content_name']}")
        if not imported["docs_blob"].get("collection_readme", {}).get("html"):
            problems.append("the importer rendered no README")
    else:
        problems.append("the importer wrote no importer_result.json")

    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
