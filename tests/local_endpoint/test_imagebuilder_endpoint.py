"""Tests for the local Image Builder endpoint, driven through a real boto3 client so botocore's parser is the judge."""

import datetime
import http.client
import inspect
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import boto3
import botocore.exceptions
import botocore.httpsession
import pytest
from botocore.config import Config

from ansible_collections.imagebuilder_ops.aws.tests.local_endpoint import imagebuilder_endpoint as endpoint_module
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_ACCESS_KEY
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_SECRET_KEY as SECRET_KEY
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import PAGE_SIZE as MAX_RESULTS_HIGH

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "scenarios")
SCRIPT = os.path.join(HERE, "imagebuilder_endpoint.py")
LocalEndpoint = endpoint_module.LocalEndpoint

ACCOUNT = "123456789012"
ARN = f"arn:aws:imagebuilder:us-east-1:{ACCOUNT}:"
POLICY = ARN + "lifecycle-policy/golden-ami-cleanup"
NIGHTLY = ARN + "lifecycle-policy/nightly-sweep"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ImageBuilderLifecycleRole"
# A StartResourceStateUpdate that includes underlying resources, so it runs as a lifecycle execution.
WITH_AMIS = {"includeResources": {"amis": True}, "executionRole": ROLE}


def lce(number):
    return f"lce-00000000-0000-4000-8000-{number:012d}"


def image(version):
    return ARN + "image/golden-ami/" + version


def make_client(url, **config):
    config.setdefault("retries", {"total_max_attempts": 1})
    return boto3.client(
        "imagebuilder",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(**config),
    )


def status_of(client, execution_id):
    return client.get_lifecycle_execution(lifecycleExecutionId=execution_id)["lifecycleExecution"]["state"]["status"]


def polls(client, execution_id, count):
    """The statuses of ``count`` consecutive GetLifecycleExecution calls, as a waiter would see them."""
    return [status_of(client, execution_id) for _poll in range(count)]


def error_of(excinfo):
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def control(url, method, path, document=None):
    data = None if document is None else json.dumps(document).encode()
    request = urllib.request.Request(url + "/_endpoint/" + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status, json.loads(answer.read())


@pytest.fixture(scope="module")
def endpoint():
    with LocalEndpoint(os.path.join(SCENARIOS, "integration.json")) as ep:
        yield ep


@pytest.fixture
def ep(endpoint):
    endpoint.reset()
    return endpoint


@pytest.fixture
def client(ep):
    return make_client(ep.url)


# -- round trips through botocore's parser -----------------------------------------------------------------------------


def test_demo_scenario_round_trips_every_field():
    with LocalEndpoint(os.path.join(SCENARIOS, "demo.json")) as ep:
        client = make_client(ep.url)
        execution = client.get_lifecycle_execution(lifecycleExecutionId=lce(1))["lifecycleExecution"]
        assert execution["lifecyclePolicyArn"] == POLICY
        assert execution["state"] == {"status": "SUCCESS"}
        assert execution["resourcesImpactedSummary"] == {"hasImpactedResources": False}
        assert isinstance(execution["startTime"], datetime.datetime)
        assert execution["endTime"] - execution["startTime"] == datetime.timedelta(minutes=4, seconds=12)

        failed = client.get_lifecycle_execution(lifecycleExecutionId=lce(3))["lifecycleExecution"]
        assert failed["state"]["status"] == "FAILED"
        assert "ec2:DeregisterImage" in failed["state"]["reason"]

        ami_parent = ARN + "image/golden-ami/1.0.0/3"
        amis = client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(2), parentResourceId=ami_parent)
        assert amis["lifecycleExecutionId"] == lce(2)
        assert amis["lifecycleExecutionState"] == {"status": "PENDING"}
        assert [r["resourceId"] for r in amis["resources"]] == ["ami-0a1b2c3d4e5f60001", "ami-0a1b2c3d4e5f60003"]
        assert [s["snapshotId"] for s in amis["resources"][0]["snapshots"]] == [
            "snap-0a1b2c3d4e5f60001",
            "snap-0a1b2c3d4e5f60002",
        ]
        assert "parentResourceId" not in amis["resources"][0]
        assert isinstance(amis["resources"][0]["endTime"], datetime.datetime)

        container_parent = ARN + "image/golden-container/1.0.0/1"
        containers = client.list_lifecycle_execution_resources(
            lifecycleExecutionId=lce(2), parentResourceId=container_parent
        )
        assert containers["resources"][0]["imageUris"][0].endswith("golden-container:1.0.0-1")


def test_list_without_parent_returns_only_top_level_resources(client):
    top = client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(108))["resources"]
    assert [r["resourceId"] for r in top] == [image("1.0.0/1"), image("1.0.0/2")]


def test_ten_thousand_amis_sit_under_their_image(client):
    top = client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(109))
    assert [r["resourceId"] for r in top["resources"]] == [image("0.9.0/1")] and "nextToken" not in top
    under = client.list_lifecycle_execution_resources(
        lifecycleExecutionId=lce(109), parentResourceId=image("0.9.0/1"), maxResults=25
    )
    assert under["resources"][0]["resourceId"] == "ami-00000000000000001" and "nextToken" in under


@pytest.mark.parametrize("parent", [image("1.0.0/1"), "ami-00000000000000001", image("0.9.0")])
def test_a_parent_that_is_not_part_of_the_execution_lists_nothing(client, parent):
    answer = client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(109), parentResourceId=parent)
    assert answer["resources"] == [] and "nextToken" not in answer


@pytest.mark.parametrize("name", ["demo.json", "integration.json"])
def test_scenario_resources_form_the_tree_the_service_returns(name):
    """Top level: Image Builder images (build version ARNs); beneath one of them: its AMIs, snapshots, containers."""
    with open(os.path.join(SCENARIOS, name), encoding="utf-8") as handle:
        scenario = json.load(handle)
    build_version = endpoint_module.ServiceModel.get().image_build_version_arn
    for execution in scenario["executions"]:
        top = [r["resourceId"] for r in execution.get("resources", []) if "parentResourceId" not in r]
        assert all(build_version.search(arn) for arn in top), (execution["lifecycleExecutionId"], top)
        parents = {r["parentResourceId"] for r in execution.get("resources", []) if "parentResourceId" in r}
        if execution.get("generate_resources"):
            parents.add(execution.get("generate_resources_parent"))
        assert parents <= set(top), (execution["lifecycleExecutionId"], parents - set(top))


def test_list_executions_for_an_image_returns_only_the_state_updates_started_for_it(client):
    # Policy executions 101, 102, 103, 106 and 108 touch this image too; listing the image does not show them.
    listed = client.list_lifecycle_executions(resourceArn=image("1.0.0/1"))["lifecycleExecutions"]
    assert [e["lifecycleExecutionId"] for e in listed] == [lce(110), lce(111)]
    assert [e["state"]["status"] for e in listed] == ["SUCCESS", "FAILED"]
    assert all("lifecyclePolicyArn" not in e for e in listed)
    assert all(isinstance(e["startTime"], datetime.datetime) for e in listed)


def test_list_executions_for_a_policy_returns_only_its_executions(client):
    listed = client.list_lifecycle_executions(resourceArn=POLICY)["lifecycleExecutions"]
    assert [e["lifecycleExecutionId"] for e in listed] == [lce(n) for n in range(101, 110)]
    assert {e["lifecyclePolicyArn"] for e in listed} == {POLICY}


@pytest.mark.parametrize(
    "arn",
    [
        ARN + "image-recipe/golden-ami/1.0.0",
        ARN + "image/golden-ami/1.0.0",
        ARN + "image/golden-ami",
        ARN + "image-pipeline/golden-ami",
        ARN + "component/hardening/1.0.0/1",
        "arn:aws:imagebuilder:us-east-1:aws:image/amazon-linux-2023-x86/x.x.x",
    ],
)
def test_list_executions_refuses_other_arn_types(client, arn):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.list_lifecycle_executions(resourceArn=arn)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert arn in message and "Other ARN types aren't valid for this request" in message


def test_image_held_by_a_policy_execution_is_busy_though_its_listing_is_empty(client):
    assert client.list_lifecycle_executions(resourceArn=image("2.0.0/1"))["lifecycleExecutions"] == []
    with pytest.raises(client.exceptions.ResourceInUseException, match=lce(104)):
        client.start_resource_state_update(resourceArn=image("2.0.0/1"), state={"status": "DEPRECATED"}, **WITH_AMIS)


def test_image_held_by_a_state_update_is_busy_and_its_listing_shows_the_holder(client):
    listed = client.list_lifecycle_executions(resourceArn=image("4.0.0/1"))["lifecycleExecutions"]
    assert [(e["lifecycleExecutionId"], e["state"]["status"]) for e in listed] == [(lce(112), "IN_PROGRESS")]
    with pytest.raises(client.exceptions.ResourceInUseException, match=lce(112)):
        client.start_resource_state_update(resourceArn=image("4.0.0/1"), state={"status": "DEPRECATED"}, **WITH_AMIS)


def test_unknown_policy_lists_nothing(client):
    assert client.list_lifecycle_executions(resourceArn=ARN + "lifecycle-policy/no-such")["lifecycleExecutions"] == []


# -- timelines ---------------------------------------------------------------------------------------------------------


def test_count_timeline_advances_once_per_get(client):
    answers = [
        client.get_lifecycle_execution(lifecycleExecutionId=lce(101))["lifecycleExecution"] for _attempt in range(5)
    ]
    assert [a["state"]["status"] for a in answers] == ["PENDING", "IN_PROGRESS", "IN_PROGRESS", "SUCCESS", "SUCCESS"]
    assert ["endTime" in a for a in answers] == [False, False, False, True, True]
    assert answers[3]["endTime"] == answers[4]["endTime"]


def test_listing_does_not_advance_a_timeline(client):
    for _attempt in range(3):
        listed = client.list_lifecycle_executions(resourceArn=POLICY)["lifecycleExecutions"]
        assert listed[0]["state"]["status"] == "PENDING"
        client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(101))
    assert status_of(client, lce(101)) == "PENDING"


def test_failed_timeline_reports_the_reason_once_terminal(client):
    states = [
        client.get_lifecycle_execution(lifecycleExecutionId=lce(102))["lifecycleExecution"]["state"]
        for _attempt in range(3)
    ]
    assert states[:2] == [{"status": "IN_PROGRESS"}, {"status": "IN_PROGRESS"}]
    assert states[2]["status"] == "FAILED" and "ec2:DeregisterImage" in states[2]["reason"]


def test_scripted_cancellation_goes_through_cancelling(client):
    assert polls(client, lce(103), 4) == ["IN_PROGRESS", "CANCELLING", "CANCELLING", "CANCELLED"]


def test_stuck_execution_never_finishes(client):
    assert set(polls(client, lce(104), 20)) == {"IN_PROGRESS"}


def test_time_based_timeline_is_measured_from_the_first_get():
    scenario = {
        "executions": [
            {"lifecycleExecutionId": lce(7), "timeline_seconds": [["IN_PROGRESS", 0.3], ["SUCCESS", None]]},
        ]
    }
    with LocalEndpoint(scenario) as ep:
        client = make_client(ep.url)
        time.sleep(0.35)  # before the first Get the clock has not started
        assert status_of(client, lce(7)) == "IN_PROGRESS"
        time.sleep(0.35)
        assert status_of(client, lce(7)) == "SUCCESS"


# -- pagination --------------------------------------------------------------------------------------------------------


def test_paginator_returns_every_execution_once_newest_first(ep, client):
    pages = list(client.get_paginator("list_lifecycle_executions").paginate(resourceArn=NIGHTLY))
    assert [len(page["lifecycleExecutions"]) for page in pages] == [25, 25, 10]
    executions = [e for page in pages for e in page["lifecycleExecutions"]]
    ids = [e["lifecycleExecutionId"] for e in executions]
    assert len(ids) == len(set(ids)) == 60
    starts = [e["startTime"] for e in executions]
    assert starts == sorted(starts, reverse=True)
    assert [r["params"].get("maxResults") for r in ep.requests("ListLifecycleExecutions")] == [None, None, None]


def test_paginator_with_small_pages(client):
    paginator = client.get_paginator("list_lifecycle_executions")
    result = paginator.paginate(resourceArn=NIGHTLY, PaginationConfig={"PageSize": 7}).build_full_result()
    ids = [e["lifecycleExecutionId"] for e in result["lifecycleExecutions"]]
    assert ids == [f"lce-00000060-0000-4000-a000-{n:012x}" for n in range(1, 61)]


def test_resources_paginate_under_a_parent(client):
    paginator = client.get_paginator("list_lifecycle_execution_resources")
    pages = list(paginator.paginate(lifecycleExecutionId=lce(108), parentResourceId=image("1.0.0/1")))
    assert [len(page["resources"]) for page in pages] == [25, 25, 10]
    ids = [r["resourceId"] for page in pages for r in page["resources"]]
    assert len(set(ids)) == 60
    assert all(page["lifecycleExecutionId"] == lce(108) for page in pages)


def test_ten_thousand_resources_page_without_quadratic_work(ep):
    """Compare the server's time for early and late pages over one keep-alive connection (no botocore overhead)."""
    connection = http.client.HTTPConnection("127.0.0.1", int(ep.url.rsplit(":", 1)[1]), timeout=5)
    token, durations, seen = None, [], 0
    while True:
        body = {"lifecycleExecutionId": lce(109), "parentResourceId": image("0.9.0/1")}
        if token:
            body["nextToken"] = token
        started = time.perf_counter()
        connection.request("POST", "/ListLifecycleExecutionResources", body=json.dumps(body))
        page = json.loads(connection.getresponse().read())
        durations.append(time.perf_counter() - started)
        seen += len(page["resources"])
        token = page.get("nextToken")
        if not token:
            break
    connection.close()
    assert seen == 10000 and len(durations) == 400
    early, late = statistics.median(durations[:50]), statistics.median(durations[-50:])
    assert late < early * 3 + 0.002, (early, late)


