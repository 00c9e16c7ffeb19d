#!/bin/bash
cd /tmp/tput21d/ab
for i in 1 2; do
  for v in before after; do
    uptime > $v-sync$i.uptime; timeout 900 /tmp/tput21d/$v/sotto-bench --server-binary /tmp/tput21d/S-server --json $v-sync$i.json client-sync --backlogs 1000,10000 --repeats 3 > $v-sync$i.txt 2>&1; uptime >> $v-sync$i.uptime
  done
done
echo ALLDONE > pairs.done
