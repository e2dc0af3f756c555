"""A benchmark-only module: return the JSON document in ``path`` as ``data``.

It measures what Ansible itself costs to carry a result of a given size (module-side scrubbing and JSON, the
controller's decoding and display), so that a listing can be compared with a floor that carries the same data.
"""

from __future__ import annotations

import json

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True)), supports_check_mode=True)
    with open(module.params["path"], encoding="utf-8") as handle:
        data = json.load(handle)
    module.exit_json(changed=False, data=data)


if __name__ == "__main__":
    main()
