"""The local endpoint, each behaviour once, through botocore as the modules call it (README.md says what it does)."""

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

from ansible_collections.imagebuilder_ops.aws.tests.local_endpoint.imagebuilder_endpoint import LocalEndpoint
from ansible_collections.imagebuilder_ops.aws.tests.local_endpoint.stand_in import ec2 as ec2_answers
from ansible_collections.imagebuilder_ops.aws.tests.local_endpoint.stand_in import rules
from ansible_collections.imagebuilder_ops.aws.tests.local_endpoint.stand_in.common import ScenarioError
from ansible_collections.imagebuilder_ops.aws.tests.local_endpoint.stand_in.model import OPERATIONS
from ansible_collections.imagebuilder_ops.aws.tests.local_endpoint.stand_in.model import ServiceModel
from ansible_collections.imagebuilder_ops.aws.tests.support.endpoint import endpoint_environment
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_ACCESS_KEY
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import FAKE_SECRET_KEY as SECRET_KEY
from ansible_collections.imagebuilder_ops.aws.tests.support.fake_aws import PAGE_SIZE as MAX_RESULTS_HIGH

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "scenarios")
INTEGRATION = os.path.join(SCENARIOS, "integration.json")
ACCOUNT = "123456789012"
ARN = f"arn:aws:imagebuilder:us-east-1:{ACCOUNT}:"
POLICY = ARN + "lifecycle-policy/golden-ami-cleanup"
NIGHTLY = ARN + "lifecycle-policy/nightly-sweep"
PREVIEW_POLICY = ARN + "lifecycle-policy/preview-golden"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ImageBuilderLifecycleRole"
# A StartResourceStateUpdate that includes underlying resources, so it runs as a lifecycle execution.
WITH_AMIS = {"includeResources": {"amis": True}, "executionRole": ROLE}
IN_A_YEAR = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=365)
UUID_ID = r"lce-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def lce(number):
    return f"lce-00000000-0000-4000-8000-{number:012d}"


def image(version, name="golden-ami"):
    return f"{ARN}image/{name}/{version}"


def ami(number):
    """The integration scenario's preview AMIs: ami-0f1a00000000NNNNN."""
    return f"ami-0f1a00000000{number:05d}"


def make_client(url, service="imagebuilder", region="us-east-1", **config):
    config.setdefault("retries", {"total_max_attempts": 1})
    credentials = {"aws_access_key_id": FAKE_ACCESS_KEY, "aws_secret_access_key": SECRET_KEY}
    return boto3.client(service, endpoint_url=url, region_name=region, config=Config(**config), **credentials)


def ec2_client(url, region="us-east-1", **config):
    return make_client(url, "ec2", region, **config)


def status_of(client, execution_id):
    return client.get_lifecycle_execution(lifecycleExecutionId=execution_id)["lifecycleExecution"]["state"]["status"]


def polls(client, execution_id, count):
    return [status_of(client, execution_id) for _poll in range(count)]


def error_of(excinfo):
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def refused(call, **params):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(**params)
    return error_of(excinfo)


def code_of(call, **params):
    return refused(call, **params)[:2]


def listed(client, arn, **params):
    return ids(client.list_lifecycle_executions(resourceArn=arn, **params)["lifecycleExecutions"])


def control(url, method, path, document=None):
    data = None if document is None else json.dumps(document).encode()
    request = urllib.request.Request(url + "/_endpoint/" + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def ids(items, key="lifecycleExecutionId"):
    return [item[key] for item in items]


def ami_ids(ec2, **params):
    return ids(ec2.describe_images(**params)["Images"], "ImageId")


def image_doc(version, *resources, name="golden-ami", **members):
    """A scenario image: its resources are AMI numbers (``ami(n)``) or resources as written."""
    resources = [{"resourceId": ami(r)} if isinstance(r, int) else r for r in resources]
    return dict({"arn": image(version, name), "resources": resources}, **members)


def scenario(name="integration", **changes):
    with open(os.path.join(SCENARIOS, f"{name}.json"), encoding="utf-8") as handle:
        return dict(json.load(handle), **changes)


@pytest.fixture(scope="module")
def endpoint():
    with LocalEndpoint(INTEGRATION) as ep:
        yield ep


@pytest.fixture
def ep(endpoint):
    endpoint.load_scenario(INTEGRATION)
    return endpoint


@pytest.fixture
def client(ep):
    return make_client(ep.url)


# -- the generic checks against the model: requests and answers ------------------------------------------------------


@pytest.mark.parametrize(
    "params, words",
    [
        ({"lifecycleExecutionId": "lce-1"}, "'lifecycleExecutionId' failed to satisfy constraint: .* pattern"),
        ({}, "Value null at 'lifecycleExecutionId' failed to satisfy constraint: Member must not be null"),
    ],
)
def test_a_request_off_the_input_shape_is_refused_naming_the_member(ep, params, words):
    unchecked = make_client(ep.url, parameter_validation=False)
    code, status, message = refused(unchecked.get_lifecycle_execution, **params)
    assert (code, status) == ("InvalidRequestException", 400) and re.search(words, message), message


def test_a_body_member_the_model_lacks_and_an_operation_the_endpoint_lacks_are_refused(ep, client):
    request = urllib.request.Request(ep.url + "/ListLifecycleExecutions", data=b'{"lifecyclePolicyArn": "x"}')
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=5)  # pylint: disable=consider-using-with
    assert (excinfo.value.code, excinfo.value.headers["x-amzn-ErrorType"]) == (400, "InvalidRequestException")
    assert refused(client.list_image_pipelines)[:2] == ("UnknownOperationException", 404)


@pytest.mark.parametrize(
    "broken, where",
    [
        ({"status": "DONE"}, "lifecycleExecution.state.status"),
        ({"status": "FAILED", "reason": ""}, "lifecycleExecution.state.reason"),
        ({"resources": [{"resourceId": "ami-1", "colour": "red"}]}, "resources.1.colour"),
    ],
)
def test_an_answer_off_the_output_shape_is_a_bug_and_a_500(broken, where, caplog):
    with LocalEndpoint({"executions": [dict(broken, lifecycleExecutionId=lce(1))]}) as ep:
        client = make_client(ep.url)
        call = client.list_lifecycle_execution_resources if "resources" in broken else client.get_lifecycle_execution
        code, status, message = refused(call, lifecycleExecutionId=lce(1))
    assert (code, status) == ("LocalEndpointOutputValidationError", 500) and f"'{where}'" in message
    assert any("BUG" in record.getMessage() for record in caplog.records)


def answer_of(call, **params):
    answer = call(**params)
    answer.pop("ResponseMetadata")
    return answer


def test_omit_members_by_name_at_every_depth_and_star_keeps_what_holds_a_read():
    omit = ["state", "startTime", "lifecyclePolicyArn", "resourcesImpactedSummary", "nextToken", "lifecycleExecutionId"]
    with LocalEndpoint(scenario(omit_members=omit)) as ep:
        client = make_client(ep.url)
        end = datetime.datetime(2024, 6, 3, 2, 30, tzinfo=datetime.timezone.utc)
        assert answer_of(client.get_lifecycle_execution, lifecycleExecutionId=lce(108)) == {
            "lifecycleExecution": {"endTime": end}
        }
        under = answer_of(client.list_lifecycle_execution_resources, lifecycleExecutionId=lce(109))
        # lifecycleExecutionState is another member than state: it stays.
        assert under["lifecycleExecutionState"] == {"status": "SUCCESS"} and "state" not in under["resources"][0]
    with LocalEndpoint(scenario(omit_members="*")) as ep:
        client = make_client(ep.url)
        assert answer_of(client.get_lifecycle_execution, lifecycleExecutionId=lce(101)) == {"lifecycleExecution": {}}
        assert answer_of(client.list_lifecycle_executions, resourceArn=NIGHTLY) == {"lifecycleExecutions": [{}] * 25}
        assert answer_of(client.cancel_lifecycle_execution, lifecycleExecutionId=lce(104)) == {}


# -- paging --------------------------------------------------------------------------------------------------------


SEVEN = {"PageSize": 7}
NIGHTLY_ID = "lce-00000060-0000-4000-a000-{:012x}"


def test_a_paginator_gets_every_execution_once_newest_first(ep, client):
    pages = list(client.get_paginator("list_lifecycle_executions").paginate(resourceArn=NIGHTLY))
    assert [len(page["lifecycleExecutions"]) for page in pages] == [25, 25, 10]
    starts = [e["startTime"] for page in pages for e in page["lifecycleExecutions"]]
    assert starts == sorted(starts, reverse=True) and len(set(starts)) == 60
    small = client.get_paginator("list_lifecycle_executions").paginate(resourceArn=NIGHTLY, PaginationConfig=SEVEN)
    assert ids(small.build_full_result()["lifecycleExecutions"]) == [NIGHTLY_ID.format(n) for n in range(1, 61)]


@pytest.mark.parametrize("max_results, accepted", [(0, False), (MAX_RESULTS_HIGH + 1, False), (MAX_RESULTS_HIGH, True)])
def test_max_results_bounds_come_from_the_model(ep, max_results, accepted):
    unchecked = make_client(ep.url, parameter_validation=False)
    if accepted:
        assert len(listed(unchecked, NIGHTLY, maxResults=max_results)) == min(60, max_results)
    else:
        code, status, message = refused(unchecked.list_lifecycle_executions, resourceArn=NIGHTLY, maxResults=0)
        assert (code, status) == ("InvalidRequestException", 400) and "maxResults" in message


def test_a_token_belongs_to_its_listing(client):
    first = client.list_lifecycle_executions(resourceArn=NIGHTLY)
    for arn, token in ((NIGHTLY, "not-a-token"), (POLICY, first["nextToken"])):
        with pytest.raises(client.exceptions.InvalidPaginationTokenException):
            client.list_lifecycle_executions(resourceArn=arn, nextToken=token)
    again = client.list_lifecycle_executions(resourceArn=NIGHTLY, nextToken=first["nextToken"])
    assert again["lifecycleExecutions"][0]["lifecycleExecutionId"] == NIGHTLY_ID.format(26)


