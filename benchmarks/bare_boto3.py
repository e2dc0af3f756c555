"""The floor the module is measured against: the same API calls from a bare boto3 script, nothing else.

    python benchmarks/bare_boto3.py URL get ID PAGE_SIZE
    python benchmarks/bare_boto3.py URL executions ARN PAGE_SIZE
    python benchmarks/bare_boto3.py URL resources ID PAGE_SIZE

    python benchmarks/bare_boto3.py URL preview POLICY_NAME PAGE_SIZE
    python benchmarks/bare_boto3.py URL preview-safety POLICY_NAME PAGE_SIZE REACHED_JSON

``preview`` makes the calls imagebuilder_lifecycle_policy_preview_info makes, in one boto3 session: the policy by
name, every page of its recipes' image build versions (at the model's largest page size for that listing), then per
region the AMIs' DescribeImages in batches of 200 and once more per shared account of the exclusion rules; the
answer is all it read, the count the image build versions. ``preview-safety`` makes the calls the same module makes
with safety_checks: the policy and its image build versions as ``preview`` reads them, then per region (REACHED_JSON,
written by run.py from the module's result: ``{region: {"amis": [...], "deletes": [...]}}``, the AMIs an action
reaches and those a DELETE with snapshots reaches; the floor makes the same calls, it does not evaluate the rules):
DescribeImages of the AMIs, DescribeInstances, DescribeLaunchTemplateVersions ($Default, $Latest) and
DescribeImageReferences in batches, the Auto Scaling groups, a DescribeLaunchTemplateVersions per launch template a
group names, the launch configurations and, where there are deletes, the deleted snapshots (DescribeSnapshots, and
DescribeImages by snapshot) and the Recycle Bin rules (ListRules and GetRule per rule, AMIs and snapshots).
``resources`` reads the tree the module reads with
include_resources: the top-level resources, then every page of
the resources under each image (as ``childResources``); the count is of the resources under the images. PAGE_SIZE
is the largest maxResults the service model allows (the best page size: fewest calls; run.py passes the one the
module asks for). The answer is written as JSON to stdout, as the module writes its result; the item count
goes to stderr. Credentials and region come from the environment. A plain script, not a module of the collection:
it is the floor, and imports boto3 alone.
"""

import json
import re
import sys

import boto3

# An image build version ARN (.../image/NAME/X.Y.Z/N): the top-level resources that have resources under them.
IMAGE_BUILD_VERSION_ARN = r"arn:aws[^:]*:imagebuilder:[^:]+:\d{12}:image/[^/]+/\d+\.\d+\.\d+/\d+"


def paginate(client, method, key, page_size, **params):
    items = []
    for page in client.get_paginator(method).paginate(PaginationConfig={"PageSize": page_size}, **params):
        items.extend(page[key])
    return items


def resource_tree(client, ident, page_size):
    """The tree the module reads: the top-level resources (images), then every page of each image's resources."""
    method = "list_lifecycle_execution_resources"
    resources = paginate(client, method, "resources", page_size, lifecycleExecutionId=ident)
    for resource in resources:
        if re.fullmatch(IMAGE_BUILD_VERSION_ARN, resource.get("resourceId", "")):
            resource["childResources"] = paginate(
                client,
                method,
                "resources",
                page_size,
                lifecycleExecutionId=ident,
                parentResourceId=resource["resourceId"],
            )
    return resources


AMI_BATCH = 200
SCOPE = {"Owners": ["self"], "IncludeDeprecated": True, "IncludeDisabled": True}


def describe_images(ec2, **params):
    images = []
    while True:
        page = ec2.describe_images(**SCOPE, **params)
        images.extend(page["Images"])
        if not page.get("NextToken"):
            return images
        params["NextToken"] = page["NextToken"]


