"""Run make targets one after another, whatever each returns, then print a summary table.

    python3 tools/run_steps.py --make make venv lint sanity units

Exits non-zero when any step failed. Every step runs even after a failure, so one broken step
does not hide the state of the others.
"""

import argparse
import shlex
import subprocess
import sys
import time


def run(make, step):
    print("\n===== make %s =====" % step, flush=True)
    started = time.monotonic()
    code = subprocess.call(shlex.split(make) + [step])
    return code, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make", default="make", help="the make command")
    parser.add_argument("--missing-legs", default="", help="legs skipped because their Python is missing")
    parser.add_argument("steps", nargs="+")
    args = parser.parse_args()

    started = time.monotonic()
    results = [(step,) + run(args.make, step) for step in args.steps]

    width = max(len(step) for step in args.steps)
    print("\n===== summary =====")
    print("step".ljust(width) + "  result  seconds")
    for step, code, seconds in results:
        print("%s  %-6s  %7.1f" % (step.ljust(width), "PASS" if code == 0 else "FAIL", seconds))
    print("total: %.0f s" % (time.monotonic() - started))
    if args.missing_legs.strip():
        print("!!! NOTE: leg(s) %s SKIPPED-UNAVAILABLE (no Python >= 3.12): not tested here" % args.missing_legs)
    failed = [result[0] for result in results if result[1] != 0]
    print("make-test: %d passed, %d failed" % (len(results) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
