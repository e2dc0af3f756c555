# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""EC2 Image Builder lifecycle executions: the AWS work shared by every module of this collection.

One retry policy, one waiter, one normaliser and one set of option checks live here, so that the
info module and the action module cannot drift apart.
"""

import datetime
import functools
import inspect
import re
import time
import uuid

try:
    import botocore
    import botocore.config
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.transformation import scrub_none_parameters

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
    # The model types ParentResourceId as any string of 1 to 1024 characters, but documents it as the ARN of an image
    # build version of the execution (a resource_id at the top level); anything else, an AMI ID included, lists nothing.
    "parent_resource_id": (
        IMAGE_BUILD_VERSION_ARN_PATTERN,
        "an image build version ARN such as arn:aws:imagebuilder:us-east-1:123456789012:image/my-image/1.0.0/1"
        " (the resource_id of an image among the execution's top-level resources)",
    ),
}

# Statuses in which an execution still holds its image: a second execution on it is refused.
ACTIVE_STATUSES = frozenset(("PENDING", "IN_PROGRESS", "CANCELLING"))

# The wait options, shared by every module (documented once in the wait_options doc fragment). wait_timeout and
# wait_sleep have no default in the spec, so that one given without wait=true can be told from the default: call
# wait_options(module) first, which warns about those and fills the defaults in.
WAIT_ARGUMENT_SPEC = dict(
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int"),
    wait_sleep=dict(type="int"),
)
WAIT_DEFAULTS = dict(wait_timeout=1800, wait_sleep=15)


def wait_options(module):
    """Warn about wait_timeout or wait_sleep given without wait=true, which would silently do nothing, then give the
    ones left out their defaults."""
    given = [name for name in WAIT_DEFAULTS if module.params.get(name) is not None]
    if given and not module.params.get("wait"):
        module.warn(f"{' and '.join(given)}: only used with wait=true, which this task does not set; ignored")
    for name, default in WAIT_DEFAULTS.items():
        if module.params.get(name) is None:
            module.params[name] = default


class ImageBuilderError(AnsibleAWSError):
    pass


# Image Builder's PENDING: "processing is paused; it resumes during the next scheduled run", and lifecycle policies
# run once a day (EC2 Image Builder User Guide, "How lifecycle policy execution works").
PENDING_HINT = (
    "PENDING means Image Builder paused the execution until the next scheduled run of lifecycle policies, which"
    " run once a day: wait again later, or give wait_timeout up to a day (86400)"
)


class LifecycleExecutionWaitTimeout(ImageBuilderError):
    """The wait ran out; carries the last execution seen so that the module can still return it."""

    def __init__(self, lifecycle_execution_id, lifecycle_execution, waited):
        last = status_of(lifecycle_execution)
        message = (
            f"Timed out after {waited:.0f} seconds waiting for lifecycle execution {lifecycle_execution_id} to"
            f" finish; last status seen: {last or 'none (the answer had no state)'}"
        )
        if last == "PENDING":
            message += f". {PENDING_HINT}"
        super().__init__(message=message)
        self.lifecycle_execution = lifecycle_execution
        self.waited = waited


# What Image Builder answers for a resource that is not there (every Get, Delete and Cancel of the model names it).
MISSING_CODE = "ResourceNotFoundException"


def is_missing(error):
    """Whether a botocore error is Image Builder's answer for a resource that does not exist."""
    return isinstance(error, botocore.exceptions.ClientError) and error.response.get("Error", {}).get("Code") == (
        MISSING_CODE
    )


