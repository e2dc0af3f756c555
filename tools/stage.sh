#!/usr/bin/env bash
# Copy the collection source into DEST, replacing whatever DEST held before.
#   tools/stage.sh .build/core219/ansible_collections/imagebuilder_ops/aws
# ansible-test needs the path shape ROOT/ansible_collections/NAMESPACE/NAME as a real directory,
# which a git checkout is not. The copy holds exactly what git would commit: tracked files plus
# untracked ones that are not ignored, so venvs, caches and test output never leak into it.
# tar instead of rsync: rsync is not on every machine.
set -euo pipefail

dest=${1:?destination directory}
src=$(git rev-parse --show-toplevel)

new="$dest.new"
rm -rf "$new"
mkdir -p "$new"
# Files deleted from the work tree but not yet from git are still listed: skip what is gone.
git -C "$src" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' path; do
        if [[ -e $src/$path || -L $src/$path ]]; then printf '%s\0' "$path"; fi
    done |
    tar -C "$src" --null --no-recursion --files-from=- -cf - |
    tar -C "$new" -xf -
# ansible-test lists files with git, walking up to the nearest .git: without one here it would find
# this checkout's, which ignores .build/, and report "All targets skipped". An empty repository makes
# the copy its own content root, every file in it untracked-not-ignored.
git init --quiet "$new"
rm -rf "$dest"
mv "$new" "$dest"
echo "staged $(find "$dest" -type f | wc -l) files in $dest"
