# faults.sh - what the fault tests (t80*) share: repositories of cascades,
# a `scaffold serve` on a free port with a viewer token, its API, and the
# checks that the daemon keeps serving.  Source it after lib.sh:
#   new_repo NAME            a bare $T/NAME.git and its work tree $T/NAME
#   put NAME FILE TEXT       write .scaffold/FILE in the work tree of NAME
#   push NAME MSG            commit everything there and push; $SHA is HEAD
#   new_other WORD           the repository "other": task say (local) echoes WORD
#   push_other WORD MSG      a new WORD for it, pushed
#   serve_config NAME...     $T/scaffold.yaml: data in $D, a free port, polling
#                            every 250ms, the repositories $T/NAME.git, each
#                            allowed every runner (local tasks run as nobody
#                            when root); append more keys to it after
#   serve_start LOG          scaffold serve --config $T/scaffold.yaml, 2> $T/LOG
#                            ($SPID, $U); data in $D
#   serve_stop               SIGTERM; its exit status
#   api PATH                 GET with the viewer token: $RES is "CODE BODY"
#   serving DESC             asserts: /healthz, /api/v1/repos and / answer 200
#   state_of CASCADE TASK    "state:runs" from scaffold status
#   state_is CASCADE TASK STATE:RUNS   for wait_for
#   last_run CASCADE TASK    the task's last run id
#   repo_field REPO FIELD    a string field of the repo in /api/v1/repos
#   log_of CASCADE TASK      its last run's log without the header line and
#                            with durations removed
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"
D=$T/data
export HOME="$T/home"
mkdir -p "$HOME"
unset SCAFFOLD_SERVER SCAFFOLD_TOKEN SCAFFOLD_DATA_DIR
SPID=

new_repo() {
	tgit init -q --bare -b main "$T/$1.git"
	tgit clone -q "$T/$1.git" "$T/$1" 2>/dev/null
	mkdir -p "$T/$1/.scaffold"
}

put() {
	printf '%s\n' "$3" >"$T/$1/.scaffold/$2"
}

push() {
	(cd "$T/$1" && tgit add -A && tgit commit -q -m "$2" &&
		tgit push -q -f origin main 2>/dev/null)
	SHA=$(tgit -C "$T/$1" rev-parse HEAD)
}

cascade_other() {
	printf 'version: v1\nname: other\nrunner: local\ntasks:\n  - name: say\n    run: echo %s\n' "$1"
}

new_other() {
	new_repo other
	push_other "$1" first
}

push_other() {
	put other other.yaml "$(cascade_other "$1")"
	push other "$2"
}

serve_config() {
	printf 'data_dir: data\nlisten: 127.0.0.1:0\npoll_interval: 250ms\nlocal: {user: nobody}\nrepos:\n' >"$T/scaffold.yaml"
	for _r; do
		printf '  - name: %s\n    url: %s\n    runners: [local, docker, ssh]\n' "$_r" "$T/$_r.git" >>"$T/scaffold.yaml"
	done
}

serve_start() {
	[ -n "${VIEW:-}" ] ||
		VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)
	: >"$T/$1"
	"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/$1" &
	SPID=$!
	serve_port "$T/$1" 20
	U="http://127.0.0.1:$PORT"
}

serve_stop() {
	kill -TERM "$SPID"
	wait "$SPID"
	_rc=$?
	SPID=
	return $_rc
}

api() {
	_code=$(curl -s -m 10 -o "$T/.body" -w '%{http_code}' \
		-H "Authorization: Bearer $VIEW" "$U$1")
	RES="$_code $(cat "$T/.body" 2>/dev/null)"
}

# serving DESC: the daemon answers its health check, the API and the
# status page
serving() {
	api /healthz
	_h=$RES
	api /api/v1/repos
	_r=${RES%% *}
	api /
	is "$_h ${_r} ${RES%% *}" '200 {"status":"ok"} 200 200' "$1"
}

state_of() {
	"$SCAFFOLD" status -d "$D" "$1" 2>/dev/null |
		awk -v t="$2" '$1 == t {print $2 ":" $3}'
}

state_is() {
	[ "$(state_of "$1" "$2")" = "$3" ]
}

last_run() {
	"$SCAFFOLD" status -d "$D" -o json "$1" 2>/dev/null | tr -d ' \n' |
		sed 's/},{/}\n{/g' | grep "\"name\":\"$2\"" |
		sed -n 's/.*"last_run":\([0-9]*\).*/\1/p'
}

repo_field() {
	api /api/v1/repos
	printf '%s\n' "${RES#* }" | tr -d '\n' | sed 's/},{"name"/}\n{"name"/g' |
		grep "\"name\":\"$1\"" | sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p" |
		head -1
}

log_of() {
	"$SCAFFOLD" logs -d "$D" "$1" "$2" 2>/dev/null | sed -n '2,$p' |
		sed 's/ after [0-9a-z.]*$//'
}
