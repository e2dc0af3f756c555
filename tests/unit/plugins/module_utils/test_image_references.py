# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Is an AMI still in use: each kind of reference read with the call that has it (checked by botocore's Stubber
against the installed model), the defaults of DescribeImageReferences corrected, and "not in use" only when every kind
was checked. On a botocore without DescribeImageReferences (the floor leg) the same tests assert the "unknown" answer
that names it."""

import datetime
import types

import botocore
import pytest

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import image_references as refs
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import safety_checks
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import LIVE_INSTANCE_STATES
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import has_override_image
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import has_references

AMI = "ami-0123456789abcdef0"
OTHER = "ami-0fedcba9876543210"


def lacks_references_reason():
    return (
        f"the installed botocore {botocore.__version__} lacks DescribeImageReferences (it arrived in botocore 1.40.18)"
    )


def expect_instances(stubber, image_ids, instances):
    stubber.add_response(
        "describe_instances",
        {"Reservations": [{"Instances": instances}] if instances else []},
        {
            "Filters": [
                {"Name": "image-id", "Values": image_ids},
                {"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES},
            ]
        },
    )


def expect_template_versions(stubber, image_ids, default=(), latest=()):
    for version, items in (("$Default", default), ("$Latest", latest)):
        stubber.add_response(
            "describe_launch_template_versions",
            {"LaunchTemplateVersions": list(items)},
            {"Versions": [version], "Filters": [{"Name": "image-id", "Values": image_ids}], "MaxResults": 200},
        )


def expect_image_references(ec2, stubber, image_ids, items, token=None):
    if not has_references(ec2):
        return
    answer = {"ImageReferences": items}
    if token:
        answer["NextToken"] = token
    stubber.add_response("describe_image_references", answer, {"ImageIds": image_ids, "IncludeAllResourceTypes": True})


def expect_groups(stubber, groups):
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": groups}, {"MaxRecords": 100})


def expect_configurations(stubber, configurations):
    stubber.add_response(
        "describe_launch_configurations", {"LaunchConfigurations": configurations}, {"MaxRecords": 100}
    )


def version(template_id, number, image, default=False, name="golden"):
    return {
        "LaunchTemplateId": template_id,
        "LaunchTemplateName": name,
        "VersionNumber": number,
        "DefaultVersion": default,
        "LaunchTemplateData": {"ImageId": image},
    }


def group(name, **members):
    base = {
        "AutoScalingGroupName": name,
        "MinSize": 0,
        "MaxSize": 1,
        "DesiredCapacity": 1,
        "DefaultCooldown": 300,
        "AvailabilityZones": ["eu-west-1a"],
        "HealthCheckType": "EC2",
        "CreatedTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    }
    base.update(members)
    return base


def configuration(name, image):
    return {
        "LaunchConfigurationName": name,
        "ImageId": image,
        "InstanceType": "t3.micro",
        "CreatedTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    }


def test_a_terminated_instance_is_not_a_use_and_a_stopped_one_is(ec2_client):
    # "state-name ... Default: All states": DescribeImageReferences would count the terminated one; DescribeInstances
    # is asked for every state but terminated.
    ec2, stubber = ec2_client
    expect_instances(stubber, [AMI, OTHER], [{"InstanceId": "i-0aaa", "ImageId": AMI, "State": {"Name": "stopped"}}])
    found = refs.describe_instances(ec2, [OTHER, AMI])
    assert found == {AMI: [{"type": "instance", "id": "i-0aaa", "state": "stopped"}], OTHER: []}


def test_a_launch_template_default_far_behind_its_latest_is_a_use_and_says_which(ec2_client):
    # lt-a's default is version 2 of 40 (DescribeImageReferences looks 10 versions back by default); lt-b's only
    # version is its default and its latest.
    ec2, stubber = ec2_client
    expect_template_versions(
        stubber,
        [AMI, OTHER],
        default=[version("lt-0a", 2, AMI, default=True), version("lt-0b", 1, OTHER, default=True, name="blue")],
        latest=[version("lt-0b", 1, OTHER, default=True, name="blue")],
    )
    found = refs.describe_launch_template_uses(ec2, [AMI, OTHER])
    assert found[AMI] == [
        {
            "type": "launch_template",
            "id": "lt-0a",
            "name": "golden",
            "version": 2,
            "default": True,
            "latest": False,
            "state": "default version",
        }
    ]
    assert found[OTHER][0]["state"] == "default and latest version"
    assert (found[OTHER][0]["default"], found[OTHER][0]["latest"]) == (True, True)


def test_image_references_ten_amis_a_call_pages_followed_and_instances_and_templates_left_to_their_own_reads(
    ec2_client,
):
    ec2, stubber = ec2_client
    amis = ["ami-%017d" % n for n in range(12)]
    parameter = "arn:aws:ssm:eu-west-1:123456789012:parameter/golden"
    recipe = "arn:aws:imagebuilder:eu-west-1:123456789012:image-recipe/golden/1.0.0"
    expect_image_references(
        ec2,
        stubber,
        amis[:10],
        [
            {"ImageId": amis[0], "ResourceType": "ssm:Parameter", "Arn": parameter},
            {"ImageId": amis[0], "ResourceType": "ec2:Instance", "Arn": "arn:aws:ec2:eu-west-1:1:instance/i-0"},
        ],
        token="page-2",
    )
    if has_references(ec2):
        stubber.add_response(
            "describe_image_references",
            {"ImageReferences": [{"ImageId": amis[3], "ResourceType": "imagebuilder:ImageRecipe", "Arn": recipe}]},
            {"ImageIds": amis[:10], "IncludeAllResourceTypes": True, "NextToken": "page-2"},
        )
    expect_image_references(ec2, stubber, amis[10:], [])
    if not has_references(ec2):
        with pytest.raises(safety_checks.Unchecked) as caught:
            refs.describe_image_references(ec2, amis)
        assert caught.value.reason == lacks_references_reason()
        return
    found = refs.describe_image_references(ec2, amis)
    assert found[amis[0]] == [{"type": "ssm_parameter", "id": parameter, "state": None}]
    assert found[amis[3]] == [{"type": "image_recipe", "id": recipe, "state": None}]
    assert sum(len(items) for items in found.values()) == 2


def test_auto_scaling_groups_resolve_the_template_version_they_name(ec2_client, autoscaling_client):
    ec2, dummy = ec2_client
    autoscaling, as_stubber = autoscaling_client
    ec2_stubber = ec2_client[1]
    overrides = [
        {"InstanceType": "m5.large", "LaunchTemplateSpecification": {"LaunchTemplateId": "lt-0b", "Version": "7"}}
    ]
    if has_override_image(autoscaling):
        overrides.append({"InstanceType": "c5.large", "ImageId": OTHER})
    expect_groups(
        as_stubber,
        [
            # No Version: "The default value is $Default."
            group("web", LaunchTemplate={"LaunchTemplateId": "lt-0a", "LaunchTemplateName": "golden"}),
            group(
                "batch",
                MixedInstancesPolicy={
                    "LaunchTemplate": {
                        "LaunchTemplateSpecification": {"LaunchTemplateId": "lt-0a", "Version": "$Latest"},
                        "Overrides": overrides,
                    }
                },
                Status="Delete in progress",
            ),
        ],
    )
    ec2_stubber.add_response(
        "describe_launch_template_versions",
        {"LaunchTemplateVersions": [version("lt-0a", 3, AMI, default=True), version("lt-0a", 9, "ami-0new")]},
        {"LaunchTemplateId": "lt-0a", "Versions": ["$Default", "$Latest"], "ResolveAlias": True, "MaxResults": 200},
    )
    ec2_stubber.add_response(
        "describe_launch_template_versions",
        {"LaunchTemplateVersions": [version("lt-0b", 7, AMI, name="blue")]},
        {"LaunchTemplateId": "lt-0b", "Versions": ["7"], "ResolveAlias": True, "MaxResults": 200},
    )
    found, partly, groups = refs.describe_auto_scaling_uses(autoscaling, ec2, [AMI, OTHER])
    assert found[AMI] == [
        {
            "type": "auto_scaling_group",
            "id": "web",
            "state": "active",
            "via": "launch_template: launch template lt-0a version $Default",
        },
        {
            "type": "auto_scaling_group",
            "id": "batch",
            "state": "Delete in progress",
            "via": "mixed_instances_policy override 0: launch template lt-0b version 7",
        },
    ]
    if has_override_image(autoscaling):
        assert partly is None
        assert found[OTHER] == [
            {
                "type": "auto_scaling_group",
                "id": "batch",
                "state": "Delete in progress",
                "via": "mixed_instances_policy override 1: ImageId",
            }
        ]
    else:
        # An older botocore drops an override's ImageId silently: the kind is said to be only partly checked.
        assert partly == (
            f"the installed botocore {botocore.__version__} lacks LaunchTemplateOverrides.ImageId (it arrived in"
            " botocore 1.41.1): a mixed instances policy's override may name an AMI that is not seen"
        )
    assert len(groups) == 2


def test_a_launch_configuration_is_a_use_and_says_which_groups_use_it(autoscaling_client):
    autoscaling, stubber = autoscaling_client
    expect_configurations(
        stubber, [configuration("old", AMI), configuration("unused", AMI), configuration("x", "ami-1")]
    )
    found = refs.describe_launch_configuration_uses(
        autoscaling, [AMI], groups=[group("legacy", LaunchConfigurationName="old")]
    )
    assert found == {
        AMI: [
            {"type": "launch_configuration", "id": "old", "state": "used by legacy"},
            {"type": "launch_configuration", "id": "unused", "state": "used by no Auto Scaling group"},
        ]
    }


def test_not_in_use_only_when_every_kind_was_checked():
    assert refs.verdict([], {})["status"] == "not_in_use"
    unknown = refs.verdict(
        [], {"launch_configuration": "denied autoscaling:DescribeLaunchConfigurations (AccessDenied)"}
    )
    assert unknown == {
        "status": "unknown",
        "references": [],
        "unchecked": [
            {"kind": "launch_configuration", "reason": "denied autoscaling:DescribeLaunchConfigurations (AccessDenied)"}
        ],
    }
    # A reference found is an answer, whatever else could not be checked.
    used = refs.verdict([{"type": "instance", "id": "i-0", "state": "running"}], {"instance": "x"})
    assert used["status"] == "in_use"


def test_another_account_s_ami_is_out_of_reach_and_costs_no_call(ec2_client, autoscaling_client):
    out_of_reach = {AMI: refs.owned_elsewhere("210987654321")}
    answers = refs.image_uses(ec2_client[0], autoscaling_client[0], [AMI], out_of_reach=out_of_reach)
    assert answers[AMI]["status"] == "unknown"
    assert answers[AMI]["unchecked"] == [
        {
            "kind": "all",
            "reason": "owned by account 210987654321: what refers to it there is out of reach of this account's reads",
        }
    ]


def test_a_whole_region_denied_and_missing_reads_make_unknown_never_not_in_use(ec2_client, autoscaling_client, sleeps):
    ec2, stubber = ec2_client
    autoscaling, as_stubber = autoscaling_client
    # A throttled page is asked for again (our retry policy), then the instance listing answers.
    stubber.add_client_error("describe_instances", service_error_code="RequestLimitExceeded", http_status_code=503)
    expect_instances(stubber, [AMI], [])
    stubber.add_client_error(
        "describe_launch_template_versions", service_error_code="UnauthorizedOperation", http_status_code=403
    )
    expect_image_references(ec2, stubber, [AMI], [])
    expect_groups(as_stubber, [])
    expect_configurations(as_stubber, [])
    launched = datetime.datetime(2026, 3, 30, tzinfo=datetime.timezone.utc)
    answers = refs.image_uses(ec2, autoscaling, [AMI], last_launched={AMI: launched})
    expected_unchecked = [
        {"kind": "launch_template", "reason": "denied ec2:DescribeLaunchTemplateVersions (UnauthorizedOperation)"}
    ]
    if not has_references(ec2):
        expected_unchecked += [
            {"kind": kind, "reason": lacks_references_reason()}
            for kind in ("ssm_parameter", "image_recipe", "container_recipe")
        ]
    assert answers == {
        AMI: {
            "status": "unknown",
            "references": [],
            "unchecked": expected_unchecked,
            "last_launched": "2026-03-30T00:00:00+00:00",
            "open_questions": ["last_launched_delay"],
        }
    }
    assert len(sleeps) == 1


def test_every_kind_checked_and_nothing_found_is_not_in_use(ec2_client, autoscaling_client):
    ec2, stubber = ec2_client
    autoscaling, as_stubber = autoscaling_client
    expect_instances(stubber, [AMI], [])
    expect_template_versions(stubber, [AMI])
    expect_image_references(ec2, stubber, [AMI], [])
    expect_groups(as_stubber, [])
    expect_configurations(as_stubber, [])
    answer = refs.image_uses(ec2, autoscaling, [AMI])[AMI]
    if has_references(ec2):
        assert (answer["status"], answer["unchecked"]) == ("not_in_use", [])
    else:
        # The floor leg: the same account, read by a botocore without DescribeImageReferences, is never "not in use".
        assert answer["status"] == "unknown"
        assert {item["reason"] for item in answer["unchecked"]} == {lacks_references_reason()}


def test_lacks_operation_and_member_name_the_botocore_release():
    # A model without the operation and the member, as botocore 1.35.0's (the floor leg reads its real one above).
    model = types.SimpleNamespace(operation_names=[], shape_for=lambda name: types.SimpleNamespace(members={}))
    client = types.SimpleNamespace(meta=types.SimpleNamespace(service_model=model))
    assert safety_checks.lacks_operation(client, "DescribeImageReferences") == lacks_references_reason()
    assert safety_checks.lacks_member(client, "LaunchTemplateOverrides", "ImageId") == (
        f"the installed botocore {botocore.__version__} lacks LaunchTemplateOverrides.ImageId (it arrived in botocore"
        " 1.41.1)"
    )
