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
echo 'clean:; rm -f *.o prog' >>Makefile
# Interleaved: each round runs every configuration once, so a machine
# that gets busier or quieter affects them alike.
labels=("native" "litebox" "litebox --log" "litebox --log --log-level refused")
run_config() {
	case $1 in
	0) make -j2 ;;
	1) "$litebox" run -q -- make -j2 ;;
	2) "$litebox" run -q --log log.jsonl -- make -j2 ;;
	3) "$litebox" run -q --log log.jsonl --log-level refused -- make -j2 ;;
	esac
}
declare -A samples cpu logs
export litebox
export -f run_config
for _ in $(seq "$reps"); do
	for c in 0 1 2 3; do
		make -s clean >/dev/null 2>&1
		rm -f log.jsonl
		/usr/bin/time -f "%e %U %S" -o times bash -c "run_config $c" >/dev/null 2>&1 || true
		read -r wall user sys <times
		samples[$c]+="$wall "
		cpu[$c]+="$(echo "$user + $sys" | bc) "
		[ -f log.jsonl ] && logs[$c]="log: $(wc -l <log.jsonl) lines, $(($(stat -c %s log.jsonl) / 1024)) KiB"
	done
done
echo "make -j2 of $n files, median of $reps interleaved rounds ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
for c in 0 1 2 3; do
	printf '%-34s %8.2f s wall %8.2f s CPU   %s\n' "${labels[$c]}" \
		"$(tr ' ' '\n' <<<"${samples[$c]}" | grep . | median)" \
		"$(tr ' ' '\n' <<<"${cpu[$c]}" | grep . | median)" "${logs[$c]:-}"
done
