#!/bin/sh
# Independent tasks run at the same time, never more than --max-parallel.
# Each task prints when it starts and ends (its sandbox shares nothing
# with the others); the logs tell how many ran at once.
. "$(dirname "$0")/lib.sh"
D="$T/data"

{
	printf 'version: v1\nname: par\nrunner: local\ntasks:\n'
	for i in 1 2 3 4 5 6; do
		printf '  - name: t%s\n    run: |\n' "$i"
		printf '      echo "S $(date +%%s.%%N)"\n'
		printf '      sleep 0.4\n'
		printf '      echo "E $(date +%%s.%%N)"\n'
	done
} >"$T/par.yaml"

# most_at_once DATA: the largest number of runs between their S and E
most_at_once() {
	cat "$1"/logs/*.log | awk '$1 == "S" || $1 == "E" { print $2, $1 }' |
		sort -n | awk '$2 == "S" { n++; if (n > m) m = n }
			$2 == "E" { n-- } END { print m + 0 }'
}

run "$SCAFFOLD" apply -q -d "$D" -j 2 "$T/par.yaml"
is "$RC" 0 "six independent tasks succeed"
is "$(most_at_once "$D")" 2 "with -j 2, two ran at once, never more"

run "$SCAFFOLD" apply -q -d "$T/data2" -j 6 "$T/par.yaml"
is "$(most_at_once "$T/data2")" 6 "with -j 6, all six ran at once"

run "$SCAFFOLD" apply -d "$T/data3" -j 0 "$T/par.yaml"
is "$RC:$(echo "$ERR" | head -1)" "2:scaffold apply: --max-parallel takes a number from 1 to 256, not '0'" "-j 0 is a usage error"
done_testing
