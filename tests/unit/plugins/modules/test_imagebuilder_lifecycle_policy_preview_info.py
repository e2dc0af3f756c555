# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""main() of imagebuilder_lifecycle_policy_preview_info end to end, against Stubber-checked Image Builder and EC2
clients: which policy it previews (existing, changed, new), the tree it returns, and the input it refuses before any
call. The rule semantics are test_lifecycle_preview.py's."""

import datetime

import botocore
import pytest

from ansible_collections.imagebuilder_ops.aws.plugins.modules import (
    imagebuilder_lifecycle_policy_preview_info as module,
)
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import EC2_SCOPE
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import LIVE_INSTANCE_STATES
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import described
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import every_policy
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import found_by_name
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import has_exclusions
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import has_references
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import listing
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import summary

NAME = "golden-ami-cleanup"
POLICY_ARN = f"arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/{NAME}"
SELECTION = {"recipes": [{"name": "golden-ami", "semanticVersion": "1.x.x"}]}
KEEP_FIVE = {"action": {"type": "DELETE"}, "filter": {"type": "COUNT", "value": 5}}


def days_ago(days):
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def policy(details, resource_type="AMI_IMAGE"):
    return {
        "arn": POLICY_ARN,
        "name": NAME,
        "status": "ENABLED",
        "executionRole": "ImageBuilderLifecycleRole",
        "resourceType": resource_type,
        "policyDetails": details,
        "resourceSelection": SELECTION,
    }


def two_images():
    """golden-ami 1.0.0/1, 400 days old, in production, with AMIs in eu-west-1 and us-east-1; 1.1.0/1, 10 days old."""
    old = summary(
        "golden-ami",
        "1.0.0",
        created=days_ago(400),
        tags={"Environment": "production"},
        amis=[{"region": "eu-west-1", "image": "ami-00000000000000001"}, {"region": "us-east-1", "image": "ami-2"}],
    )
    new = summary("golden-ami", "1.1.0", created=days_ago(10), amis=[{"region": "us-east-1", "image": "ami-3"}])
    return [new, old]


def test_an_existing_policy_by_name_its_actions_as_an_execution_tree(run_module, client, ec2_client):
    c, stubber = client
    ec2_stubber = ec2_client[1]
    delete_old = {
        "action": {"type": "DELETE", "includeResources": {"amis": True, "snapshots": True}},
        "filter": {"type": "AGE", "value": 180, "unit": "DAYS"},
        "exclusionRules": {"amis": {"isPublic": True}},
    }
    found_by_name(stubber, policy([delete_old]))
    listing(c, stubber, two_images(), "AMI", "golden-ami")
    # One DescribeImages per region the selected AMIs are in, sorted, with all of that region's AMIs at once.
    described(ec2_stubber, ["ami-00000000000000001"], [{"ImageId": "ami-00000000000000001", "Public": True}])
    described(
        ec2_stubber,
        ["ami-2", "ami-3"],
        [{"ImageId": "ami-2", "BlockDeviceMappings": [{"Ebs": {"SnapshotId": "snap-2"}}]}],
    )

    result, made = run_module(module.main, {"name": NAME})

    assert made == ["imagebuilder", "ec2/eu-west-1", "ec2/us-east-1"]
    preview = result["lifecycle_policy_preview"]
    assert result["changed"] is False
    assert preview["lifecycle_policy"] == {
        "arn": POLICY_ARN,
        "name": NAME,
        "status": "ENABLED",
        "resource_type": "AMI_IMAGE",
    }
    (deleted,) = preview["resources"]
    assert deleted["resource_id"].endswith("/golden-ami/1.0.0/1")
    assert deleted["action"]["name"] == "DELETE"
    assert deleted["action"]["reason"].startswith("policy_details[0]: created ")
    assert deleted["policy_detail"] == 0
    assert deleted["tags"] == {"Environment": "production"}
    assert deleted["child_resources"] == [
        {
            "resource_id": "ami-2",
            "region": "us-east-1",
            "action": {"name": "DELETE"},
            "snapshots": [{"snapshot_id": "snap-2"}],
            "open_questions": [],
        }
    ]
    assert deleted["excluded_resources"] == [
        {
            "resource_id": "ami-00000000000000001",
            "region": "eu-west-1",
            "exclusion": "is_public",
            "reason": "public AMI (exclusion_rules.amis.is_public)",
            "open_questions": [],
        }
    ]
    # Its public AMI skipped, the image resource itself may be retained, as StartResourceStateUpdate retains it.
    assert deleted["open_questions"] == ["delete_with_skipped_amis"]
    assert [image["resource_id"].split("image/")[1] for image in preview["kept"]] == ["golden-ami/1.1.0/1"]
    assert preview["kept"][0]["reason"].startswith("policy_details[0]: created ")
    assert preview["summary"] == {"deprecate": 0, "disable": 0, "delete": 1, "none": 1}
    # Listed once at the top, with what is open, the reading shown and the sentences that leave it open.
    [question] = preview["open_questions"]
    assert question["case"] == "delete_with_skipped_amis"
    assert question["shown"] == "the image resource is deleted"
    assert any("StartResourceStateUpdateRequest.exclusionRules" in source for source in question["sources"])