@pytest.mark.parametrize("max_results", [0, -1, MAX_RESULTS_HIGH + 1])
def test_max_results_outside_the_model_bounds_is_refused(ep, max_results):
    client = make_client(ep.url, parameter_validation=False)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.list_lifecycle_executions(resourceArn=NIGHTLY, maxResults=max_results)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "maxResults" in message


def test_max_results_at_the_model_maximum_is_accepted(client):
    page = client.list_lifecycle_executions(resourceArn=NIGHTLY, maxResults=MAX_RESULTS_HIGH)
    assert len(page["lifecycleExecutions"]) == min(60, MAX_RESULTS_HIGH)


def test_max_results_bounds_come_from_the_model(ep):
    model = endpoint_module.ServiceModel.get()
    for operation in ("ListLifecycleExecutions", "ListLifecycleExecutionResources"):
        shape = model.operations[operation].input_shape.members["maxResults"]
        assert model.page_bounds(operation) == (shape.metadata["min"], shape.metadata["max"], 25)


def test_unknown_or_foreign_token_is_refused(client):
    first = client.list_lifecycle_executions(resourceArn=NIGHTLY)
    with pytest.raises(client.exceptions.InvalidPaginationTokenException):
        client.list_lifecycle_executions(resourceArn=NIGHTLY, nextToken="not-a-token")
    with pytest.raises(client.exceptions.InvalidPaginationTokenException):
        client.list_lifecycle_executions(resourceArn=POLICY, nextToken=first["nextToken"])
    again = client.list_lifecycle_executions(resourceArn=NIGHTLY, nextToken=first["nextToken"])
    assert again["lifecycleExecutions"][0]["lifecycleExecutionId"] == "lce-00000060-0000-4000-a000-00000000001a"


# -- request validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id", ["lce-1", "lce-00000000-0000-4000-8000-00000000000G", "00000000-0000-4000-8000-000000000001"]
)
def test_malformed_execution_id_is_refused_by_pattern(client, bad_id):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.get_lifecycle_execution(lifecycleExecutionId=bad_id)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "'lifecycleExecutionId'" in message and "regular expression pattern" in message


def test_malformed_resource_arn_and_role_are_refused(client):
    with pytest.raises(client.exceptions.InvalidRequestException, match="resourceArn"):
        client.list_lifecycle_executions(resourceArn="arn:aws:ec2:us-east-1:123456789012:image/ami-1")
    with pytest.raises(client.exceptions.InvalidRequestException, match="executionRole"):
        client.start_resource_state_update(
            resourceArn=image("3.0.0/1"), state={"status": "DEPRECATED"}, executionRole="bad role!"
        )
    with pytest.raises(client.exceptions.InvalidRequestException, match="resourceArn"):
        client.start_resource_state_update(resourceArn=image("3.0.0"), state={"status": "DEPRECATED"})


def test_unknown_body_member_is_refused(ep):
    # The model has no lifecyclePolicyArn input for ListLifecycleExecutions: a policy ARN goes in resourceArn.
    request = urllib.request.Request(
        ep.url + "/ListLifecycleExecutions",
        data=json.dumps({"lifecyclePolicyArn": POLICY}).encode(),
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=5)  # pylint: disable=consider-using-with
    assert excinfo.value.code == 400
    assert excinfo.value.headers["x-amzn-ErrorType"] == "InvalidRequestException"
    assert "lifecyclePolicyArn" in json.loads(excinfo.value.read())["message"]


def test_missing_required_member_is_refused(ep):
    client = make_client(ep.url, parameter_validation=False)
    with pytest.raises(client.exceptions.InvalidRequestException, match="'resourceArn'.*null"):
        client.list_lifecycle_executions()


def test_unknown_execution_is_not_found(client):
    missing = "lce-0000dead-0000-4000-8000-000000000000"
    for call in (client.get_lifecycle_execution, client.list_lifecycle_execution_resources):
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            call(lifecycleExecutionId=missing)
        code, status, message = error_of(excinfo)
        assert (code, status) == ("ResourceNotFoundException", 404)
        assert missing in message


def test_unimplemented_operation_is_reported(ep, client):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.list_image_pipelines()
    code, status, message = error_of(excinfo)
    assert (code, status) == ("UnknownOperationException", 404)
    assert "ListImagePipelines" in message


# -- cancel and start --------------------------------------------------------------------------------------------------


def test_cancel_moves_through_cancelling_after_scripted_polls(client):
    assert client.cancel_lifecycle_execution(lifecycleExecutionId=lce(105))["lifecycleExecutionId"] == lce(105)
    assert polls(client, lce(105), 4) == ["CANCELLING", "CANCELLING", "CANCELLED", "CANCELLED"]
    assert client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(105))["lifecycleExecutionState"] == {
        "status": "CANCELLED"
    }


def test_cancel_default_is_one_cancelling_poll(client):
    client.cancel_lifecycle_execution(lifecycleExecutionId=lce(104))
    assert polls(client, lce(104), 3) == ["CANCELLING", "CANCELLED", "CANCELLED"]


def test_cancel_is_refused_once_cancelling_or_terminal(client):
    client.cancel_lifecycle_execution(lifecycleExecutionId=lce(104))
    for execution_id, status in ((lce(104), "CANCELLING"), (lce(106), "SUCCESS")):
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            client.cancel_lifecycle_execution(lifecycleExecutionId=execution_id)
        code, http_status, message = error_of(excinfo)
        assert (code, http_status) == ("ResourceInUseException", 400)
        assert execution_id in message and status in message


def test_cancel_is_idempotent_by_client_token(ep, client):
    token = str(uuid.uuid4())
    first = client.cancel_lifecycle_execution(lifecycleExecutionId=lce(104), clientToken=token)
    again = client.cancel_lifecycle_execution(lifecycleExecutionId=lce(104), clientToken=token)
    assert first["lifecycleExecutionId"] == again["lifecycleExecutionId"] == lce(104)
    with pytest.raises(client.exceptions.IdempotentParameterMismatchException):
        client.cancel_lifecycle_execution(lifecycleExecutionId=lce(105), clientToken=token)
    assert [r["status"] for r in ep.requests("CancelLifecycleExecution")] == [200, 200, 400]


def test_start_creates_an_execution_with_the_default_timeline(client):
    started = client.start_resource_state_update(
        resourceArn=image("3.0.0/1"), state={"status": "DEPRECATED"}, **WITH_AMIS
    )
    execution_id = started["lifecycleExecutionId"]
    assert re.fullmatch(r"lce-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", execution_id)
    assert started["resourceArn"] == image("3.0.0/1")
    listed = client.list_lifecycle_executions(resourceArn=image("3.0.0/1"))["lifecycleExecutions"]
    assert [e["lifecycleExecutionId"] for e in listed] == [execution_id]
    assert "lifecyclePolicyArn" not in listed[0]
    top = client.list_lifecycle_execution_resources(lifecycleExecutionId=execution_id)["resources"]
    assert [(r["resourceId"], r["action"]["name"]) for r in top] == [(image("3.0.0/1"), "DEPRECATE")]
    children = client.list_lifecycle_execution_resources(
        lifecycleExecutionId=execution_id, parentResourceId=image("3.0.0/1")
    )["resources"]
    assert {r["action"]["name"] for r in children} == {"DEPRECATE"} and len(children) == 2
    assert polls(client, execution_id, 5) == [
        "PENDING",
        "IN_PROGRESS",
        "IN_PROGRESS",
        "SUCCESS",
        "SUCCESS",
    ]


def test_start_is_idempotent_and_refuses_a_busy_image(client):
    token = str(uuid.uuid4())
    first = client.start_resource_state_update(
        resourceArn=image("3.0.0/1"), state={"status": "DISABLED"}, clientToken=token, **WITH_AMIS
    )
    again = client.start_resource_state_update(
        resourceArn=image("3.0.0/1"), state={"status": "DISABLED"}, clientToken=token, **WITH_AMIS
    )
    assert first["lifecycleExecutionId"] == again["lifecycleExecutionId"]
    assert len(client.list_lifecycle_executions(resourceArn=image("3.0.0/1"))["lifecycleExecutions"]) == 1
    with pytest.raises(client.exceptions.IdempotentParameterMismatchException):
        client.start_resource_state_update(
            resourceArn=image("3.0.0/1"), state={"status": "DEPRECATED"}, clientToken=token, **WITH_AMIS
        )
    with pytest.raises(client.exceptions.ResourceInUseException, match=first["lifecycleExecutionId"]):
        client.start_resource_state_update(resourceArn=image("3.0.0/1"), state={"status": "DISABLED"}, **WITH_AMIS)


def test_start_on_unknown_image_is_not_found(client):
    for request in ({"state": {"status": "DEPRECATED"}}, dict(WITH_AMIS, state={"status": "DEPRECATED"})):
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            client.start_resource_state_update(resourceArn=image("9.9.9/9"), **request)
        assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


IN_A_YEAR = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=365)


@pytest.mark.parametrize(
    "request_, starts_execution",
    [
        ({"state": {"status": "DEPRECATED"}}, False),
        ({"state": {"status": "DISABLED"}}, False),
        ({"state": {"status": "AVAILABLE"}}, False),
        # An includeResources that includes nothing counts as absent.
        ({"state": {"status": "DISABLED"}, "includeResources": {"amis": False, "snapshots": False}}, False),
        ({"state": {"status": "DEPRECATED"}, "exclusionRules": {"amis": {"isPublic": True}}}, False),
        ({"state": {"status": "DEPRECATED"}, **WITH_AMIS}, True),
        ({"state": {"status": "AVAILABLE"}, **WITH_AMIS}, True),
        ({"state": {"status": "DELETED"}, "includeResources": {"snapshots": True}, "executionRole": ROLE}, True),
        ({"state": {"status": "DELETED"}, "includeResources": {"containers": True}, "executionRole": "Role"}, True),
        (
            {
                "state": {"status": "DELETED"},
                "includeResources": {"amis": True, "snapshots": True, "containers": False},
                "executionRole": ROLE,
                "exclusionRules": {"amis": {"regions": ["eu-west-1"], "lastLaunched": {"value": 7, "unit": "DAYS"}}},
            },
            True,
        ),
        ({"state": {"status": "DEPRECATED"}, "updateAt": IN_A_YEAR}, True),
        ({"state": {"status": "DEPRECATED"}, "updateAt": IN_A_YEAR, **WITH_AMIS}, True),
    ],
)
def test_start_runs_an_execution_only_for_underlying_resources_or_a_schedule(client, request_, starts_execution):
    answer = client.start_resource_state_update(resourceArn=image("3.0.0/1"), **request_)
    answer.pop("ResponseMetadata")
    listed = client.list_lifecycle_executions(resourceArn=image("3.0.0/1"))["lifecycleExecutions"]
    if starts_execution:
        assert set(answer) == {"resourceArn", "lifecycleExecutionId"}
        assert [e["lifecycleExecutionId"] for e in listed] == [answer["lifecycleExecutionId"]]
    else:
        assert answer == {"resourceArn": image("3.0.0/1")}
        assert listed == []


@pytest.mark.parametrize(
    "request_, words",
    [
        ({"state": {"status": "DEPRECATED"}, "executionRole": ROLE}, "executionRole.*includeResources"),
        ({"state": {"status": "DEPRECATED"}, "includeResources": {"amis": True}}, "includeResources.*executionRole"),
        (
            {"state": {"status": "DEPRECATED"}, "includeResources": {"amis": False}, "executionRole": ROLE},
            "executionRole.*includeResources",
        ),
        (
            {
                "state": {"status": "DEPRECATED"},
                "includeResources": {"amis": True, "snapshots": True},
                "executionRole": ROLE,
            },
            "snapshots.*DELETED.*DEPRECATED",
        ),
        (
            {"state": {"status": "DISABLED"}, "includeResources": {"containers": True}, "executionRole": ROLE},
            "containers.*DELETED.*DISABLED",
        ),
        ({"state": {"status": "DELETED"}}, "DELETED.*includeResources"),
        ({"state": {"status": "DELETED"}, "includeResources": {"amis": False}}, "DELETED.*includeResources"),
        ({"state": {"status": "DISABLED"}, "updateAt": IN_A_YEAR}, "updateAt.*DEPRECATED.*DISABLED"),
        (
            {"state": {"status": "DELETED"}, "updateAt": IN_A_YEAR, **WITH_AMIS},
            "updateAt.*DEPRECATED.*DELETED",
        ),
        (
            {
                "state": {"status": "DEPRECATED"},
                "updateAt": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
            },
            "updateAt 2024-01-01T00:00:00.*future",
        ),
    ],
)
def test_start_refuses_what_the_model_rules_out_before_changing_anything(ep, client, request_, words):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.start_resource_state_update(resourceArn=image("3.0.0/1"), **request_)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidRequestException", 400)
    assert re.search(words, message), message
    assert client.list_lifecycle_executions(resourceArn=image("3.0.0/1"))["lifecycleExecutions"] == []
    # Refused, not remembered: the same token with a valid request is a first request, not a mismatch.
    token = ep.requests("StartResourceStateUpdate")[0]["params"]["clientToken"]
    again = client.start_resource_state_update(
        resourceArn=image("3.0.0/1"), state={"status": "DEPRECATED"}, clientToken=token, **WITH_AMIS
    )
    assert "lifecycleExecutionId" in again


