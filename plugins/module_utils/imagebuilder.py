# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""EC2 Image Builder lifecycle executions: the AWS work shared by every module of this collection.

One retry policy, one waiter, one normaliser and one set of option checks live here, so that the
info module and the action module cannot drift apart.
"""

import datetime
import re
import time

try:
    import botocore
    from botocore import xform_name
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

TERMINAL_STATUSES = frozenset(("SUCCESS", "FAILED", "CANCELLED"))

# Image Builder throttles with CallRateLimitExceededException (HTTP 429). Neither AWSRetry's defaults nor
# botocore's standard retry mode know that code, so we name it; the two 5xx codes are Image Builder's own.
RETRYABLE_ERROR_CODES = ("CallRateLimitExceededException", "ServiceUnavailableException", "ServiceException")

# Twelve attempts: eleven sleeps of full jitter over 0.5, 1, 2, 4, then 8 s at most each. That outlasts
# more than eight throttled answers in a row while bounding a call's worst case near a minute
# (0.5 + 1 + 2 + 4 + 7 * 8 = 63.5 s of sleep). botocore's own retries (by its retry mode: legacy retries some
# of these codes, standard only the 5xx) nest inside each attempt, which stays bounded.
RETRY_ATTEMPTS = 12
retry_decorator = AWSRetry.jittered_backoff(
    retries=RETRY_ATTEMPTS,
    delay=0.5,
    backoff=2.0,
    max_delay=8,
    catch_extra_error_codes=RETRYABLE_ERROR_CODES,
)

# The patterns of botocore's imagebuilder model (shapes LifecycleExecutionId, LifecyclePolicyArn,
# ImageBuildVersionArn and RoleNameOrArn). botocore does not check them on the client side, so we do, before any call;
# a unit test compares them with the installed model so that they cannot drift.
LIFECYCLE_EXECUTION_ID_PATTERN = r"^lce-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
LIFECYCLE_POLICY_ARN_PATTERN = (
    r"^arn:aws(?:-[a-z]+)*:imagebuilder:[a-z]{2,}(?:-[a-z]+)+-[0-9]+:(?:[0-9]{12}|aws):lifecycle-policy/[a-z0-9-_]+$"
)
IMAGE_BUILD_VERSION_ARN_PATTERN = (
    r"^arn:aws[^:]*:imagebuilder:[^:]+:(?:[0-9]{12}|aws(?:-[a-z-]+)?):image/[a-z0-9-_]+/[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$"
)
ROLE_NAME_OR_ARN_PATTERN = r"^(?:arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/)?[a-zA-Z_0-9+=,.@\-_/]+$"

OPTION_FORMS = {
    "lifecycle_execution_id": (
        LIFECYCLE_EXECUTION_ID_PATTERN,
        "a lifecycle execution ID such as lce-0123abcd-4567-89ab-cdef-0123456789ab",
    ),
    "lifecycle_policy_arn": (
        LIFECYCLE_POLICY_ARN_PATTERN,
        "a lifecycle policy ARN such as arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/my-policy",
    ),
    "image_arn": (
        IMAGE_BUILD_VERSION_ARN_PATTERN,
        "an image build version ARN such as arn:aws:imagebuilder:us-east-1:123456789012:image/my-image/1.0.0/1",
    ),
    "execution_role": (
        ROLE_NAME_OR_ARN_PATTERN,
        "an IAM role name or ARN such as arn:aws:iam::123456789012:role/ImageBuilderLifecycleRole",
    ),
    # ClientToken has no pattern, only a length of 1 to 64.
    "client_token": (r"^.{1,64}$", "a string of 1 to 64 characters"),
    # ParentResourceId is a NonEmptyString of 1 to 1024 characters; botocore would refuse "" only after the Get.
    "parent_resource_id": (r"(?s)^.{1,1024}$", "a resource ID of 1 to 1024 characters such as ami-0123456789abcdef0"),
}

# Statuses in which an execution still holds its image: a second execution on it is refused.
ACTIVE_STATUSES = frozenset(("PENDING", "IN_PROGRESS", "CANCELLING"))

# The wait options, shared by every module (documented once in the wait_options doc fragment).
WAIT_ARGUMENT_SPEC = dict(
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=1800),
    wait_sleep=dict(type="int", default=15),
)


class ImageBuilderError(AnsibleAWSError):
    pass


class LifecycleExecutionWaitTimeout(ImageBuilderError):
    """The wait ran out; carries the last execution seen so that the module can still return it."""

    def __init__(self, lifecycle_execution, waited):
        status = lifecycle_execution["state"]["status"]
        super().__init__(
            message=(
                f"Timed out after {waited:.0f} seconds waiting for lifecycle execution "
                f"{lifecycle_execution['lifecycleExecutionId']} to finish; last status seen: {status}"
            )
        )
        self.lifecycle_execution = lifecycle_execution
        self.waited = waited


class ImageBuilderErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = ImageBuilderError


def validate_options(params):
    """Return a list of messages, one for each option that is malformed (empty when all are well formed).

    Runs before any client is created, so that bad input costs no API call.
    """
    errors = []
    for option, (pattern, form) in OPTION_FORMS.items():
        value = params.get(option)
        # fullmatch: with re.match, "$" also matches before a trailing newline, and "lce-...\n" would be sent.
        if value is not None and not re.fullmatch(pattern, value):
            errors.append(f"{option}: {value!r} is not {form}")
    if params.get("wait_timeout") is not None and params["wait_timeout"] <= 0:
        errors.append(f"wait_timeout: {params['wait_timeout']} is not a number of seconds greater than 0")
    if params.get("wait_sleep") is not None and params["wait_sleep"] < 1:
        errors.append(f"wait_sleep: {params['wait_sleep']} is not a number of seconds of at least 1")
    return errors


def _page_size(client, operation_name):
    """The largest maxResults the installed model allows for an operation: fewer pages, fewer calls."""
    members = client.meta.service_model.operation_model(operation_name).input_shape.members
    return members["maxResults"].metadata.get("max", 25)


def _call(client, operation_name, result_key, **params):
    """One API call, retried by our policy, whose answer must hold ``result_key``.

    botocore turns a body that is not JSON or is cut short into an answer with no member at all, and a JSON body of
    the wrong shape into a bare AttributeError or TypeError. Either is an error here, never an empty result: a
    listing must not end early, silently, on a broken page.
    """
    method = getattr(client, xform_name(operation_name))
    try:
        answer = method(aws_retry=True, **params)
    except (AttributeError, TypeError, ValueError) as e:
        raise ImageBuilderError(message=f"Image Builder sent an unreadable answer to {operation_name}", exception=e)
    if result_key not in answer:
        raise ImageBuilderError(
            message=f"Image Builder's answer to {operation_name} has no {result_key}: it was empty or unreadable"
        )
    return answer


def _paginate(client, operation_name, result_key, **params):
    """Every page of a listing, each page retried on its own.

    Retrying page by page (rather than the whole listing) means a throttled page is asked for again
    with the same token, so no item is lost or repeated and no earlier page is fetched twice.
    """
    params["maxResults"] = _page_size(client, operation_name)
    items = []
    while True:
        page = _call(client, operation_name, result_key, **params)
        items.extend(page[result_key])
        if not page.get("nextToken"):
            return items
        params["nextToken"] = page["nextToken"]


def _not_found(lifecycle_execution_id, exception):
    return ImageBuilderError(message=f"Lifecycle execution {lifecycle_execution_id} was not found", exception=exception)


@ImageBuilderErrorHandler.common_error_handler("get lifecycle execution")
def get_lifecycle_execution(client, lifecycle_execution_id):
    try:
        answer = _call(
            client, "GetLifecycleExecution", "lifecycleExecution", lifecycleExecutionId=lifecycle_execution_id
        )
    except is_boto3_error_code("ResourceNotFoundException") as e:
        raise _not_found(lifecycle_execution_id, e)
    return answer["lifecycleExecution"]


@ImageBuilderErrorHandler.common_error_handler("list lifecycle executions")
def list_lifecycle_executions(client, resource_arn):
    """The executions of a resource: ListLifecycleExecutions takes a lifecycle policy's ARN and an image build
    version's ARN alike, as resourceArn."""
    executions = _paginate(client, "ListLifecycleExecutions", "lifecycleExecutions", resourceArn=resource_arn)
    return sort_newest_first(executions)