def test_ten_thousand_generated_resources_page_without_quadratic_work(ep):
    connection = http.client.HTTPConnection("127.0.0.1", int(ep.url.rsplit(":", 1)[1]), timeout=5)
    body = {"lifecycleExecutionId": lce(109), "parentResourceId": image("0.9.0/1")}
    token, durations, seen = {}, [], []
    while token is not None:
        started = time.perf_counter()
        connection.request("POST", "/ListLifecycleExecutionResources", body=json.dumps(dict(body, **token)))
        page = json.loads(connection.getresponse().read())
        durations.append(time.perf_counter() - started)
        seen += ids(page["resources"], "resourceId")
        token = {"nextToken": page["nextToken"]} if "nextToken" in page else None
    connection.close()
    assert len(set(seen)) == 10000 and seen[0] == "ami-00000000000000001" and len(durations) == 400
    early, late = statistics.median(durations[:50]), statistics.median(durations[-50:])
    assert late < early * 3 + 0.002, (early, late)


# -- lifecycle executions: listings, timelines, cancel, state updates ------------------------------------------------


def test_listing_by_policy_by_image_build_version_and_by_parent(client):
    assert listed(client, POLICY) == [lce(n) for n in range(101, 110)]
    # Policy executions 101-108 touch this image too; listing the image shows only the state updates started for it.
    assert listed(client, image("1.0.0/1")) == [lce(110), lce(111)]
    assert listed(client, ARN + "lifecycle-policy/no-such") == []
    top = client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(108))["resources"]
    assert ids(top, "resourceId") == [image("1.0.0/1"), image("1.0.0/2")]
    for parent in (image("1.0.0/2"), "ami-00000000000000001"):
        under = client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(109), parentResourceId=parent)
        assert under["resources"] == []
    missing = "lce-0000dead-0000-4000-8000-000000000000"
    assert code_of(client.get_lifecycle_execution, lifecycleExecutionId=missing) == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    "number, statuses",
    [
        (101, ["PENDING", "IN_PROGRESS", "IN_PROGRESS", "SUCCESS", "SUCCESS"]),
        (102, ["IN_PROGRESS", "IN_PROGRESS", "FAILED", "FAILED"]),
        (103, ["IN_PROGRESS", "CANCELLING", "CANCELLING", "CANCELLED"]),
        (104, ["IN_PROGRESS"] * 10),
    ],
)
def test_a_count_timeline_advances_once_per_get_and_never_on_a_listing(client, number, statuses):
    client.list_lifecycle_executions(resourceArn=POLICY)
    client.list_lifecycle_execution_resources(lifecycleExecutionId=lce(number))
    answers = [
        client.get_lifecycle_execution(lifecycleExecutionId=lce(number))["lifecycleExecution"] for _poll in statuses
    ]
    assert [a["state"]["status"] for a in answers] == statuses
    assert ["endTime" in a for a in answers] == [s in ("SUCCESS", "FAILED", "CANCELLED") for s in statuses]
    assert ("reason" in answers[-1]["state"]) == (statuses[-1] == "FAILED")


def test_a_time_timeline_runs_from_the_first_get_and_times_are_whole_seconds_relative_to_the_load():
    phases = [["IN_PROGRESS", 0.3], ["SUCCESS", None]]
    loaded = time.time()
    execution = {"lifecycleExecutionId": lce(7), "startTime": "-PT5M", "timeline_seconds": phases}
    with LocalEndpoint({"executions": [execution]}) as ep:
        client = make_client(ep.url)
        time.sleep(0.35)  # before the first Get the clock has not started
        assert status_of(client, lce(7)) == "IN_PROGRESS"
        time.sleep(0.35)
        execution = client.get_lifecycle_execution(lifecycleExecutionId=lce(7))["lifecycleExecution"]
    start, end = execution["startTime"].timestamp(), execution["endTime"].timestamp()
    assert execution["state"]["status"] == "SUCCESS" and start == int(start) and end == int(end)
    assert abs(loaded - 300 - start) <= 2 and start <= end <= time.time()


def test_cancel_goes_through_cancelling_for_its_polls_and_is_idempotent_by_token(ep, client):
    token = str(uuid.uuid4())
    for _twice in range(2):
        answer = client.cancel_lifecycle_execution(lifecycleExecutionId=lce(105), clientToken=token)
        assert answer["lifecycleExecutionId"] == lce(105)
    with pytest.raises(client.exceptions.IdempotentParameterMismatchException):
        client.cancel_lifecycle_execution(lifecycleExecutionId=lce(104), clientToken=token)
    assert polls(client, lce(105), 4) == ["CANCELLING", "CANCELLING", "CANCELLED", "CANCELLED"]
    client.cancel_lifecycle_execution(lifecycleExecutionId=lce(104))
    assert polls(client, lce(104), 3) == ["CANCELLING", "CANCELLED", "CANCELLED"]


@pytest.mark.parametrize(
    "request_, starts_execution",
    [
        ({"state": {"status": "DISABLED"}}, False),
        # An includeResources that includes nothing counts as absent.
        ({"state": {"status": "DISABLED"}, "includeResources": {"amis": False, "snapshots": False}}, False),
        ({"state": {"status": "DEPRECATED"}, "exclusionRules": {"amis": {"isPublic": True}}}, False),
        ({"state": {"status": "DEPRECATED"}, **WITH_AMIS}, True),
        ({"state": {"status": "DELETED"}, "includeResources": {"containers": True}, "executionRole": "Role"}, True),
        ({"state": {"status": "DEPRECATED"}, "updateAt": IN_A_YEAR}, True),
    ],
)
def test_a_state_update_runs_an_execution_only_for_underlying_resources_or_a_schedule(
    client, request_, starts_execution
):
    answer = answer_of(client.start_resource_state_update, resourceArn=image("3.0.0/1"), **request_)
    listed = client.list_lifecycle_executions(resourceArn=image("3.0.0/1"))["lifecycleExecutions"]
    assert set(answer) == ({"resourceArn", "lifecycleExecutionId"} if starts_execution else {"resourceArn"})
    assert ids(listed) == ([answer["lifecycleExecutionId"]] if starts_execution else [])
    scheduled = "updateAt" in request_
    status = client.get_image(imageBuildVersionArn=image("3.0.0/1"))["image"]["state"]["status"]
    assert status == ("AVAILABLE" if scheduled else request_["state"]["status"])


def test_a_started_execution_holds_the_image_with_its_resources_under_it(client):
    started = client.start_resource_state_update(
        resourceArn=image("3.0.0/1"), state={"status": "DEPRECATED"}, **WITH_AMIS
    )
    execution_id = started["lifecycleExecutionId"]
    assert re.fullmatch(UUID_ID, execution_id)
    top = client.list_lifecycle_execution_resources(lifecycleExecutionId=execution_id)["resources"]
    assert [(r["resourceId"], r["action"]["name"]) for r in top] == [(image("3.0.0/1"), "DEPRECATE")]
    under = client.list_lifecycle_execution_resources(
        lifecycleExecutionId=execution_id, parentResourceId=image("3.0.0/1")
    )
    assert [r["action"]["name"] for r in under["resources"]] == ["DEPRECATE", "DEPRECATE"]
    assert polls(client, execution_id, 4) == ["PENDING", "IN_PROGRESS", "IN_PROGRESS", "SUCCESS"]
    # An immediate change of a busy image is not refused: only a request that starts an execution is.
    assert "lifecycleExecutionId" not in client.start_resource_state_update(
        resourceArn=image("2.0.0/1"), state={"status": "DISABLED"}
    )


def test_a_state_update_replays_by_token_even_once_its_schedule_has_passed(ep, client):
    token = str(uuid.uuid4())
    soon = int(time.time()) + 2  # whole seconds: botocore 1.43 sends integer epoch seconds
    request = {"resourceArn": image("3.0.0/1"), "state": {"status": "DEPRECATED"}, "updateAt": soon}
    first = client.start_resource_state_update(clientToken=token, **request)
    assert ep.requests("StartResourceStateUpdate")[0]["params"]["updateAt"] == soon
    time.sleep(soon - time.time() + 0.05)
    assert (
        client.start_resource_state_update(clientToken=token, **request)["lifecycleExecutionId"]
        == first["lifecycleExecutionId"]
    )
    with pytest.raises(client.exceptions.IdempotentParameterMismatchException):
        client.start_resource_state_update(clientToken=token, **dict(request, resourceArn=image("3.0.0/2")))
    assert refused(client.start_resource_state_update, resourceArn=image("9.9.9/9"), state={"status": "DISABLED"})[
        :2
    ] == ("ResourceNotFoundException", 404)


# -- the documented rules: one case per rule of the table -------------------------------------------------------------

# fmt: off
RULES_SCENARIO = {
    "images": [image_doc("1.0.0/1"), image_doc("1.0.0/2", state="BUILDING"), image_doc("1.0.0/3", state="FAILED"),
               image_doc("1.0.0/1", name="golden-container", type="DOCKER")],
    "executions": [{"lifecycleExecutionId": lce(1), "images": [image("1.0.0/1")], "status": "IN_PROGRESS"},
                   {"lifecycleExecutionId": lce(2), "status": "SUCCESS"}],
    "policies": [{"arn": ARN + "lifecycle-policy/golden-ami", "name": "golden-ami", "resourceType": "AMI_IMAGE",
                  "executionRole": "ImageBuilderLifecycleRole",
                  "policyDetails": [{"action": {"type": "DELETE"}, "filter": {"type": "COUNT", "value": 5}}],
                  "resourceSelection": {"recipes": [{"name": "golden-ami", "semanticVersion": "1.x.x"}]}}],
}
# fmt: on
STORED = {key: value for key, value in RULES_SCENARIO["policies"][0].items() if key not in ("arn", "name")}
AGE = {"type": "AGE", "value": 90, "unit": "DAYS"}
AMIS_SNAPSHOTS = {"amis": True, "snapshots": True}
RECIPES = STORED["resourceSelection"]


def policy_request(name="Golden AMI", token="token-1", **members):
    return dict(STORED, name=name, clientToken=token, **members)


def state_update(version="1.0.0/1", name="golden-ami", status="DEPRECATED", **members):
    return lambda c: c.start_resource_state_update(
        resourceArn=image(version, name), state={"status": status}, **members
    )


def create(**members):
    return lambda c: c.create_lifecycle_policy(**policy_request(**members))


def details(*rules_, **members):
    return create(policyDetails=[{"action": action, "filter": flt} for action, flt in rules_], **members)


