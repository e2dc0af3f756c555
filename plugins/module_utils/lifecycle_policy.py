# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""EC2 Image Builder lifecycle policies: the option checks, the canonical form that comparisons use, the requests and
the calls. The retry policy, the error handler and the normaliser are _common.py's, shared with every module; the AMI
exclusion rules are ami_exclusion_rules.py's, shared with imagebuilder_lifecycle_execution.

The rules and defaults here are those of botocore's imagebuilder model (CreateLifecyclePolicy, UpdateLifecyclePolicy).
"""

import re
import time

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule


from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import ami_exclusion_rules
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import ROLE_NAME_OR_ARN
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import TIME_UNIT_CHOICES
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import api_choices
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import api_filters
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import call
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import client_token
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import deletion_error_handler
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import error_handler
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import get_error_handler
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import matches
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import normalize
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import paginate
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import snake_case
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import tag_map_errors

# The model's patterns (ResourceName, WildcardVersionNumber).
POLICY_NAME_PATTERN = r"^[-_A-Za-z-0-9][-_A-Za-z0-9 ]{1,126}[-_A-Za-z-0-9]$"
SEMANTIC_VERSION_PATTERN = r"^(?:[0-9]+|x)\.(?:[0-9]+|x)\.(?:[0-9]+|x)$"

INCLUDE_KINDS = ("amis", "snapshots", "containers")
CREATE_REQUIRED = ("execution_role", "resource_type", "policy_details", "resource_selection")

# Terraform's provider retries Create and Update on this answer while IAM has not yet propagated a new role.
ROLE_NOT_READY_MESSAGE = "The provided role does not exist or does not have sufficient permissions"
ROLE_NOT_READY_CODES = ("InvalidParameterValueException", "InvalidRequestException")
ROLE_PROPAGATION_TIMEOUT = 120
ROLE_PROPAGATION_SLEEP = 10

# Maps whose keys are the user's own (tag keys): never snake_cased on the way out.
VERBATIM_MAPS = ("tags", "tagMap")


# --- names ---------------------------------------------------------------------------------------------------------


def arn_name(name):
    """The name segment Image Builder derives for a policy's ARN: lowercase, with hyphens for spaces and underscores."""
    return re.sub(r"[ _]", "-", name.lower())


def role_name(role):
    """An IAM role's name, from its name or its ARN (the part after the last slash, a path dropped)."""
    return role.rsplit("/", 1)[-1] if role else role


def name_filter_errors(name):
    """Why ``name`` cannot be ListLifecyclePolicies' name filter, or can match no policy name (empty when it is well).

    Filter.values: "The name filter can use a wildcard: web* matches names that begin with web, and *web* matches
    names that contain web. The wildcard isn't supported in other positions". Between the wildcards, only what a
    policy name (ResourceName) can hold: anything else matches nothing, which would be an empty answer, not an error.
    """
    core = name[1:] if name.startswith("*") else name
    core = core[:-1] if core.endswith("*") and core else core
    if "*" in core:
        return [f"name: {name!r} has a * inside: a * may only start or end it, such as golden* or *cleanup*"]
    if core == name and not re.fullmatch(POLICY_NAME_PATTERN, name):
        return [f"name: {name!r} is not 3 to 128 letters, digits, hyphens, underscores or inner spaces"]
    if not re.fullmatch(r"[-_A-Za-z0-9 ]{0,128}", core):
        return [
            f"name: {name!r} can match no policy name, which holds only letters, digits, hyphens, underscores and"
            " spaces, 128 at most"
        ]
    return []


# --- the options both imagebuilder_lifecycle_policy and the preview take ------------------------------------------
# Their documentation is the imagebuilder_ops.aws.lifecycle_policy doc fragment: change both together.

# Each enum in the API's spelling and in lower case (api_choices); the modules run normalize_choices() on their
# parameters, so the code below sees lower case only.
RESOURCE_TYPE_CHOICES = api_choices("AMI_IMAGE", "CONTAINER_IMAGE")
STATUS_CHOICES = api_choices("ENABLED", "DISABLED")


