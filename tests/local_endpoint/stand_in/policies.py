"""Lifecycle policies: Create/Get/Update/Delete/ListLifecyclePolicies, TagResource, UntagResource, and a policy's
run as the scenario writes it out (the control API's ``run_policy``)."""

import copy
import json
import uuid

from . import executions
from . import rules
from .common import ControlError
from .common import EndpointError
from .common import name_matches
from .common import wanted_filters

# A policy's members as Create/Update send them; Update replaces all of them (name and tags excepted).
POLICY_MEMBERS = ("description", "status", "executionRole", "resourceType", "policyDetails", "resourceSelection")
SUMMARY_MEMBERS = ("arn", "name", "description", "status", "executionRole", "resourceType", "dateCreated")
SUMMARY_MEMBERS += ("dateUpdated", "dateLastRun", "tags")
POLICY_FILTERS = ("name", "resourceType", "status")


def store_policy(world, arn, request, now, previous=None):
    """Create's or Update's request as the service keeps it: every member replaced, defaults echoed."""
    stored = {"arn": arn, "name": previous["name"] if previous else request["name"]}
    stored.update({key: copy.deepcopy(request[key]) for key in POLICY_MEMBERS if key in request})
    stored.setdefault("status", "ENABLED")
    for detail in stored["policyDetails"]:
        # What the service echoes that nobody set: every include flag (false when not asked for), isPublic false.
        include = detail["action"].setdefault("includeResources", {})
        for kind in ("amis", "snapshots", "containers"):
            include.setdefault(kind, False)
        amis = detail.get("exclusionRules", {}).get("amis")
        if amis is not None:
            amis.setdefault("isPublic", False)
    stored["dateCreated"] = previous["dateCreated"] if previous else float(int(now))
    if previous is not None:
        stored["dateUpdated"] = float(int(now))
        if "dateLastRun" in previous:
            stored["dateLastRun"] = previous["dateLastRun"]
    tags = previous.get("tags") if previous else request.get("tags")
    if tags:
        stored["tags"] = dict(tags)
    world.policies[arn] = stored
    return stored


def create_lifecycle_policy(world, params, now):
    rules.check("CreateLifecyclePolicy", params)
    replayed = world.replay("CreateLifecyclePolicy", params)
    if replayed is not None:
        return replayed
    arn = world.policy_arn(params["name"])
    taken = arn in world.policies and f"'{world.policies[arn]['name']}' has the ARN {arn}"
    rules.check("CreateLifecyclePolicy", params, taken=taken)
    if params.get("dryRun"):
        raise EndpointError("DryRunOperationException", "The request would have succeeded, but dryRun was set")
    store_policy(world, arn, params, now)
    world.by_policy.setdefault(arn, [])
    return world.remember(
        "CreateLifecyclePolicy", params, {"clientToken": params["clientToken"], "lifecyclePolicyArn": arn}
    )


def get_lifecycle_policy(world, params, now):
    return {"lifecyclePolicy": copy.deepcopy(world.policy(params["lifecyclePolicyArn"]))}


def update_lifecycle_policy(world, params, now):
    rules.check("UpdateLifecyclePolicy", params)
    replayed = world.replay("UpdateLifecyclePolicy", params)
    if replayed is not None:
        return replayed
    arn = params["lifecyclePolicyArn"]
    previous = world.policy(arn)
    rules.check("UpdateLifecyclePolicy", params, stored=previous)
    store_policy(world, arn, params, now, previous)
    return world.remember("UpdateLifecyclePolicy", params, {"lifecyclePolicyArn": arn})


def delete_lifecycle_policy(world, params, now):
    arn = params["lifecyclePolicyArn"]
    world.policy(arn)
    del world.policies[arn]
    # Deleting a policy cancels its in-flight execution.
    for execution in world.by_policy.get(arn, []):
        if execution.state(now)[0] in executions.RUNNING:
            execution.cancel()
    return {"lifecyclePolicyArn": arn}


def list_lifecycle_policies(world, params, now):
    wanted = wanted_filters("ListLifecyclePolicies", params, POLICY_FILTERS)
    items = sorted((p for p in world.policies.values() if matches(p, wanted)), key=lambda p: (p["name"], p["arn"]))
    scope = json.dumps(params.get("filters", []), sort_keys=True)
    page, token = world.page("ListLifecyclePolicies", scope, items, params)
    summaries = [{key: copy.deepcopy(policy[key]) for key in SUMMARY_MEMBERS if key in policy} for policy in page]
    return executions.listing({"lifecyclePolicySummaryList": summaries}, token)


def matches(policy, wanted):
    for name, values in wanted.items():
        if name == "name":
            if not any(name_matches(value, policy["name"]) for value in values):
                return False
        elif policy.get(name) not in values:
            return False
    return True


def tag_resource(world, params, now):
    policy = world.policy(params["resourceArn"], kind="Resource")
    policy["tags"] = dict(policy.get("tags", {}), **params["tags"])
    return {}


def untag_resource(world, params, now):
    policy = world.policy(params["resourceArn"], kind="Resource")
    tags = {key: value for key, value in policy.get("tags", {}).items() if key not in params["tagKeys"]}
    policy.pop("tags", None)
    if tags:
        policy["tags"] = tags
    return {}


def run_policy(world, arn, now):
    """A run of a lifecycle policy: a new SUCCESS execution whose resources are the scenario's ``policy_runs`` entry
    for the policy's name (what the service would do, written by hand: the endpoint computes nothing)."""
    policy = world.policies.get(arn)
    if policy is None:
        raise ControlError(404, f"no lifecycle policy {arn!r} (the scenario's or one CreateLifecyclePolicy made)")
    declared = world.policy_runs.get(policy["name"])
    if declared is None:
        raise ControlError(409, f"the scenario has no policy_runs entry for policy {policy['name']!r}: nothing to run")
    start = float(int(now))
    resources = [dict({"startTime": start, "endTime": start}, **copy.deepcopy(item)) for item in declared]
    spec = {"id": f"lce-{uuid.uuid4()}", "policy": arn, "start": start, "end": start, "resources": resources}
    spec["images"] = [r["resourceId"] for r in resources if "parentResourceId" not in r]
    spec.update(has_impacted=bool(resources), timeline=(("SUCCESS", None, None),))
    world.add(executions.Execution(spec))
    policy["dateLastRun"] = start
    return {"lifecycleExecutionId": spec["id"]}


OPERATIONS = {
    "CreateLifecyclePolicy": create_lifecycle_policy,
    "GetLifecyclePolicy": get_lifecycle_policy,
    "UpdateLifecyclePolicy": update_lifecycle_policy,
    "DeleteLifecyclePolicy": delete_lifecycle_policy,
    "ListLifecyclePolicies": list_lifecycle_policies,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
}
