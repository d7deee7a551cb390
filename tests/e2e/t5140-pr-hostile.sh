#!/bin/sh
# Hostile pull requests (issue 20, Done when): an alias bomb (billion
# laughs), a 1 GiB cascade file (a 1 MB push; its size is read from the
# object header, it is never inflated), a symlinked cascade folder and a
# cascade that loads a file from outside its run dir.  Each gets the
# status scaffold/plan failure with its root cause, exactly; nothing runs;
# the daemon's peak RSS (VmHWM) stays within 64 MiB of what it was before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pr.sh"
[ -r /proc/self/status ] || skip_all "no /proc to read VmHWM from"

pr_init github
cat >"$T/work/.scaffold/deploy.yaml" <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: echo v1
Y
pr_first_push
pr_start_stub
# indexing the 1 GiB head takes the fetch 15-30 s on a busy machine
# (t1020): fetch_timeout is raised, the wait below too
PR_TOP_YAML="fetch_timeout: 10m" pr_start_serve
ok wait_for 30 sh -c "[ \$(grep -c ' info: run [0-9]* [a-z]*/[a-z]*: success' '$T/serve.log') -eq 1 ]" \
	"the base branch is applied and its task ran"
RUNS0=$(runs)
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SPID/status"; }
HWM0=$(hwm)

# one pull request: branch N from main, FN makes its change, then its
# head is planned; sets HEAD
pr() { # N FN
	w checkout -q main && w checkout -q -B "pr$1"
	$2
	HEAD=$(pr_head "$1")
	n=$(pr_nplans)
	pr_payload opened "$1" "$HEAD" main >"$T/pr$1.json"
	pr_post "$T/pr$1.json" "hostile-$1"
}
planned() { # how long to wait
	wait_for "$1" sh -c "[ \$(grep -c '\"scaffold/plan\"' '$STUB_LOG') -ge $((n + 1)) ]"
}

bomb() {
	cat >"$T/work/.scaffold/bomb.yaml" <<'Y'
version: v1
name: bomb
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
tasks: []
Y
}
pr 21 bomb
ok planned 30 "the alias bomb is planned"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD" failure ".scaffold/bomb.yaml:7:8: YAML aliases expand to more than 10000 nodes")" \
	"an alias bomb: failure, the expansion limit at its file:line:col"

outside() {
	cat >"$T/work/.scaffold/deploy.yaml" <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: cat passwd
    load: {file: [../../../etc/passwd]}
Y
}
pr 22 outside
ok planned 30 "the load from outside is planned"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD" failure ".scaffold/deploy.yaml:7:19: task 'build': load file '../../../etc/passwd' must stay inside the run dir ('..' is not allowed)")" \
	"a load from outside the run dir: failure, the loader's refusal"

symlinked() {
	mkdir -p "$T/work/elsewhere"
	sed 's/echo v1/echo FROM-THE-LINK/' "$T/work/.scaffold/deploy.yaml" >"$T/work/elsewhere/deploy.yaml"
	w rm -rq .scaffold
	ln -s elsewhere "$T/work/.scaffold"
}
pr 23 symlinked
ok planned 30 "the symlinked folder is planned"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD" failure "'.scaffold' is a symbolic link, not a folder: cascade files are read from a folder of the repository itself")" \
	"a symlinked cascade folder: failure, named; its cascades are not planned as removed"
w checkout -q -f main

# 1 GiB; under the sanitizers 128 MiB, as in t1020: the same path (the
# size from the object header, over the limit), and an inflated blob of
# that size still breaks the 64 MiB bound below
SIZE=1073741824
[ -z "${SANITIZE:-}" ] || SIZE=134217728
big() {
	BLOB=$(head -c "$SIZE" /dev/zero |
		tgit -C "$T/work" -c core.looseCompression=1 hash-object -w --stdin)
	w update-index --add --cacheinfo "100644,$BLOB,.scaffold/big.yaml"
	w commit -qm "a huge cascade file"
	w -c pack.compression=1 push -q -f "$BASE_GIT" "HEAD:refs/pull/24/head"
}
w checkout -q main && w checkout -q -B pr24
big
HEAD=$(w rev-parse HEAD)
n=$(pr_nplans)
pr_payload opened 24 "$HEAD" main >"$T/pr24.json"
pr_post "$T/pr24.json" hostile-24
is "$CODE" 202 "the pull request with a 1 GiB file is accepted"
ok planned 300 "the 1 GiB file is planned"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD" failure ".scaffold/big.yaml: the file is $SIZE bytes, over the limit of 16777216 bytes for a cascade file")" \
	"a 1 GiB blob: failure, its size and the limit"
HWM1=$(hwm)
ok test $((HWM1 - HWM0)) -lt 65536 "the daemon's peak RSS grew by $((HWM1 - HWM0)) kB (under 64 MiB): the blob was never inflated"
is "$(runs)" "$RUNS0" "nothing of the hostile pull requests ran"
ok kill -0 "$SPID" "the daemon is still up"
is "$("$SCAFFOLD" logs -d "$T/data" deploy build | sed -n 2p)" "v1" "the build's last output is the base branch's"
done_testing
