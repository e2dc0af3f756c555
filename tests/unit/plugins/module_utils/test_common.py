# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


import botocore.session
import pytest

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_execution as le
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import EXECUTION_ID
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import FAKE_ACCESS_KEY
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import FAKE_SECRET_KEY
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import IMAGE_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import POLICY_ARN

# --- validation ---------------------------------------------------------------------------------------------------

# The forms the execution modules declare for their options.
FORMS = dict(
    lifecycle_execution_id=common.LIFECYCLE_EXECUTION_ID,
    lifecycle_policy_arn=common.LIFECYCLE_POLICY_ARN,
    image_arn=common.IMAGE_BUILD_VERSION_ARN,
    parent_resource_id=le.PARENT_RESOURCE_ID,
)


@pytest.mark.parametrize(
    "shape, form",
    [
        ("LifecycleExecutionId", common.LIFECYCLE_EXECUTION_ID),
        ("LifecyclePolicyArn", common.LIFECYCLE_POLICY_ARN),
        ("ImageBuildVersionArn", common.IMAGE_BUILD_VERSION_ARN),
        ("RoleNameOrArn", common.ROLE_NAME_OR_ARN),
        ("AccountId", common.ACCOUNT_ID),
    ],
)
def test_patterns_are_the_installed_botocore_models(shape, form):
    model = botocore.session.get_session().get_service_model("imagebuilder")
    assert model.shape_for(shape).metadata["pattern"] == form.pattern


def test_only_the_options_a_module_declares_are_checked_each_with_the_form_it_names():
    # An image_arn of another module, holding something else, is not checked as an image build version ARN.
    assert common.validate_options({"image_arn": "arn:aws:ec2:us-east-1::image/ami-1", "arn": POLICY_ARN}, {}) == []
    (message,) = common.validate_options({"arn": IMAGE_ARN}, {"arn": common.LIFECYCLE_POLICY_ARN})
    assert message.startswith(f"arn: {IMAGE_ARN!r} is not a lifecycle policy ARN such as")


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("lifecycle_execution_id", "lce-123", "a lifecycle execution ID such as lce-"),
        ("lifecycle_execution_id", "", "a lifecycle execution ID"),
        ("lifecycle_execution_id", EXECUTION_ID + "0", "a lifecycle execution ID"),
        ("lifecycle_execution_id", EXECUTION_ID + "\n", "a lifecycle execution ID"),
        ("parent_resource_id", "", "an image build version ARN"),
        ("parent_resource_id", "ami-0123456789abcdef0", "an image build version ARN such as"),
        ("parent_resource_id", IMAGE_ARN + "\n", "an image build version ARN"),
        ("lifecycle_execution_id", EXECUTION_ID.replace("lce-", "ami-"), "a lifecycle execution ID"),
        ("lifecycle_policy_arn", "golden-ami-cleanup", "a lifecycle policy ARN such as arn:aws:imagebuilder:"),
        ("lifecycle_policy_arn", IMAGE_ARN, "a lifecycle policy ARN"),
        ("image_arn", POLICY_ARN, "an image build version ARN such as"),
        ("image_arn", "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0", "an image build version"),
    ],
)
def test_malformed_options_are_named_with_their_expected_form(option, value, expected):
    (message,) = common.validate_options({option: value}, FORMS)
    assert message.startswith(f"{option}: ")
    assert expected in message


# --- the region rule ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arn, region",
    [
        (POLICY_ARN, "us-east-1"),
        # Another account's image (one shared with the caller) and an AWS-managed one: the account is not compared.
        ("arn:aws:imagebuilder:us-east-1:210987654321:image/shared-ami/1.0.0/1", "us-east-1"),
        ("arn:aws:imagebuilder:us-east-1:aws:image/amazon-linux-2023-x86/2025.1.1/1", "us-east-1"),
        ("arn:aws-cn:imagebuilder:cn-north-1:123456789012:lifecycle-policy/golden", "cn-north-1"),
        ("arn:aws-us-gov:imagebuilder:us-gov-west-1:123456789012:image/golden/1.0.0/1", "us-gov-west-1"),
    ],
)
def test_an_arn_of_the_client_s_region_passes_whatever_its_account(arn, region):
    assert common.arn_region_errors({"image_arn": arn}, ["image_arn"], region) == []


# --- two spellings of an enum -------------------------------------------------------------------------------------


