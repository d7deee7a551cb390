#!/bin/sh
# Independent tasks run at the same time, never more than --max-parallel.
. "$(dirname "$0")/lib.sh"
D="$T/data"
mkdir "$T/slots"

{
	printf 'version: v1\nname: par\nrunner: local\ntasks:\n'
	for i in 1 2 3 4 5 6; do
		printf '  - name: t%s\n    run: |\n' "$i"
		printf '      mkdir %s/slots/$SCAFFOLD_TASK\n' "$T"
		printf '      ls %s/slots | wc -l >> %s/counts\n' "$T" "$T"
		printf '      sleep 0.4\n'
		printf '      rmdir %s/slots/$SCAFFOLD_TASK\n' "$T"
	done
} >"$T/par.yaml"

run "$SCAFFOLD" apply -q -d "$D" -j 2 "$T/par.yaml"
is "$RC" 0 "six independent tasks succeed"
is "$(sort -n "$T/counts" | tail -1)" 2 "with -j 2, two ran at once, never more"

rm -f "$T/counts"
run "$SCAFFOLD" apply -q -d "$T/data2" -j 6 "$T/par.yaml"
is "$(sort -n "$T/counts" | tail -1)" 6 "with -j 6, all six ran at once"

run "$SCAFFOLD" apply -d "$T/data3" -j 0 "$T/par.yaml"
is "$RC:$(echo "$ERR" | head -1)" "2:scaffold apply: --max-parallel takes a number from 1 to 256, not '0'" "-j 0 is a usage error"
done_testing
