#!/bin/bash
# What --log costs on a build: make -j2 of N generated C files, natively
# and under litebox without a log, with --log (level all) and with
# --log-level refused. Median of REPS runs each; see docs/benchmarks.md,
# section "logging".
#   tests/bench/logbench.sh [LITEBOX] [N_FILES] [REPS]
set -euo pipefail
litebox=$(realpath "${1:-build/cmd/litebox}")
n=${2:-50}
reps=${3:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for i in $(seq "$n"); do
	{
		echo "#include <stdio.h>"
		echo "#include <stdlib.h>"
		echo "#include <string.h>"
		for j in $(seq 20); do
			echo "int f${i}_$j(int x) { char b[64]; snprintf(b, sizeof b, \"%d\", x * $j); return (int)strlen(b) + atoi(b); }"
		done
	} >"m$i.c"
done
echo 'int main(void) { return 0; }' >main.c
{
	echo "OBJ = main.o $(seq -f 'm%g.o' -s ' ' "$n")"
	printf 'prog: $(OBJ)\n\tcc -o $@ $(OBJ)\n%%.o: %%.c\n\tcc -O2 -c $<\n'
} >Makefile

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_one() { # label cmd...
	local label=$1
	shift
	local samples=() lines=""
	for _ in $(seq "$reps"); do
		make -s clean >/dev/null 2>&1 || rm -f ./*.o prog
		local t0 t1
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s.%N)
		samples+=("$(echo "$t1 - $t0" | bc)")
	done
	[ -f log.jsonl ] && lines=$(wc -l <log.jsonl) && bytes=$(stat -c %s log.jsonl) && rm -f log.jsonl
	printf '%-34s %8.2f s   %s\n' "$label" "$(printf '%s\n' "${samples[@]}" | median)" \
		"${lines:+log: $lines lines, $((bytes / 1024)) KiB}"
}
echo 'clean:; rm -f *.o prog' >>Makefile
echo "make -j2 of $n files, median of $reps runs ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
time_one "native" make -j2
time_one "litebox" "$litebox" run -q -- make -j2
time_one "litebox --log" "$litebox" run -q --log log.jsonl -- make -j2
time_one "litebox --log --log-level refused" "$litebox" run -q --log log.jsonl --log-level refused -- make -j2
