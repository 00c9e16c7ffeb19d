#!/bin/bash
# A/B pairs, alternating; uptime before and after each run.
cd /tmp/tput21c/ab
for i in 1 2; do
  for v in before after1; do
    uptime > $v-open$i.uptime; timeout 600 ./$v-bench profile-open --history 1000 --repeats 5 --json $v-open$i.json > $v-open$i.txt 2>&1; uptime >> $v-open$i.uptime
  done
done
for i in 1 2; do
  for v in before after1; do
    uptime > $v-sync$i.uptime; timeout 900 ./$v-bench client-sync --backlogs 1000,10000 --repeats 3 --json $v-sync$i.json > $v-sync$i.txt 2>&1; uptime >> $v-sync$i.uptime
  done
done
echo ALLDONE > pairs.done