@ImageBuilderErrorHandler.common_error_handler("list lifecycle execution resources")
def list_lifecycle_execution_resources(client, lifecycle_execution_id, parent_resource_id=None):
    params = {"lifecycleExecutionId": lifecycle_execution_id}
    if parent_resource_id is not None:
        params["parentResourceId"] = parent_resource_id
    try:
        return _paginate(client, "ListLifecycleExecutionResources", "resources", **params)
    except is_boto3_error_code("ResourceNotFoundException") as e:
        raise _not_found(lifecycle_execution_id, e)


def parse_update_at(value):
    """An ISO 8601 time as an aware datetime (UTC when no offset is given), or None when it is not one."""
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def validate_state_update(params):
    """Messages for the options of a resource state update that the API would refuse (empty when all is well)."""
    errors = []
    if params.get("update_at") is not None:
        if parse_update_at(params["update_at"]) is None:
            errors.append(f"update_at: {params['update_at']!r} is not an ISO 8601 time such as 2026-12-31T00:00:00Z")
        if params.get("resource_state") != "deprecated":
            errors.append("update_at: can only be used with resource_state=deprecated")
    rules = params.get("exclusion_rules") or {}
    last_launched = rules.get("last_launched") or {}
    if last_launched.get("value") is not None and not 1 <= last_launched["value"] <= 365:
        errors.append(f"exclusion_rules.last_launched.value: {last_launched['value']} is not between 1 and 365")
    for account in rules.get("shared_accounts") or []:
        if not re.match(r"^[0-9]{12}$", account):
            errors.append(f"exclusion_rules.shared_accounts: {account!r} is not a 12-digit AWS account ID")
    return errors