def test_a_change_is_previewed_with_the_options_over_the_existing_policy(run_module, client):
    c, stubber = client
    found_by_name(stubber, policy([KEEP_FIVE]))
    listing(c, stubber, two_images(), "AMI", "golden-ami")
    stricter = [{"action": {"type": "delete"}, "filter": {"type": "age", "value": 30, "unit": "days"}}]

    result, made = run_module(module.main, {"name": NAME, "policy_details": stricter})

    # The existing rule (keep 5) deletes nothing; the option's deletes the old image, from the existing selection.
    assert result["lifecycle_policy_preview"]["summary"]["delete"] == 1
    assert result["lifecycle_policy_preview"]["resources"][0]["child_resources"] == []
    assert made == ["imagebuilder"]


def test_without_details_the_counts_at_the_top_and_each_image_by_its_id_action_and_open_cases(run_module, client):
    c, stubber = client
    found_by_name(stubber, policy([KEEP_FIVE]))
    listing(c, stubber, two_images(), "AMI", "golden-ami")
    stricter = [{"action": {"type": "delete"}, "filter": {"type": "age", "value": 30, "unit": "days"}}]

    result, _made = run_module(module.main, {"name": NAME, "policy_details": stricter, "details": False})

    assert result["summary"] == {"deprecate": 0, "disable": 0, "delete": 1, "none": 1}
    preview = result["lifecycle_policy_preview"]
    assert preview["summary"] == result["summary"]
    [deleted] = preview["resources"]
    assert deleted == {
        "resource_id": POLICY_ARN.split(":lifecycle-policy/", maxsplit=1)[0] + ":image/golden-ami/1.0.0/1",
        "action": {"name": "DELETE"},
        "open_questions": [],
    }
    assert [sorted(image) for image in preview["kept"]] == [["open_questions", "resource_id"]]


NEW_POLICY = {
    "name": NAME,
    "resource_type": "ami_image",
    "policy_details": [{"action": {"type": "delete"}, "filter": {"type": "age", "value": 30, "unit": "days"}}],
    "resource_selection": {"recipes": [{"name": "golden-ami", "semantic_version": "1.x.x"}]},
}


def test_a_new_policy_is_previewed_from_its_options_with_a_warning(run_module, client):
    c, stubber = client
    found_by_name(stubber, None)
    every_policy(stubber, ["other-policy"])
    listing(c, stubber, two_images(), "AMI", "golden-ami")

    result, _made = run_module(module.main, NEW_POLICY)

    preview = result["lifecycle_policy_preview"]
    assert preview["lifecycle_policy"] == {"arn": None, "name": NAME, "status": "ENABLED", "resource_type": "AMI_IMAGE"}
    assert [image["resource_id"].split("image/")[1] for image in preview["resources"]] == ["golden-ami/1.0.0/1"]
    # A plain string, or (ansible-core >= 2.19's summaries) a dict that holds it.
    warning = f"No lifecycle policy is named {NAME!r}: previewing it as a new policy, from the options"
    assert [warning in str(w) for w in result["warnings"]] == [True]


def test_a_new_name_that_is_an_existing_policy_s_but_for_case_is_refused_as_the_policy_module_would(run_module, client):
    found_by_name(client[1], None)
    every_policy(client[1], ["Golden AMI cleanup"])
    result, _made = run_module(module.main, NEW_POLICY)
    assert result["failed"] is True
    assert result["msg"] == (
        f"name: {NAME!r} gives the same ARN as the existing lifecycle policy 'Golden AMI cleanup' (names that differ"
        " only in case, spaces or underscores are the same policy)"
    )


