#!/usr/bin/env bash
# VmRSS after a full GC and a trim, and the JVM's own committed memory (NMT), with no agent and
# with unclosed full tracking (data=DIR) side by side, at the given seconds: where run.py's memory
# measure moves, this tells the JVM's (and the agent's) memory from malloc's.
#   bash bench/memory_nmt.sh 30 300 450 600      # about 10 minutes; a table row per mode and time
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
javac -d "$work/classes" bench/ZlibBench.java
agent=controller/unclosed/jars/unclosed-agent.jar

measure() {  # MODE SECONDS...
    local mode=$1; shift
    local options=()
    [ "$mode" = full ] && options=("-javaagent:$agent=data=$work/$mode-data")
    java -Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:NativeMemoryTracking=summary "${options[@]}" \
        -cp "$work/classes" ZlibBench gzip-1k-leak 0 $(( ${!#} + 60 )) 1 > "$work/$mode.out" 2>&1 &
    local pid=$! start=$SECONDS
    for t in "$@"; do
        while (( SECONDS - start < t )); do sleep 1; done
        jcmd "$pid" GC.run > /dev/null; sleep 1; jcmd "$pid" System.trim_native_heap > /dev/null
        local rss nmt
        rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
        nmt=$(jcmd "$pid" VM.native_memory summary | sed -n 's/.*Total: .*committed=\([0-9]*\)KB.*/\1/p' | awk '{printf "%.1f", $1 / 1024}')
        echo "| $mode | $t s | $rss MiB | $nmt MiB |"
    done
    kill "$pid"
}

echo "| mode | at | VmRSS after a full GC and a trim | NMT committed |"
echo "| --- | --- | --- | --- |"
measure none "$@" > "$work/none.rows" &
measure full "$@" > "$work/full.rows" &
wait %1 %2
cat "$work/none.rows" "$work/full.rows"
