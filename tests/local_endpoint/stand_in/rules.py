"""The service's documented rules beyond the input shape, in one table, each with the sentence it comes from.

model.py checks what botocore's model says in its shapes (types, required members, bounds, enums, patterns). What the
model says only in words is here, and only that: a rule stands for one sentence of the model's documentation of the
shape member or operation in ``source``, quoted in ``sentence``. It answers ``code`` (a modeled error of the
operation) with the sentence as its message (the service's own wording of these errors is not documented), followed
by what broke it. The endpoint applies no rule of our modules that no sentence states.

``needs`` names the facts a rule is judged on besides the request: ``check`` runs the rules whose needs are exactly
the facts it is given, so each caller checks, at each step, what it knows by then (the request alone before the
idempotency record; the stored image or policy once looked up).
"""

import collections

from .common import EndpointError

Rule = collections.namedtuple("Rule", "operations source sentence code needs broken")

TERMINAL_IMAGE_STATES = ("AVAILABLE", "DEPRECATED", "DISABLED", "FAILED", "CANCELLED")
CANCELLABLE = ("PENDING", "IN_PROGRESS")
POLICY_WRITES = ("CreateLifecyclePolicy", "UpdateLifecyclePolicy")
INVALID = "InvalidRequestException"


def included(request):
    """The underlying resource kinds a StartResourceStateUpdate includes. An includeResources whose members are all
    false includes nothing and counts as absent (the model leaves that reading open)."""
    include = request.get("includeResources") or {}
    return [kind for kind in ("amis", "snapshots", "containers") if include.get(kind)]


def target(request):
    """StartResourceStateUpdate's target status; ``state.status`` is optional in the model, AVAILABLE then."""
    return request["state"].get("status", "AVAILABLE")


def details(request):
    """(index, action type, filter, includeResources) of each rule of a lifecycle policy request."""
    for index, detail in enumerate(request["policyDetails"]):
        action = detail["action"]
        include = action.get("includeResources") or {}
        yield f"policyDetails.{index + 1}", action["type"], detail["filter"], include


def first(found):
    return next((where for where in found if where), None)


def image_status(request, facts):
    return facts["image"]["status"] not in TERMINAL_IMAGE_STATES and f"it is {facts['image']['status']}"


def delete_only(request, facts):
    return facts["image"]["status"] in ("FAILED", "CANCELLED") and target(request) != "DELETED"


def past_update(request, facts):
    return "updateAt" in request and request["updateAt"] <= facts["now"] and "updateAt is not in the future"


def duplicate_action(request, facts):
    seen = [action for _where, action, _flt, _include in details(request)]
    return next((f"two {action} rules" for action in seen if seen.count(action) > 1), None)


def container_action(request, facts):
    kinds = request["resourceType"] == "CONTAINER_IMAGE"
    return kinds and first(where for where, action, _flt, _include in details(request) if action != "DELETE")


def count_action(request, facts):
    return first(w for w, action, flt, _i in details(request) if flt["type"] == "COUNT" and action != "DELETE")


def age_unit(request, facts):
    return first(w for w, _action, flt, _i in details(request) if flt["type"] == "AGE" and "unit" not in flt)


def includes(request, facts):
    return first(
        where
        for where, action, _flt, include in details(request)
        if (include.get("snapshots") and not include.get("amis"))
        or (action != "DELETE" and (include.get("snapshots") or include.get("containers")))
    )


def selection(request, facts):
    return ("recipes" in request["resourceSelection"]) == ("tagMap" in request["resourceSelection"])


def resource_type(request, facts):
    stored = facts["stored"]["resourceType"]
    return request["resourceType"] != stored and f"it is {stored}"


def other_arn(request, facts):
    return (
        facts["arn_kind"] is None
        and f"{request['resourceArn']} is neither a lifecycle policy nor an image build version"
    )


def by_name_version(request, facts):
    return request.get("byName") and any(f.get("name") == "version" for f in request.get("filters", []))


