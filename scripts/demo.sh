#!/bin/sh
# make demo: scaffold on the examples.  Validates them, runs the Scaffold
# "simple" example for real with the local runner, shows that applying it
# again runs nothing, then edits one task and shows exactly it and its
# descendants running again.  State goes to a fresh temporary data dir.
set -eu
cd "$(dirname "$0")/.."
S=./scaffold
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
D="$tmp/data"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "scaffold validate examples/"
$S validate examples/

say "scaffold apply examples/simple-local.yaml   (runs the tasks)"
$S apply -d "$D" examples/simple-local.yaml

say "scaffold logs foobar-local print_file_and_env"
$S logs -d "$D" foobar-local print_file_and_env

say "scaffold apply again: nothing changed, nothing runs"
$S apply -d "$D" examples/simple-local.yaml

sed 's/MESSAGE="Hello world"/MESSAGE="Hello again"/' \
	examples/simple-local.yaml >"$tmp/simple-local.yaml"
say "edit store_env_var, then: scaffold plan OLD NEW"
$S plan examples/simple-local.yaml "$tmp/simple-local.yaml"

say "scaffold apply the edit: store_env_var and print_file_and_env re-run"
$S apply -d "$D" "$tmp/simple-local.yaml"
$S logs -d "$D" foobar-local print_file_and_env | sed -n '2,4p'

say "scaffold input ls foobar-local   (passwords never shown)"
$S input ls -d "$D" foobar-local

say "scaffold graph examples/deploy-rollback.yaml"
$S graph examples/deploy-rollback.yaml
