"""Auto Scaling's DescribeAutoScalingGroups and DescribeLaunchConfigurations, from the scenario's
``auto_scaling_groups`` and ``launch_configurations``: written as the API answers them (API-named members, checked
against the model's AutoScalingGroup and LaunchConfiguration shapes when the scenario loads), with defaults for the
members the model requires and ``region`` (default the scenario's)."""

import copy

from .common import EndpointError
from .common import ScenarioError
from .common import checked_shape
from .common import epoch
from .common import listed
from .ec2 import FilterValues

# Members the model requires that a scenario may leave out, and their values.
GROUP_DEFAULTS = {"MinSize": 0, "MaxSize": 2, "DesiredCapacity": 1, "DefaultCooldown": 300, "HealthCheckType": "EC2"}
CONFIGURATION_DEFAULTS = {"InstanceType": "t3.micro"}
CREATED = "2024-05-01T00:00:00Z"
# MaxRecords, in both operations' documentation: "The default value is 50 and the maximum value is 100."
PAGE_BOUNDS, DEFAULT_PAGE = (1, 100), 50
GROUP_FILTERS = ("tag-key", "tag-value", "tag:<key>")


def load(scenario, world, model):
    """{"auto_scaling_groups": [(region, group)], "launch_configurations": [(region, configuration)]}."""
    loaded = {}
    for key, name_key, shape, defaults in (
        ("launch_configurations", "LaunchConfigurationName", "LaunchConfiguration", CONFIGURATION_DEFAULTS),
        ("auto_scaling_groups", "AutoScalingGroupName", "AutoScalingGroup", GROUP_DEFAULTS),
    ):
        loaded[key] = []
        for entry, where in listed(scenario, key):
            if not isinstance(entry, dict):
                raise ScenarioError(f"{where}: expected an object")
            item = copy.deepcopy(entry)
            region = item.pop("region", world.region)
            name = item.get(name_key)
            if not isinstance(name, str):
                raise ScenarioError(f"{where}.{name_key}: required, a string")
            kind = "autoScalingGroup" if key == "auto_scaling_groups" else "launchConfiguration"
            resource = f"{kind}:00000000-0000-4000-8000-{len(loaded[key]) + 1:012d}:{kind}Name/{name}"
            arn_key = "LaunchConfigurationARN" if key == "launch_configurations" else "AutoScalingGroupARN"
            item[arn_key] = f"arn:aws:autoscaling:{region}:{world.account_id}:{resource}"
            item["CreatedTime"] = epoch(item.get("CreatedTime", CREATED), f"{where}.CreatedTime")
            for member, value in defaults.items():
                item.setdefault(member, value)
            if key == "auto_scaling_groups":
                item.setdefault("AvailabilityZones", [f"{region}a"])
                check_group(item, loaded, region, where)
            checked_shape(model, shape, item, where)
            if any(r == region and other[name_key] == name for r, other in loaded[key]):
                raise ScenarioError(f"{where}.{name_key}: {name} appears twice in {region}")
            loaded[key].append((region, item))
    return loaded


def check_group(group, loaded, region, where):
    """A group launches from one thing (a launch configuration, a launch template, or a mixed instances policy), and
    a launch configuration it names is one of the scenario's."""
    sources = [key for key in ("LaunchConfigurationName", "LaunchTemplate", "MixedInstancesPolicy") if key in group]
    if len(sources) != 1:
        raise ScenarioError(
            f"{where}: give exactly one of LaunchConfigurationName, LaunchTemplate, MixedInstancesPolicy"
        )
    name = group.get("LaunchConfigurationName")
    known = {c["LaunchConfigurationName"] for r, c in loaded["launch_configurations"] if r == region}
    if name is not None and name not in known:
        raise ScenarioError(f"{where}.LaunchConfigurationName: {name!r} is not among the scenario's in {region}")


def page(world, operation, params, region, items, result_key):
    invalid = EndpointError("InvalidNextToken", "The token is invalid or expired.", 400)
    paging = ("MaxRecords", "NextToken", *PAGE_BOUNDS, DEFAULT_PAGE, "ValidationError", invalid)
    chosen, token = world.regional_page(operation, params, region, items, paging)
    return dict({result_key: chosen}, **({"NextToken": token} if token is not None else {}))


def describe_auto_scaling_groups(world, params, region, now):  # pylint: disable=unused-argument
    """The region's groups by name (AutoScalingGroupNames: names that are not there are left out, no error), with
    the tag filters (``tag-key``, ``tag-value``, ``tag:<key>``; "One or more filters to limit the results based on
    specific tags"), in pages of MaxRecords."""
    groups = [group for r, group in world.auto_scaling["auto_scaling_groups"] if r == region]
    if "AutoScalingGroupNames" in params:
        groups = [g for g in groups if g["AutoScalingGroupName"] in set(params["AutoScalingGroupNames"])]
    for item in params.get("Filters", []):
        name, values = item.get("Name"), FilterValues(item.get("Values", []))
        if name not in GROUP_FILTERS and not (name or "").startswith("tag:"):
            message = f"Filter '{name}' is not supported; use one of {GROUP_FILTERS}"
            raise EndpointError("ValidationError", message, 400)
        groups = [group for group in groups if tag_matches(group, name, values)]
    groups = sorted(groups, key=lambda group: group["AutoScalingGroupName"])
    return page(world, "DescribeAutoScalingGroups", params, region, groups, "AutoScalingGroups")


def tag_matches(group, name, values):
    tags = {tag["Key"]: tag.get("Value", "") for tag in group.get("Tags", [])}
    if name == "tag-key":
        found = list(tags)
    elif name == "tag-value":
        found = list(tags.values())
    else:
        found = [tags[name[4:]]] if name[4:] in tags else []
    return values.matches_any(found)


def describe_launch_configurations(world, params, region, now):  # pylint: disable=unused-argument
    configurations = [c for r, c in world.auto_scaling["launch_configurations"] if r == region]
    if "LaunchConfigurationNames" in params:
        wanted = set(params["LaunchConfigurationNames"])
        configurations = [c for c in configurations if c["LaunchConfigurationName"] in wanted]
    configurations = sorted(configurations, key=lambda c: c["LaunchConfigurationName"])
    return page(world, "DescribeLaunchConfigurations", params, region, configurations, "LaunchConfigurations")


OPERATIONS = {
    "DescribeAutoScalingGroups": describe_auto_scaling_groups,
    "DescribeLaunchConfigurations": describe_launch_configurations,
}
