"""The scenario's state (``World``): loaded and checked from the scenario document, then shared by the operations.

Each resource's operations live in their own file (executions, policies, images, ec2) as functions of the world;
this file holds what they share: lookups, pagination tokens and idempotency records.
"""

import bisect
import copy
import hashlib
import json
import uuid

from . import autoscaling
from . import ec2
from . import executions
from . import images
from . import policies
from . import rbin
from . import references
from . import rules
from . import snapshots
from .common import EndpointError
from .common import ScenarioError
from .common import check_keys
from .common import epoch
from .model import AUTOSCALING
from .model import RBIN
from .model import model_of

TOP_KEYS = ("description", "account_id", "region", "policies", "images", "executions", "policy_runs", "faults")
TOP_KEYS += ("omit_members", "facts")
# What else the account holds, for the reads of a preview's safety checks (EC2, Auto Scaling, Recycle Bin).
TOP_KEYS += ("instances", "launch_templates", "ssm_parameters", "recipes", "snapshots", "auto_scaling_groups")
TOP_KEYS += ("launch_configurations", "recycle_bin_rules")
EXECUTION_KEYS = ("lifecycleExecutionId", "lifecyclePolicyArn", "images", "startTime", "endTime", "status", "reason")
EXECUTION_KEYS += ("timeline", "timeline_seconds", "cancel_polls", "hasImpactedResources", "resources")
EXECUTION_KEYS += ("generate_resources", "generate_resources_parent")
GENERATE_KEYS = ("generate_executions", "generate_id_prefix", "generate_status", "generate_start")
GENERATE_KEYS += ("generate_interval_seconds",)
POLICY_KEYS = ("arn", "name", "tags", "dateCreated", "dateUpdated", "dateLastRun") + policies.POLICY_MEMBERS
IMAGE_KEYS = ("arn", "resources", "state", "type", "tags", "outputResources", "deprecationTime", "lifecycleExecutionId")
IMAGE_KEYS += tuple(images.IMAGE_DEFAULTS)