def test_start_refuses_rule_breaks_before_looking_up_the_image(client):
    with pytest.raises(client.exceptions.InvalidRequestException, match="DELETED"):
        client.start_resource_state_update(resourceArn=image("9.9.9/9"), state={"status": "DELETED"})


def test_immediate_change_is_not_refused_on_a_busy_image(client):
    # The model refuses only a request that starts an execution while the image has one in progress.
    answer = client.start_resource_state_update(resourceArn=image("2.0.0/1"), state={"status": "DISABLED"})
    assert "lifecycleExecutionId" not in answer and answer["resourceArn"] == image("2.0.0/1")


def test_scheduled_start_replays_its_first_answer_after_the_time_has_passed(client):
    token = str(uuid.uuid4())
    # Whole seconds: botocore 1.43 sends timestamps as integer epoch seconds.
    soon = int(time.time()) + 2
    request = {"resourceArn": image("3.0.0/1"), "state": {"status": "DEPRECATED"}, "updateAt": soon}
    first = client.start_resource_state_update(clientToken=token, **request)
    time.sleep(soon - time.time() + 0.05)
    again = client.start_resource_state_update(clientToken=token, **request)
    assert again["lifecycleExecutionId"] == first["lifecycleExecutionId"]
    with pytest.raises(client.exceptions.InvalidRequestException, match="future"):
        client.start_resource_state_update(**request)


def test_start_sends_update_at_as_epoch_seconds(ep, client):
    when = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    client.start_resource_state_update(resourceArn=image("3.0.0/1"), state={"status": "DEPRECATED"}, updateAt=when)
    assert ep.requests("StartResourceStateUpdate")[0]["params"]["updateAt"] == when.timestamp()


# -- faults ------------------------------------------------------------------------------------------------------------


MODELED_ERRORS = sorted(
    {
        error.name
        for operation in endpoint_module.OPERATIONS
        for error in endpoint_module.ServiceModel.get().operations[operation].error_shapes
    }
)


@pytest.mark.parametrize("code", MODELED_ERRORS + ["ResourceNotFoundException"])
def test_error_fault_reaches_botocore_with_the_model_status(ep, client, code):
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": "error", "code": code}])
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    expected_status = endpoint_module.ServiceModel.get().model.shape_for(code).metadata["error"]["httpStatusCode"]
    assert error_of(excinfo)[:2] == (code, expected_status)
    assert isinstance(excinfo.value, getattr(client.exceptions, code))
    assert status_of(client, lce(101)) == "PENDING", "a faulted call must not advance the timeline"


def test_unmodeled_error_code_needs_an_explicit_status(ep, client):
    with pytest.raises(endpoint_module.ScenarioError):
        ep.add_faults([{"fault": "error", "code": "ThrottlingException"}])
    ep.add_faults([{"fault": "error", "code": "ThrottlingException", "status": 400}])
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    assert error_of(excinfo)[:2] == ("ThrottlingException", 400)


def test_delay_past_the_read_timeout(ep):
    client = make_client(ep.url, read_timeout=0.2)
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": "delay", "seconds": 0.5}])
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        client.get_lifecycle_execution(lifecycleExecutionId=lce(104))
    assert ep.requests()[-1]["fault"] == "delay"


def test_delay_shorter_than_the_timeout_answers_normally(ep, client):
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": "delay", "seconds": 0.05}])
    started = time.monotonic()
    assert status_of(client, lce(101)) == "PENDING"
    assert time.monotonic() - started >= 0.05
    assert status_of(client, lce(101)) == "IN_PROGRESS"


# botocore 1.44 reads bodies with urllib3's enforce_content_length=False; older releases let urllib3 enforce it.
BOTOCORE_IGNORES_SHORT_BODIES = "enforce_content_length=False" in inspect.getsource(
    botocore.httpsession.URLLib3Session.send
)


def test_drop_is_a_connection_error(ep, client):
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": "drop"}])
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    assert status_of(client, lce(101)) == "PENDING"
    assert [(r["fault"], r["status"]) for r in ep.requests()] == [("drop", None), (None, 200)]


def test_truncate_is_what_botocore_makes_of_it(ep, client):
    """A body shorter than its Content-Length: a connection error, or with botocore 1.44 a silently empty answer."""
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": "truncate"}])
    if BOTOCORE_IGNORES_SHORT_BODIES:
        assert "lifecycleExecution" not in client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    else:
        with pytest.raises(botocore.exceptions.ConnectionClosedError):
            client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    assert status_of(client, lce(101)) == "PENDING"
    assert [(r["fault"], r["status"]) for r in ep.requests()] == [("truncate", 200), (None, 200)]


def test_garbage_is_what_botocore_makes_of_it(ep, client):
    """botocore does not raise on a 200 whose body is not JSON: the caller gets an answer without its members."""
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": "garbage"}])
    answer = client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    assert "lifecycleExecution" not in answer
    # JSON of the wrong shape escapes as a bare AttributeError from botocore's parser, not a botocore error.
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": "garbage", "body": '{"lifecycleExecution": "x"}'}])
    with pytest.raises(AttributeError):
        client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    assert status_of(client, lce(101)) == "PENDING"


def test_fault_in_the_middle_of_a_listing_does_not_disturb_pagination(ep):
    client = make_client(ep.url, retries={"mode": "standard", "max_attempts": 3})
    ep.add_faults(
        [{"operation": "ListLifecycleExecutions", "fault": "error", "code": "ServiceUnavailableException", "skip": 1}]
    )
    result = client.get_paginator("list_lifecycle_executions").paginate(resourceArn=NIGHTLY).build_full_result()
    ids = [e["lifecycleExecutionId"] for e in result["lifecycleExecutions"]]
    assert len(ids) == len(set(ids)) == 60
    calls = ep.requests("ListLifecycleExecutions")
    assert [(c["fault"], c["status"]) for c in calls] == [(None, 200), ("error", 503), (None, 200), (None, 200)]
    assert calls[1]["params"] == calls[2]["params"] and "nextToken" in calls[1]["params"]


def test_count_null_faults_forever_and_delete_clears(ep, client):
    ep.add_faults([{"fault": "error", "code": "ServiceException", "count": None}])
    for _attempt in range(3):
        with pytest.raises(client.exceptions.ServiceException):
            client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    assert control(ep.url, "GET", "faults")[1][0]["fired"] == 3
    assert control(ep.url, "DELETE", "faults") == (200, [])
    assert status_of(client, lce(101)) == "PENDING"


def test_probability_faults_are_repeatable_with_a_seed(ep, client):
    def faulted_calls():
        ep.reset()
        ep.add_faults(
            [{"fault": "error", "code": "CallRateLimitExceededException", "count": None, "probability": 0.3, "seed": 7}]
        )
        for _attempt in range(40):
            try:
                client.list_lifecycle_executions(resourceArn=POLICY)
            except client.exceptions.CallRateLimitExceededException:
                pass
        return [r["seq"] for r in ep.requests() if r["fault"]]

    first = faulted_calls()
    assert 4 <= len(first) <= 24
    assert faulted_calls() == first


def test_scenario_faults_are_installed_at_start():
    scenario = {
        "executions": [{"lifecycleExecutionId": lce(1), "status": "SUCCESS"}],
        "faults": [{"operation": "*", "fault": "error", "code": "ServiceUnavailableException", "count": 1}],
    }
    with LocalEndpoint(scenario) as ep:
        client = make_client(ep.url)
        with pytest.raises(client.exceptions.ServiceUnavailableException):
            client.get_lifecycle_execution(lifecycleExecutionId=lce(1))
        assert status_of(client, lce(1)) == "SUCCESS"


# -- output validation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "broken, where",
    [
        ({"status": "DONE"}, "lifecycleExecution.state.status"),
        ({"status": "FAILED", "reason": ""}, "lifecycleExecution.state.reason"),
        (
            {"lifecyclePolicyArn": "arn:aws:imagebuilder:us-east-1:123456789012:policy/x"},
            "lifecycleExecution.lifecyclePolicyArn",
        ),
        ({"resources": [{"resourceId": "ami-1", "colour": "red"}]}, "resources.1.colour"),
        ({"resources": [{"resourceId": "ami-1", "state": {"status": "DELETED"}}]}, "resources.1.state.status"),
        ({"resources": [{"resourceId": "ami-1", "imageUris": []}], "cancel_polls": 1}, None),
    ],
)
def test_output_validation_refuses_to_send_a_broken_answer(broken, where, caplog):
    with LocalEndpoint({"executions": [dict(broken, lifecycleExecutionId=lce(1))]}) as ep:
        client = make_client(ep.url)
        call = client.list_lifecycle_execution_resources if "resources" in broken else client.get_lifecycle_execution
        if where is None:
            # An empty list is valid (StringList has no min): the validator must not refuse good answers either.
            call(lifecycleExecutionId=lce(1))
            return
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            call(lifecycleExecutionId=lce(1))
    code, status, message = error_of(excinfo)
    assert (code, status) == ("LocalEndpointOutputValidationError", 500)
    assert f"'{where}'" in message
    assert any("BUG" in record.getMessage() for record in caplog.records)


def test_every_successful_answer_passes_output_validation(ep, client):
    """A broad sweep of the scenario through every operation; any drift would surface as a 500."""
    for number in range(101, 113):
        client.get_lifecycle_execution(lifecycleExecutionId=lce(number))
        client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(number))
    client.list_lifecycle_executions(resourceArn=POLICY)
    client.list_lifecycle_executions(resourceArn=image("1.0.0/1"))
    client.start_resource_state_update(resourceArn=image("3.0.0/1"), state={"status": "AVAILABLE"})
    client.start_resource_state_update(resourceArn=image("3.0.0/2"), state={"status": "DEPRECATED"}, **WITH_AMIS)
    client.cancel_lifecycle_execution(lifecycleExecutionId=lce(104))
    client.list_images()
    client.list_images(byName=True)
    client.list_image_build_versions()
    client.list_image_build_versions(imageVersionArn=image("1.0.0"))
    assert {r["status"] for r in ep.requests()} == {200}


# -- answers without optional members (omit_members) -------------------------------------------------------------------


def answer_of(call, **params):
    answer = call(**params)
    answer.pop("ResponseMetadata")
    return answer


def with_omit(omit):
    with open(os.path.join(SCENARIOS, "integration.json"), encoding="utf-8") as handle:
        return dict(json.load(handle), omit_members=omit)


def test_omit_members_by_name_at_every_depth_of_every_answer():
    omit = ["state", "startTime", "lifecyclePolicyArn", "resourcesImpactedSummary", "nextToken", "lifecycleExecutionId"]
    with LocalEndpoint(with_omit(omit)) as ep:
        client = make_client(ep.url)
        assert answer_of(client.get_lifecycle_execution, lifecycleExecutionId=lce(108)) == {
            "lifecycleExecution": {"endTime": datetime.datetime(2024, 6, 3, 2, 30, tzinfo=datetime.timezone.utc)}
        }
        listed = answer_of(client.list_lifecycle_executions, resourceArn=NIGHTLY)
        assert list(listed) == ["lifecycleExecutions"] and len(listed["lifecycleExecutions"]) == 25
        assert all(set(e) == {"endTime"} for e in listed["lifecycleExecutions"])
        under = answer_of(
            client.list_lifecycle_execution_resources, lifecycleExecutionId=lce(108), parentResourceId=image("1.0.0/1")
        )
        # lifecycleExecutionState is another member than state: it stays, and so does its status.
        assert under["lifecycleExecutionState"] == {"status": "SUCCESS"} and set(under) == {
            "resources",
            "lifecycleExecutionState",
        }
        first = under["resources"][0]
        assert "state" not in first and "startTime" not in first and first["resourceId"] == "ami-00000000000000001"
        assert first["snapshots"] == [{"snapshotId": "snap-00000000000000001"}]
        started = answer_of(
            client.start_resource_state_update,
            resourceArn=image("3.0.0/1"),
            state={"status": "DEPRECATED"},
            **WITH_AMIS,
        )
        assert started == {"resourceArn": image("3.0.0/1")}
        assert answer_of(client.cancel_lifecycle_execution, lifecycleExecutionId=lce(104)) == {}


def test_omit_members_star_keeps_only_what_holds_a_read_result():
    with LocalEndpoint(with_omit("*")) as ep:
        client = make_client(ep.url)
        assert answer_of(client.get_lifecycle_execution, lifecycleExecutionId=lce(101)) == {"lifecycleExecution": {}}
        assert answer_of(client.list_lifecycle_executions, resourceArn=NIGHTLY) == {"lifecycleExecutions": [{}] * 25}
        assert answer_of(client.list_lifecycle_executions, resourceArn=image("9.9.9/9")) == {"lifecycleExecutions": []}
        assert answer_of(client.list_lifecycle_execution_resources, lifecycleExecutionId=lce(108)) == {
            "resources": [{}, {}]
        }
        started = answer_of(
            client.start_resource_state_update,
            resourceArn=image("3.0.0/1"),
            state={"status": "DEPRECATED"},
            **WITH_AMIS,
        )
        assert started == {}
        assert answer_of(client.cancel_lifecycle_execution, lifecycleExecutionId=lce(104)) == {}
        assert {r["status"] for r in ep.requests()} == {200}


