"""The floor the module is measured against: the same API calls from a bare boto3 script, nothing else.

    python benchmarks/bare_boto3.py URL get ID PAGE_SIZE
    python benchmarks/bare_boto3.py URL executions ARN PAGE_SIZE
    python benchmarks/bare_boto3.py URL resources ID PAGE_SIZE

    python benchmarks/bare_boto3.py URL preview POLICY_NAME PAGE_SIZE

``preview`` makes the calls imagebuilder_lifecycle_policy_preview_info makes, in one boto3 session: the policy by
name, every page of its recipes' image build versions (at the model's largest page size for that listing), then per
region the AMIs' DescribeImages in batches of 200 and once more per shared account of the exclusion rules; the
answer is all it read, the count the image build versions. ``resources`` reads the tree the module reads with
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


def preview_reads(url, name):
    """Everything the preview module reads, with the same calls (EC2 clients from the same session)."""
    session = boto3.session.Session()
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


def main(url, what, ident, page_size):
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
    main(*sys.argv[1:5])
