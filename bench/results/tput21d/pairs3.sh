#!/bin/bash
cd /tmp/tput21d/ab
for v in after before; do
  uptime > $v-sync3.uptime; timeout 900 /tmp/tput21d/$v/sotto-bench --server-binary /tmp/tput21d/S-server --json $v-sync3.json client-sync --backlogs 1000,10000 --repeats 3 > $v-sync3.txt 2>&1; uptime >> $v-sync3.uptime
done
echo ALLDONE > pairs3.done
