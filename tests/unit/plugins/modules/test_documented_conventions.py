# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every module's documented options, its doc fragments' included: each enum in both spellings, and the fragments
that document the two spellings and the region rule wherever they apply. ansible-test sanity (validate-modules)
holds the argument specs to these docs."""

import importlib
import pkgutil

import botocore.session
import pytest
import yaml

from ansible_collections.imagebuilder_ops.aws.plugins import doc_fragments
from ansible_collections.imagebuilder_ops.aws.plugins import modules

MODULES = sorted(m.name for m in pkgutil.iter_modules(modules.__path__))
ARN_OPTIONS = {"arn", "lifecycle_policy_arn", "image_arn", "parent_resource_id"}
# Ansible's own choices, not the API's.
NOT_API_ENUMS = {"state"}


def documentation(name):
    """The module's DOCUMENTATION with the options of its imagebuilder_ops.aws fragments merged in."""
    doc = yaml.safe_load(importlib.import_module(f"{modules.__name__}.{name}").DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for fragment in doc["extends_documentation_fragment"]:
        if fragment.startswith("imagebuilder_ops.aws."):
            file, _dot, variable = fragment.split(".", 2)[2].partition(".")
            source = importlib.import_module(f"{doc_fragments.__name__}.{file}").ModuleDocFragment
            options.update(yaml.safe_load(getattr(source, (variable or "documentation").upper()))["options"])
    return doc, options


def choices(options, path=""):
    for name, option in options.items():
        if "choices" in option:
            yield f"{path}{name}", option["choices"]
        yield from choices(option.get("suboptions") or {}, f"{path}{name}.")


def api_enum_values():
    model = botocore.session.get_session().get_service_model("imagebuilder")
    return {value for shape in model.shape_names for value in getattr(model.shape_for(shape), "enum", [])}


@pytest.mark.parametrize("name", MODULES)
def test_every_enum_takes_the_api_spelling_and_lower_case(name):
    doc, options = documentation(name)
    enums = {path: values for path, values in choices(options) if path not in NOT_API_ENUMS}
    known = api_enum_values()
    for path, values in enums.items():
        api = [v for v in values if v == v.upper()]
        assert values == api + [v.lower() for v in api], path
        assert set(api) <= known, f"{path}: {set(api) - known} is no enum value of botocore's imagebuilder model"
    assert ("imagebuilder_ops.aws.api_spelling" in doc["extends_documentation_fragment"]) == bool(enums)


@pytest.mark.parametrize("name", MODULES)
def test_every_module_that_takes_an_image_builder_arn_documents_the_region_rule(name):
    doc, options = documentation(name)
    takes_arn = bool(ARN_OPTIONS & set(options))
    assert ("imagebuilder_ops.aws.arn_region" in doc["extends_documentation_fragment"]) == takes_arn
