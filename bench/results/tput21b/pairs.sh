#!/bin/sh
# Plain glibc malloc against malloc with transparent huge pages, the same binary, back to back.
for i in 1 2 3 4 5; do
  for v in plain thp; do
    echo "$v$i start $(cat /proc/loadavg)" >> pairs.uptime
    if [ $v = thp ]; then export GLIBC_TUNABLES=glibc.malloc.hugetlb=1; else unset GLIBC_TUNABLES; fi
    ./before-bench client-sync --backlogs 1000,10000 --json r-$v$i.json > r-$v$i.txt 2>&1
    echo "$v$i end $(cat /proc/loadavg)" >> pairs.uptime
  done
done