SRU, CANCEL, LIST, IMAGES = (
    "StartResourceStateUpdate",
    "CancelLifecycleExecution",
    "ListLifecycleExecutions",
    "ListImages",
)
UPDATE_AT = "This property is valid only when the target status is DEPRECATED, and the value must be a future time."
# fmt: off
RULES = (
    Rule((SRU,), "StartResourceStateUpdateRequest.executionRole",
         "You must provide this property together with includeResources. Neither is valid without the other.",
         INVALID, (), lambda r, f: ("executionRole" in r) != bool(included(r))),
    Rule((SRU,), "StartResourceStateUpdateRequest.includeResources",
         "Snapshots and containers are only valid for the DELETED state.",
         INVALID, (), lambda r, f: target(r) != "DELETED" and set(included(r)) - {"amis"}),
    Rule((SRU,), "StartResourceStateUpdateRequest.includeResources",
         "To set an image to DELETED, you must include its underlying resources.",
         INVALID, (), lambda r, f: target(r) == "DELETED" and not included(r)),
    Rule((SRU,), "StartResourceStateUpdateRequest.updateAt", UPDATE_AT,
         INVALID, (), lambda r, f: "updateAt" in r and target(r) != "DEPRECATED"),
    Rule((SRU,), "StartResourceStateUpdateRequest.updateAt", UPDATE_AT, INVALID, ("now",), past_update),
    Rule((SRU,), "StartResourceStateUpdateRequest.resourceArn",
         "The image must be in one of these terminal states: AVAILABLE, DEPRECATED, DISABLED, FAILED, or CANCELLED.",
         INVALID, ("image",), image_status),
    Rule((SRU,), "StartResourceStateUpdateRequest.resourceArn",
         "Images with FAILED or CANCELLED status can transition only to DELETED.", INVALID, ("image",), delete_only),
    Rule((SRU,), "StartResourceStateUpdateRequest.state", "For container-based images, only DELETED is supported.",
         INVALID, ("image",), lambda r, f: f["image"]["type"] == "DOCKER" and target(r) != "DELETED"),
    Rule((SRU,), "StartResourceStateUpdate",
         "If a request that starts a lifecycle execution arrives while the image already has one in progress, Image "
         "Builder rejects it.", "ResourceInUseException", ("holder",), lambda r, f: f["holder"]),
    # CANCELLING is not terminal, yet refused: the sentence leaves it open, and refusing is the reading that shows a
    # caller which cancels twice.
    Rule((CANCEL,), CANCEL, "You can only cancel an execution that hasn't reached a terminal state.",
         "ResourceInUseException", ("status",), lambda r, f: f["status"] not in CANCELLABLE and f"it is {f['status']}"),
    Rule(POLICY_WRITES, "CreateLifecyclePolicyRequest.policyDetails",
         "A policy can contain at most one rule per action type: one DELETE, one DEPRECATE, and one DISABLE.",
         INVALID, (), duplicate_action),
    Rule(POLICY_WRITES, "CreateLifecyclePolicyRequest.resourceType",
         "policies for container-based Image Builder images support only DELETE.", INVALID, (), container_action),
    Rule(POLICY_WRITES, "LifecyclePolicyDetailFilter.type",
         "You can only use the count filter with the DELETE action type.", INVALID, (), count_action),
    Rule(POLICY_WRITES, "LifecyclePolicyDetailFilter.unit", "This is required for age-based rules.",
         INVALID, (), age_unit),
    Rule(POLICY_WRITES, "LifecyclePolicyDetailAction.includeResources",
         "DELETE rules can include all three, DEPRECATE and DISABLE rules can include AMIs only, and you can only "
         "include snapshots together with AMIs.", INVALID, (), includes),
    Rule(POLICY_WRITES, "LifecyclePolicyResourceSelection",
         "You must provide exactly one selection criteria: either recipes or a tag map, not both.",
         INVALID, (), selection),
    Rule(("CreateLifecyclePolicy",), "CreateLifecyclePolicyRequest.name",
         "Image Builder generates the policy ARN from a normalized form of the name, so names that differ only in "
         "case, spaces, or underscores count as the same name.",
         "ResourceAlreadyExistsException", ("taken",), lambda r, f: f["taken"]),
    Rule(("UpdateLifecyclePolicy",), "UpdateLifecyclePolicy",
         "The resourceType must match the existing policy's value.",
         "InvalidParameterCombinationException", ("stored",), resource_type),
    Rule((LIST,), "ListLifecycleExecutionsRequest.resourceArn", "Other ARN types aren't valid for this request.",
         INVALID, ("arn_kind",), other_arn),
    Rule((IMAGES,), "ListImagesRequest.byName", "You can't combine this option with the version filter.",
         INVALID, (), by_name_version),
)
# fmt: on


def check(operation, request, **facts):
    """Raise the error of the first rule of ``operation`` judged on exactly these facts that the request breaks."""
    for rule in RULES:
        if operation in rule.operations and set(rule.needs) == set(facts):
            found = rule.broken(request, facts)
            if found:
                detail = f" ({found})" if isinstance(found, str) else ""
                raise EndpointError(rule.code, rule.sentence + detail)