def policy_argument_spec():
    """The argument spec of resource_type, policy_details and resource_selection, as the API's policy has them."""
    detail = dict(
        action=dict(
            type="dict",
            required=True,
            options=dict(
                type=dict(type="str", required=True, choices=api_choices("DELETE", "DEPRECATE", "DISABLE")),
                include_resources=dict(type="dict", options={kind: dict(type="bool") for kind in INCLUDE_KINDS}),
            ),
        ),
        filter=dict(
            type="dict",
            required=True,
            options=dict(
                type=dict(type="str", required=True, choices=api_choices("AGE", "COUNT")),
                value=dict(type="int", required=True),
                unit=dict(type="str", choices=TIME_UNIT_CHOICES),
                retain_at_least=dict(type="int"),
            ),
        ),
        exclusion_rules=dict(
            type="dict",
            options=dict(
                tag_map=dict(type="dict"),
                amis=dict(type="dict", options=ami_exclusion_rules.argument_spec()),
            ),
        ),
    )
    recipe = dict(name=dict(type="str", required=True), semantic_version=dict(type="str", required=True))
    return dict(
        resource_type=dict(type="str", choices=RESOURCE_TYPE_CHOICES),
        policy_details=dict(type="list", elements="dict", options=detail),
        resource_selection=dict(
            type="dict",
            options=dict(recipes=dict(type="list", elements="dict", options=recipe), tag_map=dict(type="dict")),
        ),
    )


# --- checks, before any call ---------------------------------------------------------------------------------------


def _detail_errors(n, detail, resource_type):
    where = f"policy_details[{n}]"
    errors = []
    action = detail["action"]
    include = {k: v for k, v in (action.get("include_resources") or {}).items() if v}
    if action["type"] != "delete" and set(include) - {"amis"}:
        errors.append(f"{where}.action.include_resources: a {action['type']} rule can include AMIs only")
    if include.get("snapshots") and not include.get("amis"):
        errors.append(f"{where}.action.include_resources: snapshots only together with amis")
    if resource_type == "container_image" and action["type"] != "delete":
        errors.append(f"{where}.action.type: a container_image policy allows delete rules only")
    if resource_type == "ami_image" and include.get("containers"):
        errors.append(f"{where}.action.include_resources: an ami_image policy includes no containers")
    flt = detail["filter"]
    if flt["type"] == "count" and action["type"] != "delete":
        errors.append(f"{where}.filter: a count filter goes with a delete rule only")
    if flt["type"] == "age" and flt.get("unit") is None:
        errors.append(f"{where}.filter.unit: an age filter needs a unit")
    if not 1 <= flt["value"] <= 1000:
        errors.append(f"{where}.filter.value: {flt['value']} is not between 1 and 1000")
    if flt.get("retain_at_least") is not None:
        if flt["type"] != "age":
            errors.append(f"{where}.filter.retain_at_least: only with an age filter")
        if not 1 <= flt["retain_at_least"] <= 10:
            errors.append(f"{where}.filter.retain_at_least: {flt['retain_at_least']} is not between 1 and 10")
    rules = detail.get("exclusion_rules") or {}
    errors += tag_map_errors(f"{where}.exclusion_rules.tag_map", rules.get("tag_map"))
    amis = ami_exclusion_rules.given(rules.get("amis"))
    if amis and resource_type == "container_image":
        errors.append(f"{where}.exclusion_rules.amis: a container_image policy has no AMI exclusions")
    errors += ami_exclusion_rules.errors(f"{where}.exclusion_rules.amis", amis)
    return errors


def _selection_errors(selection):
    recipes = selection.get("recipes")
    tag_map = selection.get("tag_map")
    if bool(recipes) == bool(tag_map):
        return ["resource_selection: give exactly one of recipes or tag_map"]
    errors = tag_map_errors("resource_selection.tag_map", tag_map)
    if recipes and len(recipes) > 50:
        errors.append(f"resource_selection.recipes: at most 50, not {len(recipes)}")
    for n, recipe in enumerate(recipes or []):
        if not re.fullmatch(POLICY_NAME_PATTERN, recipe["name"]):
            errors.append(f"resource_selection.recipes[{n}].name: {recipe['name']!r} is not a recipe name")
        if not re.fullmatch(SEMANTIC_VERSION_PATTERN, recipe["semantic_version"]):
            errors.append(
                f"resource_selection.recipes[{n}].semantic_version: {recipe['semantic_version']!r} is not a"
                " version such as 1.0.0, 1.x.x or x.x.x"
            )
    return errors


