#!/bin/sh
# ab.sh compares tunings of the self-contained stack with interleaved runs of
# `odr bench --json`: A, B, A, B, ... so that both meet the same variations
# of a shared machine's load. One tab-separated line per run on stdout, then
# the median of each figure per tuning.
#
# usage: bench/ab.sh REPS 'FLAGS A' 'FLAGS B' [COMMON FLAGS...]
#   e.g. bench/ab.sh 3 '' '--workflow-pollers 8' --duration 10s
# ODR (default ./bin/odr) is the binary; needs jq.
set -eu

[ $# -ge 3 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
reps=$1 a=$2 b=$3
shift 3
odr=${ODR:-./bin/odr}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

printf 'tuning\tapi/s\traw/s\tratio\tapi_p50\traw_p50\tapi_p99\traw_p99\terrors\tload\n'
i=0
while [ "$i" -lt "$reps" ]; do
	for label in A B; do
		if [ "$label" = A ]; then flags=$a; else flags=$b; fi
		# shellcheck disable=SC2086 # flags are word-split on purpose
		"$odr" bench --json $flags "$@" 2>/dev/null |
			jq -r --arg t "$label" '[$t, .api.throughput, .raw.throughput, .ratio, .api.p50_ms, .raw.p50_ms,
				.api.p99_ms, .raw.p99_ms, (.api.errors + .raw.errors), .run.load_before]
				| map(if type == "number" then (. * 1000 | round / 1000) else . end) | @tsv' |
			tee -a "$out"
	done
	i=$((i + 1))
done

echo "# medians"
for label in A B; do
	if [ "$label" = A ]; then flags=$a; else flags=$b; fi
	awk -F'\t' -v t="$label" '$1 == t' "$out" |
		jq -R -s -r --arg t "$label" --arg f "$flags" '
			[split("\n")[] | select(length > 0) | split("\t") | .[1:] | map(tonumber)] as $rows
			| [range(0; $rows[0] | length) as $c | [$rows[][$c]] | sort | .[(length - 1) / 2 | floor]]
			| [$t] + map(tostring) + ["(" + (if $f == "" then "defaults" else $f end) + ")"] | @tsv'
done