def policy_reads(session, url, name):
    """The policy by name and its recipes' image build versions, as the preview module reads them."""
    client = session.client("imagebuilder", endpoint_url=url)
    model = client.meta.service_model
    largest = model.operation_model("ListImageBuildVersions").input_shape.members["maxResults"].metadata["max"]
    policies_page = model.operation_model("ListLifecyclePolicies").input_shape.members["maxResults"].metadata["max"]
    summaries = paginate(
        client,
        "list_lifecycle_policies",
        "lifecyclePolicySummaryList",
        policies_page,
        filters=[{"name": "name", "values": [name]}],
    )
    arn = next(summary["arn"] for summary in summaries if summary["name"] == name)
    policy = client.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]
    images = []
    for recipe in sorted({recipe["name"] for recipe in policy["resourceSelection"]["recipes"]}):
        filters = [{"name": "type", "values": ["AMI"]}, {"name": "name", "values": [recipe]}]
        images += paginate(client, "list_image_build_versions", "imageSummaryList", largest, filters=filters)
    return policy, images


def preview_reads(url, name):
    """Everything the preview module reads, with the same calls (EC2 clients from the same session)."""
    session = boto3.session.Session()
    policy, images = policy_reads(session, url, name)
    accounts = sorted(
        {
            account
            for detail in policy["policyDetails"]
            for account in (detail.get("exclusionRules") or {}).get("amis", {}).get("sharedAccounts", [])
        }
    )
    by_region = {}
    for summary in images:
        for ami in summary.get("outputResources", {}).get("amis", []):
            by_region.setdefault(ami["region"], []).append(ami["image"])
    amis = {}
    for region, ids in sorted(by_region.items()):
        ec2 = session.client("ec2", region_name=region, endpoint_url=url)
        ids = sorted(set(ids))
        for start in range(0, len(ids), AMI_BATCH):
            batch = [{"Name": "image-id", "Values": ids[start : start + AMI_BATCH]}]
            amis[region] = amis.get(region, []) + describe_images(ec2, Filters=batch)
            for account in accounts:
                amis[f"{region} {account}"] = amis.get(f"{region} {account}", []) + describe_images(
                    ec2, Filters=batch, ExecutableUsers=[account]
                )
    return {"policy": policy, "images": images, "amis": amis}, len(images)


# The largest pages that models state in their documentation only (as the module's _common.DOCUMENTED_PAGE_SIZES).
DOCUMENTED_PAGE_SIZES = {
    "DescribeAutoScalingGroups": 100,
    "DescribeLaunchConfigurations": 100,
    "DescribeLaunchTemplateVersions": 200,
}


def listing(client, method, key, **params):
    """Every item of an EC2, Auto Scaling or Recycle Bin listing, at the largest page its model allows (none stated:
    the service's own page, as the module asks)."""
    operation = client.meta.method_to_api_mapping[method]
    members = client.meta.service_model.operation_model(operation).input_shape.members
    size = next(name for name in ("MaxResults", "MaxRecords") if name in members)
    largest = members[size].metadata.get("max", DOCUMENTED_PAGE_SIZES.get(operation))
    if largest is not None:
        params[size] = largest
    items = []
    while True:
        page = getattr(client, method)(**params)
        items.extend(page[key])
        if not page.get("NextToken"):
            return items
        params["NextToken"] = page["NextToken"]


def batched(values, size):
    values = sorted(set(values))
    return [values[start : start + size] for start in range(0, len(values), size)]


LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
IMAGE_SCOPE = {"Owners": ["self"], "IncludeDeprecated": True, "IncludeDisabled": True}