# Each rule of rules.RULES, by the start of its sentence and its needs: a request that breaks only that rule.
# fmt: off
RULE_CASES = {
    ("You must provide this property", ()): state_update(executionRole=ROLE),
    ("Snapshots and containers", ()): state_update(includeResources={"amis": True, "snapshots": True},
                                                   executionRole=ROLE),
    ("To set an image to DELETED", ()): state_update(status="DELETED"),
    ("This property is valid only", ()): state_update(status="DISABLED", updateAt=IN_A_YEAR),
    ("This property is valid only", ("now",)): state_update(updateAt=datetime.datetime(2024, 1, 1)),
    ("The image must be in one of", ("image",)): state_update("1.0.0/2"),
    ("Images with FAILED or CANCELLED", ("image",)): state_update("1.0.0/3", status="AVAILABLE"),
    ("For container-based images", ("image",)): state_update(name="golden-container", status="DISABLED"),
    ("If a request that starts", ("holder",)): state_update(**WITH_AMIS),
    ("You can only cancel", ("status",)): lambda c: c.cancel_lifecycle_execution(lifecycleExecutionId=lce(2)),
    ("A policy can contain", ()): details(({"type": "DELETE"}, AGE), ({"type": "DELETE"}, AGE)),
    ("policies for container-based", ()): details(({"type": "DISABLE"}, AGE), resourceType="CONTAINER_IMAGE"),
    ("You can only use the count", ()): details(({"type": "DISABLE"}, {"type": "COUNT", "value": 2})),
    ("This is required for age", ()): details(({"type": "DELETE"}, {"type": "AGE", "value": 2})),
    ("DELETE rules can include all three", ()): details(({"type": "DISABLE", "includeResources": AMIS_SNAPSHOTS}, AGE)),
    ("You must provide exactly one", ()): create(resourceSelection=dict(RECIPES, tagMap={"a": "b"})),
    ("Image Builder generates the policy ARN", ("taken",)): create(name="Golden_AMI"),
    ("The resourceType must match", ("stored",)): lambda c: c.update_lifecycle_policy(
        lifecyclePolicyArn=ARN + "lifecycle-policy/golden-ami", clientToken="u",
        **dict(STORED, resourceType="CONTAINER_IMAGE")),
    ("Other ARN types", ("arn_kind",)): lambda c: c.list_lifecycle_executions(resourceArn=image("1.0.0")),
    ("You can't combine this option", ()): lambda c: c.list_images(byName=True, filters=[{"name": "version",
                                                                                          "values": ["1.0.0"]}]),
}
# fmt: on


def case_of(rule):
    found = [
        call for (start, needs), call in RULE_CASES.items() if rule.sentence.startswith(start) and needs == rule.needs
    ]
    assert len(found) == 1, rule
    return found[0]


@pytest.fixture(scope="module")
def rules_endpoint():
    with LocalEndpoint(RULES_SCENARIO) as ep:
        yield ep


@pytest.mark.parametrize("rule", rules.RULES, ids=[f"{r.source}:{','.join(r.needs)}" for r in rules.RULES])
def test_each_documented_rule_refuses_what_its_sentence_rules_out_with_that_sentence(rules_endpoint, rule):
    rules_endpoint.reset()
    client = make_client(rules_endpoint.url)
    code, status, message = refused(case_of(rule), c=client)
    assert (code, status) == (rule.code, ServiceModel.get().error_status(rule.code)) and message.startswith(
        rule.sentence
    )


def test_the_rules_are_checked_before_the_image_is_looked_up_and_no_rule_of_our_modules_is_added(rules_endpoint):
    rules_endpoint.reset()
    client = make_client(rules_endpoint.url)
    code, _status, message = refused(state_update("9.9.9/9", status="DELETED"), c=client)
    assert code == "InvalidRequestException" and "DELETED" in message
    # What only our modules refuse (retainAtLeast without AGE, AMI exclusions in a container policy, containers in an
    # AMI policy's DELETE rule): no sentence of the service says so, so the endpoint accepts it.
    container_rule = {
        "action": {"type": "DELETE", "includeResources": {"containers": True}},
        "filter": {"type": "COUNT", "value": 2, "retainAtLeast": 1},
    }
    client.create_lifecycle_policy(**policy_request("policy-a", policyDetails=[container_rule]))
    excluding = dict(container_rule, exclusionRules={"amis": {"isPublic": True}})
    client.create_lifecycle_policy(
        **policy_request("policy-b", "token-2", resourceType="CONTAINER_IMAGE", policyDetails=[excluding])
    )
    assert summaries(client) == ["golden-ami", "policy-a", "policy-b"]


# -- faults ----------------------------------------------------------------------------------------------------------

MODELED_ERRORS = sorted({e.name for op in OPERATIONS for e in ServiceModel.get().operations[op].error_shapes})
# botocore 1.44 reads bodies with urllib3's enforce_content_length=False; older releases let urllib3 enforce it.
IGNORES_SHORT_BODIES = "enforce_content_length=False" in inspect.getsource(botocore.httpsession.URLLib3Session.send)


@pytest.mark.parametrize("code", MODELED_ERRORS + ["ResourceNotFoundException"])
def test_an_error_fault_has_the_model_status_and_leaves_the_state_alone(ep, client, code):
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": "error", "code": code}])
    with pytest.raises(getattr(client.exceptions, code)) as excinfo:
        client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    assert error_of(excinfo)[1] == ServiceModel.get().model.shape_for(code).metadata["error"]["httpStatusCode"]
    assert status_of(client, lce(101)) == "PENDING", "a faulted call must not advance the timeline"


def test_an_unmodeled_error_code_needs_an_explicit_status(ep, client):
    with pytest.raises(ScenarioError):
        ep.add_faults([{"fault": "error", "code": "ThrottlingException"}])
    ep.add_faults([{"fault": "error", "code": "ThrottlingException", "status": 400}])
    assert refused(client.get_lifecycle_execution, lifecycleExecutionId=lce(101))[:2] == ("ThrottlingException", 400)


def test_a_delay_answers_late_or_past_the_read_timeout(ep, client):
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": "delay", "seconds": 0.5, "count": 2}])
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        make_client(ep.url, read_timeout=0.2).get_lifecycle_execution(lifecycleExecutionId=lce(104))
    started = time.monotonic()
    assert status_of(client, lce(101)) == "PENDING" and time.monotonic() - started >= 0.5
    assert [r["fault"] for r in ep.requests()] == ["delay", "delay"]


@pytest.mark.parametrize("kind", ["drop", "truncate", "garbage"])
def test_a_broken_answer_is_what_botocore_makes_of_it(ep, client, kind):
    ep.add_faults([{"operation": "GetLifecycleExecution", "fault": kind}])
    if kind == "drop" or (kind == "truncate" and not IGNORES_SHORT_BODIES):
        with pytest.raises(botocore.exceptions.ConnectionClosedError):
            client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    else:  # botocore does not raise: the answer lacks its members
        assert "lifecycleExecution" not in client.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    assert status_of(client, lce(101)) == "PENDING"
    assert [(r["fault"], r["status"]) for r in ep.requests()] == [(kind, None if kind == "drop" else 200), (None, 200)]


def test_a_fault_in_the_middle_of_a_listing_leaves_its_pages_alone(ep):
    retrying = make_client(ep.url, retries={"mode": "standard", "max_attempts": 3})
    ep.add_faults(
        [{"operation": "ListLifecycleExecutions", "fault": "error", "code": "ServiceUnavailableException", "skip": 1}]
    )
    result = retrying.get_paginator("list_lifecycle_executions").paginate(resourceArn=NIGHTLY).build_full_result()
    assert len(set(ids(result["lifecycleExecutions"]))) == 60
    calls = ep.requests("ListLifecycleExecutions")
    assert [(c["fault"], c["status"]) for c in calls] == [(None, 200), ("error", 503), (None, 200), (None, 200)]
    assert calls[1]["params"] == calls[2]["params"] and "nextToken" in calls[1]["params"]


def test_probability_faults_repeat_with_their_seed_and_count_null_lasts(ep, client):
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
    assert 4 <= len(first) <= 24 and faulted_calls() == first
    assert control(ep.url, "GET", "faults")[1][0]["fired"] == len(first)


def test_fault_rules_target_a_service(ep, client):
    ep.add_faults([{"service": "ec2", "fault": "error", "code": "Unavailable", "count": None}])
    assert status_of(client, lce(101)) == "PENDING", "an ec2 rule never takes an Image Builder call"
    assert refused(ec2_client(ep.url).describe_images)[:2] == ("Unavailable", 503)
    for rule in (
        {"operation": "DescribeImages", "service": "imagebuilder", "fault": "drop"},
        {"service": "s3", "fault": "drop"},
        {"operation": "DescribeVolumes", "fault": "drop"},
    ):
        with pytest.raises(ScenarioError):
            ep.add_faults([rule])


# -- the control API, the log, the script ----------------------------------------------------------------------------


def test_the_control_api(ep, client):
    assert control(ep.url, "GET", "health") == (200, {"status": "ok"})
    named = make_client(ep.url, user_agent_extra="ansible-module/imagebuilder_lifecycle_execution_info")
    named.get_lifecycle_execution(lifecycleExecutionId=lce(101))
    ec2_client(ep.url).describe_images(Owners=["self"], MaxResults=5)
    log = control(ep.url, "GET", "requests")[1]
    assert [(r["seq"], r["service"], r["operation"], r["status"], r["module"]) for r in log] == [
        (1, "imagebuilder", "GetLifecycleExecution", 200, "imagebuilder_lifecycle_execution_info"),
        (2, "ec2", "DescribeImages", 200, None),
    ]
    assert log[1]["params"] == {"Owners": ["self"], "MaxResults": 5}
    assert ids(control(ep.url, "GET", "requests?service=ec2")[1], "seq") == [2]
    assert ids(control(ep.url, "GET", "requests?operation=GetLifecycleExecution")[1], "seq") == [1]
    status, faults = control(ep.url, "POST", "faults", [{"operation": "GetLifecycleExecution", "fault": "drop"}])
    assert status == 200 and faults[0]["fault"] == "drop"
    assert control(ep.url, "POST", "faults", [{"fault": "explode"}])[0] == 400
    assert control(ep.url, "POST", "reset") == (200, {"reset": True})
    assert control(ep.url, "GET", "requests") == control(ep.url, "GET", "faults") == (200, [])
    assert status_of(client, lce(101)) == "PENDING"
    assert control(ep.url, "DELETE", "faults") == (200, [])
    assert control(ep.url, "GET", "nothing")[0] == 404


def test_the_control_api_replaces_the_scenario_only_with_a_valid_one(ep, client):
    demo = scenario("demo")
    assert control(ep.url, "POST", "scenario", demo) == (200, {"loaded": True})
    assert status_of(client, lce(2)) == "PENDING"
    assert control(ep.url, "GET", "scenario")[1] == demo
    assert control(ep.url, "POST", "scenario", {"executions": [{"oops": 1}]})[0] == 400
    assert status_of(client, lce(2)) == "IN_PROGRESS"


