#!/bin/sh
# scaffold apply with the local runner: the Scaffold "simple" example, a
# file and an env value passed between tasks; applying again runs nothing.
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1
D="$T/data"

run "$SCAFFOLD" apply -d "$D" examples/simple-local.yaml
is "$RC" 0 "apply exits 0 when every task succeeds"
is "$OUT" "cascade 'foobar-local' at local-$(cat examples/simple-local.yaml | sha256sum | cut -c1-12)
  TASK                     STATE         RUNS  LAST RUN
  write_file               success          1  1
  store_env_var            success          1  2
  print_file_and_env       success          1  3" "final states are printed"
is "$(echo "$ERR" | head -1)" "cascade 'foobar-local': 3 new, 0 changed, 0 removed; 0 downstream reset" "the reconcile is reported"

run "$SCAFFOLD" logs -d "$D" foobar-local print_file_and_env
is "$(echo "$OUT" | head -4)" "scaffold: run 3 of foobar-local/print_file_and_env, attempt 1, runner local
myFile.txt
foobar
Hello world" "the file and the env value reach the third task" 
# (the last log line holds a duration)
ok test "$(echo "$OUT" | wc -l)" -eq 5 "the log ends with scaffold's summary line"

run "$SCAFFOLD" apply -d "$D" examples/simple-local.yaml
is "$RC:$(echo "$ERR" | head -1)" "0:cascade 'foobar-local': no change" "a second apply changes nothing"
is "$(echo "$OUT" | grep -c ' 1  ')" 3 "and runs nothing"

run "$SCAFFOLD" status -d "$D" -o json
is "$OUT" '{
  "cascades": [
    {
      "name": "foobar-local",
      "repo": null,
      "revision": "local-'"$(sha256sum <examples/simple-local.yaml | cut -c1-12)"'",
      "state": "success",
      "tasks": [
        {
          "name": "write_file",
          "state": "success",
          "runs": 1,
          "last_run": 1
        },
        {
          "name": "store_env_var",
          "state": "success",
          "runs": 1,
          "last_run": 2
        },
        {
          "name": "print_file_and_env",
          "state": "success",
          "runs": 1,
          "last_run": 3
        }
      ]
    }
  ]
}' "status -o json"

# Binary-safe env: newlines, quotes, '=', a trailing newline, non-UTF-8.
cat >"$T/env.yaml" <<'Y'
version: v1
name: envsafe
runner: local
tasks:
  - name: make
    run: |
      V="$(printf 'line one\nq"u'"'"'o=te\\\377 end')
      "
    store: {env: [V]}
  - name: use
    depends_on: [make]
    load: {env: [V]}
    run: printf '%s' "$V" | od -An -tx1 | tr -d ' \n'
Y
run "$SCAFFOLD" apply -d "$D" "$T/env.yaml"
is "$RC" 0 "the env cascade succeeds"
run "$SCAFFOLD" logs -d "$D" envsafe use
want=$(printf 'line one\nq"u'"'"'o=te\\\377 end\n' | od -An -tx1 | tr -d ' \n')
is "$(echo "$OUT" | sed -n '2p' | sed 's/scaffold: .*//')" "$want" "stored env survives byte for byte"

run "$SCAFFOLD" logs -d "$D" foobar-local nope
is "$RC:$ERR" "1:scaffold logs: cascade 'foobar-local' has no task 'nope'" "logs of an unknown task"

# An invalid file changes nothing.
printf 'version: v1\nname: foobar-local\ntasks: [{name: a, run: x, depends_on: [zz]}]\n' >"$T/bad.yaml"
run "$SCAFFOLD" apply -d "$D" "$T/bad.yaml"
is "$RC:$ERR" "1:$T/bad.yaml:3:40: error: task 'a' depends on unknown task 'zz'
scaffold apply: nothing applied: fix the errors above first" "an invalid cascade is refused"
run "$SCAFFOLD" status -d "$D" foobar-local
is "$(echo "$OUT" | grep -c success)" 3 "and the state is untouched"

done_testing