def validate_policy(params, resource_type=None):
    """Messages for the options that Image Builder would refuse (empty when all is well), before any call.

    ``resource_type`` is the policy's type when the options leave it out (an existing policy's).
    """
    errors = []
    resource_type = params.get("resource_type") or resource_type
    if params.get("name") is not None and not re.fullmatch(POLICY_NAME_PATTERN, params["name"]):
        errors.append(f"name: {params['name']!r} is not 3 to 128 letters, digits, hyphens, underscores or inner spaces")
    if params.get("description") is not None and len(params["description"]) > 1024:
        errors.append("description: longer than 1024 characters")
    role = params.get("execution_role")
    if role is not None and not (1 <= len(role) <= 2048 and matches(ROLE_NAME_OR_ARN, role)):
        errors.append(f"execution_role: {role!r} is not an IAM role name or ARN")
    details = params.get("policy_details")
    if details is not None:
        if not 1 <= len(details) <= 3:
            errors.append(f"policy_details: 1 to 3 rules, not {len(details)}")
        types = [d["action"]["type"] for d in details]
        for action_type in sorted({t for t in types if types.count(t) > 1}):
            errors.append(f"policy_details: at most one {action_type} rule")
        for n, detail in enumerate(details):
            errors += _detail_errors(n, detail, resource_type)
    if params.get("resource_selection") is not None:
        errors += _selection_errors(params["resource_selection"])
    if params.get("tags"):
        errors += tag_map_errors("tags", params["tags"])
    return errors


def errors_against(params, current):
    """Messages for options that an existing policy refuses: another resource type, or rules its type forbids."""
    current_type = current.get("resourceType") or ""
    if params.get("resource_type") and params["resource_type"].upper() != current_type:
        return [
            f"resource_type: lifecycle policy {current.get('name')!r} is {current_type} and its resource type cannot"
            " change"
        ]
    return validate_policy(params, current_type.lower())


def missing_for_create(params):
    return [o for o in CREATE_REQUIRED if params.get(o) is None]


# --- options to the API's shape ------------------------------------------------------------------------------------


def _upper(value):
    return value.upper() if value is not None else None


def _without_none(mapping):
    return {k: v for k, v in mapping.items() if v is not None and v != {}}


def _detail_to_api(detail):
    action = detail["action"]
    include = _without_none({_camel(k): v for k, v in (action.get("include_resources") or {}).items()})
    flt = detail["filter"]
    rules = detail.get("exclusion_rules") or {}
    api_amis = ami_exclusion_rules.to_api(rules.get("amis"))
    return _without_none(
        {
            "action": _without_none({"type": _upper(action["type"]), "includeResources": include}),
            "filter": _without_none(
                {
                    "type": _upper(flt["type"]),
                    "value": flt["value"],
                    "unit": _upper(flt.get("unit")),
                    "retainAtLeast": flt.get("retain_at_least"),
                }
            ),
            "exclusionRules": _without_none({"tagMap": rules.get("tag_map") or None, "amis": api_amis}),
        }
    )


def _camel(snake):
    head, *rest = snake.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _selection_to_api(selection):
    recipes = [{"name": r["name"], "semanticVersion": r["semantic_version"]} for r in selection.get("recipes") or []]
    return _without_none({"recipes": recipes or None, "tagMap": selection.get("tag_map") or None})


