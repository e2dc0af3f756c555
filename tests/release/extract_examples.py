"""Write the collection's examples out as playbooks, so that ansible-lint can hold them to the production profile.

    python extract_examples.py COLLECTION_DIR OUTDIR

ansible-lint reads a module's EXAMPLES with yamllint only (it never checks their tasks for names, FQCNs or
the like), and it does not read the YAML in the docs' RST guides at all. This writes one playbook per
module (its EXAMPLES as the tasks of one play) and one per YAML code block of docs/docsite/rst that is a
playbook or a list of tasks, keeping the text as written, so that every rule sees what users copy.
Blocks that are requirements files or execution environment definitions are written under the names
ansible-lint knows them by, so that their schemas apply; any other block is skipped, and listed.
"""

import glob
import os
import re
import sys
import textwrap

import yaml

PLAY_HEADER = """---
- name: {title}
  hosts: localhost
  gather_facts: false
  tasks:
"""


def module_examples(collection_dir):
    for path in sorted(glob.glob(os.path.join(collection_dir, "plugins", "modules", "*.py"))):
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        match = re.search(r'^EXAMPLES = r?"""\n(.*?)^"""', source, re.MULTILINE | re.DOTALL)
        if match:
            name = os.path.splitext(os.path.basename(path))[0]
            yield f"module_{name}", f"{os.path.relpath(path, collection_dir)} EXAMPLES", match.group(1)


def code_blocks(text):
    """(line number, kind, dedented body, the text before it) of every RST code block, nested ones included."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)\.\. code-block:: (\S+)\s*$", line)
        if not match:
            continue
        indent = len(match.group(1))
        body = []
        for following in lines[number + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        before = "\n".join(lines[max(0, number - 6) : number])
        yield number + 1, match.group(2), textwrap.dedent("\n".join(body)).strip("\n"), before


def rst_code_blocks(collection_dir):
    for path in sorted(glob.glob(os.path.join(collection_dir, "docs", "docsite", "rst", "*.rst"))):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        guide = os.path.splitext(os.path.basename(path))[0]
        for number, kind, body, _before in code_blocks(text):
            if kind in ("yaml", "yaml+jinja"):
                where = f"{os.path.relpath(path, collection_dir)}:{number}"
                yield f"guide_{guide}_line{number}", where, body + "\n"


def as_playbook(title, text):
    """The text as a playbook, or None when it is neither a playbook nor a list of tasks."""
    data = yaml.safe_load(text)
    if not isinstance(data, list) or not data or not all(isinstance(item, dict) for item in data):
        return None
    if all("hosts" in item or "ansible.builtin.import_playbook" in item for item in data):
        return text if text.startswith("---") else "---\n" + text
    body = text[4:] if text.startswith("---\n") else text
    return PLAY_HEADER.format(title=title) + textwrap.indent(body, "    ")


def other_kind(text):
    """The file name ansible-lint knows a non-playbook block by (so its schema applies), or None."""
    data = yaml.safe_load(text)
    if isinstance(data, dict) and "collections" in data:
        return "requirements.yml"
    if isinstance(data, dict) and "version" in data and ("images" in data or "dependencies" in data):
        return "execution-environment.yml"
    return None


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    collection_dir, outdir = argv
    os.makedirs(outdir, exist_ok=True)
    written = 0
    for name, where, text in list(module_examples(collection_dir)) + list(rst_code_blocks(collection_dir)):
        playbook = as_playbook(f"Example from {where}", text)
        if playbook is not None:
            path = f"{name}.yml"
        elif other_kind(text):
            path = os.path.join(name, other_kind(text))
            os.makedirs(os.path.join(outdir, name), exist_ok=True)
            playbook = text if text.startswith("---") else "---\n" + text
        else:
            print(f"skipped (not a playbook, tasks, requirements or EE definition): {where}")
            continue
        with open(os.path.join(outdir, path), "w", encoding="utf-8") as handle:
            handle.write(playbook)
        print(f"wrote {path} from {where}")
        written += 1
    if not written:
        print("FAILED: found no examples")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
