# gen-cascade.awk - the cascade of the crash campaign (tests/crash/):
# 50 tasks in five layers, fan-out and fan-in, a third each on the local,
# docker and ssh runners, values and files passed down, and three tasks
# (t07 docker, t20 ssh, t33 local) that fail while their GEN is odd, with
# error and always dependents.  Docker and ssh tasks sleep 0.05 to 0.5 s,
# local ones 0.5 to 1.4 s.  No task has retries: a run that a crash
# of scaffold cost shows in the final states.  The shape is fixed; only
# the GEN of each task changes from commit to commit.
#
#   awk -v gens="G0 G1 ... G49" -v locks=DIR -v image=IMG -v host=HOST \
#       -f gen-cascade.awk
#
# Every run prints "start tNN run ID" first and "end tNN run ID" last: its
# log shows whether its script ran, and how often.  Every local and ssh
# task is also its own witness: it holds flock(1) on DIR/tNN (a file that
# exists, opened read-only: a local task's sandbox has the host's files
# read-only) while it runs; a run that finds it held by another one says
# "DOUBLE" in its log (and, where it can write, in DIR/DOUBLE.<run>).
# DIR must not be under /tmp, /var/tmp or /dev/shm (a local task has its
# own).  Every task has CRASH_CAMPAIGN=DIR in its environment, for the
# campaign to tell its processes from others'.  Docker tasks cannot see
# DIR (no volumes); the campaign watches the engine's containers for
# them, and every task's processes on the machine.
function rnd(m) {
	seed = (seed * 16807) % 2147483647
	return seed % m
}
function tname(i) { return sprintf("t%02d", i) }
function layer(i,   l) {
	for (l = 0; l < 5; l++)
		if (i < start[l + 1])
			return l
}
BEGIN {
	n = 50
	split("0 6 18 32 44 50", s, " ")
	for (l = 0; l <= 5; l++)
		start[l] = s[l + 1]
	if (split(gens, g, " ") != n) {
		print "gen-cascade.awk: gens must hold 50 numbers" >"/dev/stderr"
		exit 2
	}
	fails[7] = fails[20] = fails[33] = 1
	errdep[25] = 7
	errdep[21] = 20
	alwaysdep[40] = 33
	seed = 4711
	print "version: v1"
	print "name: crash"
	print "description: the crash campaign's cascade (tests/crash)"
	print "tasks:"
	for (i = 0; i < n; i++) {
		runner = i % 3 == 0 ? "local" : i % 3 == 1 ? "docker" : "ssh"
		stores = i % 4 == 0
		L = layer(i)
		np = 0
		delete par
		if (L > 0) {
			want = 1 + rnd(3)
			for (k = 0; k < want * 4 && np < want; k++) {
				# mostly the layer above, sometimes any earlier one
				if (rnd(4))
					p = start[L - 1] + rnd(start[L] - start[L - 1])
				else
					p = rnd(start[L])
				if (p in fails)
					continue
				dup = 0
				for (q = 1; q <= np; q++)
					if (par[q] == p)
						dup = 1
				if (!dup)
					par[++np] = p
			}
		}
		printf "  - name: %s\n", tname(i)
		printf "    runner: %s\n", runner
		if (runner == "docker")
			printf "    image: %s\n", image
		if (runner == "ssh")
			printf "    hosts: [%s]\n", host
		printf "    retries: 0\n"
		printf "    env: {GEN: \"%d\", CRASH_CAMPAIGN: \"%s\"}\n", g[i + 1], \
			locks
		if (np || (i in errdep) || (i in alwaysdep)) {
			printf "    depends_on:\n      success: ["
			for (q = 1; q <= np; q++)
				printf "%s%s", (q > 1 ? ", " : ""), tname(par[q])
			printf "]\n"
			if (i in errdep)
				printf "      error: [%s]\n", tname(errdep[i])
			if (i in alwaysdep)
				printf "      always: [%s]\n", tname(alwaysdep[i])
		}
		nl = 0
		for (q = 1; q <= np; q++)
			if (par[q] % 4 == 0)
				ld[++nl] = par[q]
		if (nl) {
			printf "    load:\n      env: ["
			for (q = 1; q <= nl; q++)
				printf "%sV_%s", (q > 1 ? ", " : ""), tname(ld[q])
			printf "]\n      file: ["
			for (q = 1; q <= nl; q++)
				printf "%s%s.txt", (q > 1 ? ", " : ""), tname(ld[q])
			printf "]\n"
		}
		if (stores)
			printf "    store: {env: [V_%s], file: [%s.txt]}\n", \
				tname(i), tname(i)
		t = tname(i)
		printf "    run: |\n"
		printf "      echo \"start %s run $SCAFFOLD_RUN_ID\"\n", t
		if (runner != "docker") {
			printf "      exec 9<%s/%s\n", locks, t
			printf "      if ! flock -n 9; then\n"
			printf "        echo \"DOUBLE %s: run $SCAFFOLD_RUN_ID started while another run held the lock\"\n", t
			if (runner == "ssh")
				printf "        echo \"%s: run $SCAFFOLD_RUN_ID started while another run held the lock\" >%s/DOUBLE.$SCAFFOLD_RUN_ID\n", t, locks
			printf "      fi\n"
		}
		# local tasks longer: a container takes seconds to start and
		# end anyway, and kills should find local runs in flight as
		# often as docker ones
		if (runner == "local")
			printf "      sleep %.1f\n", 0.5 + (i * 37) % 10 * 0.1
		else
			printf "      sleep 0.%02d\n", 5 + (i * 37) % 10 * 5
		if (i in fails) {
			printf "      if [ $((GEN %% 2)) -ne 0 ]; then\n"
			printf "        echo \"%s fails on purpose at GEN $GEN\"\n", t
			printf "        exit 3\n"
			printf "      fi\n"
		}
		for (q = 1; q <= nl; q++)
			printf "      [ \"$(cat %s.txt)\" = \"$V_%s\" ]\n", \
				tname(ld[q]), tname(ld[q])
		if (stores) {
			printf "      V_%s=\"%s.g$GEN", t, t
			for (q = 1; q <= nl; q++)
				printf "+($V_%s)", tname(ld[q])
			printf "\"\n"
			printf "      printf '%%s\\n' \"$V_%s\" >%s.txt\n", t, t
		}
		printf "      echo \"end %s run $SCAFFOLD_RUN_ID\"\n", t
	}
}
