"""The floor the module is measured against: the same API calls from a bare boto3 script, nothing else.

    python benchmarks/bare_boto3.py URL get ID PAGE_SIZE
    python benchmarks/bare_boto3.py URL executions ARN PAGE_SIZE
    python benchmarks/bare_boto3.py URL resources ID PAGE_SIZE

``resources`` reads the tree the module reads with include_resources: the top-level resources, then every page of
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


def main(url, what, ident, page_size):
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
