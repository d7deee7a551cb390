#!/bin/sh
# scaffold plan: the reset set of a change, in text and JSON.
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1

EKS=examples/application-deploy.yaml
sed 's/echo "Users created"/echo "Users created for v2"/' $EKS >"$T/eks.yaml"

run "$SCAFFOLD" plan -o json $EKS "$T/eks.yaml"
is "$RC" 0 "plan exits 0"
is "$OUT" '{
  "cascade": "application-deploy",
  "added": [],
  "removed": [],
  "changed": [
    "create_db_users"
  ],
  "reset": [
    "create_db_users",
    "deploy_application",
    "deploy_traefik",
    "deregister_old",
    "destroy_old_application",
    "destroy_old_traefik",
    "east_coast_check",
    "midwest_check",
    "register_new",
    "run_tests",
    "west_coast_check"
  ],
  "unchanged": [
    "build_images",
    "create_db_schemas",
    "deploy_terraform",
    "push_images"
  ],
  "reasons": {
    "create_db_users": "changed: run",
    "deploy_application": "downstream of '"'create_db_users'"' (changed)",
    "deploy_traefik": "downstream of '"'create_db_users'"' (changed)",
    "deregister_old": "downstream of '"'create_db_users'"' (changed)",
    "destroy_old_application": "downstream of '"'create_db_users'"' (changed)",
    "destroy_old_traefik": "downstream of '"'create_db_users'"' (changed)",
    "east_coast_check": "downstream of '"'create_db_users'"' (changed)",
    "midwest_check": "downstream of '"'create_db_users'"' (changed)",
    "register_new": "downstream of '"'create_db_users'"' (changed)",
    "run_tests": "downstream of '"'create_db_users'"' (changed)",
    "west_coast_check": "downstream of '"'create_db_users'"' (changed)"
  }
}' "EKS: changing create_db_users resets exactly it and its 10 descendants"

run "$SCAFFOLD" plan $EKS "$T/eks.yaml"
is "$(echo "$OUT" | head -4)" "cascade 'application-deploy': 1 changed, 0 added, 0 removed; 11 tasks to reset, 4 unchanged

TASK                     ACTION     REASON
create_db_users          changed    changed: run" "the text table starts with a summary"

run "$SCAFFOLD" plan $EKS $EKS
is "$RC:$OUT" "0:cascade 'application-deploy': 0 changed, 0 added, 0 removed; 0 tasks to reset, 15 unchanged
nothing to do" "no change, nothing to do"

# Reformatting the whole file (flow style, reordered keys, comments,
# other quoting) changes nothing.
cat >"$T/simple-a.yaml" <<'Y'
version: v1
name: foobar
tasks:
  - name: write_file
    image: ubuntu:20.04
    run: |
      echo "FOOBAR" > /tmp/run/myFile.txt
    store:
      file:
        - myFile.txt
  - name: print
    image: ubuntu:20.04
    depends_on: [write_file]
    load: {file: [myFile.txt]}
    run: cat myFile.txt
Y
cat >"$T/simple-b.yaml" <<'Y'
# reformatted
"tasks":
- {"run": "echo \"FOOBAR\" > /tmp/run/myFile.txt\n", store: {file: ['myFile.txt']}, image: "ubuntu:20.04", name: write_file}
- name: print          # same task, keys reordered
  run: 'cat myFile.txt'
  load:
    file:
    - myFile.txt
  depends_on:
    success:
    - write_file
  image: ubuntu:20.04
name: "foobar"
version: "v1"
Y
run "$SCAFFOLD" plan -o json "$T/simple-a.yaml" "$T/simple-b.yaml"
is "$(echo "$OUT" | tr -d ' \n')" '{"cascade":"foobar","added":[],"removed":[],"changed":[],"reset":[],"unchanged":["print","write_file"],"reasons":{}}' "YAML formatting changes no fingerprint"

run "$SCAFFOLD" plan -o json /dev/null examples/simple.yaml
is "$(echo "$OUT" | tr -d ' \n')" '{"cascade":"foobar","added":["print_file_and_env","store_env_var","write_file"],"removed":[],"changed":[],"reset":["print_file_and_env","store_env_var","write_file"],"unchanged":[],"reasons":{"print_file_and_env":"newtask","store_env_var":"newtask","write_file":"newtask"}}' "from /dev/null every task is added"

run "$SCAFFOLD" plan -o json examples/simple.yaml /dev/null
is "$(echo "$OUT" | tr -d ' \n')" '{"cascade":"foobar","added":[],"removed":["print_file_and_env","store_env_var","write_file"],"changed":[],"reset":[],"unchanged":[],"reasons":{"print_file_and_env":"thecascadefileisremoved","store_env_var":"thecascadefileisremoved","write_file":"thecascadefileisremoved"}}' "to /dev/null every task is removed"

printf 'version: v1\nname: foobar\ntasks: [{name: a, run: x, depends_on: [b]}]\n' >"$T/bad.yaml"
run "$SCAFFOLD" plan examples/simple.yaml "$T/bad.yaml"
is "$RC:$OUT:$ERR" "1::$T/bad.yaml:3:40: error: task 'a' depends on unknown task 'b'" "an invalid NEW is reported, no plan printed"

done_testing
