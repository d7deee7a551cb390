#!/bin/sh
# scaffold validate: the examples are valid, errors are reported for every
# file given, directories expand to their cascade files.
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1

run "$SCAFFOLD" validate examples
is "$RC" 0 "every example is valid"
is "$OUT" "examples/application-deploy.yaml: ok (cascade 'application-deploy', 15 tasks)
examples/deploy-rollback.yaml: ok (cascade 'deploy-rollback', 6 tasks)
examples/host-maintenance.yaml: ok (cascade 'host-maintenance', 8 tasks)
examples/simple-local.yaml: ok (cascade 'foobar-local', 3 tasks)
examples/simple.yaml: ok (cascade 'foobar', 3 tasks)" "validate lists each valid file"
is "$ERR" "" "nothing on stderr"

run "$SCAFFOLD" validate -q examples/simple.yaml
is "$RC:$OUT:$ERR" "0::" "-q prints nothing when valid"

cat >"$T/a.yaml" <<'Y'
version: v1
name: foobar
tasks:
  - name: x
    run: echo
    depends_on: [y]
Y
printf 'version: v1\nname: ok\ntasks: [{name: t, run: "true"}]\n' >"$T/ok.yaml"
printf 'version: v1\nname: foobar\ntasks: [{name: t, run: "true"}]\n' >"$T/dup.yaml"
run "$SCAFFOLD" validate "$T/a.yaml" "$T/ok.yaml" examples/simple.yaml "$T/dup.yaml"
is "$RC" 1 "one bad file fails the run"
is "$ERR" "$T/a.yaml:6:18: error: task 'x' depends on unknown task 'y'
$T/dup.yaml:2:7: error: cascade name 'foobar' is also used by 'examples/simple.yaml'
2 errors, 0 warnings in 4 files" "errors of every file, and cascade names unique across files"
is "$OUT" "$T/ok.yaml: ok (cascade 'ok', 1 task)
examples/simple.yaml: ok (cascade 'foobar', 3 tasks)" "the valid files are still reported"

mkdir "$T/empty"
run "$SCAFFOLD" validate "$T/empty"
is "$RC:$(echo "$ERR" | head -1)" "1:$T/empty: error: no cascade files (*.yaml, *.yml) in this directory" "an empty directory is an error"

printf 'version: v1\nname: w\ntasks: [{name: t, run: x, load: {file: [f.txt]}}]\n' >"$T/w.yaml"
run "$SCAFFOLD" validate "$T/w.yaml"
is "$RC:$ERR" "0:$T/w.yaml:3:41: warning: task 't': loads file 'f.txt' but no task it depends on stores it; it must be in the cascade's file store" "a load only the file store can satisfy is a warning"

done_testing
