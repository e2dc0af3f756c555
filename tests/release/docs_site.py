"""Render the collection's docs site with antsibull-docs and Sphinx, offline, so that broken markup fails.

    python docs_site.py COLLECTIONS_ROOT WORKDIR

`antsibull-docs sphinx-init --use-current` writes a site for imagebuilder_ops.aws as installed under
COLLECTIONS_ROOT; its build.sh renders the plugin pages and the docs/docsite guides and runs
`sphinx-build -W --keep-going`, so every warning (an unknown role, a bad reference, broken RST) fails.

The generated conf.py links to the Ansible docs through intersphinx inventories fetched from the web.
There is no web here, so this writes a local inventory for the Ansible docs instead, holding the core
labels antsibull-docs' templates refer to and the plugin labels of ansible.builtin and of the other installed
collections (on the real site every collection has its page). A reference to anything else still fails.

Run with the tools venv's Python. Exit status 0 when the site built without a warning.
"""

import os
import subprocess
import sys
import zlib

COLLECTION = "imagebuilder_ops.aws"
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
# Labels of the Ansible docs that antsibull-docs' own templates use (see its data/docsite templates).
CORE_LABELS = {
    "ansible_configuration_settings": "reference_appendices/config.html",
    "common_return_values": "reference_appendices/common_return_values.html",
    "collections_keyword": "collections_guide/collections_using_playbooks.html",
    "list_of_collections": "collections/index.html",
    "action_plugins": "plugins/action.html",
    "callback_plugins": "plugins/callback.html",
    "list_of_callback_plugins": "collections/index_callback.html",
}
PLUGIN_DIRS = ("modules", "action", "become", "cache", "callback", "cliconf", "connection", "filter", "httpapi")
PLUGIN_DIRS += ("inventory", "lookup", "netconf", "shell", "strategy", "test", "vars")


def plugin_labels(collections_root):
    """(label, uri) for every plugin of ansible.builtin and of the other collections installed."""
    import ansible  # pylint: disable=import-outside-toplevel

    core = os.path.dirname(ansible.__file__)
    roots = {("ansible", "builtin"): [("modules", os.path.join(core, "modules"))]}
    roots[("ansible", "builtin")] += [(d, os.path.join(core, "plugins", d)) for d in PLUGIN_DIRS[1:]]
    base = os.path.join(collections_root, "ansible_collections")
    for namespace in sorted(os.listdir(base)):
        for name in sorted(os.listdir(os.path.join(base, namespace))):
            if f"{namespace}.{name}" != COLLECTION:
                plugins = os.path.join(base, namespace, name, "plugins")
                roots[(namespace, name)] = [(d, os.path.join(plugins, d)) for d in PLUGIN_DIRS]
    for (namespace, name), dirs in roots.items():
        for directory, path in dirs:
            kind = "module" if directory == "modules" else directory
            for entry in sorted(os.listdir(path)) if os.path.isdir(path) else []:
                if entry.endswith((".py", ".yml", ".yaml")) and not entry.startswith("_"):
                    plugin = entry.rsplit(".", 1)[0]
                    label = f"ansible_collections.{namespace}.{name}.{plugin}_{kind}"
                    yield label, f"collections/{namespace}/{name}/{plugin}_{kind}.html"


def write_inventory(path, collections_root):
    labels = dict(CORE_LABELS)
    labels.update(plugin_labels(collections_root))
    lines = "".join(f"{label} std:label -1 {uri} -\n" for label, uri in sorted(labels.items()))
    header = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
    header += "# The remainder of this file is compressed using zlib.\n"
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8") + zlib.compress(lines.encode("utf-8")))
    return len(labels)


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    collections_root, workdir = (os.path.abspath(a) for a in argv)
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    os.chmod(workdir, 0o700)  # sphinx-init wants a directory only its owner can write to
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root, PATH=bindir + os.pathsep + os.environ["PATH"])
    command = [os.path.join(bindir, "antsibull-docs"), "sphinx-init", "--use-current", "--dest-dir", workdir]
    if subprocess.run(command + [COLLECTION], env=env, check=False).returncode != 0:
        print("FAILED: antsibull-docs sphinx-init")
        return 1

    inventory = os.path.join(workdir, "ansible_devel.inv")
    count = write_inventory(inventory, collections_root)
    with open(os.path.join(workdir, "conf.py"), "a", encoding="utf-8") as handle:
        handle.write(
            "\n# Offline: one local inventory for the Ansible docs (tests/release/docs_site.py).\n"
            f"intersphinx_mapping = {{'ansible_devel': ({ANSIBLE_DOCS!r}, {inventory!r})}}\n"
        )
    print(f"wrote a local intersphinx inventory of {count} Ansible docs labels")

    build = subprocess.run(
        ["bash", os.path.join(workdir, "build.sh")], env=env, capture_output=True, text=True, check=False
    )
    print(build.stdout + build.stderr)
    if build.returncode != 0:
        # Repeat the warnings last, where a reader of the log's tail finds them.
        for line in (build.stdout + build.stderr).splitlines():
            if "WARNING" in line or "ERROR" in line:
                print(line)
        print("FAILED: the docs site did not build cleanly (sphinx-build -W)")
        return 1
    html = os.path.join(workdir, "build", "html", "collections", *COLLECTION.split("."))
    expected = ["index.html", "imagebuilder_lifecycle_execution_info_module.html"]
    expected += [os.path.join("docsite", f"{n}.html") for n in ("getting_started", "try_it_locally", "waiting", "awx")]
    missing = [page for page in expected if not os.path.isfile(os.path.join(html, page))]
    if missing:
        print(f"FAILED: the site lacks {', '.join(missing)}")
        return 1
    print(f"docs site built without warnings: {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
