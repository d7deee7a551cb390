#!/bin/sh
# The output a run keeps (issue 15, item 7) with the docker runner against
# a Docker engine of the test's own: a flood is cut at limits.run_log
# with a note and the run ends with its real exit status; a .display over
# 1 MiB is not kept (the checks of run-output.sh, as t2100 for local/ssh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
. "$(dirname "$0")/run-output.sh"
D="$T/data"
IMG=scaffold-test:busybox
start_dockerd
import_image "$IMG"
cat >"$T/config.yaml" <<Y
limits: {run_log: 64K}
docker: {socket: $DOCKER_SOCK}
Y

cascade cap-docker "runner: docker" "    image: $IMG" >"$T/docker.yaml"
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/docker.yaml"
is "$RC:$ERR" "1:" "docker: apply reports the failed task"
check cap-docker docker
is "$(dk ps -aq | wc -l)" 0 "no container is left behind"
done_testing