def test_the_request_log_file_holds_every_call_and_never_a_credential(tmp_path):
    log_path = tmp_path / "requests.jsonl"
    with LocalEndpoint(INTEGRATION, log_path=str(log_path)) as ep:
        client = make_client(ep.url)
        status_of(client, lce(101))
        refused(client.get_lifecycle_execution, lifecycleExecutionId="lce-x")
        ec2_client(ep.url).describe_images()
        in_memory = json.dumps(ep.requests())
    lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    assert [(r["service"], r["status"], r["error"]) for r in lines] == [
        ("imagebuilder", 200, None),
        ("imagebuilder", 400, "InvalidRequestException"),
        ("ec2", 200, None),
    ]
    for text in (in_memory, log_path.read_text(encoding="utf-8")):
        assert SECRET_KEY not in text and FAKE_ACCESS_KEY not in text and "Authorization" not in text


def test_only_loopback_is_accepted():
    with pytest.raises(ValueError, match="loopback"):
        LocalEndpoint({}, host="0.0.0.0")


def test_the_script_prints_the_url_writes_its_files_and_stops_on_sigterm(tmp_path):
    url_file, pid_file = tmp_path / "url", tmp_path / "pid"
    script = os.path.join(HERE, "imagebuilder_endpoint.py")
    command = [sys.executable, script, "--scenario", os.path.join(SCENARIOS, "demo.json")]
    command += ["--url-file", str(url_file), "--pid-file", str(pid_file)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", process.stdout.readline())
            url, port = match.group(1), int(match.group(2))
            assert url_file.read_text(encoding="utf-8").strip() == url
            assert int(pid_file.read_text(encoding="utf-8")) == process.pid
            assert status_of(make_client(url), lce(2)) == "PENDING"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
    assert not url_file.exists() and not pid_file.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# -- the scenario: its errors, its facts, the shipped ones -----------------------------------------------------------


def with_images(*resources, **members):
    return {"images": [image_doc("1.0.0/1", *resources, **members)]}


def with_policy(**members):
    return {"policies": [dict(members, arn=ARN + "lifecycle-policy/pol", name="pol")]}


def with_run(*resources):
    return {"policy_runs": {"p": {"resources": list(resources)}}}


def with_facts(**facts):
    return dict(with_images(), facts=facts)


AMI_1 = {"resourceId": ami(1)}
LT = {"LaunchTemplateId": "lt-0123456789abcdef0", "LaunchTemplateName": "web", "versions": [{"ImageId": ami(1)}]}
RECIPE = f"arn:aws:imagebuilder:us-east-1:{ACCOUNT}:image-recipe/r/1.0.0"
ASG = {"AutoScalingGroupName": "g"}
ASG_LT = dict(ASG, LaunchTemplate={"LaunchTemplateName": "lt"})
RULE = {
    "Identifier": "abcdefghijk",
    "ResourceType": "EC2_IMAGE",
    "RetentionPeriod": {"RetentionPeriodValue": 1, "RetentionPeriodUnit": "DAYS"},
}
TAGS = [{"ResourceTagKey": "k", "ResourceTagValue": "v"}]
DELAY = {"UnlockDelay": {"UnlockDelayValue": 7, "UnlockDelayUnit": "DAYS"}}
SNAP = "snap-0123456789abcdef0"
UNDER = {"resourceId": ami(1), "parentResourceId": image("1.0.0/1")}
# fmt: off
BAD_SCENARIOS = [
    ({"colour": 1}, r"scenario: unknown keys \['colour'\]"),
    ({"omit_members": ["colour"]}, "omit_members"),
    ({"omit_members": "state"}, "omit_members"),
    (with_images(apply_immediately=True), r"images\[0\]: unknown keys"),
    ({"executions": [{"lifecycleExecutionId": lce(1), "status": "SUCCESS", "timeline": []}]}, "only one of"),
    ({"executions": [{"lifecycleExecutionId": lce(1), "timeline": [["PENDING", None], ["SUCCESS", 1]]}]}, "the last"),
    ({"policies": [{"arn": ARN + "lifecycle-policy/wrong", "name": "right"}]}, "lifecycle-policy/right"),
    (with_policy(resourceType="AMI_IMAGE"), "not be null"),
    (with_policy(**dict(STORED, resourceSelection={})), "exactly one selection"),
    (with_images(dict(AMI_1, ec2={"colour": 1})), r"images\[0\]\.resources\[0\]\.ec2: unknown keys"),
    (with_images(dict(AMI_1, ec2={"shared_accounts": ["1"]})), r"ec2\.shared_accounts"),
    (with_images({"resourceId": "snap-0123456789abcdef0", "ec2": {}}), "only an AMI resource"),
    (with_run(AMI_1), r"resources\[0\]: a top-level resource is an image"),
    (with_run(UNDER), r"resources\[0\]\.parentResourceId"),
    ({"faults": [{"fault": "explode"}]}, "fault"),
    (with_facts(image_arn=image("9.9.9/9")), r"scenario\.facts\.image_arn: '.*9\.9\.9/9' occurs nowhere"),
    (with_facts(images=[image("1.0.0/1"), "golden-ami/2"]), r"facts\.images: 'golden-ami/2'"),
    (with_facts(flag=True), r"facts\.flag: expected a string, a number or a list of strings"),
    (with_facts(counts=[1, 2]), r"facts\.counts: expected"),
    ({"facts": ["x"]}, r"scenario\.facts: expected an object"),
    ({"instances": [{"InstanceId": "i-0123456789abcdef0", "ImageId": ami(1), "state": "gone"}]}, r"\[0\]\.state"),
    ({"instances": [{"InstanceId": "i-1", "ImageId": ami(1)}]}, r"instances\[0\]\.InstanceId"),
    ({"launch_templates": [dict(LT, default_version=2)]}, r"launch_templates\[0\]\.default_version: .* 1 to 1"),
    ({"launch_templates": [dict(LT, versions=[{"ImageId": "x"}])]}, r"launch_templates\[0\]\.versions\[0\]\.ImageId"),
    ({"recipes": [{"arn": RECIPE.replace(ACCOUNT, "111122223333"), "parentImage": ami(1)}]}, r"recipes\[0\]\.arn"),
    ({"auto_scaling_groups": [{"AutoScalingGroupName": "g"}]}, r"auto_scaling_groups\[0\]: give exactly one"),
    ({"auto_scaling_groups": [dict(ASG, LaunchConfigurationName="gone")]}, r"\.LaunchConfigurationName: 'gone'"),
    ({"auto_scaling_groups": [dict(ASG_LT, MinSize="1")]}, r"auto_scaling_groups\[0\]\.MinSize"),
    ({"recycle_bin_rules": [dict(RULE, ResourceTags=TAGS, LockState="locked")]}, "Region-level rules only"),
    ({"recycle_bin_rules": [dict(RULE, RetentionPeriod={"RetentionPeriodValue": 0})]}, r"rules\[0\]\.Retention"),
    ({"recycle_bin_rules": [dict(RULE, LockState="pending_unlock", LockConfiguration=DELAY)]}, r"\.LockEndTime"),
    ({"snapshots": [{"SnapshotId": "snap-0123456789abcdef0", "VolumeSize": 0}]}, r"snapshots\[0\]\.VolumeSize"),
    (dict(with_images(dict(AMI_1, ec2={"snapshots": [SNAP]})), snapshots=[{"SnapshotId": SNAP, "region": "eu-west-1"}]),
     "is declared in eu-west-1"),
    (with_images(dict(AMI_1, ec2={"deregistration_protection": "yes"})), r"ec2\.deregistration_protection"),
]
# fmt: on


@pytest.mark.parametrize("document, words", BAD_SCENARIOS)
def test_a_malformed_scenario_is_refused_naming_the_place(document, words):
    with pytest.raises(ScenarioError, match=words):
        LocalEndpoint(document)


def test_facts_name_what_the_scenario_holds_or_generates_and_are_served_with_it():
    facts = {"image_arn": image("1.0.0/1"), "image_name": "golden-ami", "versions": ["1.0.0/1"], "ami_count": 1}
    facts.update(ratio=0.5, newest_nightly=NIGHTLY_ID.format(1))
    document = scenario(facts=facts)
    with LocalEndpoint(document) as ep:
        assert control(ep.url, "GET", "scenario")[1]["facts"] == facts


@pytest.mark.parametrize("name", ["demo", "integration"])
def test_the_shipped_scenarios_load_and_their_resources_form_the_service_tree(name):
    document = scenario(name)
    LocalEndpoint(document)
    build_version = ServiceModel.get().image_build_version_arn
    trees = [e.get("resources", []) for e in document["executions"]]
    trees += [run["resources"] for run in document.get("policy_runs", {}).values()]
    for resources in trees:
        top = [r["resourceId"] for r in resources if "parentResourceId" not in r]
        assert all(build_version.search(arn) for arn in top)
        assert {r["parentResourceId"] for r in resources if "parentResourceId" in r} <= set(top)


# -- lifecycle policies ----------------------------------------------------------------------------------------------


@pytest.fixture
def pclient():
    with LocalEndpoint({}) as ep:
        yield make_client(ep.url)


def summaries(client, **params):
    return ids(client.list_lifecycle_policies(**params)["lifecyclePolicySummaryList"], "name")


def test_a_created_policy_echoes_the_defaults_nobody_set_and_replays_by_token(pclient):
    rule = {"action": {"type": "DELETE", "includeResources": {"amis": True}}, "filter": AGE}
    rule["exclusionRules"] = {"amis": {"regions": ["us-west-2"]}}
    request = policy_request(policyDetails=[rule], tags={"CostCenter": "a"})
    arn = pclient.create_lifecycle_policy(**request)["lifecyclePolicyArn"]
    assert arn == ARN + "lifecycle-policy/golden-ami"
    assert pclient.create_lifecycle_policy(**request)["lifecyclePolicyArn"] == arn
    with pytest.raises(pclient.exceptions.IdempotentParameterMismatchException):
        pclient.create_lifecycle_policy(**dict(request, description="other"))
    policy = pclient.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]
    assert policy["status"] == "ENABLED" and policy["name"] == "Golden AMI" and policy["tags"] == {"CostCenter": "a"}
    assert policy["policyDetails"][0]["action"]["includeResources"] == dict(
        amis=True, snapshots=False, containers=False
    )
    assert policy["policyDetails"][0]["exclusionRules"]["amis"] == {"regions": ["us-west-2"], "isPublic": False}
    with pytest.raises(pclient.exceptions.DryRunOperationException):
        pclient.create_lifecycle_policy(**policy_request("other", "token-2", dryRun=True))
    assert summaries(pclient) == ["Golden AMI"]