def desired_policy(params, current=None):
    """The policy that the options ask for, in the API's shape: each option left out keeps ``current``'s value,
    because UpdateLifecyclePolicy replaces the whole policy (an omitted status re-enables it, an omitted description
    is removed). ``description: ""`` removes the description."""
    current = current or {}
    description = params.get("description")
    if description is None:
        description = current.get("description")
    status = _upper(params.get("status")) or current.get("status") or "ENABLED"
    if params.get("policy_details") is not None:
        details = [_detail_to_api(d) for d in params["policy_details"]]
    else:
        details = current.get("policyDetails")
    if params.get("resource_selection") is not None:
        selection = _selection_to_api(params["resource_selection"])
    else:
        selection = current.get("resourceSelection")
    return _without_none(
        {
            "name": current.get("name") or params["name"],
            "description": description or None,
            "status": status,
            "executionRole": params.get("execution_role") or current.get("executionRole"),
            "resourceType": _upper(params.get("resource_type")) or current.get("resourceType"),
            "policyDetails": details,
            "resourceSelection": selection,
        }
    )


def create_request(desired, tags, token):
    request = dict(desired, clientToken=token)
    if tags:
        request["tags"] = tags
    return request


def update_request(desired, arn, token):
    request = {k: v for k, v in desired.items() if k != "name"}
    return dict(request, lifecyclePolicyArn=arn, clientToken=token)


# --- the canonical form: what "the same policy" means ---------------------------------------------------------------


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _canonical_detail(detail):
    action = detail.get("action") or {}
    include = action.get("includeResources") or {}
    flt = detail.get("filter") or {}
    rules = detail.get("exclusionRules") or {}
    amis = rules.get("amis") or {}
    last_launched = amis.get("lastLaunched")
    return {
        "action": {
            "type": _lower(action.get("type")),
            "include_resources": {kind: bool(include.get(kind)) for kind in INCLUDE_KINDS},
        },
        "filter": {
            "type": _lower(flt.get("type")),
            "value": flt.get("value"),
            "unit": _lower(flt.get("unit")),
            "retain_at_least": flt.get("retainAtLeast"),
        },
        "exclusion_rules": {
            "tag_map": dict(rules.get("tagMap") or {}),
            "amis": {
                "is_public": bool(amis.get("isPublic")),
                "regions": sorted(set(amis.get("regions") or [])),
                "shared_accounts": sorted(set(amis.get("sharedAccounts") or [])),
                "last_launched": (
                    {"value": last_launched.get("value"), "unit": _lower(last_launched.get("unit"))}
                    if last_launched
                    else None
                ),
                "tag_map": dict(amis.get("tagMap") or {}),
            },
        },
    }


def canonical(policy):
    """A policy (in the API's shape) with the service's defaults filled in and the order it ignores removed: rules
    sorted by action type, recipes, regions and shared accounts sorted, the role by name, enums in lowercase. Two
    policies are the same exactly when their canonical forms are equal; tags are compared apart."""
    selection = policy.get("resourceSelection") or {}
    recipes = [
        {"name": r.get("name"), "semantic_version": r.get("semanticVersion")} for r in selection.get("recipes") or []
    ]
    details = [_canonical_detail(d) for d in policy.get("policyDetails") or []]
    return {
        "name": policy.get("name"),
        "description": policy.get("description") or None,
        "status": _lower(policy.get("status") or "ENABLED"),
        "execution_role": role_name(policy.get("executionRole")),
        "resource_type": _lower(policy.get("resourceType")),
        "policy_details": sorted(details, key=lambda d: d["action"]["type"] or ""),
        "resource_selection": {
            "recipes": sorted(recipes, key=lambda r: (r["name"] or "", r["semantic_version"] or "")),
            "tag_map": dict(selection.get("tagMap") or {}),
        },
    }


# The guide: "Image Builder evaluates rules in priority order: deprecate, then disable, then delete."
RULE_ORDER = ("deprecate", "disable", "delete")


def _without_unset(value):
    """``value`` without what nobody set: None, false, and empty strings, lists and maps (in the canonical form,
    those are the service's defaults)."""
    if isinstance(value, dict):
        kept = {key: _without_unset(item) for key, item in value.items()}
        return {
            key: item
            for key, item in kept.items()
            if item is not None and item is not False and item not in ("", [], {})
        }
    if isinstance(value, list):
        return [_without_unset(item) for item in value]
    return value


