# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures shared by the unit tests: a real botocore imagebuilder client behind a Stubber, a fake clock, and
a runner that executes a module's main() end to end and returns its JSON result."""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import retry_decorator
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import FAKE_ACCESS_KEY
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import FAKE_SECRET_KEY


def _stubbed(service, region):
    """A real client: Stubber checks our requests and its canned answers against botocore's model.

    botocore's own retries are off (one attempt per call) so that each stubbed error is one AWSRetry attempt.
    """
    real = boto3.client(
        service,
        region_name=region,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1}),
    )
    with Stubber(real) as stubber:
        yield RetryingBotoClientWrapper(real, retry_decorator), stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def client():
    """An imagebuilder client behind a Stubber, and the Stubber."""
    yield from _stubbed("imagebuilder", "us-east-1")


@pytest.fixture
def ec2_client():
    """An EC2 client (in a region of its own) behind a Stubber, and the Stubber."""
    yield from _stubbed("ec2", "eu-west-1")


@pytest.fixture
def autoscaling_client():
    """An Auto Scaling client (in the EC2 client's region) behind a Stubber, and the Stubber."""
    yield from _stubbed("autoscaling", "eu-west-1")


@pytest.fixture
def rbin_client():
    """A Recycle Bin client (in the EC2 client's region) behind a Stubber, and the Stubber."""
    yield from _stubbed("rbin", "eu-west-1")


@pytest.fixture
def tokens(client):
    """The clientToken of every write that takes one, retries included.

    provide-client-params comes before Stubber's checks, so a request that Stubber refuses is seen too.
    """
    seen = []
    for operation in ("StartResourceStateUpdate", "CancelLifecycleExecution", "CreateLifecyclePolicy"):
        client[0].client.meta.events.register(
            f"provide-client-params.imagebuilder.{operation}",
            lambda params, **kwargs: seen.append(params["clientToken"]),
        )
    return seen


@pytest.fixture
def sleeps(monkeypatch):
    """Records AWSRetry's backoff sleeps instead of sleeping."""
    recorded = []
    monkeypatch.setattr(cloud.time, "sleep", recorded.append)
    return recorded


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def wait_sleeps(monkeypatch):
    """The waiter's sleeps when a module runs end to end: recorded on a FakeClock instead of slept."""
    fake = FakeClock()
    monkeypatch.setattr(common.time, "monotonic", fake)
    monkeypatch.setattr(common.time, "sleep", fake.sleep)
    return fake.sleeps


@pytest.fixture
def run_module(request, monkeypatch, capsys, client, sleeps):
    """Run a module's main() with these arguments against the stubbed clients; return (result, api_client_made).

    Every Image Builder client is ``client``'s; an EC2, Auto Scaling or Recycle Bin client is ``ec2_client``'s,
    ``autoscaling_client``'s or ``rbin_client``'s (made only when a module asks for one), and ``api_client_made`` names
    it with its region, such as ``ec2/eu-west-1``. The result is the module's
    JSON output as Ansible would read it.
    """
    wrapped, dummy = client
    made = []

    def fake_client(self, service, retry_decorator=None, **kwargs):
        made.append(service)
        return wrapped

    def fake_session_client(module, service, region):
        made.append(f"{service}/{region}")
        return request.getfixturevalue(f"{service}_client")[0]

    monkeypatch.setattr(AnsibleAWSModule, "client", fake_client)
    # The regional clients come from one boto3 session of the module's run (common.session_client).
    monkeypatch.setattr(common, "session_client", fake_session_client)
    # Each module run is a process of its own in Ansible: warnings (module-global in ansible-core) start empty.
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})

    def run(main, args):
        args = dict(args)
        args.setdefault("_ansible_remote_tmp", "/tmp")
        args.setdefault("_ansible_keep_remote_files", False)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                main()
        out = capsys.readouterr().out
        return json.loads(out), made

    return run
