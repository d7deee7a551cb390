#!/bin/sh
# The command line: version, help, usage errors and exit codes.
. "$(dirname "$0")/lib.sh"

run "$SCAFFOLD" --version
is "$RC:$OUT" "0:scaffold 0.1.0" "--version prints the version"

run "$SCAFFOLD"
is "$RC" 2 "no command is a usage error"

run "$SCAFFOLD" valdate x.yaml
is "$RC:$ERR" "2:scaffold: unknown command 'valdate'; did you mean 'validate'?
Run 'scaffold --help' for the list of commands." "unknown command suggests the closest"

for cmd in validate plan graph; do
	run "$SCAFFOLD" $cmd --help
	is "$RC:$(echo "$OUT" | head -1 | cut -d' ' -f1-3)" "0:usage: scaffold $cmd" "$cmd --help prints usage and exits 0"
done

run "$SCAFFOLD" validate --bogus x.yaml
is "$RC:$(echo "$ERR" | head -1)" "2:scaffold validate: unknown option '--bogus'" "unknown option is a usage error"

run "$SCAFFOLD" validate
is "$RC:$(echo "$ERR" | head -1)" "2:scaffold validate: no files given" "validate without files"

run "$SCAFFOLD" plan -o yaml a b
is "$RC:$(echo "$ERR" | head -1)" "2:scaffold plan: unknown output format 'yaml' (expected 'text' or 'json')" "plan rejects an unknown format"

run "$SCAFFOLD" plan a.yaml
is "$RC:$(echo "$ERR" | head -1)" "2:scaffold plan: expected OLD and NEW files, got 1 operand" "plan needs two files"

run "$SCAFFOLD" validate "$T/missing.yaml"
is "$RC:$(echo "$ERR" | head -1)" "1:$T/missing.yaml: error: cannot open '$T/missing.yaml': No such file or directory" "a missing file is reported"

done_testing