def test_omit_members_leave_timelines_and_idempotency_as_they_are():
    with LocalEndpoint(with_omit(["startTime", "lifecycleExecutionId"])) as ep:
        client = make_client(ep.url)
        assert polls(client, lce(101), 5) == ["PENDING", "IN_PROGRESS", "IN_PROGRESS", "SUCCESS", "SUCCESS"]
        token = str(uuid.uuid4())
        request = {"resourceArn": image("3.0.0/1"), "state": {"status": "DEPRECATED"}, "clientToken": token}
        first = answer_of(client.start_resource_state_update, **request, **WITH_AMIS)
        again = answer_of(client.start_resource_state_update, **request, **WITH_AMIS)
        assert first == again == {"resourceArn": image("3.0.0/1")}
        assert len(client.list_lifecycle_executions(resourceArn=image("3.0.0/1"))["lifecycleExecutions"]) == 1


def test_omit_members_never_change_the_stored_state():
    with open(os.path.join(SCENARIOS, "demo.json"), encoding="utf-8") as handle:
        demo = json.load(handle)
    with LocalEndpoint(dict(demo, omit_members=["reason", "snapshots"])) as ep:
        client = make_client(ep.url)
        for _attempt in range(2):
            resources = client.list_lifecycle_execution_resources(
                lifecycleExecutionId=lce(3), parentResourceId=image("1.0.0/2")
            )["resources"]
            assert resources[0]["state"] == {"status": "FAILED"} and "snapshots" not in resources[0]
        # The loaded resources share their nested objects with the scenario document: it shows any change made.
        assert control(ep.url, "GET", "scenario")[1]["executions"] == demo["executions"]


def test_omitting_answers_are_still_valid_output():
    model = endpoint_module.ServiceModel.get()
    answer = {
        "lifecycleExecutionId": lce(1),
        "lifecycleExecutionState": {"status": "SUCCESS"},
        "resources": [{"resourceId": "ami-1", "state": {"status": "SUCCESS"}, "snapshots": [{"snapshotId": "s"}]}],
        "nextToken": "t",
    }
    for omit in ("*", frozenset(["state", "nextToken"])):
        stripped = model.without_members("ListLifecycleExecutionResources", answer, omit)
        assert model.output_errors("ListLifecycleExecutionResources", stripped) == []
    assert answer["resources"][0]["state"] == {"status": "SUCCESS"}, "the answer itself must not change"


def test_output_validation_still_runs_before_members_are_omitted():
    scenario = {"omit_members": "*", "executions": [{"lifecycleExecutionId": lce(1), "status": "DONE"}]}
    with LocalEndpoint(scenario) as ep:
        client = make_client(ep.url)
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            client.get_lifecycle_execution(lifecycleExecutionId=lce(1))
    assert error_of(excinfo)[:2] == ("LocalEndpointOutputValidationError", 500)


@pytest.mark.parametrize("omit", ["state", ["colour"], [1], {"state": True}])
def test_malformed_omit_members_are_refused(omit):
    with pytest.raises(endpoint_module.ScenarioError, match="omit_members"):
        LocalEndpoint({"omit_members": omit})


def test_omit_members_are_set_through_the_control_api(ep, client):
    try:
        assert control(ep.url, "POST", "scenario", with_omit(["state"])) == (200, {"loaded": True})
        assert "state" not in client.get_lifecycle_execution(lifecycleExecutionId=lce(101))["lifecycleExecution"]
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            control(ep.url, "POST", "scenario", with_omit(["colour"]))
        assert excinfo.value.code == 400
        assert "state" not in client.get_lifecycle_execution(lifecycleExecutionId=lce(101))["lifecycleExecution"]
    finally:
        ep.load_scenario(os.path.join(SCENARIOS, "integration.json"))
    assert status_of(client, lce(101)) == "PENDING"


def test_apply_immediately_is_no_longer_a_scenario_knob():
    with pytest.raises(endpoint_module.ScenarioError, match="apply_immediately"):
        LocalEndpoint({"images": [{"arn": image("3.0.0/2"), "apply_immediately": True}]})


# -- control API, log, speed -------------------------------------------------------------------------------------------


def test_control_api(ep, client):
    assert control(ep.url, "GET", "health") == (200, {"status": "ok"})
    status_of(client, lce(101))
    client.list_lifecycle_executions(resourceArn=POLICY, maxResults=5)
    log = control(ep.url, "GET", "requests")[1]
    assert [(r["seq"], r["operation"], r["status"], r["fault"]) for r in log] == [
        (1, "GetLifecycleExecution", 200, None),
        (2, "ListLifecycleExecutions", 200, None),
    ]
    assert log[1]["params"] == {"resourceArn": POLICY, "maxResults": 5}
    only_get = control(ep.url, "GET", "requests?operation=GetLifecycleExecution")[1]
    assert [r["seq"] for r in only_get] == [1]

    status, faults = control(ep.url, "POST", "faults", [{"operation": "GetLifecycleExecution", "fault": "drop"}])
    assert status == 200 and faults[0]["fault"] == "drop"
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        control(ep.url, "POST", "faults", [{"fault": "explode"}])
    assert excinfo.value.code == 400

    assert control(ep.url, "POST", "reset") == (200, {"reset": True})
    assert control(ep.url, "GET", "requests") == (200, [])
    assert control(ep.url, "GET", "faults") == (200, [])
    assert status_of(client, lce(101)) == "PENDING"


def test_control_api_replaces_the_scenario(ep, client):
    with open(os.path.join(SCENARIOS, "demo.json"), encoding="utf-8") as handle:
        demo = json.load(handle)
    try:
        assert control(ep.url, "POST", "scenario", demo) == (200, {"loaded": True})
        assert status_of(client, lce(2)) == "PENDING"
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
        assert control(ep.url, "GET", "scenario")[1]["description"] == demo["description"]
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            control(ep.url, "POST", "scenario", {"executions": [{"oops": 1}]})
        assert excinfo.value.code == 400
        assert status_of(client, lce(2)) == "IN_PROGRESS"
    finally:
        ep.load_scenario(os.path.join(SCENARIOS, "integration.json"))


def test_request_log_never_holds_credentials(tmp_path):
    log_path = tmp_path / "requests.jsonl"
    with LocalEndpoint(os.path.join(SCENARIOS, "demo.json"), log_path=str(log_path)) as ep:
        client = make_client(ep.url)
        status_of(client, lce(1))
        with pytest.raises(client.exceptions.InvalidRequestException):
            client.get_lifecycle_execution(lifecycleExecutionId="lce-x")
        in_memory = json.dumps(ep.requests())
    lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    assert [(r["operation"], r["status"], r["error"]) for r in lines] == [
        ("GetLifecycleExecution", 200, None),
        ("GetLifecycleExecution", 400, "InvalidRequestException"),
    ]
    for text in (in_memory, log_path.read_text(encoding="utf-8")):
        assert SECRET_KEY not in text and FAKE_ACCESS_KEY not in text and "Authorization" not in text


def test_get_is_answered_in_well_under_five_ms(ep):
    connection = http.client.HTTPConnection("127.0.0.1", int(ep.url.rsplit(":", 1)[1]), timeout=5)
    durations = []
    for _attempt in range(200):
        started = time.perf_counter()
        connection.request("GET", f"/GetLifecycleExecution?lifecycleExecutionId={lce(104)}")
        assert connection.getresponse().read()
        durations.append(time.perf_counter() - started)
    connection.close()
    assert statistics.median(durations) < 0.005


def test_only_loopback_is_accepted():
    with pytest.raises(ValueError, match="loopback"):
        LocalEndpoint({}, host="0.0.0.0")


def test_script_prints_the_url_writes_files_and_stops_on_sigterm(tmp_path):
    url_file, pid_file = tmp_path / "url", tmp_path / "pid"
    command = [
        sys.executable,
        SCRIPT,
        "--scenario",
        os.path.join(SCENARIOS, "demo.json"),
        "--url-file",
        str(url_file),
        "--pid-file",
        str(pid_file),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            line = process.stdout.readline()
            match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", line)
            assert match, line
            url, port = match.group(1), int(match.group(2))
            assert url_file.read_text(encoding="utf-8").strip() == url
            assert int(pid_file.read_text(encoding="utf-8")) == process.pid
            assert control(url, "GET", "health") == (200, {"status": "ok"})
            assert status_of(make_client(url), lce(2)) == "PENDING"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
        assert process.stdout.read() == ""
    assert not url_file.exists() and not pid_file.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with socket.socket() as probe:
        # As a restarted endpoint would: SO_REUSEADDR, since closed connections may leave TIME_WAIT entries.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


# -- GetImage and the image's state ----------------------------------------------------------------------------------

FAILED_IMAGE = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/5.0.0/1"
CONTAINER_IMAGE = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-container/1.0.0/1"
IMMEDIATE_IMAGE = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/3.0.0/2"


def image_status(client, arn):
    return client.get_image(imageBuildVersionArn=arn)["image"]["state"]["status"]


def test_get_image_answers_the_scenario_image_and_not_found_for_others(client):
    image = client.get_image(imageBuildVersionArn=CONTAINER_IMAGE)["image"]
    assert image == {
        "arn": CONTAINER_IMAGE,
        "name": "golden-container",
        "version": "1.0.0/1",
        "type": "DOCKER",
        "platform": "Linux",
        "osVersion": "Amazon Linux 2023",
        "state": {"status": "AVAILABLE"},
        "dateCreated": "2024-05-01T00:00:00.000Z",
        "outputResources": {"containers": []},
        "buildType": "USER_INITIATED",
        "imageSource": "CUSTOM",
    }
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_image(imageBuildVersionArn=IMMEDIATE_IMAGE.replace("3.0.0/2", "9.9.9/9"))


def test_a_state_update_gives_the_image_its_new_state(client):
    assert image_status(client, IMMEDIATE_IMAGE) == "AVAILABLE"
    client.start_resource_state_update(resourceArn=IMMEDIATE_IMAGE, state={"status": "DISABLED"})
    assert image_status(client, IMMEDIATE_IMAGE) == "DISABLED"


@pytest.mark.parametrize(
    "arn, status, words",
    [
        (FAILED_IMAGE, "AVAILABLE", "can transition only to DELETED"),
        (CONTAINER_IMAGE, "DISABLED", "only DELETED is supported"),
    ],
)
def test_images_that_can_only_be_deleted_refuse_other_states(client, arn, status, words):
    with pytest.raises(client.exceptions.InvalidRequestException, match=words):
        client.start_resource_state_update(resourceArn=arn, state={"status": status})


def test_a_failed_image_can_be_deleted_with_its_resources(client):
    answer = client.start_resource_state_update(
        resourceArn=FAILED_IMAGE,
        state={"status": "DELETED"},
        includeResources={"amis": True},
        executionRole="ImageBuilderLifecycleRole",
    )
    assert answer["lifecycleExecutionId"].startswith("lce-")
    assert image_status(client, FAILED_IMAGE) == "DELETED"


def test_the_log_names_the_module_that_made_each_call(ep, client):
    named = make_client(ep.url, user_agent_extra="ansible-module/imagebuilder_lifecycle_execution_info")
    named.get_image(imageBuildVersionArn=IMMEDIATE_IMAGE)
    client.get_image(imageBuildVersionArn=IMMEDIATE_IMAGE)

    assert [entry["module"] for entry in ep.requests("GetImage")] == ["imagebuilder_lifecycle_execution_info", None]


def test_times_can_be_given_relative_to_the_load_and_end_in_whole_seconds():
    timeline = [["IN_PROGRESS", 1], ["SUCCESS", None]]
    scenario = {"executions": [{"lifecycleExecutionId": lce(1), "startTime": "-PT5M", "timeline": timeline}]}
    loaded = time.time()
    with LocalEndpoint(scenario) as ep:
        client = make_client(ep.url)
        client.get_lifecycle_execution(lifecycleExecutionId=lce(1))
        execution = client.get_lifecycle_execution(lifecycleExecutionId=lce(1))["lifecycleExecution"]
    start, end = execution["startTime"].timestamp(), execution["endTime"].timestamp()
    assert start == int(start) and end == int(end)
    assert abs(loaded - 300 - start) <= 2
    assert start <= end <= time.time()


# -- lifecycle policies ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bare_endpoint():
    with LocalEndpoint({}) as ep:
        yield ep


@pytest.fixture
def bare(bare_endpoint):
    bare_endpoint.reset()
    return bare_endpoint


@pytest.fixture
def pclient(bare):
    return make_client(bare.url)


AMI_RULES = [
    {"action": {"type": "DEPRECATE"}, "filter": {"type": "AGE", "value": 90, "unit": "DAYS"}},
    {
        "action": {"type": "DELETE", "includeResources": {"amis": True, "snapshots": True}},
        "filter": {"type": "AGE", "value": 180, "unit": "DAYS", "retainAtLeast": 3},
        "exclusionRules": {"tagMap": {"Keep": "true"}, "amis": {"regions": ["us-west-2"]}},
    },
]
RECIPES = {"recipes": [{"name": "golden-ami", "semanticVersion": "1.x.x"}]}


def policy_request(name="Golden AMI", token="token-1", **members):
    request = {
        "name": name,
        "executionRole": "ImageBuilderLifecycleRole",
        "resourceType": "AMI_IMAGE",
        "policyDetails": AMI_RULES,
        "resourceSelection": RECIPES,
        "clientToken": token,
    }
    request.update(members)
    return request


def policy_arn(segment):
    return ARN + "lifecycle-policy/" + segment


def test_created_policy_echoes_the_defaults_nobody_set(pclient):
    arn = pclient.create_lifecycle_policy(**policy_request(tags={"CostCenter": "a"}))["lifecyclePolicyArn"]
    assert arn == policy_arn("golden-ami")
    policy = pclient.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]
    assert policy["status"] == "ENABLED" and "description" not in policy
    assert policy["policyDetails"][0]["action"]["includeResources"] == {
        "amis": False,
        "snapshots": False,
        "containers": False,
    }
    assert policy["policyDetails"][1]["action"]["includeResources"] == {
        "amis": True,
        "snapshots": True,
        "containers": False,
    }
    assert policy["policyDetails"][1]["exclusionRules"]["amis"] == {"regions": ["us-west-2"], "isPublic": False}
    assert policy["tags"] == {"CostCenter": "a"} and policy["name"] == "Golden AMI"


