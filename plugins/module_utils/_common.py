# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The plumbing every module and the event source share: client, calls, pages, retries, errors, waiting, the
normaliser and the option forms of the Image Builder model, for any service (Image Builder, EC2, ...).

FOR INTERNAL USE BY THIS COLLECTION ONLY: not a public API, it may change in any release (the leading ``_`` of the
file says so, as in community.hashi_vault). The names inside are public to the collection's files. Each domain
(lifecycle executions, lifecycle policies, the preview, ...) has a module_utils file of its own built on these.
"""

import datetime
import functools
import inspect
import re
import time
import uuid
import weakref
from collections import namedtuple

try:
    import boto3
    import botocore
    import botocore.config
    import botocore.parsers
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

# --- retries -------------------------------------------------------------------------------------------------------

# Image Builder throttles with CallRateLimitExceededException (HTTP 429). Neither AWSRetry's defaults nor
# botocore's standard retry mode know that code, so we name it; the two 5xx codes are Image Builder's own.
# Recycle Bin (rest-json) throttles with the generic ThrottlingException, which its model does not name either.
RETRYABLE_ERROR_CODES = (
    "CallRateLimitExceededException",
    "ServiceUnavailableException",
    "ServiceException",
    "ThrottlingException",
)

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

# --- option forms: checked before any call -------------------------------------------------------------------------

# A form an option's value must have: the pattern of botocore's model, and how the error message names it.
Form = namedtuple("Form", "pattern description")

# The patterns of botocore's imagebuilder model (shapes LifecycleExecutionId, LifecyclePolicyArn,
# ImageBuildVersionArn, RoleNameOrArn, AccountId). botocore does not check them on the client side, so we do, before
# any call; a unit test compares them with the installed model so that they cannot drift.
LIFECYCLE_EXECUTION_ID = Form(
    r"^lce-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "a lifecycle execution ID such as lce-0123abcd-4567-89ab-cdef-0123456789ab",
)
LIFECYCLE_POLICY_ARN = Form(
    r"^arn:aws(?:-[a-z]+)*:imagebuilder:[a-z]{2,}(?:-[a-z]+)+-[0-9]+:(?:[0-9]{12}|aws):lifecycle-policy/[a-z0-9-_]+$",
    "a lifecycle policy ARN such as arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/my-policy",
)
IMAGE_BUILD_VERSION_ARN = Form(
    r"^arn:aws[^:]*:imagebuilder:[^:]+:(?:[0-9]{12}|aws(?:-[a-z-]+)?):image/[a-z0-9-_]+/[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$",
    "an image build version ARN such as arn:aws:imagebuilder:us-east-1:123456789012:image/my-image/1.0.0/1",
)
ROLE_NAME_OR_ARN = Form(
    r"^(?:arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/)?[a-zA-Z_0-9+=,.@\-_/]+$",
    "an IAM role name or ARN such as arn:aws:iam::123456789012:role/ImageBuilderLifecycleRole",
)
ACCOUNT_ID = Form(r"^[0-9]{12}$", "a 12-digit AWS account ID")
# ClientToken has no pattern, only a length of 1 to 64.
CLIENT_TOKEN = Form(r"^.{1,64}$", "a string of 1 to 64 characters")


def matches(form, value):
    # fullmatch: with re.match, "$" also matches before a trailing newline, and "lce-...\n" would be sent.
    return isinstance(value, str) and re.fullmatch(form.pattern, value) is not None


def validate_options(params, forms):
    """Messages for the options of ``forms`` (option name to Form, as the module declares them) whose value is
    malformed; empty when all are well formed. An option is checked because its module says what it is, never
    because of its name alone. Runs before any client is created, so that bad input costs no API call."""
    return [
        f"{option}: {params[option]!r} is not {form.description}"
        for option, form in forms.items()
        if params.get(option) is not None and not matches(form, params[option])
    ]


# TagMap: "1 to 50 tags"; its key: 1 to 128 characters of the pattern below, none starting with "aws:".
TAG_KEY_PATTERN = r"^(?!aws:)[a-zA-Z0-9\s_.:/=+\-@]*$"


def tag_map_errors(where, tag_map):
    """Messages for an Image Builder TagMap that the model refuses (empty when there is none, or it is well)."""
    errors = []
    if tag_map is None:
        return errors
    if not 1 <= len(tag_map) <= 50:
        errors.append(f"{where}: must hold 1 to 50 tags, not {len(tag_map)}")
    for key in tag_map:
        if not 1 <= len(key) <= 128 or not re.fullmatch(TAG_KEY_PATTERN, key):
            errors.append(
                f"{where}: key {key!r} is not 1 to 128 letters, digits, spaces or _.:/=+-@, or it starts with 'aws:'"
            )
    return errors


def api_choices(*values):
    """The choices of an option that takes an API enum: the API's spelling (as Image Builder answers, and as the AWS
    CLI and Terraform write it), then the same in lower case. normalize_choices() makes the two one."""
    return list(values) + [value.lower() for value in values]


# LifecyclePolicyTimeUnit: a policy rule's ages and the AMI exclusion rules' last_launched.
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


# --- errors --------------------------------------------------------------------------------------------------------


class ImageBuilderError(AnsibleAWSError):
    pass


# What each service answers for a resource that is not there (amazon.aws's per-service ``_is_missing``): every Get,
# Delete and Cancel of Image Builder's model names ResourceNotFoundException.
MISSING_CODES = frozenset(("ResourceNotFoundException",))


def error_code(error):
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code")
    return None


def is_missing(error):
    """Whether a botocore error is the service's answer for a resource that does not exist."""
    return error_code(error) in MISSING_CODES


