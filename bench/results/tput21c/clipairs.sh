#!/bin/bash
cd /tmp/tput21c/ab
while [ ! -f pairs.done ]; do sleep 5; done
for i in 1 2 3; do
  for v in before after; do
    uptime > $v-cli$i.uptime
    LD_LIBRARY_PATH=/tmp/tput21c/ab/lib-$v timeout 600 ./before-bench cli-sync --sotto-binary /work/wt-tput21c/build/cli/sotto-cli --backlogs 1000 --json $v-cli$i.json > $v-cli$i.txt 2>&1
    uptime >> $v-cli$i.uptime
  done
done
echo ALLDONE > clipairs.done
