# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The environment of every Ansible and boto3 command the drills, demo, benchmarks and release job run."""

import os
import shutil
import sys
from pathlib import Path

from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_CREDENTIALS

# Nothing of the user's may decide where a call goes or who makes it: no credentials, profile, region or endpoint,
# no Ansible setting, and not this process's PYTHONPATH (a source copy of the collection, not the installed one).
_NOT_INHERITED_PREFIXES = ("AWS_", "ANSIBLE_", "BOTO")
_NOT_INHERITED = ("PYTHONPATH",)


def isolated_env(collections_path, workdir, extra=None, credentials=True):
    """Our collections only, the fake credentials (unless ``credentials`` is false), and nothing from ~/.aws."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_NOT_INHERITED_PREFIXES) and name not in _NOT_INHERITED
    }
    if credentials:
        env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "ANSIBLE_COLLECTIONS_PATH": str(Path(collections_path).resolve()),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": "true",
            "ANSIBLE_HOME": str(Path(workdir) / "ansible_home"),
            "ANSIBLE_LOCAL_TEMP": str(Path(workdir) / "ansible_tmp"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        }
    )
    env.update(extra or {})
    return env


def tool(name):
    """An Ansible command from the running interpreter's venv first, then from PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def check_installed(collections_path):
    """None when both collections are installed under collections_path, else why not."""
    root = Path(collections_path) / "ansible_collections"
    for needed in ("imagebuilder_ops/aws", "amazon/aws"):
        if not (root / needed).is_dir():
            return f"{root / needed} is missing: build and install the collection first (make install-legs)"
    return None