class World:
    """The scenario's state: executions, images, policies and their indexes, pagination tokens, idempotency records."""

    def __init__(self, scenario, service):
        check_keys(scenario, TOP_KEYS, "scenario")
        self.service = service
        self.account_id = scenario.get("account_id", "123456789012")
        self.region = scenario.get("region", "us-east-1")
        self.omit = omit_members(scenario.get("omit_members"), service)
        self.executions = {}
        # Every execution that touches an image (what makes it busy), and the ones StartResourceStateUpdate started
        # for it (no policy: what listing the image gives).
        self.by_policy, self.by_image, self.updates_by_image = {}, {}, {}
        self.images, self.policies = {}, {}
        self.tokens, self.idempotency = {}, {}
        self.token_secret = uuid.uuid4().hex
        self.snapshots = snapshots.load(scenario, self)
        self.references = references.load(scenario, self)
        self.auto_scaling = autoscaling.load(scenario, self, model_of(AUTOSCALING))
        self.rbin_rules = rbin.load(scenario, self, model_of(RBIN))
        for index, image in enumerate(scenario.get("images", [])):
            where = f"images[{index}]"
            check_keys(image, IMAGE_KEYS, where)
            if "arn" not in image:
                raise ScenarioError(f"{where}: 'arn' is required")
            self.images[image["arn"]] = self.image_record(image, where)
        snapshots.check_regions(self)
        for index, spec in enumerate(scenario.get("executions", [])):
            self.add(executions.Execution(self.execution_spec(spec, f"executions[{index}]")))
        for index, policy in enumerate(scenario.get("policies", [])):
            self.load_policy(policy, f"policies[{index}]")
        # What /_endpoint/run_policy makes a policy's run act on, by policy name: written by hand, never computed.
        self.policy_runs = self.load_policy_runs(scenario.get("policy_runs", {}))
        check_facts(scenario, self.executions)

    # -- loading ------------------------------------------------------------------------------------------------

    def image_record(self, image, where):
        """One image as every image read answers it, and its AMIs' EC2 knobs (never in an Image Builder answer)."""
        resources, knobs = [], {}
        for i, item in enumerate(image.get("resources", [])):
            resource = resource_of(item, f"{where}.resources[{i}]")
            knob = resource.pop("ec2", None)
            if knob is not None:
                knobs[resource.get("resourceId")] = ec2.ami_knob(resource, knob, f"{where}.resources[{i}].ec2")
            resources.append(resource)
        return images.image_record(image, resources, knobs, where)

    def execution_spec(self, spec, where):
        check_keys(spec, EXECUTION_KEYS, where)
        if "lifecycleExecutionId" not in spec:
            raise ScenarioError(f"{where}: 'lifecycleExecutionId' is required")
        if sum(key in spec for key in ("status", "timeline", "timeline_seconds")) > 1:
            raise ScenarioError(f"{where}: give only one of 'status', 'timeline', 'timeline_seconds'")
        resources = [resource_of(item, f"{where}.resources[{i}]") for i, item in enumerate(spec.get("resources", []))]
        start = epoch(spec.get("startTime", "2024-06-01T00:00:00Z"), f"{where}.startTime")
        count = non_negative(spec.get("generate_resources", 0), f"{where}.generate_resources")
        generated = None
        if count:
            parent = spec.get("generate_resources_parent")
            generated = executions.GeneratedResources(count, parent, self.account_id, self.region, start)
        result = {
            "id": spec["lifecycleExecutionId"],
            "policy": spec.get("lifecyclePolicyArn"),
            "images": spec.get("images", []),
            "start": start,
            "reason": spec.get("reason"),
            "has_impacted": spec.get("hasImpactedResources", bool(resources or generated)),
            "cancel_polls": spec.get("cancel_polls", 1),
            "resources": resources,
            "generated": generated,
        }
        if not isinstance(result["images"], list):
            raise ScenarioError(f"{where}.images: expected a list of image ARNs")
        if "status" in spec:
            result["timeline"] = ((spec["status"], None, None),)
        elif "timeline" in spec:
            result["timeline"] = executions.timeline(spec["timeline"], int, f"{where}.timeline")
        elif "timeline_seconds" in spec:
            phases = executions.timeline(spec["timeline_seconds"], (int, float), f"{where}.timeline_seconds")
            result["timeline_seconds"] = phases
        else:
            result["timeline"] = (("SUCCESS", None, None),)
        if "endTime" in spec:
            result["end"] = epoch(spec["endTime"], f"{where}.endTime")
        elif executions.phase(result.get("timeline") or result["timeline_seconds"], 0)[0] in executions.TERMINAL:
            result["end"] = start + 120.0
        return result

    def load_policy(self, policy, where):
        check_keys(policy, POLICY_KEYS + GENERATE_KEYS, where)
        if "arn" not in policy:
            raise ScenarioError(f"{where}: 'arn' is required")
        arn = policy["arn"]
        self.by_policy.setdefault(arn, [])
        if "name" in policy:
            self.load_policy_details(policy, where)
        count = non_negative(policy.get("generate_executions", 0), f"{where}.generate_executions")
        prefix = policy.get("generate_id_prefix") or hashlib.sha256(arn.encode()).hexdigest()[:8]
        newest = epoch(policy.get("generate_start", "2024-05-31T00:00:00Z"), f"{where}.generate_start")
        interval = policy.get("generate_interval_seconds", 3600)
        status = policy.get("generate_status", "SUCCESS")
        for number in range(1, count + 1):
            start = newest - (number - 1) * interval
            spec = {"id": f"lce-{prefix}-0000-4000-a000-{number:012x}", "policy": arn, "start": start}
            spec.update(end=start + 60.0, has_impacted=False, timeline=((status, None, None),))
            self.add(executions.Execution(spec))

    def load_policy_details(self, policy, where):
        """A scenario policy with ``name``: stored as Create would store it (checked as Create checks it)."""
        arn, expected = policy["arn"], self.policy_arn(policy["name"])
        if arn != expected:
            raise ScenarioError(f"{where}: the ARN of a policy named {policy['name']!r} is {expected}, not {arn}")
        request = {
            key: copy.deepcopy(policy[key]) for key in ("name", "tags") + policies.POLICY_MEMBERS if key in policy
        }
        request["clientToken"] = "scenario"
        try:
            self.service.check_input("CreateLifecyclePolicy", request)
            rules.check("CreateLifecyclePolicy", request)
        except EndpointError as exc:
            raise ScenarioError(f"{where}: {exc.message}") from exc
        dates = ("dateCreated", "dateUpdated", "dateLastRun")
        dates = {key: epoch(policy[key], f"{where}.{key}") for key in dates if key in policy}
        created = dates.get("dateCreated", epoch("2024-05-01T00:00:00Z", where))
        policies.store_policy(self, arn, request, created).update(dates)

    def load_policy_runs(self, runs):
        if not isinstance(runs, dict):
            raise ScenarioError("scenario.policy_runs: expected an object of policy names and runs")
        shape = self.service.model.shape_for("LifecycleExecutionResource")
        loaded = {}
        for name, run in runs.items():
            where = f"policy_runs[{name!r}]"
            check_keys(run, ("resources",), where)
            if not isinstance(run.get("resources"), list):
                raise ScenarioError(f"{where}.resources: expected a list of resources")
            resources = [resource_of(item, f"{where}.resources[{i}]") for i, item in enumerate(run["resources"])]
            top = {r.get("resourceId") for r in resources if "parentResourceId" not in r}
            for i, resource in enumerate(resources):
                place = f"{where}.resources[{i}]"
                errors = self.service.validator.errors(shape, executions.api_resource(resource), place)
                if errors:
                    raise ScenarioError("; ".join(errors))
                parent = resource.get("parentResourceId")
                if parent is None and not self.service.image_build_version_arn.search(str(resource["resourceId"])):
                    raise ScenarioError(f"{place}: a top-level resource is an image (an image build version ARN)")
                if parent is not None and parent not in top:
                    raise ScenarioError(f"{place}.parentResourceId: {parent!r} is not a top-level resource of the run")
            loaded[name] = resources
        return loaded

    # -- shared by the operations --------------------------------------------------------------------------------

    def add(self, execution):
        if execution.execution_id in self.executions:
            raise ScenarioError(f"duplicate lifecycleExecutionId {execution.execution_id}")
        self.executions[execution.execution_id] = execution
        key = executions.Execution.order_key
        if execution.policy_arn is not None:
            bisect.insort(self.by_policy.setdefault(execution.policy_arn, []), execution, key=key)
        for image in execution.images:
            bisect.insort(self.by_image.setdefault(image, []), execution, key=key)
            if execution.policy_arn is None:
                bisect.insort(self.updates_by_image.setdefault(image, []), execution, key=key)

    def execution(self, execution_id):
        execution = self.executions.get(execution_id)
        if execution is None:
            raise EndpointError("ResourceNotFoundException", f"Lifecycle execution '{execution_id}' not found")
        return execution

    def image(self, arn):
        """The scenario's image, or a plain AVAILABLE AMI image for one that only executions mention."""
        if arn not in self.images:
            if arn not in self.by_image:
                raise EndpointError("ResourceNotFoundException", f"Image '{arn}' not found")
            self.images[arn] = self.image_record({}, arn)
        return self.images[arn]

    def known_images(self):
        """(arn, record) of every image build version the account has: the scenario's and those executions touch."""
        arns = set(self.images) | set(self.by_image)
        return [(arn, self.image(arn)) for arn in arns if self.service.image_build_version_arn.search(arn)]

    def policy_arn(self, name):
        """The service makes a policy's ARN from its name lowercased, spaces and underscores as hyphens."""
        normalized = name.lower().replace(" ", "-").replace("_", "-")
        return f"arn:aws:imagebuilder:{self.region}:{self.account_id}:lifecycle-policy/{normalized}"

    def policy(self, arn, kind="Lifecycle policy"):
        if arn not in self.policies:
            raise EndpointError("ResourceNotFoundException", f"{kind} '{arn}' not found")
        return self.policies[arn]

    def page(self, operation, scope, items, params):
        """An Image Builder listing's page: ``maxResults`` within the model's bounds, tokens bound to ``scope``."""
        low, high, default = self.service.page_bounds(operation)
        size = params.get("maxResults", default)
        if not low <= size <= high:
            raise EndpointError("InvalidRequestException", f"maxResults must be between {low} and {high}")
        invalid = EndpointError("InvalidPaginationTokenException", "The nextToken is not valid for this request")
        return self.page_of(operation, scope, items, params.get("nextToken"), size, invalid)

    def regional_page(self, operation, params, region, items, paging):
        """A page of a regional service's listing (EC2, Auto Scaling, Recycle Bin). ``paging``: (size member, token
        member, lowest size, highest size or None, default size or None for everything, the error of a size out of
        bounds, the error of a foreign token). Tokens are bound to the other parameters and the region."""
        size_member, token_member, low, high, default, bad_size, bad_token = paging
        size = params.get(size_member, default)
        if size is not None and (size < low or (high is not None and size > high)):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise EndpointError(bad_size, f"Value ({size}) for parameter {size_member} is invalid: {bounds}.", 400)
        scope = {key: value for key, value in params.items() if key not in (size_member, token_member)}
        scope = json.dumps(dict(scope, region=region), sort_keys=True)
        return self.page_of(operation, scope, items, params.get(token_member), size, bad_token)

    def page_of(self, operation, scope, items, token, size, invalid):
        """Items from where ``token`` left off (``invalid`` when it is another listing's), ``size`` of them (None:
        all), and the token of the rest: deterministic per page, so a retried call hands out the same token."""
        offset = 0
        if token is not None:
            found = self.tokens.get(token)
            if found is None or found[:2] != (operation, scope):
                raise invalid
            offset = found[2]
        end = len(items) if size is None else offset + size
        token = None
        if end < len(items):
            token = hashlib.sha256(f"{self.token_secret}|{operation}|{scope}|{end}".encode()).hexdigest()
            self.tokens[token] = (operation, scope, end)
        return items[offset:end], token

    def replay(self, operation, params):
        """The recorded answer for a repeated clientToken, or None for a new token."""
        request = {key: value for key, value in params.items() if key != "clientToken"}
        record = self.idempotency.get((operation, params["clientToken"]))
        if record is None:
            return None
        if record[0] != request:
            raise EndpointError(
                "IdempotentParameterMismatchException",
                f"clientToken '{params['clientToken']}' was already used with different parameters",
            )
        return copy.deepcopy(record[1])

    def remember(self, operation, params, result):
        request = {key: value for key, value in params.items() if key != "clientToken"}
        self.idempotency[(operation, params["clientToken"])] = (request, copy.deepcopy(result))
        return result


