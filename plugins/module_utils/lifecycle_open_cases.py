# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The cases of a lifecycle policy's rules that the sources leave open: one place, each with its sources.

A lifecycle policy preview applies the rules as botocore's imagebuilder model and the Image Builder user guide say the
service applies them. Where they leave a case open, the preview is computed under the reading that acts on more
resources (``readings[0]``), then again under each other reading; an image or AMI whose outcome differs carries the
case, and the preview lists it once with the sentences below. When AWS documents a case, its entry goes (or its
readings shrink to one) and nothing else changes; ``docs/docsite/rst/lifecycle_preview.rst`` ("Cases left open") lists
the same cases, which a unit test checks.

"The guide" is the Image Builder user guide: "How lifecycle policy execution works" (lifecycle-policy-execution) and
"How lifecycle management rules work" (image-lifecycle-rules).
"""

from collections import namedtuple

# case: the id images and AMIs carry; question: what is open; shown: the reading the preview shows (readings[0]);
# readings: the names the rules in lifecycle_preview.py test, the shown one first; sources: the sentences that leave
# it open. A case without readings is not a choice between readings but something the preview cannot see: it is
# raised where it is met.
OpenCase = namedtuple("OpenCase", "case question shown readings sources")

OPEN_CASES = (
    OpenCase(
        case="age_boundary",
        question="How an image's age is compared with an AGE filter: to the instant or in whole units, and 'older"
        " than' or 'at least as old'.",
        shown="at least as old, counted in whole days (an image created on the threshold's UTC date is old enough)",
        readings=("at_least_by_date", "at_least_exact", "older_than_exact", "older_than_whole_units"),
        sources=(
            "the guide: the AGE filter 'checks whether the image is older than the threshold'",
            "AWS CDK, LifecyclePolicyAgeFilter.age: 'The minimum age of the resource to filter.'",
            "botocore imagebuilder model, LifecyclePolicyDetailFilter.unit: 'Defines the unit of time that the"
            " lifecycle policy uses to determine impacted resources.'",
        ),
    ),
    OpenCase(
        case="month_length",
        question="Whether a month is a calendar month or 30 days, and a year a calendar year or 365 days.",
        shown="the shorter of the two, for ages (more images are old enough) and for last_launched (fewer AMIs were"
        " launched within it)",
        readings=("shorter", "calendar", "fixed"),
        sources=(
            "botocore imagebuilder model, LifecyclePolicyDetailFilter.unit: 'Defines the unit of time that the"
            " lifecycle policy uses to determine impacted resources.'",
            "botocore imagebuilder model, LifecyclePolicyDetailExclusionRulesAmisLastLaunched.unit: 'Defines the unit"
            " of time that the lifecycle policy uses to calculate elapsed time since the last launch.'",
        ),
    ),
    OpenCase(
        case="last_launched_boundary",
        question="How an AMI's last launch is compared with last_launched: to the instant or by date, and whether a"
        " launch exactly at the bound is 'within' the period.",
        shown="within only when launched after the bound, to the instant (fewer AMIs are kept)",
        readings=("after_the_bound", "at_or_after_the_bound", "by_date"),
        sources=(
            "botocore imagebuilder model, LifecyclePolicyDetailExclusionRulesAmis.lastLaunched: 'exclude AMIs that"
            " were launched within the specified time period from lifecycle actions'",
        ),
    ),
    OpenCase(
        case="last_launched_delay",
        question="Whether the AMI was launched in the 24 hours before the preview: EC2 reports a launch a day late,"
        " and a launch the service sees when it runs would keep the AMI.",
        shown="the launches EC2 reported at the time of the preview",
        readings=("as_reported", "launched_in_the_last_day"),
        sources=(
            "botocore ec2 model, Image.LastLaunchedTime: 'When the AMI is used to launch an instance, there is a"
            " 24-hour delay before that usage is reported.'",
            "the guide: Image Builder runs lifecycle policies once a day, on its own schedule",
        ),
    ),
    OpenCase(
        case="retention_after_higher_priority",
        question="Whether an image that a higher-priority rule acts on in the same run still takes a retention slot"
        " (count or retain_at_least) in a lower-priority rule.",
        shown="it takes a slot (fewer other images are kept on hand)",
        readings=("takes_a_slot", "takes_no_slot"),
        sources=(
            "the guide: 'Image Builder evaluates rules in priority order: deprecate, then disable, then delete. Only"
            " one action applies to each image per execution.'",
            "the guide: 'the newest images fill retention slots first'",
        ),
    ),
    OpenCase(
        case="exclusion_falls_through",
        question="Whether an image that one rule selects but its own exclusion_rules.tag_map excludes is left to the"
        " next rule in the same run.",
        shown="the next rule may act on it",
        readings=("falls_through", "stops"),
        sources=(
            "the guide: 'If an image matches a deprecate rule, Image Builder skips the disable and delete rules for"
            " that image during the same run.'",
            "botocore imagebuilder model, LifecyclePolicyDetailExclusionRules.tagMap: 'Contains a list of tags that"
            " Image Builder uses to skip lifecycle actions for Image Builder image resources that have them.'",
        ),
    ),
    OpenCase(
        case="failed_image_age",
        question="Whether a FAILED or CANCELLED image younger than a delete rule's AGE threshold is deleted.",
        shown="it is deleted (it always qualifies)",
        readings=("always_qualifies", "age_filter_applies"),
        sources=(
            "the guide: 'Failed or canceled Image Builder images do not count toward retention limits and always"
            " qualify for deletion.'",
            "the guide: 'The AGE filter uses the Image Builder image resource creation date'",
        ),
    ),
    OpenCase(
        case="delete_with_skipped_amis",
        question="Whether a policy's delete keeps the image resource when an exclusion skips one of its AMIs, as"
        " StartResourceStateUpdate does.",
        shown="the image resource is deleted",
        readings=("image_deleted", "image_retained"),
        sources=(
            "botocore imagebuilder model, StartResourceStateUpdateRequest.exclusionRules: 'If the target state is"
            " DELETED and any resource was skipped, the Image Builder image resource itself is also retained.'",
            "the guide: 'Image Builder reports an output AMI that meets any exclusion criteria as SKIPPED.' (nothing"
            " on the image resource of a policy's run)",
        ),
    ),
    OpenCase(
        case="tag_selection_groups",
        question="What 'per recipe version' groups a tag selection's images by: the version alone, or the recipe"
        " and its version (an imported image, with no recipe, by its own name and version).",
        shown="the version alone (larger groups: more images beyond count and retain_at_least)",
        readings=("version", "recipe_and_version"),
        sources=(
            "the guide: 'The COUNT filter counts Image Builder image resources per recipe version'",
            "the guide: 'The policy selects Image Builder images matching any specified tag key-value pair (OR"
            " logic).'",
        ),
    ),
    OpenCase(
        case="retained_excluded",
        question="Whether an image with an exclusion tag among the newest of its recipe version takes a retention"
        " slot.",
        shown="it takes a slot (fewer other images are kept on hand)",
        readings=("takes_a_slot", "takes_no_slot"),
        sources=(
            "the guide: 'Image Builder evaluates retention before tag exclusion'",
            "the guide: 'A tag-excluded image does not consume a retention slot'",
        ),
    ),
    OpenCase(
        case="retained_skipped",
        question="Whether an image the rule does not evaluate (still being built, or in a state the rule skips)"
        " among the newest of its recipe version takes a retention slot.",
        shown="it takes a slot (fewer other images are kept on hand)",
        readings=("takes_a_slot", "takes_no_slot"),
        sources=(
            "the guide: 'Deprecate rule - Image Builder skips images that are already deprecated, disabled, failed,"
            " or canceled.' (nothing on their retention slots)",
            "the guide: 'the newest images fill retention slots first'",
        ),
    ),
    OpenCase(
        case="ami_not_described",
        question="What the exclusion rules and snapshots of an AMI that EC2 DescribeImages did not return for this"
        " account (deregistered, or owned by another account) would say.",
        shown="the action reaches it, with no snapshot listed",
        readings=(),
        sources=(
            "botocore ec2 model, DescribeImagesRequest.Owners: 'Scopes the results to images with the specified"
            " owners.'",
        ),
    ),
    OpenCase(
        case="undated_image",
        question="Where an image build version that ListImageBuildVersions returned without a creation date stands:"
        " it cannot be placed by age or among the newest.",
        shown="it is left out of the preview (the service may act on it)",
        readings=(),
        sources=("botocore imagebuilder model, ImageSummary: no member is required, dateCreated included",),
    ),
)

OPEN_CASE = {case.case: case for case in OPEN_CASES}
# The readings a preview is shown under: for each case, the one that acts on more resources.
SHOWN = {case.case: case.readings[0] for case in OPEN_CASES if case.readings}
# Each other reading, with every other case read as shown: (case, readings), the sets the rules are applied again
# under.
OTHER_READINGS = tuple(
    (case.case, dict(SHOWN, **{case.case: reading})) for case in OPEN_CASES for reading in case.readings[1:]
)


def listed(case_ids):
    """The cases named, in OPEN_CASES' order, as the preview lists them: what is open, the reading shown and the
    sentences that leave it open."""
    return [
        {"case": case.case, "question": case.question, "shown": case.shown, "sources": list(case.sources)}
        for case in OPEN_CASES
        if case.case in case_ids
    ]
