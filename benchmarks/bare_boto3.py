"""The floor the module is measured against: the same API calls from a bare boto3 script, nothing else.

    python benchmarks/bare_boto3.py URL get ID
    python benchmarks/bare_boto3.py URL executions ARN
    python benchmarks/bare_boto3.py URL resources ID

Pages use the largest maxResults the service model allows (the best page size: fewest calls). The answer is
written as JSON to stdout, as the module writes its result; the item count goes to stderr.
Credentials and region come from the environment.
"""

import json
import sys

import boto3


def page_size(client, operation):
    return client.meta.service_model.operation_model(operation).input_shape.members["maxResults"].metadata["max"]


def paginate(client, method, operation, key, **params):
    paginator = client.get_paginator(method)
    items = []
    for page in paginator.paginate(PaginationConfig={"PageSize": page_size(client, operation)}, **params):
        items.extend(page[key])
    return items


def main(url, what, ident):
    client = boto3.session.Session().client("imagebuilder", endpoint_url=url)
    if what == "get":
        answer = client.get_lifecycle_execution(lifecycleExecutionId=ident)["lifecycleExecution"]
        count = 1
    elif what == "executions":
        answer = paginate(
            client, "list_lifecycle_executions", "ListLifecycleExecutions", "lifecycleExecutions", resourceArn=ident
        )
        count = len(answer)
    else:
        answer = client.get_lifecycle_execution(lifecycleExecutionId=ident)["lifecycleExecution"]
        answer["resources"] = paginate(
            client,
            "list_lifecycle_execution_resources",
            "ListLifecycleExecutionResources",
            "resources",
            lifecycleExecutionId=ident,
        )
        count = len(answer["resources"])
    json.dump(answer, sys.stdout, default=str)
    sys.stderr.write(f"{count}\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
