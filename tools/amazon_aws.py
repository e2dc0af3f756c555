"""Place amazon.aws, taken from the `ansible` package's wheel, at DEST/amazon/aws.

    .venv/core219/bin/python tools/amazon_aws.py --ansible 12.3.0 \
        --dest .build/core219/ansible_collections --stamp .build/core219/amazon.aws.stamp

There is no Galaxy here, but the `ansible` wheel on the package index carries amazon.aws. Only that
collection is unzipped (seconds, instead of a minute and 550 MB for installing the whole package).
Run it with the leg's own Python so pip picks the wheel that Python can use. The unzipped copy is
used in place: the wheel omits files its FILES.json lists, so it cannot be re-tarred for ansible-galaxy.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

PREFIX = "ansible_collections/amazon/aws/"


def cached_wheel(version, cache):
    """Return the cached ansible wheel, downloading it once (pip is not asked again when warm)."""
    pattern = os.path.join(cache, "ansible-%s-py3-none-any.whl" % version)
    found = glob.glob(pattern)
    if not found:
        # Download beside the cache and move in whole: legs built in parallel may want the same wheel.
        scratch = tempfile.mkdtemp(dir=cache, prefix=".download-")
        try:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
                + ["--no-deps", "--only-binary=:all:", "--dest", scratch, "ansible==%s" % version],
                check=True,
            )
            for wheel in glob.glob(os.path.join(scratch, "*.whl")):
                os.replace(wheel, os.path.join(cache, os.path.basename(wheel)))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        found = glob.glob(pattern)
    if not found:
        sys.exit("amazon.aws: pip did not leave %s" % pattern)
    return found[0]


def extract(wheel, dest):
    """Unzip amazon/aws into a scratch dir next to DEST, then swap it in whole."""
    scratch = dest + ".new"
    shutil.rmtree(scratch, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.startswith(PREFIX)]
        if not members:
            sys.exit("amazon.aws: %s does not contain %s" % (wheel, PREFIX))
        archive.extractall(scratch, members)
    target = os.path.join(dest, "amazon", "aws")
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.replace(os.path.join(scratch, PREFIX), target)
    shutil.rmtree(scratch)
    with open(os.path.join(target, "MANIFEST.json"), encoding="utf-8") as handle:
        return json.load(handle)["collection_info"]["version"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ansible", required=True, help="version of the ansible package carrying amazon.aws")
    parser.add_argument("--dest", required=True, help="an ansible_collections directory")
    parser.add_argument("--cache", default=".cache/wheels", help="where downloaded wheels are kept")
    parser.add_argument("--stamp", required=True, help="file recording which ansible package DEST came from")
    args = parser.parse_args()

    wanted = "ansible==%s" % args.ansible
    if os.path.isfile(os.path.join(args.dest, "amazon", "aws", "MANIFEST.json")) and os.path.isfile(args.stamp):
        with open(args.stamp, encoding="utf-8") as handle:
            if handle.read().strip() == wanted:
                print("amazon.aws: up to date in %s (from %s)" % (args.dest, wanted))
                return 0

    os.makedirs(args.cache, exist_ok=True)
    version = extract(cached_wheel(args.ansible, args.cache), args.dest)
    with open(args.stamp, "w", encoding="utf-8") as handle:
        handle.write(wanted + "\n")
    print("amazon.aws: %s placed in %s (from %s)" % (version, args.dest, wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