@pytest.mark.parametrize("other", ["golden ami", "GOLDEN_AMI", "golden-ami", "Golden_Ami"])
def test_names_that_map_to_the_same_arn_are_the_same_policy(pclient, other):
    pclient.create_lifecycle_policy(**policy_request())
    with pytest.raises(pclient.exceptions.ResourceAlreadyExistsException) as excinfo:
        pclient.create_lifecycle_policy(**policy_request(name=other, token="token-2"))
    assert policy_arn("golden-ami") in error_of(excinfo)[2]


def test_create_is_idempotent_by_client_token(bare, pclient):
    first = pclient.create_lifecycle_policy(**policy_request())
    again = pclient.create_lifecycle_policy(**policy_request())
    assert (again["lifecyclePolicyArn"], again["clientToken"]) == (first["lifecyclePolicyArn"], "token-1")
    with pytest.raises(pclient.exceptions.IdempotentParameterMismatchException):
        pclient.create_lifecycle_policy(**policy_request(description="other"))
    assert len(pclient.list_lifecycle_policies()["lifecyclePolicySummaryList"]) == 1


def test_dry_run_creates_nothing(pclient):
    with pytest.raises(pclient.exceptions.DryRunOperationException):
        pclient.create_lifecycle_policy(**policy_request(dryRun=True))
    assert pclient.list_lifecycle_policies()["lifecyclePolicySummaryList"] == []


def test_update_replaces_the_whole_policy(pclient):
    arn = pclient.create_lifecycle_policy(**policy_request(description="d", status="DISABLED", tags={"k": "v"}))[
        "lifecyclePolicyArn"
    ]
    update = {key: value for key, value in policy_request(token="token-u").items() if key != "name"}
    update["policyDetails"] = AMI_RULES[:1]
    pclient.update_lifecycle_policy(lifecyclePolicyArn=arn, **update)
    policy = pclient.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]
    assert policy["status"] == "ENABLED", "an omitted status re-enables the policy"
    assert "description" not in policy, "an omitted description is removed"
    assert len(policy["policyDetails"]) == 1
    assert policy["name"] == "Golden AMI" and policy["tags"] == {"k": "v"}
    assert "dateUpdated" in policy


def test_update_cannot_change_the_resource_type(pclient):
    arn = pclient.create_lifecycle_policy(**policy_request())["lifecyclePolicyArn"]
    container = [{"action": {"type": "DELETE"}, "filter": {"type": "COUNT", "value": 5}}]
    with pytest.raises(pclient.exceptions.InvalidParameterCombinationException):
        pclient.update_lifecycle_policy(
            lifecyclePolicyArn=arn,
            executionRole="r1",
            resourceType="CONTAINER_IMAGE",
            policyDetails=container,
            resourceSelection=RECIPES,
            clientToken="token-u",
        )
    assert pclient.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]["resourceType"] == "AMI_IMAGE"


@pytest.mark.parametrize(
    "details, words",
    [
        ([AMI_RULES[0], AMI_RULES[0]], "one policy detail per action"),
        ([{"action": {"type": "DISABLE"}, "filter": {"type": "COUNT", "value": 2}}], "COUNT"),
        ([{"action": {"type": "DELETE"}, "filter": {"type": "AGE", "value": 2}}], "unit"),
        (
            [{"action": {"type": "DELETE", "includeResources": {"snapshots": True}}, "filter": AMI_RULES[0]["filter"]}],
            "snapshots",
        ),
    ],
)
def test_policy_rules_are_enforced_before_anything_is_stored(pclient, details, words):
    with pytest.raises(pclient.exceptions.InvalidRequestException) as excinfo:
        pclient.create_lifecycle_policy(**policy_request(policyDetails=details))
    assert words in error_of(excinfo)[2]
    assert pclient.list_lifecycle_policies()["lifecyclePolicySummaryList"] == []


def test_unknown_policy_is_not_found(pclient):
    for call in (pclient.get_lifecycle_policy, pclient.delete_lifecycle_policy):
        with pytest.raises(pclient.exceptions.ResourceNotFoundException):
            call(lifecyclePolicyArn=policy_arn("missing"))
    with pytest.raises(pclient.exceptions.ResourceNotFoundException):
        pclient.tag_resource(resourceArn=policy_arn("missing"), tags={"a": "b"})


def test_delete_removes_the_policy_and_cancels_its_running_execution(pclient):
    scenario = {
        "policies": [
            {
                "arn": policy_arn("pol-1"),
                "name": "pol-1",
                **{k: v for k, v in policy_request().items() if k not in ("name", "clientToken")},
            }
        ],
        "executions": [
            {"lifecycleExecutionId": lce(1), "lifecyclePolicyArn": policy_arn("pol-1"), "status": "IN_PROGRESS"}
        ],
    }
    with LocalEndpoint(scenario) as ep:
        c = make_client(ep.url)
        assert c.delete_lifecycle_policy(lifecyclePolicyArn=policy_arn("pol-1"))["lifecyclePolicyArn"] == policy_arn(
            "pol-1"
        )
        assert status_of(c, lce(1)) == "CANCELLING"
        assert c.list_lifecycle_policies()["lifecyclePolicySummaryList"] == []


def test_tags_change_only_through_the_tag_calls(pclient):
    arn = pclient.create_lifecycle_policy(**policy_request(tags={"CostCenter": "a", "Team": "x"}))["lifecyclePolicyArn"]
    pclient.tag_resource(resourceArn=arn, tags={"CostCenter": "b", "Env": "prod"})
    pclient.untag_resource(resourceArn=arn, tagKeys=["Team", "Absent"])
    assert pclient.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]["tags"] == {
        "CostCenter": "b",
        "Env": "prod",
    }
    pclient.untag_resource(resourceArn=arn, tagKeys=["CostCenter", "Env"])
    assert "tags" not in pclient.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]


def test_list_filters_by_name_wildcards_type_and_status(pclient):
    for number, name in enumerate(["Golden AMI", "golden-old", "Nightly sweep"]):
        pclient.create_lifecycle_policy(
            **policy_request(name=name, token=f"t{number}", status="DISABLED" if number else "ENABLED")
        )

    def names(*filters):
        request = {"filters": [{"name": n, "values": [v]} for n, v in filters]} if filters else {}
        answer = pclient.list_lifecycle_policies(**request)
        return [p["name"] for p in answer["lifecyclePolicySummaryList"]]

    assert names() == ["Golden AMI", "Nightly sweep", "golden-old"]
    assert names(("name", "golden*")) == ["golden-old"], "name filters are case-sensitive"
    assert names(("name", "*sweep")) == ["Nightly sweep"]
    assert names(("name", "*-ol*")) == ["golden-old"]
    assert names(("name", "Golden AMI")) == ["Golden AMI"]
    assert names(("status", "DISABLED")) == ["Nightly sweep", "golden-old"]
    assert names(("resourceType", "CONTAINER_IMAGE")) == []
    with pytest.raises(pclient.exceptions.InvalidRequestException):
        names(("name", "gol*den"))
    with pytest.raises(pclient.exceptions.InvalidRequestException):
        names(("colour", "red"))


def test_list_policies_pages(pclient):
    for number in range(7):
        pclient.create_lifecycle_policy(**policy_request(name=f"policy-{number}", token=f"t{number}"))
    pages = list(pclient.get_paginator("list_lifecycle_policies").paginate(PaginationConfig={"PageSize": 3}))
    assert [len(page["lifecyclePolicySummaryList"]) for page in pages] == [3, 3, 1]
    assert [p["name"] for page in pages for p in page["lifecyclePolicySummaryList"]] == [
        f"policy-{n}" for n in range(7)
    ]


def test_scenario_policy_details_are_served(client):
    policy = client.get_lifecycle_policy(lifecyclePolicyArn=NIGHTLY)["lifecyclePolicy"]
    assert policy["name"] == "nightly-sweep" and policy["status"] == "DISABLED"
    assert policy["tags"] == {"CostCenter": "platform"}
    assert policy["policyDetails"][0]["action"]["includeResources"]["containers"] is False
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_lifecycle_policy(lifecyclePolicyArn=POLICY)


@pytest.mark.parametrize(
    "policy, words",
    [
        ({"arn": policy_arn("wrong"), "name": "right"}, "lifecycle-policy/right"),
        ({"arn": policy_arn("p"), "name": "p", "resourceType": "AMI_IMAGE"}, "not be null"),
    ],
)
def test_malformed_scenario_policies_are_refused(policy, words):
    with pytest.raises(endpoint_module.ScenarioError, match=words):
        LocalEndpoint({"policies": [policy]})


def test_faults_apply_to_policy_operations_and_leave_the_state_alone(bare, pclient):
    bare.add_faults(
        [{"operation": "CreateLifecyclePolicy", "fault": "error", "code": "CallRateLimitExceededException"}]
    )
    with pytest.raises(pclient.exceptions.CallRateLimitExceededException):
        pclient.create_lifecycle_policy(**policy_request())
    assert pclient.list_lifecycle_policies()["lifecyclePolicySummaryList"] == []
    pclient.create_lifecycle_policy(**policy_request())
    assert [entry["fault"] for entry in bare.requests("CreateLifecyclePolicy")] == ["error", None]


# -- ListImages and ListImageBuildVersions -----------------------------------------------------------------------------

