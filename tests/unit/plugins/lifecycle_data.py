# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Canned Image Builder data shared by the unit tests, in the API's own (camelCase) shapes."""

import datetime

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_preview
from ansible_collections.imagebuilder_ops.aws.tests.support import fake_aws

EXECUTION_ID = "lce-0123abcd-4567-89ab-cdef-0123456789ab"
POLICY_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup"
IMAGE_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/3"
T0 = datetime.datetime(2026, 11, 28, 6, 0, 0, tzinfo=datetime.timezone.utc)

# The shared page size and fake credentials (tests/support), under the names the unit tests use.
PAGE_SIZE = fake_aws.PAGE_SIZE
POLICY_PAGE_SIZE = fake_aws.POLICY_PAGE_SIZE
FAKE_ACCESS_KEY = fake_aws.FAKE_ACCESS_KEY
FAKE_SECRET_KEY = fake_aws.FAKE_SECRET_KEY


def execution(status="SUCCESS", execution_id=EXECUTION_ID, start=T0, **extra):
    answer = {
        "lifecycleExecutionId": execution_id,
        "lifecyclePolicyArn": POLICY_ARN,
        "resourcesImpactedSummary": {"hasImpactedResources": True},
        "state": {"status": status},
        "startTime": start,
    }
    answer.update(extra)
    return answer


def execution_id(n):
    return f"lce-00000000-0000-4000-8000-{n:012d}"


def gets(stubber, *statuses):
    """GetLifecycleExecution of EXECUTION_ID answering each of these statuses in turn."""
    for status in statuses:
        stubber.add_response(
            "get_lifecycle_execution", {"lifecycleExecution": execution(status)}, {"lifecycleExecutionId": EXECUTION_ID}
        )


def errors(stubber, operation, times=1, code="CallRateLimitExceededException", status=429):
    """``times`` answers of ``operation`` that are the service's error ``code``."""
    for _dummy in range(times):
        stubber.add_client_error(operation, service_error_code=code, http_status_code=status)


# DescribeImages as the modules ask it: this account's AMIs, deprecated and disabled ones included.
EC2_SCOPE = {"Owners": ["self"], "IncludeDeprecated": True, "IncludeDisabled": True}


def described(stubber, ami_ids, images, next_token=None, **params):
    """One DescribeImages of these AMI IDs (one region's batch), answering ``images`` (and ``next_token``)."""
    expected = dict(EC2_SCOPE, Filters=[{"Name": "image-id", "Values": sorted(ami_ids)}], **params)
    answer = {"Images": images, **({"NextToken": next_token} if next_token else {})}
    stubber.add_response("describe_images", answer, expected)


def every_policy(stubber, names=()):
    """The name-conflict check before a create: every policy, unfiltered, here those named ``names``."""
    summaries = [{"arn": POLICY_ARN.replace("golden-ami-cleanup", name), "name": name} for name in names]
    stubber.add_response(
        "list_lifecycle_policies", {"lifecyclePolicySummaryList": summaries}, {"maxResults": POLICY_PAGE_SIZE}
    )


def found_by_name(stubber, current, name="golden-ami-cleanup", arn=POLICY_ARN):
    """A policy looked up by name as the modules do: the name filter, then the policy in full when it is there."""
    stubber.add_response(
        "list_lifecycle_policies",
        {"lifecyclePolicySummaryList": [{"arn": arn, "name": name}] if current else []},
        {"filters": [{"name": "name", "values": [name]}], "maxResults": POLICY_PAGE_SIZE},
    )
    if current:
        stubber.add_response("get_lifecycle_policy", {"lifecyclePolicy": current}, {"lifecyclePolicyArn": arn})


# --- image build versions, as ListImageBuildVersions lists them (the preview's reads) -----------------------------

BUILDS_PAGE = fake_aws.page_size("ListImageBuildVersions")
IMAGES_PAGE = fake_aws.page_size("ListImages")
VERSION_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/%s/%s"


def summary(name, version, build=1, created="2026-01-02T03:04:05.000Z", tags=None, amis=None):
    return {
        "arn": (VERSION_ARN % (name, version)) + "/%d" % build,
        "name": name,
        "type": "AMI",
        "version": f"{version}/{build}",
        "dateCreated": created,
        "tags": tags or {},
        "outputResources": {"amis": amis or []},
    }


def builds(stubber, items, **params):
    stubber.add_response("list_image_build_versions", {"imageSummaryList": items}, dict(params, maxResults=BUILDS_PAGE))


def listing(c, stubber, items, image_type, name=None):
    """The calls the installed model calls for: one listing, or (botocore 1.35.0 requires imageVersionArn) ListImages
    and then each version's listing."""
    filters = [{"name": "type", "values": [image_type]}] + ([{"name": "name", "values": [name]}] if name else [])
    if lifecycle_preview.one_listing_for_all(c):
        builds(stubber, items, filters=filters)
        return
    versions = {item["arn"].rsplit("/", 1)[0]: item for item in items}
    answer = {
        "imageVersionList": [
            {"arn": arn, "name": i["name"], "version": i["version"].split("/")[0]} for arn, i in versions.items()
        ]
    }
    stubber.add_response("list_images", answer, {"filters": filters, "maxResults": IMAGES_PAGE})
    for arn in versions:
        builds(stubber, [item for item in items if item["arn"].startswith(arn + "/")], imageVersionArn=arn)


# What the installed botocore's models have, for the safety checks' tests: the floor leg's botocore lacks some.
LIVE_INSTANCE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]


def has_references(ec2):
    return "DescribeImageReferences" in ec2.meta.service_model.operation_names


def has_override_image(autoscaling):
    return "ImageId" in autoscaling.meta.service_model.shape_for("LaunchTemplateOverrides").members


def has_exclusions(rbin):
    return "ExcludeResourceTags" in rbin.meta.service_model.shape_for("GetRuleResponse").members


def has_full_size(ec2):
    return "FullSnapshotSizeInBytes" in ec2.meta.service_model.shape_for("Snapshot").members
