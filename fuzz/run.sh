#!/bin/sh
# run.sh SECONDS TARGET... - run each libFuzzer target for SECONDS over its
# seeds (tests/cases/<target>/, regression inputs included) and a working
# corpus beside it (build-fuzz-targets/corpus/<target>/), then print one
# summary line per target: runs, exec/s, cov and ft from libFuzzer's last
# status line.  A crash leaves build-fuzz-targets/<target>-crash-* and the
# log build-fuzz-targets/<target>.log, and fails the run.
#
# run.sh -s SECONDS TARGET...: the short run of make fuzz-short (and make
# test): a fixed seed and a fresh corpus and log in a private directory
# (build-fuzz-targets/short.PID/, removed when the run passes), so that it
# starts from the seeds alone and concurrent runs do not meet.
set -u

short=
if [ "$1" = -s ]; then
	short=1
	shift
fi
secs=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$@"; do
	name=$(basename "$bin")
	dir=$(dirname "$bin")
	corpus=$dir/corpus/$name
	log=$dir/$name.log
	opts=
	if [ -n "$short" ]; then
		corpus=$dir/short.$$/$name
		log=$dir/short.$$/$name.log
		opts=-seed=1
	fi
	seeds=$top/tests/cases/$name
	case $name in
	fuzz-cascade) seeds="$seeds $top/examples $top/tests/cases/invalid" ;;
	esac
	dict=$top/fuzz/$name.dict
	[ -f "$dict" ] && opts="$opts -dict=$dict"
	mkdir -p "$corpus"
	echo "fuzz: $name for ${secs}s (log: $log)"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 $opts \
	    -artifact_prefix="$dir/$name-" "$corpus" $seeds >"$log" 2>&1
	then
		res=ok
	else
		res=FAILED
		status=1
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' \
			"$log" | head -20
	fi
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	runs=$(grep 'stat::number_of_executed_units' "$log" |
		sed 's/.*: *//')
	echo "fuzz: $name: $res: runs ${runs:-?}," \
		"$(echo "$last" | grep -o 'cov: [0-9]*')," \
		"$(echo "$last" | grep -o 'ft: [0-9]*')," \
		"$(echo "$last" | grep -o 'corp: [0-9]*/[0-9A-Za-z]*')," \
		"$(echo "$last" | grep -o 'exec/s: [0-9]*')"
done
if [ -n "$short" ] && [ $status -eq 0 ]; then
	for bin in "$@"; do
		rm -rf "$(dirname "$bin")/short.$$"
	done
fi
exit $status