WINDOWS = ARN + "image/windows-base/1.0.0/1"
GOLDEN_CONTAINER = ARN + "image/golden-container/1.0.0/1"
LISTING_SCENARIO = {
    "images": [
        {
            "arn": image("1.0.0/1"),
            "dateCreated": "2024-01-01T10:00:00Z",
            "tags": {"Pipeline": "nightly"},
            "resources": [{"accountId": ACCOUNT, "resourceId": "ami-0a1b2c3d4e5f60001", "region": "us-west-2"}],
        },
        {"arn": image("1.0.0/2"), "dateCreated": "2024-02-01T10:00:00.250Z"},
        {
            "arn": image("1.1.0/1"),
            "dateCreated": "2024-03-01T10:00:00Z",
            "state": "DEPRECATED",
            "deprecationTime": "2024-04-01T00:00:00Z",
        },
        {"arn": image("2.0.0/1"), "dateCreated": "2024-03-01T10:00:00Z"},
        {
            "arn": GOLDEN_CONTAINER,
            "type": "DOCKER",
            "dateCreated": "2024-02-15T00:00:00Z",
            "outputResources": {
                "containers": [
                    {"region": "us-east-1", "imageUris": [f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/gc:1"]}
                ]
            },
        },
        {
            "arn": WINDOWS,
            "platform": "Windows",
            "osVersion": "Microsoft Windows Server 2022",
            "buildType": "SCHEDULED",
            "dateCreated": "2023-12-24T00:00:00Z",
        },
    ],
    "executions": [
        {
            "lifecycleExecutionId": lce(1),
            "lifecyclePolicyArn": POLICY,
            "images": [image("1.0.0/1")],
            "status": "SUCCESS",
        }
    ],
}
# Newest dateCreated first; 1.1.0/1 and 2.0.0/1 were created at the same moment: by name, then version.
NEWEST_FIRST = [
    image("1.1.0/1"),
    image("2.0.0/1"),
    GOLDEN_CONTAINER,
    image("1.0.0/2"),
    image("1.0.0/1"),
    WINDOWS,
]


@pytest.fixture(scope="module")
def listing_endpoint():
    with LocalEndpoint(LISTING_SCENARIO) as ep:
        yield ep


@pytest.fixture
def lep(listing_endpoint):
    listing_endpoint.reset()
    return listing_endpoint


@pytest.fixture
def lclient(lep):
    return make_client(lep.url)


def build_arns(lclient, **params):
    return [
        s["arn"] for s in lclient.list_image_build_versions(maxResults=MAX_RESULTS_HIGH, **params)["imageSummaryList"]
    ]


def test_build_versions_without_an_arn_page_through_every_image_once_newest_first(lep, lclient):
    arns, tokens, request = [], [], {"maxResults": 4}
    while True:
        answer = lclient.list_image_build_versions(**request)
        assert len(answer["imageSummaryList"]) <= 4
        arns += [summary["arn"] for summary in answer["imageSummaryList"]]
        if "nextToken" not in answer:
            break
        tokens.append(answer["nextToken"])
        request = {"maxResults": 4, "nextToken": answer["nextToken"]}
    assert arns == NEWEST_FIRST and len(tokens) == 1
    pages = lclient.get_paginator("list_image_build_versions").paginate(PaginationConfig={"PageSize": 1})
    assert [s["arn"] for page in pages for s in page["imageSummaryList"]] == NEWEST_FIRST
    # Without maxResults the page is the default 25: everything at once.
    assert "nextToken" not in lclient.list_image_build_versions()
    with pytest.raises(lclient.exceptions.InvalidPaginationTokenException):
        lclient.list_image_build_versions(maxResults=4, nextToken=tokens[0], imageVersionArn=image("1.0.0"))
    assert {r["status"] for r in lep.requests()} == {200, 400}


def test_build_versions_of_one_image_version_and_of_an_unknown_one(lclient):
    assert build_arns(lclient, imageVersionArn=image("1.0.0")) == [image("1.0.0/2"), image("1.0.0/1")]
    assert build_arns(lclient, imageVersionArn=ARN + "image/golden-container/1.0.0") == [GOLDEN_CONTAINER]
    # "If the ARN that you specify doesn't exist, Image Builder returns an empty list".
    assert build_arns(lclient, imageVersionArn=image("9.9.9")) == []
    assert build_arns(lclient, imageVersionArn=ARN + "image/no-such-image/1.0.0") == []
    with pytest.raises(lclient.exceptions.InvalidRequestException, match="imageVersionArn"):
        lclient.list_image_build_versions(imageVersionArn=image("1.0.0/1"))


@pytest.mark.parametrize(
    "filters, expected",
    [
        ([("name", "golden-ami")], [a for a in NEWEST_FIRST if "golden-ami" in a]),
        ([("name", "golden*")], [a for a in NEWEST_FIRST if "golden" in a]),
        ([("name", "*-base")], [WINDOWS]),
        ([("type", "DOCKER")], [GOLDEN_CONTAINER]),
        ([("type", "AMI")], [a for a in NEWEST_FIRST if a != GOLDEN_CONTAINER]),
        ([("version", "1.0.0")], [GOLDEN_CONTAINER, image("1.0.0/2"), image("1.0.0/1"), WINDOWS]),
        ([("version", "1.0.0"), ("name", "golden-ami")], [image("1.0.0/2"), image("1.0.0/1")]),
        ([("platform", "Windows")], [WINDOWS]),
        ([("osVersion", "Amazon Linux 2023"), ("type", "AMI")], [a for a in NEWEST_FIRST[:5] if a != GOLDEN_CONTAINER]),
    ],
)
def test_build_version_filters(lclient, filters, expected):
    request = [{"name": name, "values": [value]} for name, value in filters]
    assert build_arns(lclient, filters=request) == expected


def test_image_filters_refuse_unknown_or_repeated_names(lclient):
    for call in (lclient.list_image_build_versions, lclient.list_images):
        with pytest.raises(lclient.exceptions.InvalidRequestException, match="colour"):
            call(filters=[{"name": "colour", "values": ["red"]}])
        with pytest.raises(lclient.exceptions.InvalidRequestException, match="more than once"):
            call(filters=[{"name": "type", "values": ["AMI"]}, {"name": "type", "values": ["DOCKER"]}])


def test_build_version_summaries_carry_the_scenario_image(lclient):
    summaries = {s["arn"]: s for s in lclient.list_image_build_versions()["imageSummaryList"]}
    first = summaries[image("1.0.0/1")]
    assert first == {
        "arn": image("1.0.0/1"),
        "name": "golden-ami",
        "type": "AMI",
        "version": "1.0.0/1",
        "platform": "Linux",
        "osVersion": "Amazon Linux 2023",
        "state": {"status": "AVAILABLE"},
        "owner": ACCOUNT,
        "dateCreated": "2024-01-01T10:00:00.000Z",
        "outputResources": {
            "amis": [
                {
                    "region": "us-west-2",
                    "image": "ami-0a1b2c3d4e5f60001",
                    "name": "golden-ami-1.0.0-1",
                    "state": {"status": "AVAILABLE"},
                    "accountId": ACCOUNT,
                }
            ]
        },
        "tags": {"Pipeline": "nightly"},
        "buildType": "USER_INITIATED",
        "imageSource": "CUSTOM",
        "lifecycleExecutionId": lce(1),
    }
    assert summaries[image("1.0.0/2")]["dateCreated"] == "2024-02-01T10:00:00.250Z"
    deprecated = summaries[image("1.1.0/1")]
    assert deprecated["state"] == {"status": "DEPRECATED"} and "lifecycleExecutionId" not in deprecated
    assert deprecated["deprecationTime"] == datetime.datetime(2024, 4, 1, tzinfo=datetime.timezone.utc)
    assert summaries[GOLDEN_CONTAINER]["outputResources"] == LISTING_SCENARIO["images"][4]["outputResources"]
    assert summaries[WINDOWS]["buildType"] == "SCHEDULED"


def test_get_image_agrees_with_the_build_version_listing(lclient):
    for summary in lclient.list_image_build_versions()["imageSummaryList"]:
        got = lclient.get_image(imageBuildVersionArn=summary["arn"])["image"]
        assert got == {key: value for key, value in summary.items() if key != "owner"}
    # One record behind both: a state update shows in each.
    lclient.start_resource_state_update(resourceArn=image("2.0.0/1"), state={"status": "DISABLED"})
    listed = lclient.list_image_build_versions(imageVersionArn=image("2.0.0"))["imageSummaryList"]
    assert listed[0]["state"] == {"status": "DISABLED"} == image_of(lclient, image("2.0.0/1"))["state"]


def image_of(client, arn):
    return client.get_image(imageBuildVersionArn=arn)["image"]


def test_list_images_gives_one_entry_per_image_version(lclient):
    versions = lclient.list_images()["imageVersionList"]
    assert [v["arn"] for v in versions] == [
        image("1.1.0"),
        image("2.0.0"),
        ARN + "image/golden-container/1.0.0",
        image("1.0.0"),
        ARN + "image/windows-base/1.0.0",
    ]
    golden = versions[3]
    # A version was created with its first build; the rest is its newest build's.
    assert golden == {
        "arn": image("1.0.0"),
        "name": "golden-ami",
        "type": "AMI",
        "version": "1.0.0",
        "platform": "Linux",
        "osVersion": "Amazon Linux 2023",
        "owner": ACCOUNT,
        "dateCreated": "2024-01-01T10:00:00.000Z",
        "buildType": "USER_INITIATED",
        "imageSource": "CUSTOM",
    }
    assert versions[4]["platform"] == "Windows"


def test_list_images_pages_filters_and_by_name(lep, lclient):
    pages = list(lclient.get_paginator("list_images").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(page["imageVersionList"]) for page in pages] == [2, 2, 1]
    assert len({v["arn"] for page in pages for v in page["imageVersionList"]}) == 5

    def arns(**params):
        return [v["arn"] for v in lclient.list_images(**params)["imageVersionList"]]

    assert arns(filters=[{"name": "type", "values": ["DOCKER"]}]) == [ARN + "image/golden-container/1.0.0"]
    assert arns(
        filters=[{"name": "version", "values": ["1.0.0", "2.0.0"]}, {"name": "name", "values": ["golden-ami"]}]
    ) == [
        image("2.0.0"),
        image("1.0.0"),
    ]
    assert arns(filters=[{"name": "name", "values": ["nothing*"]}]) == []
    by_name = lclient.list_images(byName=True)["imageVersionList"]
    assert [(v["arn"], v["version"]) for v in by_name] == [
        (ARN + "image/golden-container/x.x.x", "1.0.0"),
        (ARN + "image/golden-ami/x.x.x", "2.0.0"),
        (ARN + "image/windows-base/x.x.x", "1.0.0"),
    ]
    with pytest.raises(lclient.exceptions.InvalidRequestException, match="byName"):
        lclient.list_images(byName=True, filters=[{"name": "version", "values": ["1.0.0"]}])
    # The scenario's images are the account's own: other owners have none here.
    assert arns(owner="Amazon") == [] and arns(owner="Self", includeDeprecated=True) == arns()
    unchecked = make_client(lep.url, parameter_validation=False)
    for size in (0, MAX_RESULTS_HIGH + 1):
        with pytest.raises(lclient.exceptions.InvalidRequestException, match="maxResults"):
            unchecked.list_images(maxResults=size)


def test_image_listings_validate_their_answers_and_take_faults(caplog):
    broken = {"images": [{"arn": image("1.0.0/1"), "platform": "Solaris"}]}
    with LocalEndpoint(broken) as ep:
        client = make_client(ep.url)
        for call in (client.list_image_build_versions, client.list_images):
            with pytest.raises(botocore.exceptions.ClientError) as excinfo:
                call()
            code, status, message = error_of(excinfo)
            assert (code, status) == ("LocalEndpointOutputValidationError", 500) and ".1.platform'" in message
    with LocalEndpoint(LISTING_SCENARIO) as ep:
        client = make_client(ep.url)
        ep.add_faults(
            [
                {"operation": "ListImageBuildVersions", "fault": "error", "code": "ServiceUnavailableException"},
                {"operation": "ListImages", "fault": "error", "code": "CallRateLimitExceededException"},
            ]
        )
        with pytest.raises(client.exceptions.ServiceUnavailableException):
            client.list_image_build_versions(maxResults=2)
        with pytest.raises(client.exceptions.CallRateLimitExceededException):
            client.list_images()
        first = client.list_image_build_versions(maxResults=2)
        rest = client.list_image_build_versions(maxResults=MAX_RESULTS_HIGH, nextToken=first["nextToken"])
        assert [s["arn"] for s in first["imageSummaryList"] + rest["imageSummaryList"]] == NEWEST_FIRST
        assert [(e["status"], e["fault"]) for e in ep.requests("ListImageBuildVersions")] == [
            (503, "error"),
            (200, None),
            (200, None),
        ]
        assert ep.requests("ListImages")[0]["params"] == {}


def test_the_integration_images_are_listed_as_get_image_answers_them(client):
    summaries = client.list_image_build_versions()["imageSummaryList"]
    assert FAILED_IMAGE in [s["arn"] for s in summaries] and image("1.0.0/1") in [s["arn"] for s in summaries]
    for summary in summaries:
        assert image_of(client, summary["arn"])["state"] == summary["state"]


# -- EC2 DescribeImages ------------------------------------------------------------------------------------------------


PREVIEW_POLICY = policy_arn("preview-golden")


def preview(version):
    return ARN + "image/preview-ami/" + version


def ami(number):
    """The integration scenario's preview AMIs: ami-0f1a00000000NNNNN (see README.md)."""
    return f"ami-0f1a00000000{number:05d}"


def ec2_client(url, region="us-east-1", **config):
    config.setdefault("retries", {"total_max_attempts": 1})
    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(**config),
    )


def ami_ids(ec2, **params):
    return [image_["ImageId"] for image_ in ec2.describe_images(**params)["Images"]]


def post_ec2(url, body, region="eu-west-1"):
    """A raw EC2 query request, signed only as far as the endpoint looks (the credential scope)."""
    scope = f"Credential={FAKE_ACCESS_KEY}/20261203/{region}/ec2/aws4_request"
    request = urllib.request.Request(
        url + "/",
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# golden-ami/3.0.0/1's first AMI, then the preview images' (ids sort: the listing is by ImageId).
US_EAST_1 = ["ami-0c3d4e5f6a7b80001", ami(101), ami(201), ami(1101), ami(1201), ami(2101), ami(2201), ami(9101)]


def test_describe_images_answers_the_amis_of_the_request_region_only(ep):
    assert ami_ids(ec2_client(ep.url), Owners=["self"]) == US_EAST_1
    assert ami_ids(ec2_client(ep.url, "eu-west-1"), Owners=["self"]) == [
        "ami-0c3d4e5f6a7b80002",  # golden-ami/3.0.0/1's second AMI
        ami(102),
        ami(202),
        ami(1102),
        ami(2202),
    ]
    images = ec2_client(ep.url, "ap-southeast-2").describe_images(Owners=[ACCOUNT])["Images"]
    assert [image_["ImageId"] for image_ in images] == [ami(103)]
    first = images[0]
    assert first["Name"] == "preview-ami-1.0.0-1" and first["State"] == "available" and first["OwnerId"] == ACCOUNT
    # preview-ami/1.0.0/1 is DEPRECATED: EC2 has no such state, its AMIs carry a deprecation time.
    # Public too (the scenario's AMI that two exclusions match).
    assert first["Public"] is True and "Tags" not in first and "DeprecationTime" in first
    created = datetime.datetime.fromisoformat(first["CreationDate"].replace("Z", "+00:00"))
    assert (
        abs((datetime.datetime.now(datetime.timezone.utc) - created) - datetime.timedelta(days=400)).total_seconds() < 5
    )
    # One default snapshot per AMI, derived from its id.
    assert [m["Ebs"]["SnapshotId"] for m in first["BlockDeviceMappings"]] == ["snap-053918720d695f513"]
    assert ami_ids(ec2_client(ep.url, "us-west-2")) == []


def test_describe_images_by_image_id_filter_and_by_image_ids(ep):
    ec2 = ec2_client(ep.url)
    wanted = [ami(2201), ami(101), "ami-0f1a0000000000102"]  # the last is in eu-west-1: not here
    assert ami_ids(ec2, Owners=["self"], Filters=[{"Name": "image-id", "Values": wanted}]) == [ami(101), ami(2201)]
    assert ami_ids(ec2, Filters=[{"Name": "image-id", "Values": ["ami-0f1a000000000110*"]}]) == [ami(1101)]
    assert ami_ids(ec2, ImageIds=[ami(2201), ami(101)]) == [ami(101), ami(2201)]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ec2.describe_images(ImageIds=[ami(101), ami(102)])
    assert error_of(excinfo) == ("InvalidAMIID.NotFound", 400, f"The image id '[{ami(102)}]' does not exist")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ec2.describe_images(ImageIds=["ami-xyz"])
    assert error_of(excinfo)[:2] == ("InvalidAMIID.Malformed", 400)


def test_executable_users_gives_only_the_amis_shared_with_that_account(ep):
    ec2 = ec2_client(ep.url)
    shared = ami_ids(ec2, Owners=["self"], ExecutableUsers=["111122223333"], IncludeDeprecated=True)
    assert shared == [ami(201)]
    assert ec2.describe_images(ImageIds=[ami(201)])["Images"][0]["Public"] is False
    # The owner's own launch permission is implicit, not explicit: self lists only what others shared with it.
    assert ami_ids(ec2, ExecutableUsers=["self"]) == [] and ami_ids(ec2, ExecutableUsers=["444455556666"]) == []
    assert ami_ids(ec2_client(ep.url, "eu-west-1"), Owners=["self"], ExecutableUsers=["all"]) == [ami(102)]


def test_public_last_launched_and_tags_come_from_the_knob(ep):
    eu = ec2_client(ep.url, "eu-west-1")
    assert ami_ids(eu, Filters=[{"Name": "is-public", "Values": ["true"]}]) == [ami(102)]
    assert ami(102) not in ami_ids(eu, Filters=[{"Name": "is-public", "Values": ["false"]}])
    launched = eu.describe_images(ImageIds=[ami(202)])["Images"][0]["LastLaunchedTime"]
    age = datetime.datetime.now(datetime.timezone.utc) - datetime.datetime.fromisoformat(
        launched.replace("Z", "+00:00")
    )
    assert abs(age - datetime.timedelta(days=3)).total_seconds() < 5
    assert "LastLaunchedTime" not in eu.describe_images(ImageIds=[ami(102)])["Images"][0]
    scenario = {
        "images": [
            {
                "arn": image("1.0.0/1"),
                "resources": [
                    {"resourceId": ami(1), "ec2": {"tags": {"Team": "core", "Env": "prod"}, "snapshots": SNAPS}},
                    {"resourceId": ami(2), "ec2": {"tags": {"Team": "edge"}}},
                ],
            }
        ]
    }
    with LocalEndpoint(scenario) as tagged:
        ec2 = ec2_client(tagged.url)
        first = ec2.describe_images(ImageIds=[ami(1)])["Images"][0]
        assert first["Tags"] == [{"Key": "Team", "Value": "core"}, {"Key": "Env", "Value": "prod"}]
        assert [(m["DeviceName"], m["Ebs"]["SnapshotId"]) for m in first["BlockDeviceMappings"]] == [
            ("/dev/xvda", SNAPS[0]),
            ("/dev/xvdb", SNAPS[1]),
        ]
        assert ami_ids(ec2, Filters=[{"Name": "tag:Team", "Values": ["edge"]}]) == [ami(2)]
        assert ami_ids(ec2, Filters=[{"Name": "tag:Env", "Values": ["prod"]}]) == [ami(1)]
        # A value under another key does not match.
        assert ami_ids(ec2, Filters=[{"Name": "tag:Env", "Values": ["edge"]}]) == []
        assert ami_ids(ec2, Filters=[{"Name": "tag-key", "Values": ["Env"]}]) == [ami(1)]


SNAPS = ["snap-0123456789abcdef0", "snap-0123456789abcdef1"]
FOREIGN = "210987654321"
STATES_SCENARIO = {
    "images": [
        {"arn": image("1.0.0/1"), "resources": [{"resourceId": ami(1)}]},
        {"arn": image("1.0.0/2"), "state": "DEPRECATED", "resources": [{"resourceId": ami(2)}]},
        {
            "arn": image("1.0.0/3"),
            "deprecationTime": "2024-04-01T00:00:00Z",
            "state": "DEPRECATED",
            "resources": [{"resourceId": ami(3)}],
        },
        {"arn": image("1.0.0/4"), "state": "DISABLED", "resources": [{"resourceId": ami(4)}]},
        # Another account's AMI shared with this one (a distribution's target account).
        {
            "arn": image("1.0.0/5"),
            "state": "DEPRECATED",
            "resources": [{"resourceId": ami(5), "accountId": FOREIGN, "ec2": {"shared_accounts": [ACCOUNT]}}],
        },
        {"arn": image("1.0.0/6"), "state": "DELETED", "resources": [{"resourceId": ami(6)}]},
    ]
}


def test_deprecated_and_disabled_amis_follow_the_model_rules():
    with LocalEndpoint(STATES_SCENARIO) as ep:
        ec2, client = ec2_client(ep.url), make_client(ep.url)
        # "If you are the AMI owner, all deprecated AMIs appear ... regardless"; disabled ones only when asked for.
        assert ami_ids(ec2, Owners=["self"]) == [ami(1), ami(2), ami(3)]
        assert ami_ids(ec2, Owners=["self"], IncludeDisabled=True) == [ami(1), ami(2), ami(3), ami(4)]
        # Another owner's deprecated AMI: only with IncludeDeprecated ("Default: No deprecated AMIs are included").
        assert ami_ids(ec2) == [ami(1), ami(2), ami(3)]
        assert ami_ids(ec2, IncludeDeprecated=True) == [ami(1), ami(2), ami(3), ami(5)]
        assert ami_ids(ec2, IncludeDeprecated=True, Owners=[FOREIGN]) == [ami(5)]
        assert ami_ids(ec2, IncludeDeprecated=True, ExecutableUsers=["self"]) == [ami(5)]
        every = {i["ImageId"]: i for i in ec2.describe_images(IncludeDeprecated=True, IncludeDisabled=True)["Images"]}
        assert {key: value["State"] for key, value in every.items()} == {
            ami(1): "available",
            ami(2): "available",
            ami(3): "available",
            ami(4): "disabled",
            ami(5): "available",
        }
        assert "DeprecationTime" not in every[ami(1)] and "DeprecationTime" in every[ami(2)]
        assert every[ami(3)]["DeprecationTime"] == "2024-04-01T00:00:00.000Z"
        # A DELETED image's AMIs are deregistered: listed nowhere, not found by id.
        with pytest.raises(botocore.exceptions.ClientError, match="InvalidAMIID.NotFound"):
            ec2.describe_images(ImageIds=[ami(6)])
        # A state update shows in EC2 at once for the AMIs it includes; one of the image alone leaves them as they were.
        client.start_resource_state_update(resourceArn=image("1.0.0/1"), state={"status": "DISABLED"})
        assert ami_ids(ec2, Owners=["self"]) == [ami(1), ami(2), ami(3)]
        with_amis = {"includeResources": {"amis": True}, "executionRole": "ImageBuilderLifecycleRole"}
        client.start_resource_state_update(resourceArn=image("1.0.0/1"), state={"status": "DISABLED"}, **with_amis)
        assert ami_ids(ec2, Owners=["self"]) == [ami(2), ami(3)]
        client.start_resource_state_update(resourceArn=image("1.0.0/4"), state={"status": "DEPRECATED"}, **with_amis)
        deprecated = ec2.describe_images(ImageIds=[ami(4)])["Images"][0]
        assert deprecated["State"] == "available" and "DeprecationTime" in deprecated
        client.start_resource_state_update(resourceArn=image("1.0.0/2"), state={"status": "AVAILABLE"})
        assert "DeprecationTime" in ec2.describe_images(ImageIds=[ami(2)])["Images"][0]


def test_describe_images_pages_with_max_results_and_otherwise_answers_everything(ep):
    ec2 = ec2_client(ep.url)
    whole = ec2.describe_images(Owners=["self"])
    assert "NextToken" not in whole and len(whole["Images"]) == len(US_EAST_1)
    ids, tokens, request = [], [], {"Owners": ["self"], "MaxResults": 3}
    while True:
        page = ec2.describe_images(**request)
        assert len(page["Images"]) <= 3
        ids += [i["ImageId"] for i in page["Images"]]
        if "NextToken" not in page:
            break
        tokens.append(page["NextToken"])
        request["NextToken"] = page["NextToken"]
    assert ids == US_EAST_1 and len(tokens) == 2
    pages = ec2.get_paginator("describe_images").paginate(Owners=["self"], PaginationConfig={"PageSize": 2})
    assert [i["ImageId"] for page in pages for i in page["Images"]] == US_EAST_1
    # A token belongs to its request: other parameters (or another region) refuse it.
    for other in (ec2_client(ep.url, "eu-west-1"), ec2):
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            other.describe_images(Owners=["amazon"] if other is ec2 else ["self"], NextToken=tokens[0], MaxResults=3)
        assert error_of(excinfo)[:2] == ("InvalidPaginationToken", 400)
    unchecked = ec2_client(ep.url, parameter_validation=False)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        unchecked.describe_images(MaxResults=0)
    assert error_of(excinfo)[:2] == ("InvalidParameterValue", 400)


def test_describe_images_requests_are_read_as_botocore_serializes_them(ep):
    ec2 = ec2_client(ep.url, "eu-west-1")
    ec2.describe_images(
        Owners=["self"],
        ExecutableUsers=["111122223333"],
        Filters=[{"Name": "image-id", "Values": [ami(102), ami(202)]}],
        IncludeDeprecated=True,
        IncludeDisabled=True,
        MaxResults=5,
    )
    assert ep.requests(service="ec2")[0]["params"] == {
        "Owners": ["self"],
        "ExecutableUsers": ["111122223333"],
        "Filters": [{"Name": "image-id", "Values": [ami(102), ami(202)]}],
        "IncludeDeprecated": True,
        "IncludeDisabled": True,
        "MaxResults": 5,
    }


def test_ec2_errors_are_xml_as_ec2_writes_them(ep):
    status, body = post_ec2(ep.url, "Action=DescribeImages&Version=2016-11-15&Colour=red")
    assert status == 400
    assert re.fullmatch(
        r'<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>UnknownParameter</Code>'
        r"<Message>The parameter Colour is not recognized</Message></Error></Errors><RequestID>[0-9a-f-]{36}"
        r"</RequestID></Response>",
        body,
    ), body
    assert post_ec2(ep.url, "Action=Explode&Version=2016-11-15")[1].count("<Code>InvalidAction</Code>") == 1
    assert "<Code>NoSuchVersion</Code>" in post_ec2(ep.url, "Action=DescribeImages&Version=2014-01-01")[1]
    assert (
        "<Code>InvalidParameterValue</Code>"
        in post_ec2(ep.url, "Action=DescribeImages&Version=2016-11-15&MaxResults=many")[1]
    )
    status, body = post_ec2(ep.url, "Action=DescribeImages&Version=2016-11-15&Owner.1=self&MaxResults=1")
    assert status == 200 and body.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>'
    )
    assert "<imagesSet><item>" in body and "<imageId>ami-0c3d4e5f6a7b80002</imageId>" in body
    assert "<tagSet>" not in body and "<nextToken>" in body
    ec2 = ec2_client(ep.url)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ec2.describe_instances()
    assert error_of(excinfo) == (
        "UnsupportedOperation",
        400,
        "The action DescribeInstances is not implemented by the local endpoint.",
    )
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ec2.describe_images(Filters=[{"Name": "colour", "Values": ["red"]}])
    assert error_of(excinfo)[:2] == ("InvalidParameterValue", 400) and "colour" in error_of(excinfo)[2]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ec2.describe_images(DryRun=True)
    assert error_of(excinfo)[:2] == ("DryRunOperation", 412)
    assert [(r["operation"], r["error"]) for r in ep.requests(service="ec2")][:3] == [
        ("DescribeImages", "UnknownParameter"),
        ("Explode", "InvalidAction"),
        ("DescribeImages", "NoSuchVersion"),
    ]


def test_an_answer_off_the_ec2_model_is_a_bug_and_a_500(ep, monkeypatch, caplog):
    # EC2 has no "deprecated" state: an endpoint that sent one would be caught before the answer leaves.
    monkeypatch.setitem(endpoint_module.AMI_STATES, "AVAILABLE", "deprecated")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ec2_client(ep.url).describe_images(Owners=["self"])
    code, status, message = error_of(excinfo)
    assert (code, status) == ("LocalEndpointOutputValidationError", 500) and "Images.1.State" in message
    assert any("BUG" in record.getMessage() for record in caplog.records)


def test_request_limit_exceeded_is_ec2_throttling_that_botocore_retries(ep):
    ep.add_faults([{"operation": "DescribeImages", "fault": "error", "code": "RequestLimitExceeded", "count": 2}])
    retrying = ec2_client(ep.url, retries={"mode": "standard", "total_max_attempts": 3})
    answer = retrying.describe_images(Owners=["self"])
    assert len(answer["Images"]) == len(US_EAST_1) and answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert [(r["status"], r["fault"], r["error"]) for r in ep.requests("DescribeImages")] == [
        (503, "error", "RequestLimitExceeded"),
        (503, "error", "RequestLimitExceeded"),
        (200, None, None),
    ]
    ep.add_faults([{"service": "ec2", "fault": "error", "code": "RequestLimitExceeded"}])
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ec2_client(ep.url).describe_images(Owners=["self"])
    assert error_of(excinfo)[:2] == ("RequestLimitExceeded", 503)


def test_fault_rules_target_a_service(ep, client):
    ep.add_faults([{"service": "ec2", "fault": "error", "code": "Unavailable", "count": None}])
    assert status_of(client, lce(101)) == "PENDING", "an ec2 rule never takes an Image Builder call"
    with pytest.raises(botocore.exceptions.ClientError, match="Unavailable"):
        ec2_client(ep.url).describe_images()
    ep.clear_faults()
    ep.add_faults([{"service": "imagebuilder", "fault": "drop", "count": None}])
    assert ami_ids(ec2_client(ep.url, "ap-southeast-2")) == [ami(103)]
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    for rule in (
        {"operation": "DescribeImages", "service": "imagebuilder", "fault": "drop"},
        {"service": "s3", "fault": "drop"},
        {"operation": "DescribeInstances", "fault": "drop"},
    ):
        with pytest.raises(endpoint_module.ScenarioError):
            ep.add_faults([rule])


def test_the_log_names_the_service_operation_and_module_of_each_call(ep, client):
    named = ec2_client(ep.url, user_agent_extra="ansible-module/imagebuilder_lifecycle_policy_preview_info")
    named.describe_images(Owners=["self"])
    client.get_image(imageBuildVersionArn=preview("1.0.0/1"))
    log = control(ep.url, "GET", "requests")[1]
    assert [(r["service"], r["operation"], r["module"]) for r in log] == [
        ("ec2", "DescribeImages", "imagebuilder_lifecycle_policy_preview_info"),
        ("imagebuilder", "GetImage", None),
    ]
    assert [r["seq"] for r in control(ep.url, "GET", "requests?service=ec2")[1]] == [1]
    assert [r["seq"] for r in control(ep.url, "GET", "requests?service=imagebuilder")[1]] == [2]


def test_log_file_lines_carry_the_service(tmp_path):
    log_path = tmp_path / "requests.jsonl"
    with LocalEndpoint(os.path.join(SCENARIOS, "integration.json"), log_path=str(log_path)) as ep:
        ec2_client(ep.url).describe_images()
        make_client(ep.url).get_image(imageBuildVersionArn=preview("1.0.0/1"))
    lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    assert [(r["service"], r["operation"], r["status"]) for r in lines] == [
        ("ec2", "DescribeImages", 200),
        ("imagebuilder", "GetImage", 200),
    ]


@pytest.mark.parametrize(
    "resource, words",
    [
        (
            {"resourceId": ami(1), "ec2": {"colour": "red"}},
            r"images\[0\]\.resources\[0\]\.ec2: unknown keys \['colour'\]",
        ),
        ({"resourceId": ami(1), "ec2": {"public": "yes"}}, r"resources\[0\]\.ec2\.public"),
        ({"resourceId": ami(1), "ec2": {"shared_accounts": ["1111"]}}, r"resources\[0\]\.ec2\.shared_accounts"),
        ({"resourceId": ami(1), "ec2": {"shared_accounts": "111122223333"}}, r"ec2\.shared_accounts"),
        ({"resourceId": ami(1), "ec2": {"last_launched": "yesterday"}}, r"resources\[0\]\.ec2\.last_launched"),
        ({"resourceId": ami(1), "ec2": {"tags": {"a": 1}}}, r"resources\[0\]\.ec2\.tags"),
        ({"resourceId": ami(1), "ec2": {"snapshots": ["vol-1"]}}, r"resources\[0\]\.ec2\.snapshots"),
        ({"resourceId": ami(1), "ec2": ["public"]}, r"resources\[0\]\.ec2: expected an object"),
        ({"resourceId": "snap-0123456789abcdef0", "ec2": {}}, r"resources\[0\]\.ec2: only an AMI resource"),
    ],
)
def test_malformed_ec2_knobs_are_refused_naming_the_place(resource, words):
    with pytest.raises(endpoint_module.ScenarioError, match=words):
        LocalEndpoint({"images": [{"arn": image("1.0.0/1"), "resources": [resource]}]})


def test_the_ec2_knob_never_reaches_an_image_builder_answer():
    resources = [{"accountId": ACCOUNT, "resourceId": ami(1), "region": "us-east-1", "state": {"status": "SUCCESS"}}]
    knob = {"public": True, "shared_accounts": ["111122223333"], "last_launched": "-P3D", "tags": {"a": "b"}}

    def answers(scenario_resources):
        with LocalEndpoint({"images": [{"arn": image("3.0.0/1"), "resources": scenario_resources}]}) as ep:
            client = make_client(ep.url)
            got = [answer_of(client.get_image, imageBuildVersionArn=image("3.0.0/1"))]
            got.append(answer_of(client.list_image_build_versions)["imageSummaryList"])
            started = client.start_resource_state_update(
                resourceArn=image("3.0.0/1"), state={"status": "DEPRECATED"}, **WITH_AMIS
            )["lifecycleExecutionId"]
            got.append(
                answer_of(
                    client.list_lifecycle_execution_resources,
                    lifecycleExecutionId=started,
                    parentResourceId=image("3.0.0/1"),
                )["resources"]
            )
        for answer in got[:1]:
            answer.pop("requestId")
        for resource in got[2]:
            resource.pop("startTime", None)
        got[1][0].pop("lifecycleExecutionId", None)
        return got

    assert answers([dict(resources[0], ec2=knob)]) == answers(resources)


def test_the_preview_scenario_has_the_images_and_amis_the_readme_lists(client):
    summaries = client.list_image_build_versions(filters=[{"name": "name", "values": ["preview-ami", "other-ami"]}])[
        "imageSummaryList"
    ]
    amis = {s["arn"]: [(a["image"], a["region"]) for a in s["outputResources"]["amis"]] for s in summaries}
    assert amis == {
        preview("1.2.0/2"): [(ami(2201), "us-east-1"), (ami(2202), "eu-west-1")],
        preview("1.2.0/1"): [(ami(2101), "us-east-1")],
        preview("1.1.0/2"): [(ami(1201), "us-east-1")],
        preview("1.1.0/1"): [(ami(1101), "us-east-1"), (ami(1102), "eu-west-1")],
        preview("1.0.0/2"): [(ami(201), "us-east-1"), (ami(202), "eu-west-1")],
        preview("1.0.0/1"): [(ami(101), "us-east-1"), (ami(102), "eu-west-1"), (ami(103), "ap-southeast-2")],
        ARN + "image/other-ami/1.0.0/1": [(ami(9101), "us-east-1")],
    }
    assert list(amis)[:6] == [preview(v) for v in ("1.2.0/2", "1.2.0/1", "1.1.0/2", "1.1.0/1", "1.0.0/2", "1.0.0/1")]
    assert image_of(client, preview("1.1.0/2"))["tags"] == {"Retain": "yes"}
    assert image_of(client, preview("1.0.0/1"))["tags"] == {"Environment": "production"}
    policy = client.get_lifecycle_policy(lifecyclePolicyArn=PREVIEW_POLICY)["lifecyclePolicy"]
    assert policy["status"] == "ENABLED" and policy["resourceSelection"]["recipes"][0]["name"] == "preview-ami"


# -- running a policy (/_endpoint/run_policy) --------------------------------------------------------------------------


def run_policy(url, arn):
    return control(url, "POST", "run_policy", {"lifecyclePolicyArn": arn})


def resources_of(client, execution_id, parent=None):
    params = {"lifecycleExecutionId": execution_id}
    if parent is not None:
        params["parentResourceId"] = parent
    return client.list_lifecycle_execution_resources(**params)["resources"]


def test_run_policy_starts_an_execution_of_the_scenario_run(ep, client):
    before = time.time()
    status, answer = run_policy(ep.url, PREVIEW_POLICY)
    assert status == 200 and list(answer) == ["lifecycleExecutionId"]
    execution_id = answer["lifecycleExecutionId"]
    assert re.fullmatch(r"lce-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", execution_id)
    listed = client.list_lifecycle_executions(resourceArn=PREVIEW_POLICY)["lifecycleExecutions"]
    assert [e["lifecycleExecutionId"] for e in listed] == [execution_id]
    execution = client.get_lifecycle_execution(lifecycleExecutionId=execution_id)["lifecycleExecution"]
    assert execution["state"] == {"status": "SUCCESS"} and execution["lifecyclePolicyArn"] == PREVIEW_POLICY
    assert execution["resourcesImpactedSummary"] == {"hasImpactedResources": True}
    assert int(before) <= execution["startTime"].timestamp() <= time.time()

    top = resources_of(client, execution_id)
    assert [(r["resourceId"], r["action"]["name"], r["state"]["status"]) for r in top] == [
        (preview("1.0.0/1"), "DELETE", "SUCCESS"),
        (preview("1.0.0/2"), "DEPRECATE", "SUCCESS"),
        (preview("1.1.0/1"), "DEPRECATE", "SUCCESS"),
    ]
    deleted = resources_of(client, execution_id, preview("1.0.0/1"))
    # The AMIs an exclusion rule keeps are listed too, SKIPPED, as the user guide says the service reports them.
    assert [(r["resourceId"], r["region"], r["action"]["name"], r["state"]["status"]) for r in deleted] == [
        (ami(101), "us-east-1", "DELETE", "SUCCESS"),
        (ami(102), "eu-west-1", "DELETE", "SKIPPED"),
        (ami(103), "ap-southeast-2", "DELETE", "SKIPPED"),
    ]
    assert deleted[0]["snapshots"] == [{"snapshotId": "snap-17aa28bc5c436d73f", "state": {"status": "SUCCESS"}}]
    # The snapshot the run deletes is the one EC2 shows on that AMI.
    ec2_snapshots = ec2_client(ep.url).describe_images(ImageIds=[ami(101)])["Images"][0]["BlockDeviceMappings"]
    assert [m["Ebs"]["SnapshotId"] for m in ec2_snapshots] == ["snap-17aa28bc5c436d73f"]
    skipped = resources_of(client, execution_id, preview("1.0.0/2"))
    assert [(r["resourceId"], r["state"]["status"]) for r in skipped] == [(ami(201), "SKIPPED"), (ami(202), "SKIPPED")]
    deprecated = resources_of(client, execution_id, preview("1.1.0/1"))
    assert [(r["resourceId"], r["region"], r["action"]["name"]) for r in deprecated] == [
        (ami(1101), "us-east-1", "DEPRECATE"),
        (ami(1102), "eu-west-1", "DEPRECATE"),
    ]
    assert all(r["startTime"] == execution["startTime"] for r in top + deleted + deprecated)
    # The service's dateLastRun, and the images' last execution of a lifecycle policy.
    policy = client.get_lifecycle_policy(lifecyclePolicyArn=PREVIEW_POLICY)["lifecyclePolicy"]
    assert policy["dateLastRun"] == execution["startTime"]
    assert image_of(client, preview("1.0.0/1"))["lifecycleExecutionId"] == execution_id
    # Each run is a new execution, newest first.
    again = run_policy(ep.url, PREVIEW_POLICY)[1]["lifecycleExecutionId"]
    listed = client.list_lifecycle_executions(resourceArn=PREVIEW_POLICY)["lifecycleExecutions"]
    assert again != execution_id and {e["lifecycleExecutionId"] for e in listed} == {execution_id, again}
    assert control(ep.url, "POST", "reset")[0] == 200
    assert client.list_lifecycle_executions(resourceArn=PREVIEW_POLICY)["lifecycleExecutions"] == []


def test_run_policy_refuses_an_unknown_policy_a_policy_without_a_run_and_a_bad_body(ep, client):
    cases = [
        ({"lifecyclePolicyArn": policy_arn("no-such-policy")}, 404, "no lifecycle policy"),
        # golden-ami-cleanup only owns executions (no details): no policy to run.
        ({"lifecyclePolicyArn": POLICY}, 404, "no lifecycle policy"),
        ({"lifecyclePolicyArn": NIGHTLY}, 409, "no policy_runs entry for policy 'nightly-sweep'"),
        ({"arn": PREVIEW_POLICY}, 400, "lifecyclePolicyArn"),
        ({"lifecyclePolicyArn": 1}, 400, "string"),
    ]
    for document, code, words in cases:
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            control(ep.url, "POST", "run_policy", document)
        assert excinfo.value.code == code and words in json.loads(excinfo.value.read())["message"], document
    assert len(client.list_lifecycle_executions(resourceArn=NIGHTLY, maxResults=25)["lifecycleExecutions"]) == 25


def test_run_policy_runs_a_policy_created_through_the_api():
    top = {"resourceId": image("1.0.0/1"), "state": {"status": "SUCCESS"}, "action": {"name": "DEPRECATE"}}
    scenario = {"policy_runs": {"Golden AMI": {"resources": [top]}}}
    with LocalEndpoint(scenario) as ep:
        client = make_client(ep.url)
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            run_policy(ep.url, policy_arn("golden-ami"))
        assert excinfo.value.code == 404
        arn = client.create_lifecycle_policy(**policy_request())["lifecyclePolicyArn"]
        execution_id = run_policy(ep.url, arn)[1]["lifecycleExecutionId"]
        assert [r["resourceId"] for r in resources_of(client, execution_id)] == [image("1.0.0/1")]


@pytest.mark.parametrize(
    "runs, words",
    [
        ([], "policy_runs: expected an object"),
        ({"p": {"resources": [], "status": "FAILED"}}, r"policy_runs\['p'\]: unknown keys \['status'\]"),
        ({"p": {}}, r"policy_runs\['p'\]\.resources: expected a list"),
        ({"p": {"resources": [{"resourceId": ami(1)}]}}, r"resources\[0\]: a top-level resource is an image"),
        (
            {"p": {"resources": [{"resourceId": ami(1), "parentResourceId": image("1.0.0/1")}]}},
            r"resources\[0\]\.parentResourceId",
        ),
        (
            {"p": {"resources": [{"resourceId": image("1.0.0/1"), "action": {"name": "EXPLODE"}}]}},
            r"policy_runs\['p'\]\.resources\[0\]\.action\.name",
        ),
    ],
)
def test_malformed_policy_runs_are_refused(runs, words):
    with pytest.raises(endpoint_module.ScenarioError, match=words):
        LocalEndpoint({"policy_runs": runs})


def test_policy_runs_of_the_shipped_scenarios_form_the_service_tree():
    with open(os.path.join(SCENARIOS, "integration.json"), encoding="utf-8") as handle:
        runs = json.load(handle)["policy_runs"]
    build_version = endpoint_module.ServiceModel.get().image_build_version_arn
    for run in runs.values():
        top = [r["resourceId"] for r in run["resources"] if "parentResourceId" not in r]
        assert all(build_version.search(arn) for arn in top)
        assert {r["parentResourceId"] for r in run["resources"] if "parentResourceId" in r} <= set(top)