def test_an_update_replaces_the_whole_policy_but_its_name_and_tags(pclient):
    created = pclient.create_lifecycle_policy(**policy_request(description="d", status="DISABLED", tags={"k": "v"}))
    arn = created["lifecyclePolicyArn"]
    pclient.update_lifecycle_policy(lifecyclePolicyArn=arn, clientToken="u", **STORED)
    policy = pclient.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]
    assert policy["status"] == "ENABLED" and "description" not in policy and "dateUpdated" in policy
    assert policy["name"] == "Golden AMI" and policy["tags"] == {"k": "v"}


def test_tags_change_only_through_the_tag_calls_and_delete_cancels_running_executions():
    arn = ARN + "lifecycle-policy/golden-ami"
    running = {"lifecycleExecutionId": lce(1), "lifecyclePolicyArn": arn, "status": "IN_PROGRESS"}
    with LocalEndpoint(dict(RULES_SCENARIO, executions=[running])) as ep:
        client = make_client(ep.url)
        client.tag_resource(resourceArn=arn, tags={"CostCenter": "b", "Team": "x"})
        client.untag_resource(resourceArn=arn, tagKeys=["Team", "Absent"])
        assert client.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]["tags"] == {"CostCenter": "b"}
        client.untag_resource(resourceArn=arn, tagKeys=["CostCenter"])
        assert "tags" not in client.get_lifecycle_policy(lifecyclePolicyArn=arn)["lifecyclePolicy"]
        client.delete_lifecycle_policy(lifecyclePolicyArn=arn)
        assert status_of(client, lce(1)) == "CANCELLING" and summaries(client) == []
        for call in (client.get_lifecycle_policy, client.delete_lifecycle_policy):
            assert code_of(call, lifecyclePolicyArn=arn) == ("ResourceNotFoundException", 404)


def test_list_policies_filters_by_name_wildcards_type_and_status_and_pages(pclient):
    for number, name in enumerate(["Golden AMI", "golden-old", "Nightly sweep"]):
        status = "DISABLED" if number else "ENABLED"
        pclient.create_lifecycle_policy(**policy_request(name, f"t{number}", status=status))

    def names(name, value):
        return summaries(pclient, filters=[{"name": name, "values": [value]}])

    assert names("name", "golden*") == ["golden-old"], "name filters are case-sensitive"
    assert names("name", "*sweep") == ["Nightly sweep"] and names("name", "*-ol*") == ["golden-old"]
    assert names("status", "DISABLED") == ["Nightly sweep", "golden-old"]
    assert names("resourceType", "CONTAINER_IMAGE") == []
    for bad in (("name", "gol*den"), ("colour", "red")):
        with pytest.raises(pclient.exceptions.InvalidRequestException):
            names(*bad)
    pages = pclient.get_paginator("list_lifecycle_policies").paginate(PaginationConfig={"PageSize": 2})
    assert [len(page["lifecyclePolicySummaryList"]) for page in pages] == [2, 1]


# -- images ----------------------------------------------------------------------------------------------------------

WINDOWS = image("1.0.0/1", "windows-base")


def name_is(name, value):
    return {"name": name, "values": [value]}


CONTAINER = image("1.0.0/1", "golden-container")
# fmt: off
LISTING_SCENARIO = {
    "images": [
        image_doc("1.0.0/1", {"resourceId": "ami-0a1b2c3d4e5f60001", "region": "us-west-2"},
                  tags={"Pipeline": "nightly"}, dateCreated="2024-01-01T10:00:00Z"),
        image_doc("1.0.0/2", dateCreated="2024-02-01T10:00:00.250Z"),
        image_doc("1.1.0/1", dateCreated="2024-03-01T10:00:00Z", state="DEPRECATED", deprecationTime="2024-04-01"),
        image_doc("2.0.0/1", dateCreated="2024-03-01T10:00:00Z"),
        image_doc("1.0.0/1", name="golden-container", type="DOCKER", dateCreated="2024-02-15T00:00:00Z"),
        image_doc("1.0.0/1", name="windows-base", platform="Windows", buildType="SCHEDULED", dateCreated="2023-12-24"),
    ],
    "executions": [{"lifecycleExecutionId": lce(1), "lifecyclePolicyArn": POLICY, "images": [image("1.0.0/1")]}],
}
# fmt: on
# Newest dateCreated first; 1.1.0/1 and 2.0.0/1 were created at the same moment: by name, then version.
NEWEST_FIRST = [image("1.1.0/1"), image("2.0.0/1"), CONTAINER, image("1.0.0/2"), image("1.0.0/1"), WINDOWS]


@pytest.fixture(scope="module")
def lclient():
    with LocalEndpoint(LISTING_SCENARIO) as ep:
        yield make_client(ep.url)


def build_arns(client, **params):
    return ids(client.list_image_build_versions(**params)["imageSummaryList"], "arn")


def test_build_versions_page_newest_first_and_get_image_agrees(lclient):
    pages = lclient.get_paginator("list_image_build_versions").paginate(PaginationConfig={"PageSize": 4})
    assert [ids(page["imageSummaryList"], "arn") for page in pages] == [NEWEST_FIRST[:4], NEWEST_FIRST[4:]]
    first = {s["arn"]: s for s in lclient.list_image_build_versions()["imageSummaryList"]}[image("1.0.0/1")]
    ami_summary = {"region": "us-west-2", "image": "ami-0a1b2c3d4e5f60001", "name": "golden-ami-1.0.0-1"}
    # fmt: off
    assert first == {
        "arn": image("1.0.0/1"), "name": "golden-ami", "type": "AMI", "version": "1.0.0/1", "platform": "Linux",
        "osVersion": "Amazon Linux 2023", "state": {"status": "AVAILABLE"}, "owner": ACCOUNT,
        "dateCreated": "2024-01-01T10:00:00.000Z", "tags": {"Pipeline": "nightly"}, "buildType": "USER_INITIATED",
        "imageSource": "CUSTOM", "lifecycleExecutionId": lce(1),
        "outputResources": {"amis": [dict(ami_summary, state={"status": "AVAILABLE"}, accountId=ACCOUNT)]},
    }
    # fmt: on
    for summary in lclient.list_image_build_versions()["imageSummaryList"]:
        summary.pop("owner")
        assert lclient.get_image(imageBuildVersionArn=summary["arn"])["image"] == summary
    assert code_of(lclient.get_image, imageBuildVersionArn=image("9.9.9/9")) == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"imageVersionArn": image("1.0.0")}, [image("1.0.0/2"), image("1.0.0/1")]),
        ({"imageVersionArn": image("9.9.9")}, []),
        (
            {"filters": [name_is("name", "golden*"), name_is("version", "1.0.0")]},
            [CONTAINER, image("1.0.0/2"), image("1.0.0/1")],
        ),
        ({"filters": [name_is("platform", "Windows")]}, [WINDOWS]),
    ],
)
def test_build_versions_of_one_version_and_by_filter(lclient, params, expected):
    assert build_arns(lclient, **params) == expected


def test_list_images_gives_one_entry_per_version_or_per_name(lclient):
    versions = lclient.list_images()["imageVersionList"]
    assert ids(versions, "arn") == [image("1.1.0"), image("2.0.0"), CONTAINER[:-2], image("1.0.0"), WINDOWS[:-2]]
    # A version was created with its first build; the rest is its newest build's.
    assert versions[3]["dateCreated"] == "2024-01-01T10:00:00.000Z" and versions[4]["platform"] == "Windows"
    by_name = lclient.list_images(byName=True)["imageVersionList"]
    expected = [("golden-container/x.x.x", "1.0.0"), ("golden-ami/x.x.x", "2.0.0"), ("windows-base/x.x.x", "1.0.0")]
    assert [(v["arn"].rsplit(":image/")[1], v["version"]) for v in by_name] == expected
    assert lclient.list_images(owner="Amazon")["imageVersionList"] == []
    for bad in ([{"name": "colour", "values": ["red"]}], [{"name": "type", "values": ["AMI"]}] * 2):
        with pytest.raises(lclient.exceptions.InvalidRequestException):
            lclient.list_images(filters=bad)


# -- EC2 DescribeImages ----------------------------------------------------------------------------------------------

# golden-ami/3.0.0/1's first AMI, then the preview images' (the listing is by ImageId).
US_EAST_1 = ["ami-0c3d4e5f6a7b80001", ami(101), ami(201), ami(1101), ami(1201), ami(2101), ami(2201), ami(9101)]
SNAPS = ["snap-0123456789abcdef0", "snap-0123456789abcdef1"]
FOREIGN = "210987654321"
# fmt: off
STATES_SCENARIO = {
    "images": [
        image_doc("1.0.0/1", {"resourceId": ami(1), "ec2": {"tags": {"Team": "core"}, "snapshots": SNAPS,
                                                            "last_launched": "-P3D"}}),
        image_doc("1.0.0/2", 2, state="DEPRECATED"),
        image_doc("1.0.0/3", 3, state="DEPRECATED", deprecationTime="2024-04-01T00:00:00Z"),
        image_doc("1.0.0/4", 4, state="DISABLED"),
        # Another account's AMI shared with this one (a distribution's target account).
        image_doc("1.0.0/5", {"resourceId": ami(5), "accountId": FOREIGN, "ec2": {"shared_accounts": [ACCOUNT]}},
                  state="DEPRECATED"),
        image_doc("1.0.0/6", 6, state="DELETED"),
    ]
}
# fmt: on


def test_describe_images_answers_the_amis_of_the_request_region(ep):
    assert ami_ids(ec2_client(ep.url), Owners=["self"]) == US_EAST_1
    images = ec2_client(ep.url, "ap-southeast-2").describe_images(Owners=[ACCOUNT])["Images"]
    assert ids(images, "ImageId") == [ami(103)] and ami_ids(ec2_client(ep.url, "us-west-2")) == []
    # preview-ami/1.0.0/1 is DEPRECATED: EC2 has no such state, its AMIs carry a deprecation time.
    assert (images[0]["Name"], images[0]["State"], images[0]["Public"]) == ("preview-ami-1.0.0-1", "available", True)
    assert "DeprecationTime" in images[0] and "Tags" not in images[0] and "LastLaunchedTime" not in images[0]
    assert [m["Ebs"]["SnapshotId"] for m in images[0]["BlockDeviceMappings"]] == ["snap-053918720d695f513"]