def test_a_name_no_policy_has_needs_the_options_of_a_new_policy(run_module, client):
    found_by_name(client[1], None)
    result, _made = run_module(module.main, {"name": NAME, "resource_type": "ami_image"})
    assert result["failed"] is True
    assert (
        result["msg"]
        == f"name: no lifecycle policy {NAME!r}; to preview a new one, give policy_details, resource_selection"
    )


def test_an_unknown_arn_fails_and_names_it(run_module, client):
    client[1].add_client_error("get_lifecycle_policy", "ResourceNotFoundException", http_status_code=404)
    result, _made = run_module(module.main, {"lifecycle_policy_arn": POLICY_ARN})
    assert result["failed"] is True
    assert result["msg"] == f"arn: no lifecycle policy {POLICY_ARN!r} in this account and region"


def test_another_resource_type_than_the_existing_policy_fails_before_any_image_is_read(run_module, client):
    client[1].add_response(
        "get_lifecycle_policy", {"lifecyclePolicy": policy([KEEP_FIVE])}, {"lifecyclePolicyArn": POLICY_ARN}
    )
    result, _made = run_module(module.main, {"arn": POLICY_ARN, "resource_type": "container_image"})
    assert result["failed"] is True
    assert "resource type cannot change" in result["msg"]


def test_the_rules_the_service_refuses_fail_as_in_the_policy_module_before_any_client_is_made(run_module):
    rules = [{"action": {"type": "deprecate"}, "filter": {"type": "count", "value": 0}}]
    result, made = run_module(module.main, {"arn": "golden", "policy_details": rules})
    assert result["failed"] is True and made == []
    assert result["msg"] == (
        "arn: 'golden' is not a lifecycle policy ARN such as"
        " arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/my-policy;"
        " policy_details[0].filter: a count filter goes with a delete rule only;"
        " policy_details[0].filter.value: 0 is not between 1 and 1000"
    )


def test_arn_and_name_are_one_or_the_other(run_module):
    result, made = run_module(module.main, {"arn": POLICY_ARN, "name": NAME})
    assert result["failed"] is True and made == []
    assert "mutually exclusive" in result["msg"]


def test_rules_in_the_api_s_spelling_are_checked_as_in_lower_case(run_module):
    rules = [{"action": {"type": "DEPRECATE"}, "filter": {"type": "COUNT", "value": 5}}]
    result, made = run_module(module.main, {"name": NAME, "resource_type": "CONTAINER_IMAGE", "policy_details": rules})
    assert result["failed"] is True and made == []
    assert result["msg"] == (
        "policy_details[0].action.type: a container_image policy allows delete rules only;"
        " policy_details[0].filter: a count filter goes with a delete rule only"
    )


@pytest.mark.parametrize("option", ["arn", "lifecycle_policy_arn"])
def test_an_arn_of_another_region_fails_naming_both_regions_before_any_call(run_module, option):
    elsewhere = POLICY_ARN.replace(":us-east-1:", ":eu-west-1:")
    result, made = run_module(module.main, {option: elsewhere})  # the Stubber holds no answer: a call would fail
    assert result["failed"] is True and made == ["imagebuilder"]
    assert result["msg"].startswith(
        f"arn: {elsewhere!r} is in region eu-west-1, and this module works in region us-east-1"
    )


# --- safety_checks: what still uses an AMI, whether a delete can be undone, what it frees ---------------------------

AMI = "ami-00000000000000001"