def diff_view(policy):
    """A policy as --diff shows it: the canonical form, with its rules in the order Image Builder applies them
    (deprecate, disable, delete) and without the values nobody set, so that a change is the only thing that shows."""
    view = canonical(policy)
    view["policy_details"] = sorted(
        view["policy_details"],
        key=lambda d: RULE_ORDER.index(d["action"]["type"]) if d["action"]["type"] in RULE_ORDER else len(RULE_ORDER),
    )
    return _without_unset(view)


def normalize_policy(policy):
    """A policy as the modules return it: snake_case keys, ISO 8601 dates, and tag keys exactly as stored."""
    if isinstance(policy, dict):
        return {
            snake_case(k): (dict(v) if k in VERBATIM_MAPS and isinstance(v, dict) else normalize_policy(v))
            for k, v in policy.items()
        }
    if isinstance(policy, list):
        return [normalize_policy(v) for v in policy]
    return normalize(policy)


# --- the calls -----------------------------------------------------------------------------------------------------


def _role_not_ready(error):
    if not isinstance(error, botocore.exceptions.ClientError):
        return False
    details = error.response.get("Error", {})
    return details.get("Code") in ROLE_NOT_READY_CODES and ROLE_NOT_READY_MESSAGE in (details.get("Message") or "")


def _while_role_propagates(write):
    """Run a write, again every ROLE_PROPAGATION_SLEEP seconds for up to ROLE_PROPAGATION_TIMEOUT while Image Builder
    answers that the role does not exist yet: a role made in the same play takes a while to reach every IAM
    endpoint. The request (and so its clientToken) is the same every time."""
    deadline = time.monotonic() + ROLE_PROPAGATION_TIMEOUT
    while True:
        try:
            return write()
        except botocore.exceptions.ClientError as e:
            if not _role_not_ready(e) or time.monotonic() + ROLE_PROPAGATION_SLEEP > deadline:
                raise
        time.sleep(ROLE_PROPAGATION_SLEEP)


@error_handler("list lifecycle policies")
def list_lifecycle_policies(client, name=None, resource_type=None, status=None):
    filters = api_filters(name=name, resourceType=_upper(resource_type), status=_upper(status))
    params = {"filters": filters} if filters else {}
    return paginate(
        client, client.list_lifecycle_policies, "ListLifecyclePolicies", "lifecyclePolicySummaryList", **params
    )


@get_error_handler("get lifecycle policy {arn}")
def get_lifecycle_policy(client, arn):
    """The policy, or None when there is none with that ARN."""
    answer = call(client.get_lifecycle_policy, "GetLifecyclePolicy", "lifecyclePolicy", lifecyclePolicyArn=arn)
    return answer["lifecyclePolicy"]


def find_lifecycle_policy(client, name):
    """The policy with exactly this name, read in full, or None. The name filter matches names as written."""
    for summary in list_lifecycle_policies(client, name=name):
        if summary.get("name") == name:
            return get_lifecycle_policy(client, summary["arn"])
    return None


def name_conflict_errors(client, name):
    """Why a new policy cannot be named ``name``: an existing policy whose ARN it would take (the same name but for
    case, spaces or underscores), as CreateLifecyclePolicy would refuse it. Empty when there is none."""
    for summary in list_lifecycle_policies(client):
        if summary.get("name") != name and arn_name(summary.get("name") or "") == arn_name(name):
            return [
                f"name: {name!r} gives the same ARN as the existing lifecycle policy {summary['name']!r} (names that"
                " differ only in case, spaces or underscores are the same policy)"
            ]
    return []


@error_handler("create lifecycle policy {request[name]}")
def create_lifecycle_policy(client, request):
    answer = _while_role_propagates(
        lambda: call(client.create_lifecycle_policy, "CreateLifecyclePolicy", "lifecyclePolicyArn", **request)
    )
    return answer["lifecyclePolicyArn"]


@error_handler("update lifecycle policy {request[lifecyclePolicyArn]}")
def update_lifecycle_policy(client, request):
    _while_role_propagates(lambda: call(client.update_lifecycle_policy, "UpdateLifecyclePolicy", **request))