def state_update_request(params, client_token):
    """The StartResourceStateUpdate parameters for the module's options (see the module's documentation)."""
    request = {
        "resourceArn": params["image_arn"],
        "state": {"status": params["resource_state"].upper()},
        "clientToken": client_token,
    }
    if params.get("include_resources"):
        request["includeResources"] = {k: v for k, v in params["include_resources"].items() if v is not None}
    rules = {k: v for k, v in (params.get("exclusion_rules") or {}).items() if v is not None}
    if rules.get("last_launched"):
        rules["last_launched"] = dict(rules["last_launched"], unit=rules["last_launched"]["unit"].upper())
    if rules:
        tag_map = rules.pop("tag_map", None)
        amis = snake_dict_to_camel_dict(rules)
        if tag_map:
            amis["tagMap"] = tag_map  # tag keys are the user's own: never re-case them
        request["exclusionRules"] = {"amis": amis}
    if params.get("execution_role"):
        request["executionRole"] = params["execution_role"]
    if params.get("update_at"):
        request["updateAt"] = parse_update_at(params["update_at"])
    return request


@ImageBuilderErrorHandler.common_error_handler("start resource state update")
def start_resource_state_update(client, request):
    """Start a state update; ``request`` holds the API parameters, clientToken included.

    The retry wrapper sends the very same parameters again, so every retry carries the same clientToken and a
    retried request can never start a second execution. When the image is busy, the error names the executions
    that hold it, so that the user can wait for them or cancel them.
    """
    try:
        return _call(client, "StartResourceStateUpdate", "resourceArn", **request)
    except is_boto3_error_code("ResourceInUseException") as e:
        busy = active_executions(client, request["resourceArn"])
        which = ", ".join(f"{b['lifecycleExecutionId']} ({b['state']['status']})" for b in busy) or "unknown"
        raise ImageBuilderError(
            message=f"Image {request['resourceArn']} already has a lifecycle execution in progress: {which}",
            exception=e,
        )