def test_describe_images_by_ids_filters_owners_and_executable_users(ep):
    ec2 = ec2_client(ep.url)
    assert ami_ids(ec2, ImageIds=[ami(2201), ami(101)]) == [ami(101), ami(2201)]
    missing = ("InvalidAMIID.NotFound", 400, f"The image id '[{ami(102)}]' does not exist")
    assert refused(ec2.describe_images, ImageIds=[ami(101), ami(102)]) == missing
    assert code_of(ec2.describe_images, ImageIds=["ami-xyz"]) == ("InvalidAMIID.Malformed", 400)
    assert ami_ids(ec2, Filters=[{"Name": "image-id", "Values": ["ami-0f1a000000000110*"]}]) == [ami(1101)]
    assert ami_ids(ec2, Owners=["self"], ExecutableUsers=["111122223333"], IncludeDeprecated=True) == [ami(201)]
    # The owner's own launch permission is implicit, not explicit: self lists only what others shared with it.
    assert ami_ids(ec2, ExecutableUsers=["self"]) == []
    assert ami_ids(ec2_client(ep.url, "eu-west-1"), Filters=[{"Name": "is-public", "Values": ["true"]}]) == [ami(102)]
    bad_filter = [{"Name": "colour", "Values": ["red"]}]
    assert code_of(ec2.describe_images, Filters=bad_filter) == ("InvalidParameterValue", 400)
    assert code_of(ec2.describe_images, DryRun=True) == ("DryRunOperation", 412)


def test_deprecated_and_disabled_amis_and_the_knob_follow_the_model():
    with LocalEndpoint(STATES_SCENARIO) as ep:
        ec2, client = ec2_client(ep.url), make_client(ep.url)
        # "If you are the AMI owner, all deprecated AMIs appear ... regardless"; disabled ones only when asked for.
        assert ami_ids(ec2, Owners=["self"]) == [ami(1), ami(2), ami(3)]
        assert ami_ids(ec2, Owners=["self"], IncludeDisabled=True) == [ami(1), ami(2), ami(3), ami(4)]
        # Another owner's deprecated AMI: only with IncludeDeprecated; a DELETED image's AMIs are deregistered.
        assert ami_ids(ec2, IncludeDeprecated=True) == [ami(1), ami(2), ami(3), ami(5)]
        assert refused(ec2.describe_images, ImageIds=[ami(6)])[0] == "InvalidAMIID.NotFound"
        first = ec2.describe_images(ImageIds=[ami(1)])["Images"][0]
        assert first["Tags"] == [{"Key": "Team", "Value": "core"}] and "DeprecationTime" not in first
        devices = [(m["DeviceName"], m["Ebs"]["SnapshotId"]) for m in first["BlockDeviceMappings"]]
        assert devices == [("/dev/xvda", SNAPS[0]), ("/dev/xvdb", SNAPS[1])]
        launched = datetime.datetime.fromisoformat(first["LastLaunchedTime"].replace("Z", "+00:00")).timestamp()
        assert abs(time.time() - launched - 3 * 86400) < 5
        assert ami_ids(ec2, Filters=[{"Name": "tag:Team", "Values": ["core"]}]) == [ami(1)]
        assert ec2.describe_images(ImageIds=[ami(3)])["Images"][0]["DeprecationTime"] == "2024-04-01T00:00:00.000Z"
        # A state update shows in EC2 at once for the AMIs it includes; one of the image alone leaves them as they were.
        client.start_resource_state_update(resourceArn=image("1.0.0/1"), state={"status": "DISABLED"})
        assert ami_ids(ec2, Owners=["self"]) == [ami(1), ami(2), ami(3)]
        client.start_resource_state_update(resourceArn=image("1.0.0/1"), state={"status": "DISABLED"}, **WITH_AMIS)
        assert ami_ids(ec2, Owners=["self"]) == [ami(2), ami(3)]
        # The knob never reaches an Image Builder answer.
        assert "ec2" not in json.dumps(client.get_image(imageBuildVersionArn=image("1.0.0/1"))["image"])


def test_describe_images_pages_with_max_results_and_otherwise_answers_everything(ep):
    ec2 = ec2_client(ep.url)
    assert "NextToken" not in ec2.describe_images(Owners=["self"])
    pages = list(ec2.get_paginator("describe_images").paginate(Owners=["self"], PaginationConfig={"PageSize": 3}))
    assert [ids(page["Images"], "ImageId") for page in pages] == [US_EAST_1[:3], US_EAST_1[3:6], US_EAST_1[6:]]
    # A token belongs to its request: other parameters or another region refuse it.
    for other, owners in ((ec2_client(ep.url, "eu-west-1"), ["self"]), (ec2, ["amazon"])):
        code = refused(other.describe_images, Owners=owners, NextToken=pages[0]["NextToken"], MaxResults=3)[:2]
        assert code == ("InvalidPaginationToken", 400)
    unchecked = ec2_client(ep.url, parameter_validation=False)
    assert code_of(unchecked.describe_images, MaxResults=0) == ("InvalidParameterValue", 400)


def test_ec2_speaks_the_query_protocol_and_answers_xml_as_ec2_writes_it(ep):
    status, body = post_query(ep.url, "ec2", "Action=DescribeImages&Version=2016-11-15&Colour=red", "eu-west-1")
    assert status == 400 and re.fullmatch(
        r'<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>UnknownParameter</Code>'
        r"<Message>The parameter Colour is not recognized</Message></Error></Errors><RequestID>[0-9a-f-]{36}"
        r"</RequestID></Response>",
        body,
    ), body
    assert (
        "<Code>InvalidAction</Code>" in post_query(ep.url, "ec2", "Action=Explode&Version=2016-11-15", "eu-west-1")[1]
    )
    assert (
        "<Code>NoSuchVersion</Code>"
        in post_query(ep.url, "ec2", "Action=DescribeImages&Version=2014-01-01", "eu-west-1")[1]
    )
    status, body = post_query(
        ep.url, "ec2", "Action=DescribeImages&Version=2016-11-15&Owner.1=self&MaxResults=1", "eu-west-1"
    )
    namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
    assert status == 200 and f'<DescribeImagesResponse xmlns="{namespace}"><requestId>' in body
    assert "<imagesSet><item>" in body and "<imageId>ami-0c3d4e5f6a7b80002</imageId>" in body and "<nextToken>" in body
    unsupported = (
        "UnsupportedOperation",
        400,
        "The action DescribeVolumes is not implemented by the local endpoint.",
    )
    assert refused(ec2_client(ep.url).describe_volumes) == unsupported
    filters = [{"Name": "image-id", "Values": [ami(102), ami(202)]}]
    ec2_client(ep.url).describe_images(Owners=["self"], ExecutableUsers=["1"], Filters=filters, IncludeDisabled=True)
    read = ep.requests(service="ec2")[-1]["params"]
    assert read == {"Owners": ["self"], "ExecutableUsers": ["1"], "Filters": filters, "IncludeDisabled": True}


def test_an_ec2_answer_off_the_model_is_a_bug_and_request_limit_exceeded_is_retried(ep, monkeypatch, caplog):
    ep.add_faults([{"operation": "DescribeImages", "fault": "error", "code": "RequestLimitExceeded", "count": 2}])
    retrying = ec2_client(ep.url, retries={"mode": "standard", "total_max_attempts": 3})
    assert retrying.describe_images(Owners=["self"])["ResponseMetadata"]["RetryAttempts"] == 2
    assert [r["status"] for r in ep.requests("DescribeImages")] == [503, 503, 200]
    # EC2 has no "deprecated" state: an endpoint that sent one is caught before the answer leaves.
    monkeypatch.setitem(ec2_answers.AMI_STATES, "AVAILABLE", "deprecated")
    code, status, message = refused(ec2_client(ep.url).describe_images, Owners=["self"])
    assert (code, status) == ("LocalEndpointOutputValidationError", 500) and "Images.1.State" in message
    assert any("BUG" in record.getMessage() for record in caplog.records)


# -- running a policy (/_endpoint/run_policy) ------------------------------------------------------------------------


def test_run_policy_makes_an_execution_of_the_scenario_run(ep, client):
    status, answer = control(ep.url, "POST", "run_policy", {"lifecyclePolicyArn": PREVIEW_POLICY})
    assert status == 200 and re.fullmatch(UUID_ID, answer["lifecycleExecutionId"])
    execution_id = answer["lifecycleExecutionId"]
    assert listed(client, PREVIEW_POLICY) == [execution_id]
    execution = client.get_lifecycle_execution(lifecycleExecutionId=execution_id)["lifecycleExecution"]
    assert execution["state"] == {"status": "SUCCESS"}
    assert execution["resourcesImpactedSummary"] == {"hasImpactedResources": True}
    top = client.list_lifecycle_execution_resources(lifecycleExecutionId=execution_id)["resources"]
    actions = [
        (image(v, "preview-ami"), a)
        for v, a in (("1.0.0/1", "DELETE"), ("1.0.0/2", "DEPRECATE"), ("1.1.0/1", "DEPRECATE"))
    ]
    assert [(r["resourceId"], r["action"]["name"]) for r in top] == actions
    under = client.list_lifecycle_execution_resources(lifecycleExecutionId=execution_id, parentResourceId=actions[0][0])
    statuses = [(r["resourceId"], r["state"]["status"]) for r in under["resources"]]
    assert statuses == [(ami(101), "SUCCESS"), (ami(102), "SKIPPED"), (ami(103), "SKIPPED")]
    assert all(r["startTime"] == execution["startTime"] for r in top + under["resources"])
    policy = client.get_lifecycle_policy(lifecyclePolicyArn=PREVIEW_POLICY)["lifecyclePolicy"]
    assert policy["dateLastRun"] == execution["startTime"]
    assert client.get_image(imageBuildVersionArn=top[0]["resourceId"])["image"]["lifecycleExecutionId"] == execution_id


@pytest.mark.parametrize(
    "document, status, words",
    [
        ({"lifecyclePolicyArn": ARN + "lifecycle-policy/no-such"}, 404, "no lifecycle policy"),
        ({"lifecyclePolicyArn": POLICY}, 404, "no lifecycle policy"),  # it owns executions only, no details
        ({"lifecyclePolicyArn": NIGHTLY}, 409, "no policy_runs entry for policy 'nightly-sweep'"),
        ({"arn": PREVIEW_POLICY}, 400, "lifecyclePolicyArn"),
        ({"lifecyclePolicyArn": 1}, 400, "string"),
    ],
)
def test_run_policy_refuses_what_it_cannot_run(ep, document, status, words):
    answer = control(ep.url, "POST", "run_policy", document)
    assert answer[0] == status and words in answer[1]["message"]