def test_normalize_choices_lowers_every_enum_at_any_depth_and_nothing_else():
    spec = dict(
        state=dict(type="str", choices=["present", "absent"]),
        status=dict(type="str", choices=common.api_choices("ENABLED", "DISABLED")),
        name=dict(type="str"),
        rules=dict(
            type="list",
            elements="dict",
            options=dict(
                unit=dict(type="str", choices=common.TIME_UNIT_CHOICES),
                last_launched=dict(type="dict", options=dict(unit=dict(type="str", choices=common.TIME_UNIT_CHOICES))),
                tag_map=dict(type="dict"),
            ),
        ),
        missing=dict(type="dict", options=dict(unit=dict(type="str", choices=common.TIME_UNIT_CHOICES))),
    )
    params = {
        "state": "present",
        "status": "DISABLED",
        "name": "Golden-AMI",
        "rules": [
            {"unit": "DAYS", "last_launched": {"unit": "WEEKS"}, "tag_map": {"Unit": "DAYS"}},
            {"unit": "years", "last_launched": None, "tag_map": None},
        ],
        "missing": None,
    }

    assert common.normalize_choices(params, spec) is params
    assert params == {
        "state": "present",
        "status": "disabled",
        "name": "Golden-AMI",
        "rules": [
            {"unit": "days", "last_launched": {"unit": "weeks"}, "tag_map": {"Unit": "DAYS"}},
            {"unit": "years", "last_launched": None, "tag_map": None},
        ],
        "missing": None,
    }


# --- the client ---------------------------------------------------------------------------------------------------


class RecordingModule:
    def __init__(self, name):
        self._name = name
        self.calls = []

    def client(self, service, **kwargs):
        self.calls.append((service, kwargs))
        return "client"


@pytest.mark.parametrize(
    "name", ["imagebuilder_lifecycle_execution_info", "imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info"]
)
def test_the_client_retries_with_our_policy_and_names_the_module_in_its_user_agent(name):
    module = RecordingModule(name)

    assert common.connect(module) == "client"

    ((service, kwargs),) = module.calls
    assert service == "imagebuilder"
    assert kwargs["retry_decorator"] is common.retry_decorator
    assert kwargs["config"].user_agent_extra == "ansible-module/imagebuilder_lifecycle_execution_info"
    assert "endpoint" not in kwargs and "region" not in kwargs


class ParamsModule:
    """A module with its connection options only, as amazon.aws's get_aws_connection_info() reads them."""

    def __init__(self, **params):
        self._name = "imagebuilder_lifecycle_policy_preview_info"
        self.params = dict(endpoint_url="http://127.0.0.1:1/imagebuilder-only", validate_certs=True, **params)


def test_regional_clients_come_from_one_session_with_the_module_s_credentials(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_EC2", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_RBIN", raising=False)
    sessions = []  # the session each client is made from
    real_client = common.boto3.session.Session.client

    def client(session, *args, **kwargs):
        sessions.append(session)
        return real_client(session, *args, **kwargs)

    monkeypatch.setattr(common.boto3.session.Session, "client", client)
    module = ParamsModule(
        access_key=FAKE_ACCESS_KEY, secret_key=FAKE_SECRET_KEY, aws_config={"max_pool_connections": 3}
    )

    ec2 = common.regional_clients(module, "ec2")
    made = [
        ec2("eu-west-1"),
        ec2("ap-southeast-2"),
        ec2("eu-west-1"),
        common.regional_clients(module, "rbin")("eu-west-1"),
    ]

    # One session (one load of each model) for every regional client of the run, and each client made once.
    assert len(sessions) == 3 and len(set(map(id, sessions))) == 1
    assert made[0] is made[2]
    assert [c.meta.region_name for c in made] == ["eu-west-1", "ap-southeast-2", "eu-west-1", "eu-west-1"]
    # Not Image Builder's endpoint_url: each service's own, in its region.
    assert made[0].meta.endpoint_url == "https://ec2.eu-west-1.amazonaws.com"
    assert made[0].client._request_signer._credentials.access_key == FAKE_ACCESS_KEY  # pylint: disable=protected-access
    assert "ansible-module/imagebuilder_lifecycle_policy_preview_info" in made[0].meta.config.user_agent_extra
    assert made[0].meta.config.max_pool_connections == 3  # aws_config applies
    assert made[0].retry is common.retry_decorator


# --- waiting on any resource --------------------------------------------------------------------------------------


def test_wait_until_waits_on_any_read_and_predicate(clock):
    answers = iter([{"Status": "pending"}, {"Status": "pending"}, {"Status": "available"}])
    reads = []

    def read():
        reads.append(1)
        return next(answers)

    done = common.wait_until(
        read, lambda r: r["Status"] == "available", 60, 5, lambda last, waited: "unused", clock, clock.sleep
    )

    assert done == {"Status": "available"}
    assert len(reads) == 3
    assert clock.sleeps == [5, 5]


def test_wait_until_times_out_with_the_message_and_the_last_answer(clock):
    with pytest.raises(common.WaitTimeout) as raised:
        common.wait_until(
            lambda: {"Status": "pending"},
            lambda r: False,
            12,
            5,
            lambda last, waited: f"still {last['Status']} after {waited:.0f} s",
            clock,
            clock.sleep,
        )

    assert clock.sleeps == [5, 5, 2]  # no sleep past the deadline, and a last read at it
    assert raised.value.message == "still pending after 12 s"
    assert raised.value.last == {"Status": "pending"}