def resource_of(resource, where):
    if not isinstance(resource, dict):
        raise ScenarioError(f"{where}: expected an object")
    converted = dict(resource)
    for key in ("startTime", "endTime"):
        if key in converted:
            converted[key] = epoch(converted[key], f"{where}.{key}")
    return converted


def non_negative(count, where):
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ScenarioError(f"{where}: expected a non-negative integer")
    return count


def omit_members(omit, service):
    if omit is None or omit == "*":
        return omit
    if not isinstance(omit, list) or not all(isinstance(name, str) for name in omit):
        raise ScenarioError('scenario.omit_members: expected "*" or a list of member names')
    unknown = sorted(set(omit) - service.output_member_names)
    if unknown:
        raise ScenarioError(
            f"scenario.omit_members: {unknown} are not members of these operations' answers; "
            f"known: {sorted(service.output_member_names)}"
        )
    return frozenset(omit)


def strings_in(value):
    """Every string a JSON value holds, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def check_facts(scenario, execution_ids):
    """``facts``: names -> strings, numbers or lists of strings that tests read; each string must occur in the rest
    of the scenario (a whole string, or within one: a name in an ARN) or be the id of an execution it generates, so
    that a fact names nothing the scenario lacks."""
    facts = scenario.get("facts", {})
    if not isinstance(facts, dict):
        raise ScenarioError("scenario.facts: expected an object of fact names and values")
    rest = list(strings_in({key: value for key, value in scenario.items() if key != "facts"}))
    for name, value in facts.items():
        where = f"scenario.facts.{name}"
        listed = value if isinstance(value, list) else [value]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number and not all(isinstance(item, str) for item in listed):
            raise ScenarioError(f"{where}: expected a string, a number or a list of strings, got {value!r}")
        for item in [] if number else listed:
            if item not in execution_ids and not any(item in text for text in rest):
                raise ScenarioError(f"{where}: {item!r} occurs nowhere else in the scenario")