# -- what a preview's safety checks read: references, Auto Scaling, Recycle Bin, snapshots ----------------------------

WEB_FLEET, BATCH_WORKERS = "lt-0f1a000000000a001", "lt-0f1a000000000a002"
LT_ARN = f"arn:aws:ec2:us-east-1:{ACCOUNT}:launch-template/"


def references(ec2, *amis, **params):
    params = params or {"IncludeAllResourceTypes": True}
    answer = ec2.describe_image_references(ImageIds=[ami(n) for n in amis], **params)["ImageReferences"]
    return [(item["ImageId"][-5:], item["ResourceType"], item["Arn"].rsplit(":", 1)[-1]) for item in answer]


def template_option(depth):
    option = {"OptionName": "version-depth", "OptionValues": [str(depth)]}
    return [{"ResourceType": "ec2:LaunchTemplate", "ResourceTypeOptions": [option]}]


def test_image_references_by_default_count_every_instance_state_and_search_ten_template_versions(ep):
    ec2 = ec2_client(ep.url)
    # ami(101): only a terminated instance refers to it; web-fleet's $Default (version 2 of 14) is not searched.
    assert references(ec2, 101, 201, 1201, 2201) == [
        ("00101", "ec2:Instance", "instance/i-0f1a0000000000a03"),
        ("00201", "ec2:Instance", "instance/i-0f1a0000000000a01"),
        ("01201", "ec2:LaunchTemplate", f"launch-template/{BATCH_WORKERS}"),
        ("01201", "imagebuilder:ImageRecipe", "image-recipe/preview-ami-child/1.0.0"),
        ("02201", "ssm:Parameter", "parameter/golden/preview-ami/latest"),
    ]
    assert references(ec2, 2101, ResourceTypes=[{"ResourceType": "ec2:LaunchTemplate"}]) == [
        ("02101", "ec2:LaunchTemplate", f"launch-template/{WEB_FLEET}")
    ]
    unchecked = ec2_client(ep.url, parameter_validation=False)
    eleven = [ami(n) for n in range(1, 12)]
    assert code_of(unchecked.describe_image_references, ImageIds=eleven, IncludeAllResourceTypes=True)[0] == (
        "InvalidParameterValue"
    )
    assert code_of(ec2.describe_image_references, ImageIds=[ami(101)]) == ("MissingParameter", 400)
    assert code_of(ec2.describe_image_references, ImageIds=[ami(999)], IncludeAllResourceTypes=True) == (
        "InvalidAMIID.NotFound",
        400,
    )


def test_image_references_options_set_the_version_depth_and_the_instance_states(ep):
    ec2 = ec2_client(ep.url)
    # web-fleet: 14 versions, $Default 2: a depth of 13 reaches it, 12 does not.
    assert references(ec2, 101, ResourceTypes=template_option(13)) == [
        ("00101", "ec2:LaunchTemplate", f"launch-template/{WEB_FLEET}")
    ]
    assert not references(ec2, 101, ResourceTypes=template_option(12))
    # With IncludeAllResourceTypes, a type's options override its defaults and the other types keep theirs.
    assert [r[1] for r in references(ec2, 101, IncludeAllResourceTypes=True, ResourceTypes=template_option(13))] == [
        "ec2:Instance",
        "ec2:LaunchTemplate",
    ]
    live = [{"OptionName": "state-name", "OptionValues": ["pending", "running", "stopping", "stopped"]}]
    assert not references(ec2, 101, ResourceTypes=[{"ResourceType": "ec2:Instance", "ResourceTypeOptions": live}])
    for option in (
        {"OptionName": "state-name", "OptionValues": ["gone"]},
        template_option(10001)[0]["ResourceTypeOptions"][0],
    ):
        kind = "ec2:Instance" if option["OptionName"] == "state-name" else "ec2:LaunchTemplate"
        types = [{"ResourceType": kind, "ResourceTypeOptions": [option]}]
        assert code_of(ec2.describe_image_references, ImageIds=[ami(101)], ResourceTypes=types)[0] == (
            "InvalidParameterValue"
        )
    wrong = [{"ResourceType": "ssm:Parameter", "ResourceTypeOptions": template_option(3)[0]["ResourceTypeOptions"]}]
    assert (
        code_of(ec2.describe_image_references, ImageIds=[ami(101)], ResourceTypes=wrong)[0] == "InvalidParameterValue"
    )


def versions(ec2, **params):
    answer = ec2.describe_launch_template_versions(**params)["LaunchTemplateVersions"]
    return [
        (v["LaunchTemplateName"], v["VersionNumber"], v["DefaultVersion"], v["LaunchTemplateData"]["ImageId"])
        for v in answer
    ]


def test_launch_template_versions_default_and_latest_of_every_template_or_any_of_one(ep):
    ec2 = ec2_client(ep.url)
    by_image = [{"Name": "image-id", "Values": [ami(101)]}]
    assert versions(ec2, Versions=["$Default"], Filters=by_image) == [("web-fleet", 2, True, ami(101))]
    assert not versions(ec2, Versions=["$Latest"], Filters=by_image)
    assert versions(ec2, Versions=["$Latest", "$Default"]) == [
        ("web-fleet", 14, False, ami(2101)),
        ("web-fleet", 2, True, ami(101)),
        ("batch-workers", 3, True, "resolve:ssm:/golden/preview-ami/latest"),
    ]
    assert versions(ec2, LaunchTemplateName="batch-workers", Versions=["$Latest", "1"], ResolveAlias=True) == [
        ("batch-workers", 3, True, ami(2201)),
        ("batch-workers", 1, False, ami(1101)),
    ]
    assert [v[1] for v in versions(ec2, LaunchTemplateId=WEB_FLEET, MinVersion="11", MaxVersion="13")] == [13, 12]
    assert len(versions(ec2, LaunchTemplateId=WEB_FLEET)) == 14
    for params, code in (
        ({"Versions": ["2"]}, "InvalidParameterValue"),
        ({}, "MissingParameter"),
        ({"LaunchTemplateId": WEB_FLEET, "LaunchTemplateName": "web-fleet"}, "InvalidParameterCombination"),
        ({"LaunchTemplateId": WEB_FLEET, "Versions": ["15"]}, "InvalidLaunchTemplateId.VersionNotFound"),
        ({"LaunchTemplateName": "nothing"}, "InvalidLaunchTemplateName.NotFoundException"),
        ({"LaunchTemplateId": "lt-0f1a000000000a009"}, "InvalidLaunchTemplateId.NotFound"),
        ({"LaunchTemplateId": WEB_FLEET, "MaxResults": 201}, "InvalidParameterValue"),
    ):
        assert code_of(ec2.describe_launch_template_versions, **params) == (code, 400), params
    assert versions(ec2_client(ep.url, "eu-west-1"), Versions=["$Latest"]) == [("eu-workers", 1, True, ami(1102))]


def instance_states(ec2, **params):
    reservations = ec2.describe_instances(**params)["Reservations"]
    return [(i["InstanceId"][-3:], i["ImageId"][-5:], i["State"]["Name"]) for r in reservations for i in r["Instances"]]


def test_instances_in_every_state_terminated_too_unless_filtered_by_state(ep):
    ec2 = ec2_client(ep.url)
    assert instance_states(ec2) == [
        ("a01", "00201", "running"),
        ("a02", "01101", "stopped"),
        ("a03", "00101", "terminated"),
    ]
    live = ["pending", "running", "shutting-down", "stopping", "stopped"]
    filters = [{"Name": "image-id", "Values": [ami(101), ami(1101)]}, {"Name": "instance-state-name", "Values": live}]
    assert instance_states(ec2, Filters=filters) == [("a02", "01101", "stopped")]
    assert instance_states(ec2, InstanceIds=["i-0f1a0000000000a03"]) == [("a03", "00101", "terminated")]
    assert code_of(ec2.describe_instances, InstanceIds=["i-0f1a0000000000a03"], MaxResults=5) == (
        "InvalidParameterCombination",
        400,
    )
    assert code_of(ec2.describe_instances, InstanceIds=["i-0f1a0000000000fff"]) == ("InvalidInstanceID.NotFound", 400)
    assert code_of(ec2.describe_instances, Filters=[{"Name": "vpc-id", "Values": ["x"]}]) == (
        "InvalidParameterValue",
        400,
    )
    assert instance_states(ec2_client(ep.url, "eu-west-1")) == [("a04", "01102", "running")]


def post_query(url, service, body, region="us-east-1"):
    """A raw query request of ``service``, signed only as far as the endpoint looks (the credential scope)."""
    scope = f"Credential={FAKE_ACCESS_KEY}/20261203/{region}/{service}/aws4_request"
    headers = {"Authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"}
    request = urllib.request.Request(url + "/", data=body.encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_auto_scaling_groups_name_launch_templates_configurations_and_override_images(ep):
    autoscaling = make_client(ep.url, "autoscaling")
    groups = {g["AutoScalingGroupName"]: g for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]}
    assert list(groups) == ["batch-asg", "legacy-asg", "web-asg"]
    mixed = groups["batch-asg"]["MixedInstancesPolicy"]["LaunchTemplate"]
    assert [o.get("ImageId") for o in mixed["Overrides"]] == [None, ami(1201)]
    assert mixed["LaunchTemplateSpecification"] == {"LaunchTemplateName": "batch-workers", "Version": "$Default"}
    assert groups["legacy-asg"]["LaunchConfigurationName"] == "legacy-lc"
    assert groups["web-asg"]["LaunchTemplate"] == {"LaunchTemplateId": WEB_FLEET, "Version": "$Latest"}
    configurations = autoscaling.describe_launch_configurations()["LaunchConfigurations"]
    assert [(c["LaunchConfigurationName"], c["ImageId"]) for c in configurations] == [
        ("legacy-lc", ami(1101)),
        ("unused-lc", ami(2101)),
    ]
    named = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg", "gone"])["AutoScalingGroups"]
    assert [g["AutoScalingGroupName"] for g in named] == ["web-asg"]
    tagged = autoscaling.describe_auto_scaling_groups(Filters=[{"Name": "tag:Team", "Values": ["web"]}])
    assert [g["AutoScalingGroupName"] for g in tagged["AutoScalingGroups"]] == ["web-asg"]
    assert not make_client(ep.url, "autoscaling", "eu-west-1").describe_auto_scaling_groups()["AutoScalingGroups"]
    # The query protocol as Auto Scaling writes it: lists of <member>, the answer in <...Result>, errors in
    # <ErrorResponse> with their Type.
    status, body = post_query(
        ep.url,
        "autoscaling",
        "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=web-asg",
    )
    assert status == 200 and "<DescribeAutoScalingGroupsResult><AutoScalingGroups><member>" in body, body
    assert "<CreatedTime>2024-05-01T00:00:00.000Z</CreatedTime>" in body
    status, body = post_query(
        ep.url, "autoscaling", "Action=DescribeAutoScalingGroups&Version=2011-01-01&MaxRecords=101"
    )
    assert status == 400 and "<Type>Sender</Type><Code>ValidationError</Code>" in body, body