def error_handler(description, when_missing=None):
    """Turn a botocore error into an ImageBuilderError whose message says what failed, naming the call's arguments.

    ``description`` is formatted with the decorated function's arguments, e.g. "get lifecycle execution
    {lifecycle_execution_id}" (amazon.aws's AWSErrorHandler takes such placeholders only from 11.3; we support 10.x).
    The botocore error is kept, so the failure also carries the service's own code and message.

    ``when_missing``, as amazon.aws's ``list_error_handler`` and ``deletion_error_handler`` do: a callable whose
    result the decorated function returns, instead of failing, when Image Builder answers that the resource does not
    exist (see get_error_handler and deletion_error_handler).
    """

    def wrapper(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def handler(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                if when_missing is not None and is_missing(e):
                    return when_missing()
                what = description.format(**signature.bind(*args, **kwargs).arguments)
                raise ImageBuilderError(message=f"Failed to {what}", exception=e) from e

        return handler

    return wrapper


def get_error_handler(description):
    """error_handler for a read: None when the resource does not exist."""
    return error_handler(description, when_missing=lambda: None)


def deletion_error_handler(description):
    """error_handler for a deletion that returns True: False when the resource was gone already (deleted since it
    was read), which is the state asked for, not a failure."""
    return error_handler(description, when_missing=lambda: False)


def is_refusal(error):
    """Whether an ImageBuilderError is Image Builder's own error answer, rather than a failure to reach it."""
    return isinstance(error.exception, botocore.exceptions.ClientError)


def validate_options(params, options):
    """Return a list of messages, one for each option that is malformed (empty when all are well formed).

    ``options`` are the options the module declares, each with the form it takes: a dict of option to a key of
    OPTION_FORMS (``{"arn": "lifecycle_policy_arn"}``), or a list of options whose form has their own name. An option
    is checked because its module says what it is, never because of its name alone. Runs before any client is
    created, so that bad input costs no API call.
    """
    if not isinstance(options, dict):
        options = {option: option for option in options}
    errors = []
    for option, form_name in options.items():
        pattern, form = OPTION_FORMS[form_name]
        value = params.get(option)
        # fullmatch: with re.match, "$" also matches before a trailing newline, and "lce-...\n" would be sent.
        if value is not None and not re.fullmatch(pattern, value):
            errors.append(f"{option}: {value!r} is not {form}")
    if params.get("wait_timeout") is not None and params["wait_timeout"] <= 0:
        errors.append(f"wait_timeout: {params['wait_timeout']} is not a number of seconds greater than 0")
    if params.get("wait_sleep") is not None and params["wait_sleep"] < 1:
        errors.append(f"wait_sleep: {params['wait_sleep']} is not a number of seconds of at least 1")
    return errors


def arn_region(arn):
    """The region of an ARN, its fourth field (arn:partition:service:region:account-id:resource)."""
    return arn.split(":", 5)[3]


def arn_region_errors(params, options, region):
    """Messages for the ARN ``options`` whose region is not ``region``, the client's (empty when all match).

    The one region rule of every module that takes an Image Builder ARN: Image Builder answers for its own region
    only, so another region's ARN is not found or, in a listing, lists nothing, which would read as an empty success.
    The module fails instead, before any call, naming the option and both regions. It does not move the call to the
    ARN's region: as in amazon.aws, the region a module works in is its ``region`` option (or AWS_REGION, or the
    profile's), and an ``endpoint_url`` serves one region. The ARN's account is not compared: the caller's account
    is not known without a call of its own (sts:GetCallerIdentity), and another account's image can be shared with
    it. Run after the format checks: every value here is a well-formed ARN.
    """
    errors = []
    for option in options:
        arn = params.get(option)
        if arn is not None and arn_region(arn) != region:
            errors.append(
                f"{option}: {arn!r} is in region {arn_region(arn)}, and this module works in region {region}, where"
                f" Image Builder knows nothing of it; set region: {arn_region(arn)} (or AWS_REGION) to use this ARN"
            )
    return errors


def api_choices(*values):
    """The choices of an option that takes an API enum: the API's spelling (as Image Builder answers, and as the AWS
    CLI and Terraform write it), then the same in lower case. normalize_choices() makes the two one."""
    return list(values) + [value.lower() for value in values]


# LifecyclePolicyTimeUnit: a policy rule's ages and both exclusion rules' last_launched.
TIME_UNIT_CHOICES = api_choices("DAYS", "WEEKS", "MONTHS", "YEARS")


def normalize_choices(params, argument_spec):
    """Put the value of every option with choices, at any depth, in lower case when that is one of its choices.

    The one place where both spellings of api_choices() become one: the code after it compares and sends the lower
    case one. Changes ``params`` in place and returns it.
    """
    for name, spec in argument_spec.items():
        value = params.get(name)
        if isinstance(value, str) and spec.get("choices") and value.lower() in spec["choices"]:
            params[name] = value.lower()
        elif spec.get("options") and value is not None:
            for item in value if isinstance(value, list) else [value]:
                normalize_choices(item, spec["options"])
    return params


def _page_size(client, operation_name):
    """The largest maxResults the installed model allows for an operation: fewer pages, fewer calls."""
    members = client.meta.service_model.operation_model(operation_name).input_shape.members
    return members["maxResults"].metadata.get("max", 25)


def api_filters(**values):
    """Image Builder's list filters (ListLifecyclePolicies, ListImages, ListImageBuildVersions, ...): one
    ``{"name", "values"}`` per keyword whose value is not None, keyed as the API names the filter."""
    return [{"name": name, "values": [value]} for name, value in values.items() if value is not None]


def client_token(given=None):
    """The clientToken of a write: the user's, or a new UUID; the same token for every retry of the one request,
    which makes the retried write idempotent (the model's "Unique, case-sensitive identifier ... to ensure
    idempotency of the request")."""
    return given or str(uuid.uuid4())


def call(method, operation_name, result_key=None, **params):
    """One API call, retried by our policy; a read's answer must hold its ``result_key``.

    botocore turns a body that is not JSON or is cut short into an answer with no member at all, and a JSON body of
    the wrong shape into a bare AttributeError or TypeError. For a read either is an error here, never an empty
    result: a listing must not end early, silently, on a broken page. A write's answer has no required member in
    the model (StartResourceStateUpdate answers without an execution ID when it applies a change at once), so a
    write passes no ``result_key``.
    """
    try:
        answer = method(aws_retry=True, **params)
    except (AttributeError, TypeError, ValueError) as e:
        raise ImageBuilderError(message=f"Image Builder sent an unreadable answer to {operation_name}", exception=e)
    if result_key is not None and result_key not in answer:
        raise ImageBuilderError(
            message=f"Image Builder's answer to {operation_name} has no {result_key}: it was empty or unreadable"
        )
    return answer


def paginate(client, method, operation_name, result_key, **params):
    """Every page of a listing, each page retried on its own.

    Retrying page by page (rather than the whole listing) means a throttled page is asked for again
    with the same token, so no item is lost or repeated and no earlier page is fetched twice.
    """
    params["maxResults"] = _page_size(client, operation_name)
    items = []
    while True:
        page = call(method, operation_name, result_key, **params)
        items.extend(page[result_key])
        if not page.get("nextToken"):
            return items
        params["nextToken"] = page["nextToken"]


@error_handler("get lifecycle execution {lifecycle_execution_id}")
def get_lifecycle_execution(client, lifecycle_execution_id):
    answer = call(
        client.get_lifecycle_execution,
        "GetLifecycleExecution",
        "lifecycleExecution",
        lifecycleExecutionId=lifecycle_execution_id,
    )
    return answer["lifecycleExecution"]


@error_handler("list the lifecycle executions of {resource_arn}")
def list_lifecycle_executions(client, resource_arn):
    """The executions of a lifecycle policy, or those that StartResourceStateUpdate started for an image build
    version: ListLifecycleExecutions takes either ARN as resourceArn."""
    executions = paginate(
        client,
        client.list_lifecycle_executions,
        "ListLifecycleExecutions",
        "lifecycleExecutions",
        resourceArn=resource_arn,
    )
    return sort_newest_first(executions)


@error_handler("list the resources of lifecycle execution {lifecycle_execution_id}")
def list_lifecycle_execution_resources(client, lifecycle_execution_id, parent_resource_id=None):
    return paginate(
        client,
        client.list_lifecycle_execution_resources,
        "ListLifecycleExecutionResources",
        "resources",
        **scrub_none_parameters(
            {"lifecycleExecutionId": lifecycle_execution_id, "parentResourceId": parent_resource_id}
        ),
    )


def is_image_build_version_arn(value):
    return isinstance(value, str) and re.fullmatch(IMAGE_BUILD_VERSION_ARN_PATTERN, value) is not None


def list_impacted_resources(client, lifecycle_execution_id):
    """What an execution did, as a tree: the Image Builder images it listed at the top level, each with the AMIs,
    snapshots and containers that the service lists under it (parentResourceId = the image's ARN) as
    ``childResources``. Resources whose ID is not an image build version ARN have no children to ask for."""
    resources = list_lifecycle_execution_resources(client, lifecycle_execution_id)
    for resource in resources:
        if is_image_build_version_arn(resource.get("resourceId")):
            resource["childResources"] = list_lifecycle_execution_resources(
                client, lifecycle_execution_id, resource["resourceId"]
            )
    return resources


@error_handler("start a resource state update of {request[resourceArn]}")
def start_resource_state_update(client, request):
    """Start a state update; ``request`` holds the API parameters, clientToken included. Returns the answer, whose
    lifecycleExecutionId is there only when Image Builder started an execution (not for a change applied at once).

    The retry wrapper sends the very same parameters again, so every retry carries the same clientToken and a
    retried request can never start a second execution. When the image is busy, the error names the executions
    that hold it, so that the user can wait for them or cancel them.
    """
    try:
        return call(client.start_resource_state_update, "StartResourceStateUpdate", **request)
    except is_boto3_error_code("ResourceInUseException") as e:
        raise ImageBuilderError(message=_busy_message(client, request["resourceArn"]), exception=e) from e


def _busy_message(client, image_arn):
    """Why an image is busy. Its own listing shows only the executions that StartResourceStateUpdate started for it;
    one held by a lifecycle policy's execution is not among them."""
    try:
        busy = active_executions(client, image_arn)
    except ImageBuilderError as e:
        return f"Image {image_arn} is in use by a lifecycle execution ({e.message}: {e.exception})"
    if busy:
        return held_by_message(image_arn, busy)
    return (
        f"Image {image_arn} is in use by a lifecycle execution that is not among its own executions, so a lifecycle"
        " policy's execution holds it: list the executions of the lifecycle policies that cover the image"
        " (imagebuilder_lifecycle_execution_info with lifecycle_policy_arn) to find it"
    )


def held_by_message(image_arn, busy):
    held_by = ", ".join(f"{e.get('lifecycleExecutionId')} ({status_of(e)})" for e in busy)
    return f"Image {image_arn} already has a lifecycle execution in progress: {held_by}"


@error_handler("get image {image_arn}")
def get_image(client, image_arn):
    return call(client.get_image, "GetImage", "image", imageBuildVersionArn=image_arn)["image"]


@error_handler("cancel lifecycle execution {lifecycle_execution_id}")
def cancel_lifecycle_execution(client, lifecycle_execution_id, client_token):
    return call(
        client.cancel_lifecycle_execution,
        "CancelLifecycleExecution",
        lifecycleExecutionId=lifecycle_execution_id,
        clientToken=client_token,
    )


def status_of(resource):
    """An execution's or an image's status, or None when the answer has no state: every member of every answer is
    optional."""
    return (resource.get("state") or {}).get("status")


def active_executions(client, image_arn):
    return [e for e in list_lifecycle_executions(client, image_arn) if status_of(e) in ACTIVE_STATUSES]


def sort_newest_first(executions):
    # An execution that has not started yet has no startTime: it is the newest of all.
    return sorted(
        executions,
        key=lambda e: (e.get("startTime") is None, e.get("startTime") or 0),
        reverse=True,
    )


def is_terminal(lifecycle_execution):
    return status_of(lifecycle_execution) in TERMINAL_STATUSES


def wait_for_lifecycle_execution(client, lifecycle_execution_id, wait_timeout, wait_sleep, clock=None, sleep=None):
    """Poll the execution until it is terminal, and return it.

    One rule for every module: exactly one call per poll, none once a terminal status is seen, a last poll
    at the deadline, and LifecycleExecutionWaitTimeout (with the last execution seen) when it passes. An answer
    without a status is not terminal.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    started = clock()
    deadline = started + wait_timeout
    while True:
        lifecycle_execution = get_lifecycle_execution(client, lifecycle_execution_id)
        if is_terminal(lifecycle_execution):
            return lifecycle_execution
        remaining = deadline - clock()
        if remaining <= 0:
            raise LifecycleExecutionWaitTimeout(lifecycle_execution_id, lifecycle_execution, clock() - started)
        sleep(min(wait_sleep, remaining))


_SNAKE_KEYS = {}


def snake_case(key):
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
        return {snake_case(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


def normalize(resource):
    """An Image Builder resource as Ansible data: snake_case keys, ISO 8601 times.

    Only what an answer holds (its lifecycleExecution, its list items) is normalised, never a whole answer, so
    botocore's ResponseMetadata never reaches it.
    """
    return _plain(resource)


def describe_lifecycle_execution(
    client,
    lifecycle_execution_id,
    wait=False,
    wait_timeout=None,
    wait_sleep=None,
    include_resources=False,
    parent_resource_id=None,
    clock=None,
    sleep=None,
):
    """What the modules return for one execution: read it (waiting if asked), then its resources if asked, as the
    tree of images and their resources, or flat under ``parent_resource_id``.

    Returns the normalised execution; a wait that runs out raises LifecycleExecutionWaitTimeout.
    """
    if wait:
        lifecycle_execution = wait_for_lifecycle_execution(
            client, lifecycle_execution_id, wait_timeout, wait_sleep, clock=clock, sleep=sleep
        )
    else:
        lifecycle_execution = get_lifecycle_execution(client, lifecycle_execution_id)

    if parent_resource_id is not None:
        lifecycle_execution["resources"] = list_lifecycle_execution_resources(
            client, lifecycle_execution_id, parent_resource_id
        )
    elif include_resources:
        lifecycle_execution["resources"] = list_impacted_resources(client, lifecycle_execution_id)
    return normalize(lifecycle_execution)


def connect(module, service="imagebuilder", region=None, arn_options=()):
    """A client (Image Builder's unless ``service`` says otherwise) whose calls retry with our policy when called
    with aws_retry=True; ``region`` overrides the module's, for the EC2 regions an image was distributed to.

    The module fails, before any call, when an option of ``arn_options`` (the module's Image Builder ARNs) names
    another region than the client's: arn_region_errors(), the region rule.

    The module's ``endpoint_url`` is Image Builder's: another service's client is made without it, so that it goes to
    that service's endpoint in its region, or wherever botocore's own configuration says (``AWS_ENDPOINT_URL_EC2``,
    a profile's ``services`` section). An Image Builder VPC or FIPS endpoint cannot answer EC2 in three regions.

    Its User-Agent names the module (``ansible-module/NAME``), so that CloudTrail, and the tests that compare each
    module's calls with the IAM permissions its documentation lists, can tell which module made a call.
    """
    name = (module._name or "imagebuilder_ops").rsplit(".", 1)[-1]  # pylint: disable=protected-access
    config = botocore.config.Config(user_agent_extra=f"ansible-module/{name}")
    extra = {"region": region} if region else {}
    if service != "imagebuilder":
        extra["endpoint"] = None
    client = module.client(service, retry_decorator=retry_decorator, config=config, **extra)
    errors = arn_region_errors(module.params, arn_options, client.meta.region_name) if arn_options else []
    if errors:
        module.fail_json(msg="; ".join(errors))
    return client
