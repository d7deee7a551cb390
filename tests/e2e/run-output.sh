# run-output.sh - the checks of the run log cap (limits.run_log: 64K) for
# t2100 (local, ssh) and t4100 (docker).  Source after lib.sh:
#   cascade NAME HEADER [TASK-LINE]   the flood cascade, on stdout
#   check CASCADE RUNNER              its checks, once applied
CAP=65536
MB=3000000 # bytes the flood prints

cascade() { # NAME HEADER [TASK-LINE]
	cat <<Y
version: v1
name: $1
$2
tasks:
  - name: flood
${3:-}
    run: |
      echo start
      head -c $MB /dev/zero | tr '\\0' x
      echo "the run went on" >&2
      exit 3
  - name: quiet
${3:-}
    run: |
      head -c $MB /dev/zero | tr '\\0' y
      echo
  - name: display
${3:-}
    run: |
      head -c 1100000 /dev/zero | tr '\\0' ' ' > "\$SCAFFOLD_RUN_DIR/.display"
      echo shown
Y
}

check() { # CASCADE RUNNER
	run "$SCAFFOLD" status -d "$D" "$1"
	is "$(printf '%s\n' "$OUT" | awk 'NR > 2 { print $1, $2 }' | tr '\n' ' ')" \
		"flood error quiet success display success " \
		"$2: the floods end with their real exit status (3, 0)"

	"$SCAFFOLD" logs -d "$D" "$1" flood >"$T/flood.log"
	head=$(head -1 "$T/flood.log" | wc -c)
	is "$(head -c $CAP "$T/flood.log" | tail -c +$((head + 1)) | tr -d x)" "start" \
		"$2: the log keeps the output up to the cap, byte for byte"
	is "$(tail -c +$((CAP + 1)) "$T/flood.log" | sed 's/ after [0-9a-z.]*$/ after T/')" "
scaffold: output cut at 64 KiB (limits: {run_log}): the rest of the output is dropped
scaffold: output cut at 64 KiB: $((6 + MB + 16 - (CAP - head))) bytes dropped
scaffold: run $(head -1 "$T/flood.log" | cut -d' ' -f3) ended error: exit code 3 after T" \
		"$2: past the cap, the note of the cut, of the bytes dropped, and the real end"

	"$SCAFFOLD" logs -d "$D" "$1" quiet >"$T/quiet.log"
	head=$(head -1 "$T/quiet.log" | wc -c)
	is "$(tail -c +$((CAP + 1)) "$T/quiet.log" | sed 's/ after [0-9a-z.]*$/ after T/')" "
scaffold: output cut at 64 KiB (limits: {run_log}): the rest of the output is dropped
scaffold: output cut at 64 KiB: $((MB + 1 - (CAP - head))) bytes dropped
scaffold: run $(head -1 "$T/quiet.log" | cut -d' ' -f3) ended success after T" \
		"$2: a successful flood succeeds, cut the same way"

	run "$SCAFFOLD" logs -d "$D" "$1" display
	is "$(printf '%s\n' "$OUT" | sed -n '2,3p')" "shown
scaffold: .display not kept: it is larger than 1 MiB" \
		"$2: a .display over 1 MiB is not kept, for a task that maps no secret"
}