def safety_reads(session, url, region, amis, deletes):
    """The safety checks' reads of one region (the module's module_utils/lifecycle_safety.py)."""
    ec2 = session.client("ec2", region_name=region, endpoint_url=url)
    autoscaling = session.client("autoscaling", region_name=region, endpoint_url=url)
    read = {"images": [], "instances": [], "versions": [], "references": [], "snapshots": [], "snapshot_images": []}
    for batch in batched(amis, AMI_BATCH):
        image_id = [{"Name": "image-id", "Values": batch}]
        read["images"] += describe_images(ec2, Filters=image_id)
        read["instances"] += listing(
            ec2,
            "describe_instances",
            "Reservations",
            Filters=image_id + [{"Name": "instance-state-name", "Values": LIVE_STATES}],
        )
    for version in ("$Default", "$Latest"):
        for batch in batched(amis, AMI_BATCH):
            read["versions"] += listing(
                ec2,
                "describe_launch_template_versions",
                "LaunchTemplateVersions",
                Versions=[version],
                Filters=[{"Name": "image-id", "Values": batch}],
            )
    for batch in batched(amis, 10):
        read["references"] += listing(
            ec2, "describe_image_references", "ImageReferences", ImageIds=batch, IncludeAllResourceTypes=True
        )
    groups = listing(autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups")
    named = {}
    for group in groups:
        mixed = (group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}
        specs = [group.get("LaunchTemplate"), mixed.get("LaunchTemplateSpecification")]
        specs += [override.get("LaunchTemplateSpecification") for override in mixed.get("Overrides") or []]
        for spec in filter(None, specs):
            key = (
                ("LaunchTemplateId", spec["LaunchTemplateId"])
                if spec.get("LaunchTemplateId")
                else (
                    "LaunchTemplateName",
                    spec["LaunchTemplateName"],
                )
            )
            named.setdefault(key, set()).add(spec.get("Version") or "$Default")
    read["groups"] = groups
    for (member, value), versions in sorted(named.items()):
        read["versions"] += listing(
            ec2,
            "describe_launch_template_versions",
            "LaunchTemplateVersions",
            Versions=sorted(versions),
            ResolveAlias=True,
            **{member: value},
        )
    read["configurations"] = listing(autoscaling, "describe_launch_configurations", "LaunchConfigurations")
    if not deletes:
        return read
    snapshot_of = {
        image["ImageId"]: [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings") or [] if "Ebs" in m]
        for image in read["images"]
    }
    snapshots = [snap for ami in deletes for snap in snapshot_of.get(ami, [])]
    for batch in batched(snapshots, AMI_BATCH):
        read["snapshots"] += listing(
            ec2,
            "describe_snapshots",
            "Snapshots",
            OwnerIds=["self"],
            Filters=[{"Name": "snapshot-id", "Values": batch}],
        )
    for batch in batched(snapshots, AMI_BATCH):
        read["snapshot_images"] += describe_images(
            ec2, Filters=[{"Name": "block-device-mapping.snapshot-id", "Values": batch}]
        )
    rbin = session.client("rbin", region_name=region, endpoint_url=url)
    read["rules"] = []
    for resource_type in ("EC2_IMAGE", "EBS_SNAPSHOT"):
        for summary in listing(rbin, "list_rules", "Rules", ResourceType=resource_type):
            read["rules"].append(rbin.get_rule(Identifier=summary["Identifier"]))
    return read


def preview_safety_reads(url, name, reached_path):
    """What the preview module reads with safety_checks, with the same calls, in one boto3 session."""
    with open(reached_path, encoding="utf-8") as handle:
        reached = json.load(handle)
    session = boto3.session.Session()
    policy, images = policy_reads(session, url, name)
    regions = {
        region: safety_reads(session, url, region, found["amis"], found["deletes"])
        for region, found in sorted(reached.items())
    }
    return {"policy": policy, "images": images, "regions": regions}, len(images)


def main(url, what, ident, page_size, reached=None):
    if what == "preview-safety":
        answer, count = preview_safety_reads(url, ident, reached)
        json.dump(answer, sys.stdout, default=str)
        sys.stderr.write(f"{count}\n")
        return
    if what == "preview":
        answer, count = preview_reads(url, ident)
        json.dump(answer, sys.stdout, default=str)
        sys.stderr.write(f"{count}\n")
        return
    client = boto3.session.Session().client("imagebuilder", endpoint_url=url)
    page_size = int(page_size)
    if what == "get":
        answer = client.get_lifecycle_execution(lifecycleExecutionId=ident)["lifecycleExecution"]
        count = 1
    elif what == "executions":
        answer = paginate(client, "list_lifecycle_executions", "lifecycleExecutions", page_size, resourceArn=ident)
        count = len(answer)
    else:
        answer = client.get_lifecycle_execution(lifecycleExecutionId=ident)["lifecycleExecution"]
        answer["resources"] = resource_tree(client, ident, page_size)
        count = sum(len(resource.get("childResources", ())) for resource in answer["resources"])
    json.dump(answer, sys.stdout, default=str)
    sys.stderr.write(f"{count}\n")


if __name__ == "__main__":
    main(*sys.argv[1:6])