@ImageBuilderErrorHandler.common_error_handler("cancel lifecycle execution")
def cancel_lifecycle_execution(client, lifecycle_execution_id, client_token):
    return _call(
        client,
        "CancelLifecycleExecution",
        "lifecycleExecutionId",
        lifecycleExecutionId=lifecycle_execution_id,
        clientToken=client_token,
    )


def active_executions(client, image_arn):
    return [e for e in list_lifecycle_executions(client, image_arn) if e["state"]["status"] in ACTIVE_STATUSES]


def sort_newest_first(executions):
    # An execution that has not started yet has no startTime: it is the newest of all.
    return sorted(
        executions,
        key=lambda e: (e.get("startTime") is None, e.get("startTime") or 0),
        reverse=True,
    )


def is_terminal(lifecycle_execution):
    return lifecycle_execution["state"]["status"] in TERMINAL_STATUSES


def wait_for_lifecycle_execution(get, wait_timeout, wait_sleep, clock=None, sleep=None):
    """Poll ``get()`` until the execution it returns is terminal, and return that execution.

    One rule for every module: exactly one call per poll, none once a terminal status is seen, a last poll
    at the deadline, and LifecycleExecutionWaitTimeout (with the last execution seen) when it passes.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    started = clock()
    deadline = started + wait_timeout
    while True:
        lifecycle_execution = get()
        if is_terminal(lifecycle_execution):
            return lifecycle_execution
        remaining = deadline - clock()
        if remaining <= 0:
            raise LifecycleExecutionWaitTimeout(lifecycle_execution, clock() - started)
        sleep(min(wait_sleep, remaining))


_SNAKE_KEYS = {}


def _snake(key):
    """camel_dict_to_snake_dict's name for one key, remembered: a listing repeats a dozen keys thousands of times,
    and each conversion runs several regular expressions."""
    try:
        return _SNAKE_KEYS[key]
    except KeyError:
        snake = _SNAKE_KEYS[key] = next(iter(camel_dict_to_snake_dict({key: None})))
        return snake


def _plain(value):
    """snake_case keys and ISO 8601 times, in one walk."""
    if isinstance(value, dict):
        return {_snake(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


def normalize(resource):
    """An Image Builder answer as Ansible data: snake_case keys, ISO 8601 times, no ResponseMetadata."""
    return _plain({k: v for k, v in resource.items() if k != "ResponseMetadata"})


def describe_lifecycle_execution(client, params, clock=None, sleep=None):
    """What the modules return for one execution: read it (waiting if asked), then its resources if asked.

    Returns the normalised execution; a wait that runs out raises LifecycleExecutionWaitTimeout.
    """
    lifecycle_execution_id = params["lifecycle_execution_id"]

    def get():
        return get_lifecycle_execution(client, lifecycle_execution_id)

    if params.get("wait"):
        lifecycle_execution = wait_for_lifecycle_execution(
            get, params["wait_timeout"], params["wait_sleep"], clock=clock, sleep=sleep
        )
    else:
        lifecycle_execution = get()

    if params.get("include_resources"):
        lifecycle_execution["resources"] = list_lifecycle_execution_resources(
            client, lifecycle_execution_id, params.get("parent_resource_id")
        )
    return normalize(lifecycle_execution)


def list_lifecycle_executions_for(client, params):
    """The executions of a lifecycle policy or of an image build version, newest first, normalised."""
    executions = list_lifecycle_executions(client, params.get("lifecycle_policy_arn") or params["image_arn"])
    return [normalize(e) for e in executions]


def connect(module):
    """An Image Builder client whose calls retry with our policy when called with aws_retry=True."""
    try:
        return module.client("imagebuilder", retry_decorator=retry_decorator)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Failed to connect to EC2 Image Builder")
