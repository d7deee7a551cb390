#!/bin/sh
# The EKS example on the local runner: after create_db_users is edited,
# exactly it and its ten descendants run again.
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1
D="$T/data"

# the example without images and sleeps, on the local runner
mkdir "$T/repo"
sed -e '/image: ubuntu/d' -e '/sleep 1/d' -e 's,/tmp/run/,"$SCAFFOLD_RUN_DIR"/,' -e 's/^name: application-deploy/name: application-deploy\nrunner: local/' \
	examples/application-deploy.yaml >"$T/repo/deploy.yaml"

run "$SCAFFOLD" apply -q -d "$D" -j 4 "$T/repo"
is "$RC" 0 "the whole cascade succeeds"
is "$(echo "$OUT" | awk '$2 == "success" && $3 == 1' | wc -l)" 15 "every task ran once"

sed -i 's/echo "Users created"/echo "Users created, v2"/' "$T/repo/deploy.yaml"
run "$SCAFFOLD" apply -d "$D" "$T/repo"
is "$RC" 0 "the second revision succeeds"
is "$(echo "$ERR" | head -1)" "cascade 'application-deploy': 0 new, 1 changed, 0 removed; 10 downstream reset" "one changed, ten downstream"
is "$(echo "$OUT" | awk '$3 == 2 {print $1}' | sort | tr '\n' ' ')" "create_db_users deploy_application deploy_traefik deregister_old destroy_old_application destroy_old_traefik east_coast_check midwest_check register_new run_tests west_coast_check " "exactly those eleven ran again"
is "$(echo "$OUT" | awk '$3 == 1 {print $1}' | sort | tr '\n' ' ')" "build_images create_db_schemas deploy_terraform push_images " "the other four did not"

run "$SCAFFOLD" logs -d "$D" application-deploy create_db_users
is "$(echo "$OUT" | sed -n 2p)" "Users created, v2" "the new definition ran"

# the state history says why
run "$SCAFFOLD" apply -d "$D" "$T/repo"
is "$(echo "$ERR" | head -1)" "cascade 'application-deploy': no change" "the same revision again changes nothing"
done_testing