@deletion_error_handler("delete lifecycle policy {arn}")
def delete_lifecycle_policy(client, arn):
    """True once deleted; False when it was gone already (another run deleted it since it was read)."""
    call(client.delete_lifecycle_policy, "DeleteLifecyclePolicy", lifecyclePolicyArn=arn)
    return True


@error_handler("tag lifecycle policy {arn}")
def tag_resource(client, arn, tags):
    call(client.tag_resource, "TagResource", resourceArn=arn, tags=tags)


@error_handler("untag lifecycle policy {arn}")
def untag_resource(client, arn, tag_keys):
    call(client.untag_resource, "UntagResource", resourceArn=arn, tagKeys=tag_keys)


def describe_lifecycle_policies(client, arn=None, name=None, resource_type=None, status=None, details=True):
    """What the info module returns: the policies, normalised and sorted by name (none for an unknown ARN)."""
    if arn is not None:
        policy = get_lifecycle_policy(client, arn)
        policies = [policy] if policy else []
    else:
        policies = list_lifecycle_policies(client, name=name, resource_type=resource_type, status=status)
        if details:
            policies = [p for p in (get_lifecycle_policy(client, s["arn"]) for s in policies) if p]
    return [normalize_policy(p) for p in sorted(policies, key=lambda p: p.get("name") or "")]


# --- what imagebuilder_lifecycle_policy does -------------------------------------------------------------------------


def diff_view_with_tags(policy, tags):
    """The diff's view of a policy: its canonical form, rules in the order they apply and without unset values, and its
    tags."""
    if not policy:
        return {}
    return dict(diff_view(policy), **({"tags": tags} if tags else {}))


def ensure_present(module, client, current):
    """state=present: create or update the policy and its tags when they differ from the options (check mode and
    --diff say what would change), and return the result."""
    params = module.params
    if current is None:
        missing = missing_for_create(params)
        if missing:
            module.fail_json(msg=f"Creating lifecycle policy {params['name']!r} needs {', '.join(missing)}")
        errors = name_conflict_errors(client, params["name"])
        if errors:
            module.fail_json(msg="; ".join(errors))
    else:
        errors = errors_against(params, current)
        if errors:
            module.fail_json(msg="; ".join(errors))

    desired = desired_policy(params, current)
    current_tags = (current or {}).get("tags") or {}
    to_set, to_unset = {}, []
    if params["tags"] is not None:
        to_set, to_unset = compare_aws_tags(current_tags, params["tags"], params["purge_tags"])
    policy_changed = current is None or canonical(desired) != canonical(current)
    result = dict(changed=policy_changed or bool(to_set) or bool(to_unset))
    if module._diff:  # pylint: disable=protected-access
        after_tags = {k: v for k, v in dict(current_tags, **to_set).items() if k not in to_unset}
        result["diff"] = dict(
            before=diff_view_with_tags(current, current_tags), after=diff_view_with_tags(desired, after_tags)
        )
    if module.check_mode or not result["changed"]:
        result["lifecycle_policy"] = normalize_policy(current or {})
        return result

    token = client_token()
    if current is None:
        arn = create_lifecycle_policy(client, create_request(desired, params["tags"], token))
    else:
        arn = current["arn"]
        if policy_changed:
            update_lifecycle_policy(client, update_request(desired, arn, token))
        if to_unset:
            untag_resource(client, arn, to_unset)
        if to_set:
            tag_resource(client, arn, to_set)
    result["lifecycle_policy"] = normalize_policy(get_lifecycle_policy(client, arn) or {})
    return result


def ensure_absent(module, client, current):
    """state=absent: delete the policy when there is one."""
    result = dict(changed=current is not None, lifecycle_policy={})
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = dict(before=diff_view_with_tags(current, (current or {}).get("tags") or {}), after={})
    if current is not None and not module.check_mode:
        # Deleted by someone else since it was read: absent all the same, and not by this task.
        result["changed"] = delete_lifecycle_policy(client, current["arn"])
    return result