def safety_reads(ec2, ec2_stubber, as_stubber, template_default):
    """The reads of the in-use check and the storage check for AMI in eu-west-1 (the rbin ones are each test's)."""
    ec2_stubber.add_response(
        "describe_images",
        {
            "Images": [
                {
                    "ImageId": AMI,
                    "BlockDeviceMappings": [{"Ebs": {"SnapshotId": "snap-1"}}],
                    "LastLaunchedTime": "2026-01-01T00:00:00Z",
                    "DeregistrationProtection": "disabled",
                }
            ]
        },
        dict(EC2_SCOPE, Filters=[{"Name": "image-id", "Values": [AMI]}]),
    )
    ec2_stubber.add_response(
        "describe_instances",
        {"Reservations": []},
        {
            "Filters": [
                {"Name": "image-id", "Values": [AMI]},
                {"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES},
            ]
        },
    )
    for version, items in (("$Default", template_default), ("$Latest", [])):
        ec2_stubber.add_response(
            "describe_launch_template_versions",
            {"LaunchTemplateVersions": items},
            {"Versions": [version], "Filters": [{"Name": "image-id", "Values": [AMI]}], "MaxResults": 200},
        )
    if has_references(ec2):
        ec2_stubber.add_response(
            "describe_image_references", {"ImageReferences": []}, {"ImageIds": [AMI], "IncludeAllResourceTypes": True}
        )
    as_stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": []}, {"MaxRecords": 100})
    as_stubber.add_response("describe_launch_configurations", {"LaunchConfigurations": []}, {"MaxRecords": 100})
    ec2_stubber.add_response(
        "describe_snapshots",
        {"Snapshots": [{"SnapshotId": "snap-1", "VolumeSize": 8, "Tags": [{"Key": "keep", "Value": "yes"}]}]},
        {"OwnerIds": ["self"], "Filters": [{"Name": "snapshot-id", "Values": ["snap-1"]}]},
    )
    ec2_stubber.add_response(
        "describe_images",
        {"Images": [{"ImageId": AMI, "BlockDeviceMappings": [{"Ebs": {"SnapshotId": "snap-1"}}]}]},
        dict(EC2_SCOPE, Filters=[{"Name": "block-device-mapping.snapshot-id", "Values": ["snap-1"]}]),
    )


def delete_policy(stubber, c):
    delete_old = {
        "action": {"type": "DELETE", "includeResources": {"amis": True, "snapshots": True}},
        "filter": {"type": "AGE", "value": 180, "unit": "DAYS"},
    }
    found_by_name(stubber, policy([delete_old]))
    old = summary("golden-ami", "1.0.0", created=days_ago(400), amis=[{"region": "eu-west-1", "image": AMI}])
    listing(c, stubber, [old], "AMI", "golden-ami")


def test_safety_checks_say_a_template_s_default_version_still_uses_a_deleted_ami_and_how_long_it_can_be_restored(
    run_module, client, ec2_client, autoscaling_client, rbin_client
):
    c, stubber = client
    ec2, ec2_stubber = ec2_client
    rbin, rbin_stubber = rbin_client
    delete_policy(stubber, c)
    # Version 2 of a template whose latest is far ahead, still its default: a use, which DescribeImageReferences'
    # default depth (10 versions back from the latest) would miss.
    default = [
        {
            "LaunchTemplateId": "lt-0a",
            "LaunchTemplateName": "web",
            "VersionNumber": 2,
            "DefaultVersion": True,
            "LaunchTemplateData": {"ImageId": AMI},
        }
    ]
    safety_reads(ec2, ec2_stubber, autoscaling_client[1], default)
    for resource_type, identifier, days in (("EC2_IMAGE", "imagerule001", 30), ("EBS_SNAPSHOT", "snaprule0001", 14)):
        rbin_stubber.add_response(
            "list_rules", {"Rules": [{"Identifier": identifier}]}, {"ResourceType": resource_type, "MaxResults": 1000}
        )
        rbin_stubber.add_response(
            "get_rule",
            {
                "Identifier": identifier,
                "RetentionPeriod": {"RetentionPeriodValue": days, "RetentionPeriodUnit": "DAYS"},
                "ResourceTags": (
                    [] if resource_type == "EC2_IMAGE" else [{"ResourceTagKey": "keep", "ResourceTagValue": "yes"}]
                ),
                "Status": "available",
            },
            {"Identifier": identifier},
        )

    result, made = run_module(module.main, {"name": NAME, "safety_checks": True})

    assert made == ["imagebuilder", "ec2/eu-west-1", "autoscaling/eu-west-1", "rbin/eu-west-1"]
    [child] = result["lifecycle_policy_preview"]["resources"][0]["child_resources"]
    assert child["in_use"]["status"] == "in_use"
    assert child["in_use"]["references"] == [
        {
            "type": "launch_template",
            "id": "lt-0a",
            "name": "web",
            "version": 2,
            "default": True,
            "latest": False,
            "state": "default version",
        }
    ]
    assert child["in_use"]["last_launched"] == "2026-01-01T00:00:00+00:00"
    assert child["in_use"]["effect"].startswith("a deregistered AMI cannot be launched")
    if has_exclusions(rbin):
        # The snapshot rule keeps its snapshot 14 days, fewer than the AMI's 30: the AMI can be restored for 14.
        assert child["recoverable"]["status"] == "recoverable"
        assert child["recoverable"]["rule"] == "imagerule001"
        assert "rule snaprule0001 keeps a snapshot 14 days, fewer than rule" in child["recoverable"]["reason"]
    else:
        # botocore 1.35.0 cannot see a Region-level rule's exclusion tags: never "recoverable" on its word.
        assert child["recoverable"]["status"] == "unknown"
        assert child["recoverable"]["reason"] == (
            f"Region-level rule imagerule001 may exclude it: the installed botocore {botocore.__version__} lacks"
            " GetRuleResponse.ExcludeResourceTags (it arrived in botocore 1.35.66)"
        )
    assert child["storage"] == [
        {"snapshot_id": "snap-1", "ami": AMI, "size_in_bytes": 8 * 1024**3, "volume_size": 8, "status": "freed"}
    ]
    assert result["safety"] == {
        "in_use": {"deprecate": 0, "disable": 0, "delete": 1},
        "in_use_unknown": {"deprecate": 0, "disable": 0, "delete": 0},
        "delete_not_recoverable": 0,
        "delete_recoverable_unknown": 0 if has_exclusions(rbin) else 1,
        "delete_blocked": 0,
        "freed_bytes_at_most": 8 * 1024**3,
    }
    assert result["lifecycle_policy_preview"]["safety"]["summary"] == result["safety"]


def test_safety_checks_denied_still_succeed_and_say_unknown(
    run_module, client, ec2_client, autoscaling_client, rbin_client
):
    c, stubber = client
    ec2, ec2_stubber = ec2_client
    delete_policy(stubber, c)
    safety_reads(ec2, ec2_stubber, autoscaling_client[1], [])
    rbin_client[1].add_client_error("list_rules", service_error_code="AccessDeniedException", http_status_code=400)
    rbin_client[1].add_client_error("list_rules", service_error_code="AccessDeniedException", http_status_code=400)

    result, dummy = run_module(module.main, {"name": NAME, "safety_checks": True})

    assert result.get("failed") is not True
    [child] = result["lifecycle_policy_preview"]["resources"][0]["child_resources"]
    assert child["recoverable"] == {
        "status": "unknown",
        "reason": "denied rbin:ListRules (AccessDeniedException)",
        "open_questions": [],
    }
    expected_status = "not_in_use" if has_references(ec2) else "unknown"
    assert child["in_use"]["status"] == expected_status
    assert result["safety"]["delete_recoverable_unknown"] == 1
    assert result["safety"]["in_use_unknown"]["delete"] == (0 if has_references(ec2) else 1)


def test_safety_checks_read_every_reached_ami_and_count_blocked_unrecoverable_and_unknown_deletes(
    run_module, client, ec2_client, autoscaling_client, rbin_client
):
    # A delete of AMIs alone (no snapshots, no exclusion rule): the preview itself needs no EC2 read, the checks do.
    c, stubber = client
    ec2, ec2_stubber = ec2_client
    as_stubber = autoscaling_client[1]
    amis = ["ami-00000000000000001", "ami-00000000000000002"]
    delete_amis = {
        "action": {"type": "DELETE", "includeResources": {"amis": True}},
        "filter": {"type": "AGE", "value": 180, "unit": "DAYS"},
    }
    found_by_name(stubber, policy([delete_amis]))
    old = summary(
        "golden-ami", "1.0.0", created=days_ago(400), amis=[{"region": "eu-west-1", "image": a} for a in amis]
    )
    listing(c, stubber, [old], "AMI", "golden-ami")
    ec2_stubber.add_response(
        "describe_images",
        {"Images": [{"ImageId": amis[0], "DeregistrationProtection": "enabled"}, {"ImageId": amis[1]}]},
        dict(EC2_SCOPE, Filters=[{"Name": "image-id", "Values": amis}]),
    )
    ec2_stubber.add_client_error("describe_instances", service_error_code="UnauthorizedOperation", http_status_code=403)
    for version in ("$Default", "$Latest"):
        ec2_stubber.add_response(
            "describe_launch_template_versions",
            {"LaunchTemplateVersions": []},
            {"Versions": [version], "Filters": [{"Name": "image-id", "Values": amis}], "MaxResults": 200},
        )
    if has_references(ec2):
        ec2_stubber.add_response(
            "describe_image_references", {"ImageReferences": []}, {"ImageIds": amis, "IncludeAllResourceTypes": True}
        )
    as_stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": []}, {"MaxRecords": 100})
    as_stubber.add_response("describe_launch_configurations", {"LaunchConfigurations": []}, {"MaxRecords": 100})
    for resource_type in ("EC2_IMAGE", "EBS_SNAPSHOT"):
        rbin_client[1].add_response("list_rules", {"Rules": []}, {"ResourceType": resource_type, "MaxResults": 1000})

    result, dummy = run_module(module.main, {"name": NAME, "safety_checks": True})

    children = {
        child["resource_id"]: child for child in result["lifecycle_policy_preview"]["resources"][0]["child_resources"]
    }
    assert children[amis[0]]["recoverable"]["status"] == "blocked"
    assert children[amis[1]]["recoverable"] == {
        "status": "not_recoverable",
        "reason": f"AMI {amis[1]}: no available Recycle Bin rule retains it",
        "open_questions": [],
    }
    assert children[amis[1]]["in_use"]["unchecked"][0] == {
        "kind": "instance",
        "reason": "denied ec2:DescribeInstances (UnauthorizedOperation)",
    }
    assert result["safety"] == {
        "in_use": {"deprecate": 0, "disable": 0, "delete": 0},
        "in_use_unknown": {"deprecate": 0, "disable": 0, "delete": 2},
        "delete_not_recoverable": 1,
        "delete_recoverable_unknown": 0,
        "delete_blocked": 1,
        "freed_bytes_at_most": 0,
    }
    questions = result["lifecycle_policy_preview"]["safety"]["open_questions"]
    assert [question["case"] for question in questions] == ["last_launched_delay", "deregistration_protection"]


def test_safety_checks_without_describe_images_still_succeed_and_never_say_safe(
    run_module, client, ec2_client, autoscaling_client, rbin_client
):
    # Today's permissions of a preview whose rules need no EC2 read: DescribeImages is denied to the checks alone.
    c, stubber = client
    ec2, ec2_stubber = ec2_client
    delete_amis = {
        "action": {"type": "DELETE", "includeResources": {"amis": True}},
        "filter": {"type": "COUNT", "value": 1},
    }
    found_by_name(stubber, policy([delete_amis]))
    images = [
        summary("golden-ami", "1.0.0", build, created=days_ago(age), amis=[{"region": "eu-west-1", "image": ami}])
        for build, age, ami in ((2, 1, "ami-00000000000000002"), (1, 9, AMI))
    ]
    listing(c, stubber, images, "AMI", "golden-ami")
    ec2_stubber.add_client_error("describe_images", service_error_code="UnauthorizedOperation", http_status_code=403)
    ec2_stubber.add_response(
        "describe_instances",
        {"Reservations": []},
        {
            "Filters": [
                {"Name": "image-id", "Values": [AMI]},
                {"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES},
            ]
        },
    )
    for version in ("$Default", "$Latest"):
        ec2_stubber.add_response(
            "describe_launch_template_versions",
            {"LaunchTemplateVersions": []},
            {"Versions": [version], "Filters": [{"Name": "image-id", "Values": [AMI]}], "MaxResults": 200},
        )
    if has_references(ec2):
        ec2_stubber.add_response(
            "describe_image_references", {"ImageReferences": []}, {"ImageIds": [AMI], "IncludeAllResourceTypes": True}
        )
    autoscaling_client[1].add_response("describe_auto_scaling_groups", {"AutoScalingGroups": []}, {"MaxRecords": 100})
    autoscaling_client[1].add_response(
        "describe_launch_configurations", {"LaunchConfigurations": []}, {"MaxRecords": 100}
    )
    for resource_type in ("EC2_IMAGE", "EBS_SNAPSHOT"):
        rbin_client[1].add_response("list_rules", {"Rules": []}, {"ResourceType": resource_type, "MaxResults": 1000})

    result, dummy = run_module(module.main, {"name": NAME, "safety_checks": True})

    assert result.get("failed") is not True
    [child] = result["lifecycle_policy_preview"]["resources"][0]["child_resources"]
    why = (
        "denied ec2:DescribeImages (UnauthorizedOperation): whose AMI it is, its last launch and its snapshots are not"
        " known"
    )
    assert child["in_use"]["status"] == "unknown"
    assert child["in_use"]["unchecked"][0] == {"kind": "image", "reason": why}
    assert child["recoverable"] == {"status": "unknown", "reason": why, "open_questions": []}
    assert result["safety"]["in_use_unknown"]["delete"] == 1
    assert result["safety"]["delete_recoverable_unknown"] == 1
