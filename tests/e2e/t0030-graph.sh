#!/bin/sh
# scaffold graph: the DAG in Graphviz DOT.
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1

run "$SCAFFOLD" graph examples/simple.yaml
is "$RC" 0 "graph exits 0"
is "$OUT" 'digraph "foobar" {
	rankdir=LR;
	node [shape=box, style=rounded, fontname="sans-serif"];
	"write_file";
	"store_env_var";
	"print_file_and_env";
	"write_file" -> "print_file_and_env";
	"store_env_var" -> "print_file_and_env";
}' "the simple example as DOT"

# Graphviz is installed by scripts/install-deps.sh: without it this is a
# failure, not a silent skip
"$SCAFFOLD" graph examples/application-deploy.yaml | dot -Tsvg >"$T/g.svg" 2>"$T/dot.err"
is "$?" 0 "Graphviz accepts the EKS graph: $(head -c 200 "$T/dot.err")"
ok grep -q '<svg' "$T/g.svg" "Graphviz renders the EKS graph as SVG"

run "$SCAFFOLD" graph examples/deploy-rollback.yaml
is "$(echo "$OUT" | grep -c ' -> ')" 5 "every dependency is an edge"
is "$(echo "$OUT" | grep rollback | tail -1)" '	"smoke_test" -> "rollback" [color="#c0392b", fontcolor="#c0392b", style=dashed, label="error"];' "error edges are marked"

done_testing