def rule_ids(rbin, **params):
    return [rule["Identifier"] for rule in rbin.list_rules(**params)["Rules"]]


def test_recycle_bin_rules_list_by_type_lock_state_and_tags_and_get_tells_the_rest(ep):
    rbin = make_client(ep.url, "rbin")
    assert rule_ids(rbin, ResourceType="EC2_IMAGE") == ["rAmiRegn002", "rAmiTagBk01"]
    assert rule_ids(rbin, ResourceType="EBS_SNAPSHOT") == ["rSnapRegn03", "rSnapTagB04"]
    assert rule_ids(rbin, ResourceType="EBS_SNAPSHOT", LockState="locked") == ["rSnapRegn03"]
    assert not rule_ids(rbin, ResourceType="EBS_SNAPSHOT", LockState="unlocked")
    backup = [{"ResourceTagKey": "Backup", "ResourceTagValue": "daily"}]
    assert rule_ids(rbin, ResourceType="EBS_SNAPSHOT", ResourceTags=backup) == ["rSnapTagB04"]
    scratch = [{"ResourceTagKey": "Scratch", "ResourceTagValue": "true"}]
    assert rule_ids(rbin, ResourceType="EBS_SNAPSHOT", ExcludeResourceTags=scratch) == ["rSnapRegn03"]
    assert not rule_ids(rbin, ResourceType="EBS_SNAPSHOT", ResourceTags=scratch)
    # Every tag given, not any one of them (a reading: the model does not say).
    assert not rule_ids(rbin, ResourceType="EBS_SNAPSHOT", ResourceTags=backup + scratch)
    # The listing has no tags nor status: GetRule has them.
    summary = rbin.list_rules(ResourceType="EC2_IMAGE")["Rules"][0]
    assert set(summary) == {"Identifier", "Description", "RetentionPeriod", "RuleArn"}
    pending = rbin.get_rule(Identifier="rAmiRegn002")
    assert (pending["Status"], pending["RetentionPeriod"]["RetentionPeriodValue"]) == ("pending", 30)
    locked = rbin.get_rule(Identifier="rSnapRegn03")
    assert (locked["LockState"], locked["ExcludeResourceTags"], locked["Status"]) == ("locked", scratch, "available")
    assert rbin.get_rule(Identifier="rAmiTagBk01")["ResourceTags"] == backup
    assert code_of(rbin.get_rule, Identifier="rAmiEuWst05") == ("ResourceNotFoundException", 404)
    unlocking = make_client(ep.url, "rbin", "eu-west-1").get_rule(Identifier="rAmiEuWst05")
    assert unlocking["LockState"] == "pending_unlock" and unlocking["LockEndTime"].year == 2030


def test_snapshots_have_their_sizes_one_is_shared_by_two_amis_and_one_ami_is_protected(ep):
    ec2 = ec2_client(ep.url)
    snapshots = ec2.describe_snapshots(OwnerIds=["self"], SnapshotIds=["snap-17aa28bc5c436d73f"])["Snapshots"]
    assert [(s["VolumeSize"], s["FullSnapshotSizeInBytes"], s["Tags"]) for s in snapshots] == [
        (30, 6442450944, [{"Key": "Backup", "Value": "daily"}])
    ]
    images = ec2.describe_images(ImageIds=[ami(101), ami(201), ami(9101)])["Images"]
    devices = {
        i["ImageId"]: [(m["Ebs"]["SnapshotId"], m["Ebs"]["VolumeSize"]) for m in i["BlockDeviceMappings"]]
        for i in images
    }
    assert devices[ami(101)] == [("snap-17aa28bc5c436d73f", 30)]
    assert devices[ami(201)] == [("snap-7d6ab4c89c9901a48", 30), ("snap-17aa28bc5c436d73f", 30)]
    assert {i["ImageId"]: i.get("DeregistrationProtection") for i in images} == {
        ami(101): None,
        ami(201): None,
        ami(9101): "enabled-with-cooldown",
    }
    # Every snapshot an AMI in the region names is there, an undeclared one 8 GiB.
    every = {s["SnapshotId"]: s["VolumeSize"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    named = {
        m["Ebs"]["SnapshotId"] for i in ec2.describe_images(Owners=["self"])["Images"] for m in i["BlockDeviceMappings"]
    }
    assert set(every) == named and every[devices[ami(9101)][0][0]] == 8
    assert code_of(ec2.describe_snapshots, SnapshotIds=["snap-0000000000000dead"]) == ("InvalidSnapshot.NotFound", 400)
    users = [{"Name": "block-device-mapping.snapshot-id", "Values": ["snap-17aa28bc5c436d73f"]}]
    assert ami_ids(ec2, Owners=["self"], Filters=users) == [ami(101), ami(201)]
    assert not ec2.describe_snapshots(OwnerIds=["amazon"])["Snapshots"]


@pytest.mark.parametrize(
    "service, operation, params, code",
    [
        (
            "ec2",
            "describe_image_references",
            {"ImageIds": [ami(101)], "IncludeAllResourceTypes": True},
            "UnauthorizedOperation",
        ),
        ("ec2", "describe_instances", {}, "UnauthorizedOperation"),
        ("autoscaling", "describe_launch_configurations", {}, "AccessDenied"),
        ("rbin", "get_rule", {"Identifier": "rAmiTagBk01"}, "AccessDeniedException"),
        ("imagebuilder", "list_lifecycle_policies", {}, "AccessDeniedException"),
    ],
)
def test_a_denied_fault_answers_as_the_service_denies_every_call_until_removed(ep, service, operation, params, code):
    action = "".join(part.capitalize() for part in operation.split("_"))
    ep.add_faults({"operation": action, "fault": "denied"})
    call = getattr(make_client(ep.url, service), operation)
    for _attempt in range(3):
        denied, status, message = refused(call, **params)
        assert (denied, status) == (code, 403) and f"not authorized to perform: {service}:{action} " in message
    ep.clear_faults()
    call(**params)
    with pytest.raises(ScenarioError, match="takes its code and status"):
        ep.add_faults({"operation": action, "fault": "denied", "code": "Throttling"})


@pytest.mark.parametrize(
    "service, operation, params, size, result_key",
    [
        (
            "ec2",
            "describe_image_references",
            {"ImageIds": [ami(n) for n in (101, 201, 1101, 1201, 2101, 2201)], "IncludeAllResourceTypes": True},
            "MaxResults",
            "ImageReferences",
        ),
        ("ec2", "describe_instances", {}, "MaxResults", "Reservations"),
        ("ec2", "describe_snapshots", {"OwnerIds": ["self"]}, "MaxResults", "Snapshots"),
        (
            "ec2",
            "describe_launch_template_versions",
            {"LaunchTemplateId": WEB_FLEET},
            "MaxResults",
            "LaunchTemplateVersions",
        ),
        ("autoscaling", "describe_auto_scaling_groups", {}, "MaxRecords", "AutoScalingGroups"),
        ("autoscaling", "describe_launch_configurations", {}, "MaxRecords", "LaunchConfigurations"),
        ("rbin", "list_rules", {"ResourceType": "EBS_SNAPSHOT"}, "MaxResults", "Rules"),
    ],
)
def test_the_new_listings_page_as_their_paginators_read_them(ep, service, operation, params, size, result_key):
    if operation == "describe_instances":
        # More instances than a page of the smallest size (5).
        more = [{"InstanceId": f"i-0f1a0000000000b{n:02d}", "ImageId": ami(2101)} for n in range(8)]
        ep.load_scenario(scenario(instances=scenario()["instances"] + more))
    client = make_client(ep.url, service)
    whole = getattr(client, operation)(**params)[result_key]
    smallest = 5 if operation in ("describe_image_references", "describe_instances", "describe_snapshots") else 1
    pages, token = [], None
    while True:
        page = getattr(client, operation)(**params, **{size: smallest}, **({"NextToken": token} if token else {}))
        pages.append(page[result_key])
        token = page.get("NextToken")
        if not token:
            break
    assert len(whole) > smallest and len(pages) == -(-len(whole) // smallest) and sum(pages, []) == whole
    # A token belongs to its listing: another region, or other parameters, refuse it.
    first = getattr(client, operation)(**params, **{size: smallest})["NextToken"]
    foreign = {"ec2": "InvalidPaginationToken", "autoscaling": "InvalidNextToken", "rbin": "ValidationException"}
    if operation == "describe_image_references":
        other, params = client, dict(params, ImageIds=params["ImageIds"][1:])
    elif operation == "describe_launch_template_versions":
        other, params = client, dict(params, MinVersion="0")
    else:
        other = make_client(ep.url, service, "eu-west-1")
    assert code_of(getattr(other, operation), **params, **{size: smallest}, NextToken=first) == (foreign[service], 400)


def test_botocore_sends_each_service_to_the_endpoint_by_the_variables_endpoint_environment_sets(ep, monkeypatch):
    """What reaches a module's clients, which take no endpoint_url: botocore's AWS_ENDPOINT_URL_<SERVICE id>."""
    for name, value in endpoint_environment(ep.url).items():
        monkeypatch.setenv(name, value)
    credentials = {"aws_access_key_id": FAKE_ACCESS_KEY, "aws_secret_access_key": SECRET_KEY}
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=2)
    calls = (
        ("imagebuilder", "list_lifecycle_policies", {}),
        ("ec2", "describe_instances", {}),
        ("autoscaling", "describe_launch_configurations", {}),
        ("rbin", "list_rules", {"ResourceType": "EC2_IMAGE"}),
    )
    for service, operation, params in calls:
        client = boto3.client(service, region_name="us-east-1", config=config, **credentials)
        getattr(client, operation)(**params)
    assert [entry["service"] for entry in ep.requests()] == ["imagebuilder", "ec2", "autoscaling", "rbin"]
