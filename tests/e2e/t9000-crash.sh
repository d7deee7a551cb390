#!/bin/sh
# Crash safety, the short version of the crash campaign (tests/crash/
# campaign.sh; `make crash` runs the long one): scaffold serve killed with
# SIGKILL at random moments while a 50-task cascade (a third each local,
# docker and ssh; no retries) reconciles each of a few pushes, then
# restarted; each push must settle as an undisturbed run does, each task
# run as often, no run that had started lost, no task running twice at
# once, every accepted webhook processed, every commit status sent and
# the database intact.  CRASH_SEED picks the moments (printed in the
# output).
CRASH_TRIALS=${CRASH_SHORT_TRIALS:-4}
export CRASH_TRIALS
exec sh "$(dirname "$0")/../crash/campaign.sh"
