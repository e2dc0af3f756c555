# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The lifecycle_executions event source: its argument checks, change detection, retries and failed rounds, against
a stubbed client (ansible-rulebook is not needed: the source imports without it)."""

import asyncio
import datetime
import threading

import pytest

from ansible_collections.imagebuilder_ops.aws.extensions.eda.plugins.event_source import lifecycle_executions as source
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import imagebuilder as ib
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import IMAGE_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import PAGE_SIZE
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import POLICY_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import T0
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import execution_id

HISTORY, FIRST, SECOND, THIRD = (execution_id(n) for n in (1, 2, 3, 4))
# After the source started: the executions' start times tell their order in a listing (newest first).
STARTED_AT = (T0 - datetime.timedelta(minutes=30)).timestamp()


class Queue:
    """What the source puts on the queue."""

    def __init__(self):
        self.events = []

    async def put(self, event):
        self.events.append(event)


def ex(n_id, status, minutes, **extra):
    return execution(status, execution_id=n_id, start=T0 + datetime.timedelta(minutes=minutes), **extra)


def listing(stubber, items, arn=POLICY_ARN):
    stubber.add_response(
        "list_lifecycle_executions", {"lifecycleExecutions": items}, {"resourceArn": arn, "maxResults": PAGE_SIZE}
    )


def fail(stubber, operation, code, status, times=1):
    for _dummy in range(times):
        stubber.add_client_error(operation, service_error_code=code, http_status_code=status)


def watcher(client, arns=(POLICY_ARN,), statuses=ib.TERMINAL_STATUSES, include_resources=False):
    return source.LifecycleExecutionWatcher(client, ib, list(arns), statuses, include_resources, STARTED_AT)


def run_round(w, queue):
    return asyncio.run(w.run_round(queue))


def seen(queue):
    return [
        (e["lifecycle_execution"]["lifecycle_execution_id"], e["lifecycle_execution"]["state"]["status"])
        for e in queue.events
    ]


# --- arguments -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, named",
    [
        ({}, "lifecycle_policy_arns or image_arns"),
        ({"lifecycle_policy_arns": []}, "lifecycle_policy_arns or image_arns"),
        ({"lifecycle_policy_arns": [IMAGE_ARN]}, "lifecycle_policy_arns: "),
        ({"lifecycle_policy_arns": POLICY_ARN + "\n"}, "lifecycle_policy_arns: "),
        ({"image_arns": [POLICY_ARN]}, "image_arns: "),
        ({"image_arns": [1]}, "image_arns: "),
        ({"image_arns": [IMAGE_ARN], "statuses": ["DONE"]}, "statuses: "),
        ({"image_arns": [IMAGE_ARN], "statuses": []}, "statuses: "),
        ({"image_arns": [IMAGE_ARN], "interval": 0}, "interval: "),
        ({"image_arns": [IMAGE_ARN], "interval": "soon"}, "interval: "),
        ({"image_arns": [IMAGE_ARN], "include_resources": "maybe"}, "include_resources: "),
        ({"image_arns": [IMAGE_ARN], "region": 3}, "region: "),
        ({"image_arns": [IMAGE_ARN], "intervall": 5}, "unknown argument(s): intervall"),
        ({"image_arns": [IMAGE_ARN], "access_key": "AKIA1", "aws_access_key_id": "AKIA2"}, "access_key and aws_"),
    ],
)
def test_bad_arguments_fail_at_start_naming_the_argument_before_any_call(monkeypatch, args, named):
    monkeypatch.setattr(source, "connect", lambda *a: pytest.fail("a client was made"))
    with pytest.raises(ValueError) as raised:
        asyncio.run(source.main(Queue(), args))
    assert named in str(raised.value)


def test_credentials_are_never_echoed():
    with pytest.raises(ValueError) as raised:
        source.parse_args({"image_arns": [IMAGE_ARN], "secret_key": "", "access_key": "AKIA-VISIBLE"}, ib)
    assert "secret_key" in str(raised.value)
    assert "AKIA-VISIBLE" not in str(raised.value)


def test_defaults_and_the_names_of_ansible_eda_and_amazon_aws():
    settings = source.parse_args(
        {
            "lifecycle_policy_arns": [POLICY_ARN, POLICY_ARN],
            "image_arns": IMAGE_ARN,
            "aws_profile": "ops",
            "access_key": "AKIA1",
            "aws_secret_access_key": "s",
            "session_token": "t",
            "region": "eu-west-1",
            "endpoint_url": "http://127.0.0.1:1",
        },
        ib,
    )
    assert settings["arns"] == [POLICY_ARN, IMAGE_ARN]
    assert settings["statuses"] == {"SUCCESS", "FAILED", "CANCELLED"}
    assert settings["interval"] == 60
    assert settings["include_resources"] is False
    assert settings["connection"] == {
        "profile_name": "ops",
        "aws_access_key_id": "AKIA1",
        "aws_secret_access_key": "s",
        "aws_session_token": "t",
        "region_name": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:1",
    }
    # What a rulebook's template renders is a string.
    assert source.parse_args({"image_arns": [IMAGE_ARN], "interval": "1", "include_resources": "true"}, ib)[
        "interval"
    ] == pytest.approx(1.0)


def test_statuses_are_those_of_the_installed_model():
    assert set(ib.TERMINAL_STATUSES) <= set(source.execution_statuses())
    assert "IN_PROGRESS" in source.execution_statuses()


# --- change detection ----------------------------------------------------------------------------------------------


def test_first_round_only_records_then_each_change_is_reported_once(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    # Round 1: history already terminal, and two running.
    listing(stubber, [ex(SECOND, "IN_PROGRESS", 2), ex(FIRST, "PENDING", 1), ex(HISTORY, "SUCCESS", -60)])
    # Round 2: SECOND failed.
    listing(stubber, [ex(SECOND, "FAILED", 2), ex(FIRST, "IN_PROGRESS", 1), ex(HISTORY, "SUCCESS", -60)])
    # Round 3: FIRST succeeded, THIRD started and was cancelled between two rounds.
    listing(
        stubber,
        [ex(THIRD, "CANCELLED", 3), ex(SECOND, "FAILED", 2), ex(FIRST, "SUCCESS", 1), ex(HISTORY, "SUCCESS", -60)],
    )
    # Round 4: nothing new.
    listing(
        stubber,
        [ex(THIRD, "CANCELLED", 3), ex(SECOND, "FAILED", 2), ex(FIRST, "SUCCESS", 1), ex(HISTORY, "SUCCESS", -60)],
    )

    assert run_round(w, queue) == 0
    assert queue.events == []
    run_round(w, queue)
    assert seen(queue) == [(SECOND, "FAILED")]
    run_round(w, queue)
    run_round(w, queue)
    assert seen(queue) == [(SECOND, "FAILED"), (FIRST, "SUCCESS"), (THIRD, "CANCELLED")]


def test_the_event_is_the_execution_as_the_info_module_returns_it(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    listing(stubber, [])
    failed = ex(FIRST, "FAILED", 1, endTime=T0 + datetime.timedelta(minutes=9))
    failed["state"]["reason"] = "AMI in use"
    listing(stubber, [failed])
    run_round(w, queue)
    run_round(w, queue)
    assert queue.events == [
        {
            "watched_arn": POLICY_ARN,
            "lifecycle_execution": {
                "lifecycle_execution_id": FIRST,
                "lifecycle_policy_arn": POLICY_ARN,
                "resources_impacted_summary": {"has_impacted_resources": True},
                "state": {"status": "FAILED", "reason": "AMI in use"},
                "start_time": "2026-11-28T06:01:00+00:00",
                "end_time": "2026-11-28T06:09:00+00:00",
            },
        }
    ]
    assert queue.events[0]["lifecycle_execution"] == ib.normalize(failed)


def test_statuses_chooses_what_is_reported(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped, statuses={"IN_PROGRESS", "FAILED"})
    listing(stubber, [ex(FIRST, "PENDING", 1), ex(HISTORY, "FAILED", -60)])
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1), ex(HISTORY, "FAILED", -60)])
    listing(stubber, [ex(FIRST, "SUCCESS", 1), ex(HISTORY, "FAILED", -60)])
    for _dummy in range(3):
        run_round(w, queue)
    assert seen(queue) == [(FIRST, "IN_PROGRESS")]


def test_answers_without_an_id_or_a_status_are_skipped(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    listing(stubber, [])
    listing(stubber, [{}, {"lifecycleExecutionId": FIRST}, ex(SECOND, "SUCCESS", 2)])
    run_round(w, queue)
    assert run_round(w, queue) == 0
    assert seen(queue) == [(SECOND, "SUCCESS")]


# --- retries and failed rounds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, status",
    [("CallRateLimitExceededException", 429), ("ServiceException", 500), ("ServiceUnavailableException", 503)],
)
def test_throttling_and_5xx_are_retried_with_the_collections_backoff(client, sleeps, code, status):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    fail(stubber, "list_lifecycle_executions", code, status, times=3)
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    run_round(w, queue)
    assert run_round(w, queue) == 0
    assert seen(queue) == [(FIRST, "SUCCESS")]
    assert len(sleeps) == 3 and all(0 <= s <= 8 for s in sleeps)


def test_a_round_that_still_fails_is_logged_and_the_next_one_loses_and_repeats_nothing(client, sleeps, caplog):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1), ex(SECOND, "IN_PROGRESS", 2)])
    # A throttling storm that outlasts the backoff, then a denied call, then the endpoint's answer.
    fail(stubber, "list_lifecycle_executions", "CallRateLimitExceededException", 429, times=ib.RETRY_ATTEMPTS)
    fail(stubber, "list_lifecycle_executions", "AccessDeniedException", 403)
    listing(stubber, [ex(SECOND, "SUCCESS", 2), ex(FIRST, "FAILED", 1)])
    listing(stubber, [ex(SECOND, "SUCCESS", 2), ex(FIRST, "FAILED", 1)])
    run_round(w, queue)
    assert run_round(w, queue) == 1
    assert run_round(w, queue) == 1
    assert queue.events == []
    assert "AccessDeniedException" in caplog.text and POLICY_ARN in caplog.text
    run_round(w, queue)
    run_round(w, queue)
    assert seen(queue) == [(FIRST, "FAILED"), (SECOND, "SUCCESS")]
    assert len(sleeps) == ib.RETRY_ATTEMPTS - 1


def test_one_arn_failing_does_not_hold_the_others_back(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped, arns=(POLICY_ARN, IMAGE_ARN))
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    listing(stubber, [ex(SECOND, "IN_PROGRESS", 2)], arn=IMAGE_ARN)
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    fail(stubber, "list_lifecycle_executions", "AccessDeniedException", 403)
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    listing(stubber, [ex(SECOND, "FAILED", 2)], arn=IMAGE_ARN)
    run_round(w, queue)
    assert run_round(w, queue) == 1
    assert [e["watched_arn"] for e in queue.events] == [POLICY_ARN]
    assert run_round(w, queue) == 0
    assert seen(queue) == [(FIRST, "SUCCESS"), (SECOND, "FAILED")]
    assert [e["watched_arn"] for e in queue.events] == [POLICY_ARN, IMAGE_ARN]


def test_a_first_listing_that_comes_late_reports_what_ended_since_the_start(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped)
    fail(stubber, "list_lifecycle_executions", "AccessDeniedException", 403)
    ended_since = ex(
        FIRST, "SUCCESS", 1, endTime=datetime.datetime.fromtimestamp(STARTED_AT + 5, datetime.timezone.utc)
    )
    ended_before = ex(HISTORY, "SUCCESS", -90, endTime=T0 - datetime.timedelta(hours=1))
    listing(stubber, [ended_since, ended_before])
    run_round(w, queue)
    run_round(w, queue)
    assert seen(queue) == [(FIRST, "SUCCESS")]


# --- include_resources ---------------------------------------------------------------------------------------------


def test_include_resources_adds_the_tree_and_a_failure_retries_the_event_next_round(client):
    wrapped, stubber = client
    queue = Queue()
    w = watcher(wrapped, include_resources=True)
    image = {"resourceId": IMAGE_ARN, "accountId": "123456789012", "region": "us-east-1"}
    ami = {"resourceId": "ami-0123456789abcdef0", "accountId": "123456789012", "region": "us-east-1"}
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    top = {"lifecycleExecutionId": FIRST, "maxResults": PAGE_SIZE}
    fail(stubber, "list_lifecycle_execution_resources", "AccessDeniedException", 403)
    listing(stubber, [ex(FIRST, "SUCCESS", 1)])
    stubber.add_response("list_lifecycle_execution_resources", {"resources": [image]}, top)
    stubber.add_response(
        "list_lifecycle_execution_resources", {"resources": [ami]}, {**top, "parentResourceId": IMAGE_ARN}
    )
    run_round(w, queue)
    assert run_round(w, queue) == 1
    assert queue.events == []
    assert run_round(w, queue) == 0
    assert seen(queue) == [(FIRST, "SUCCESS")]
    resources = queue.events[0]["lifecycle_execution"]["resources"]
    assert resources == [
        {
            "resource_id": IMAGE_ARN,
            "account_id": "123456789012",
            "region": "us-east-1",
            "child_resources": [
                {"resource_id": "ami-0123456789abcdef0", "account_id": "123456789012", "region": "us-east-1"}
            ],
        }
    ]


# --- main ----------------------------------------------------------------------------------------------------------


class Stop(Exception):
    pass


def test_main_runs_the_calls_off_the_event_loop_and_waits_interval_between_rounds(client, monkeypatch):
    wrapped, stubber = client
    listing(stubber, [ex(FIRST, "IN_PROGRESS", 1)])
    listing(stubber, [ex(FIRST, "FAILED", 1)])
    monkeypatch.setattr(source, "connect", lambda connection, utils: wrapped)
    threads = []
    real_list = ib.list_lifecycle_executions

    def spy(*args):
        threads.append(threading.current_thread())
        return real_list(*args)

    monkeypatch.setattr(ib, "list_lifecycle_executions", spy)
    naps = []

    async def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            raise Stop

    monkeypatch.setattr(source.asyncio, "sleep", sleep)
    queue = Queue()
    with pytest.raises(Stop):
        asyncio.run(source.main(queue, {"lifecycle_policy_arns": [POLICY_ARN], "interval": 2}))
    assert naps == [2, 2]
    assert seen(queue) == [(FIRST, "FAILED")]
    assert threads and threading.main_thread() not in threads


# Loading the collection's code where ansible-rulebook runs the source from its file: the layouts themselves are
# tested end to end in tests/eda; here, which root the file names and what the one-line failure says.
INSTALLED = "/srv/eda/collections/ansible_collections/imagebuilder_ops/aws/extensions/eda/plugins/event_source"


@pytest.mark.parametrize(
    "source_file, root",
    [
        (INSTALLED + "/lifecycle_executions.py", "/srv/eda/collections"),
        # A checkout is no collections root: the configured paths must hold the collection.
        ("/home/me/imagebuilder_ops/extensions/eda/plugins/event_source/lifecycle_executions.py", None),
        ("/srv/ansible_collections/other/aws/extensions/eda/plugins/event_source/lifecycle_executions.py", None),
    ],
)
def test_collection_root_is_the_installed_collections_path(source_file, root):
    assert source.collection_root(source_file) == root


def test_collection_root_keeps_a_linked_install(tmp_path):
    # A checkout linked into a collections path is found under the link, not where the link points.
    checkout = tmp_path / "checkout"
    (checkout / "extensions/eda/plugins/event_source").mkdir(parents=True)
    namespace = tmp_path / "collections/ansible_collections/imagebuilder_ops"
    namespace.mkdir(parents=True)
    (namespace / "aws").symlink_to(checkout)
    linked = namespace / "aws/extensions/eda/plugins/event_source/lifecycle_executions.py"
    assert source.collection_root(str(linked)) == str(tmp_path / "collections")


def test_import_failure_names_the_collection_and_every_place_looked_in():
    message = source.import_failure(
        "ansible_collections.amazon",
        "/srv/eda/collections",
        ["/srv/eda/collections", "/root/.ansible/collections"],
        False,
    )
    assert message == (
        "imagebuilder_ops.aws.lifecycle_executions cannot import the collection amazon.aws (no module"
        " ansible_collections.amazon); looked in /srv/eda/collections, /root/.ansible/collections, not the Python path"
        " (ANSIBLE_COLLECTIONS_SCAN_SYS_PATH is false). Install it into one of those collections paths or name its"
        " path in ANSIBLE_COLLECTIONS_PATH"
    )


def test_import_failure_of_another_module_names_it_and_the_python_path():
    message = source.import_failure("botocore", None, ["/usr/share/ansible/collections"], True)
    assert message.startswith("imagebuilder_ops.aws.lifecycle_executions cannot import botocore; looked in ")
    assert "/usr/share/ansible/collections, the ansible_collections directories on the Python path of " in message
    assert "\n" not in message
