#!/bin/sh
# make demo: what scaffold does today, on the examples.  Validates every
# example, prints the plan of each (from nothing), then shows what a one-line
# change to the EKS deploy would re-run.
set -eu
cd "$(dirname "$0")/.."
S=./scaffold

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "scaffold validate examples/"
$S validate examples/

for f in examples/*.yaml; do
	say "scaffold plan /dev/null $f"
	$S plan /dev/null "$f"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/echo "Users created"/echo "Users created (v2)"/' \
	examples/application-deploy.yaml >"$tmp/application-deploy.yaml"
say "edit create_db_users, then: scaffold plan OLD NEW"
$S plan examples/application-deploy.yaml "$tmp/application-deploy.yaml"

say "scaffold graph examples/deploy-rollback.yaml"
$S graph examples/deploy-rollback.yaml
