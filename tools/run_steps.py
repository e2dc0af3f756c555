"""Run make targets in order, whatever each returns, then print a summary table.

    python3 tools/run_steps.py --make make venv lint sanity+integration drills

A step written A+B runs targets A and B side by side; the output of each is printed in one piece when it
ends. Exits non-zero when any target failed. Every step runs even after a failure, so one broken target
does not hide the state of the others.
"""

import argparse
import shlex
import subprocess
import sys
import tempfile
import time


def run(make, step):
    """Run the targets of one step; return [(target, exit code, seconds)] in the step's order."""
    targets = step.split("+")
    print("\n===== make %s =====" % " + ".join(targets), flush=True)
    started = time.monotonic()
    if len(targets) == 1:
        code = subprocess.call(shlex.split(make) + targets)
        return [(targets[0], code, time.monotonic() - started)]
    running = []
    for target in targets:
        log = tempfile.TemporaryFile()  # pylint: disable=consider-using-with
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            shlex.split(make) + [target], stdout=log, stderr=subprocess.STDOUT
        )
        running.append((target, proc, log))
    results = {}
    while running:
        for target, proc, log in list(running):
            if proc.poll() is None:
                continue
            results[target] = (proc.returncode, time.monotonic() - started)
            running.remove((target, proc, log))
            print(
                "\n----- make %s (%.0f s, side by side with %s) -----" % (target, results[target][1], step), flush=True
            )
            log.seek(0)
            sys.stdout.buffer.write(log.read())
            sys.stdout.flush()
            log.close()
        time.sleep(0.2)
    return [(target,) + results[target] for target in targets]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make", default="make", help="the make command")
    parser.add_argument("--missing-legs", default="", help="legs skipped because their Python is missing")
    parser.add_argument("steps", nargs="+", help="make targets; A+B runs A and B side by side")
    args = parser.parse_args()

    started = time.monotonic()
    results = [result for step in args.steps for result in run(args.make, step)]
    side_by_side = {target for step in args.steps if "+" in step for target in step.split("+")}

    width = max(len(result[0]) for result in results) + 2
    print("\n===== summary =====")
    print("step".ljust(width) + "  result  seconds")
    for target, code, seconds in results:
        name = target + (" *" if target in side_by_side else "")
        print("%s  %-6s  %7.1f" % (name.ljust(width), "PASS" if code == 0 else "FAIL", seconds))
    if side_by_side:
        print("(* ran side by side with the other starred step next to it)")
    print("total: %.0f s" % (time.monotonic() - started))
    if args.missing_legs.strip():
        print("!!! NOTE: leg(s) %s SKIPPED-UNAVAILABLE (no Python >= 3.12): not tested here" % args.missing_legs)
    failed = [result[0] for result in results if result[1] != 0]
    print("make-test: %d passed, %d failed" % (len(results) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