def is_refusal(error):
    """Whether an ImageBuilderError is the service's own error answer, rather than a failure to reach it."""
    return isinstance(error.exception, botocore.exceptions.ClientError)


def error_handler(description, when_missing=None):
    """Turn a botocore error into an ImageBuilderError whose message says what failed, naming the call's arguments.

    ``description`` is formatted with the decorated function's arguments, e.g. "get lifecycle execution
    {lifecycle_execution_id}" (amazon.aws's AWSErrorHandler takes such placeholders only from 11.3; we support 10.x).
    The botocore error is kept, so the failure also carries the service's own code and message.

    ``when_missing``, as amazon.aws's ``list_error_handler`` and ``deletion_error_handler`` do: a callable whose
    result the decorated function returns, instead of failing, when the service answers that the resource does not
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


# --- calls and pages -----------------------------------------------------------------------------------------------


def call(method, operation_name, result_key=None, **params):
    """One API call, retried by our policy; a read's answer must hold its ``result_key``.

    botocore turns a body that is not JSON or is cut short into an answer with no member at all, a JSON body of the
    wrong shape into a bare AttributeError or TypeError, and a body that is not XML (the query and ec2 protocols:
    EC2, Auto Scaling) into a ResponseParserError, which is no BotoCoreError. For a read each is an error here, never
    an empty result: a listing must not end early, silently, on a broken page. A write's answer has no required
    member in the model (StartResourceStateUpdate answers without an execution ID when it applies a change at once),
    so a write passes no ``result_key``.
    """
    try:
        answer = method(aws_retry=True, **params)
    except (AttributeError, TypeError, ValueError, botocore.parsers.ResponseParserError) as e:
        raise ImageBuilderError(message=f"AWS sent an unreadable answer to {operation_name}", exception=e)
    if result_key is not None and result_key not in answer:
        raise ImageBuilderError(
            message=f"The answer to {operation_name} has no {result_key}: it was empty or unreadable"
        )
    return answer


# The page-size and page-token members of the services' listings: Image Builder's (maxResults, nextToken), EC2's and
# Recycle Bin's (MaxResults, NextToken), Auto Scaling's (MaxRecords, NextToken).
PAGE_SIZE_MEMBERS = ("maxResults", "MaxResults", "MaxRecords")
PAGE_TOKEN_MEMBERS = ("nextToken", "NextToken")
# Largest page sizes that a model states in its documentation only, not as the member's max.
DOCUMENTED_PAGE_SIZES = {
    # DescribeAutoScalingGroupsType.MaxRecords: "The default value is 50 and the maximum value is 100."
    "DescribeAutoScalingGroups": 100,
    # LaunchConfigurationNamesType.MaxRecords: "The default value is 50 and the maximum value is 100."
    "DescribeLaunchConfigurations": 100,
    # DescribeLaunchTemplateVersionsRequest.MaxResults: "This value can be between 1 and 200."
    "DescribeLaunchTemplateVersions": 200,
}


def page_members(client, operation_name):
    """(size, largest, token): the operation's page-size member and the largest size its model allows, as the
    member's max or in its documentation (None when the model states no maximum: the service's own page size is left
    to it), and its page-token member."""
    members = client.meta.service_model.operation_model(operation_name).input_shape.members
    size = next((name for name in PAGE_SIZE_MEMBERS if name in members), None)
    token = next(name for name in PAGE_TOKEN_MEMBERS if name in members)
    largest = members[size].metadata.get("max", DOCUMENTED_PAGE_SIZES.get(operation_name)) if size else None
    return size, largest, token


def paginate(client, method, operation_name, result_key, **params):
    """Every item of a listing of any service, in the largest pages its model allows, each page retried on its own.

    Retrying page by page (rather than the whole listing) means a throttled page is asked for again
    with the same token, so no item is lost or repeated and no earlier page is fetched twice.
    """
    size, largest, token = page_members(client, operation_name)
    if largest is not None and size not in params:
        params[size] = largest
    items = []
    while True:
        page = call(method, operation_name, result_key, **params)
        items.extend(page[result_key])
        if not page.get(token):
            return items
        params[token] = page[token]


def api_filters(**values):
    """Image Builder's list filters (ListLifecyclePolicies, ListImages, ListImageBuildVersions, ...): one
    ``{"name", "values"}`` per keyword whose value is not None, keyed as the API names the filter."""
    return [{"name": name, "values": [value]} for name, value in values.items() if value is not None]


def client_token(given=None):
    """The clientToken of a write: the user's, or a new UUID; the same token for every retry of the one request,
    which makes the retried write idempotent (the model's "Unique, case-sensitive identifier ... to ensure
    idempotency of the request")."""
    return given or str(uuid.uuid4())


def status_of(resource):
    """An Image Builder resource's status (an execution's, an image's), or None when the answer has no state: every
    member of every answer is optional."""
    return (resource.get("state") or {}).get("status")


# --- waiting -------------------------------------------------------------------------------------------------------

# The wait options, shared by every module that waits (documented once in the wait_options doc fragment).
# wait_timeout and wait_sleep have no default in the spec, so that one given without wait=true can be told from the
# default: call wait_options(module) first, which warns about those and fills the defaults in.
WAIT_ARGUMENT_SPEC = dict(
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int"),
    wait_sleep=dict(type="int"),
)
WAIT_DEFAULTS = dict(wait_timeout=1800, wait_sleep=15)


def wait_options(module):
    """Check the wait options and return a message for each bad one; warn about wait_timeout or wait_sleep given
    without wait=true, which would silently do nothing; then give the ones left out their defaults."""
    params = module.params
    errors = []
    if params.get("wait_timeout") is not None and params["wait_timeout"] <= 0:
        errors.append(f"wait_timeout: {params['wait_timeout']} is not a number of seconds greater than 0")
    if params.get("wait_sleep") is not None and params["wait_sleep"] < 1:
        errors.append(f"wait_sleep: {params['wait_sleep']} is not a number of seconds of at least 1")
    given = [name for name in WAIT_DEFAULTS if params.get(name) is not None]
    if given and not params.get("wait"):
        module.warn(f"{' and '.join(given)}: only used with wait=true, which this task does not set; ignored")
    for name, default in WAIT_DEFAULTS.items():
        if params.get(name) is None:
            params[name] = default
    return errors


class WaitTimeout(ImageBuilderError):
    """The wait ran out; carries the last answer read, so that the module can still return it."""

    def __init__(self, message, last, waited):
        super().__init__(message=message)
        self.last = last
        self.waited = waited


def wait_until(read, is_done, wait_timeout, wait_sleep, describe_timeout, clock=None, sleep=None):
    """Call ``read()`` until ``is_done(answer)``, and return that answer: any resource, any predicate.

    One rule for every wait: exactly one read (one API call) per poll, none once done, no sleep past the deadline,
    a last poll at it, and WaitTimeout when it passes, with the last answer and the message
    ``describe_timeout(last, waited)`` gives.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    started = clock()
    deadline = started + wait_timeout
    while True:
        answer = read()
        if is_done(answer):
            return answer
        remaining = deadline - clock()
        if remaining <= 0:
            waited = clock() - started
            raise WaitTimeout(describe_timeout(answer, waited), answer, waited)
        sleep(min(wait_sleep, remaining))


# --- output --------------------------------------------------------------------------------------------------------

SNAKE_KEYS = {}


def snake_case(key):
    """camel_dict_to_snake_dict's name for one key, remembered (in SNAKE_KEYS): a listing repeats a dozen keys
    thousands of times, and each conversion runs several regular expressions."""
    try:
        return SNAKE_KEYS[key]
    except KeyError:
        snake = SNAKE_KEYS[key] = next(iter(camel_dict_to_snake_dict({key: None})))
        return snake


def normalize(resource):
    """A resource as Ansible data: snake_case keys, ISO 8601 times, in one walk.

    Only what an answer holds (its lifecycleExecution, its list items) is normalised, never a whole answer, so
    botocore's ResponseMetadata never reaches it.
    """
    if isinstance(resource, dict):
        return {snake_case(k): normalize(v) for k, v in resource.items()}
    if isinstance(resource, list):
        return [normalize(v) for v in resource]
    if isinstance(resource, (datetime.date, datetime.time)):
        return resource.isoformat()
    return resource


# --- the client ----------------------------------------------------------------------------------------------------


def connect(module, arn_options=()):
    """The module's Image Builder client, whose calls retry with our policy when called with aws_retry=True. The
    clients of other services, per region, are session_client()'s.

    The module fails, before any call, when an option of ``arn_options`` (the module's Image Builder ARNs) names
    another region than the client's: arn_region_errors(), the region rule.

    Its User-Agent names the module (``ansible-module/NAME``), so that CloudTrail, and the tests that compare each
    module's calls with the IAM permissions its documentation lists, can tell which module made a call.
    """
    client = module.client("imagebuilder", retry_decorator=retry_decorator, config=user_agent_config(module))
    errors = arn_region_errors(module.params, arn_options, client.meta.region_name) if arn_options else []
    if errors:
        module.fail_json(msg="; ".join(errors))
    return client


def user_agent_config(module):
    """The client configuration that names the module in the User-Agent (``ansible-module/NAME``)."""
    name = (module._name or "imagebuilder_ops").rsplit(".", 1)[-1]  # pylint: disable=protected-access
    return botocore.config.Config(user_agent_extra=f"ansible-module/{name}")


# One boto3 session per module run, for the clients of the regions an image's AMIs are in (session_client).
SESSIONS = weakref.WeakKeyDictionary()


def session_client(module, service, region):
    """The module's ``service`` client in ``region``, from the one boto3 session of the module's run.

    amazon.aws's module.client() makes a boto3 session for each client, and each session loads the service's model
    again: 12 regional clients (EC2, Auto Scaling and Recycle Bin in 4 regions) cost 1.1 s of CPU that way and 0.2 s
    from one session (docs/performance.md, "preview safety 2000"). The session and the client take what
    module.client() would give them, from amazon.aws's get_aws_connection_info(): the credentials, the profile,
    ``aws_config``, certificate checks. The module's ``endpoint_url`` is Image Builder's: the client goes to the
    service's endpoint in ``region``, or where botocore's own configuration says (``AWS_ENDPOINT_URL_EC2``, a
    profile's ``services`` section). An Image Builder VPC or FIPS endpoint cannot answer EC2 in three regions.
    Calls retry with our policy when made with aws_retry=True.
    """
    if module not in SESSIONS:
        dummy_region, dummy_endpoint, params = get_aws_connection_info(module)
        params = dict(params)
        profile = params.pop("profile_name", None)
        config = user_agent_config(module)
        for key in ("config", "aws_config"):
            extra = params.pop(key, None)
            if extra:
                config = config.merge(
                    extra if isinstance(extra, botocore.config.Config) else botocore.config.Config(**extra)
                )
        try:
            SESSIONS[module] = (boto3.session.Session(profile_name=profile), config, params)
        except botocore.exceptions.BotoCoreError as e:
            module.fail_json_aws(e, msg="Couldn't connect to AWS")
    session, config, params = SESSIONS[module]
    try:
        client = session.client(service, region_name=region, endpoint_url=None, config=config, **params)
    except (ValueError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Couldn't connect to AWS ({service} in {region})")
    return RetryingBotoClientWrapper(client, retry_decorator)


def regional_clients(module, service):
    """A function of a region that gives the module's ``service`` client in that region, each made once, all from one
    boto3 session (session_client)."""
    clients = {}

    def client_in(region):
        if region not in clients:
            clients[region] = session_client(module, service, region)
        return clients[region]

    return client_in
