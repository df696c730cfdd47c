# SPDX-License-Identifier: Apache-2.0
# fold-perf.awk - fold `perf script` output (perf record -g) into folded stacks, one
# line per distinct stack: "comm;outermost;...;innermost COUNT". A short stand-in for
# FlameGraph's stackcollapse-perf.pl (which Debian does not package), with the same
# rules smolder's folded output uses: function offsets dropped, kernel frames suffixed
# "_[k]", an unknown function named after its object as "[libfoo.so]". Lines unsorted
# (flame graph renderers merge them). Works with mawk and gawk.
#
#   perf script -i perf.data | awk -f fold-perf.awk > perf.folded

function flush() {
	if (comm != "") {
		count[comm stack]++
		nsamples++
	}
	comm = ""
	stack = ""
}

# A sample header: "comm  TID  TIME:  PERIOD EVENT:" (comm may contain spaces).
/^[^ \t]/ {
	flush()
	comm = $0
	sub(/[ \t]+[0-9]+(\/[0-9]+)?[ \t]+[0-9]+\.[0-9]+:.*$/, "", comm)
	next
}

# A frame: "\t ADDR SYMBOL+0xOFF (DSO)", innermost first.
/^[ \t]+[0-9a-f]+ / {
	line = $0
	sub(/^[ \t]+[0-9a-f]+ /, "", line)
	dso = line
	if (match(line, / \([^()]*\)$/)) {
		dso = substr(line, RSTART + 2, RLENGTH - 3)
		line = substr(line, 1, RSTART - 1)
	} else
		dso = "[unknown]"
	sub(/\+0x[0-9a-f]+$/, "", line)
	if (line == "[unknown]" && dso != "[unknown]") {
		sub(/.*\//, "", dso)
		line = "[" dso "]"
	} else if (dso ~ /kernel\.kallsyms|^\[kernel/)
		line = line "_[k]"
	gsub(/;/, ":", line)
	stack = ";" line stack
	next
}

/^[ \t]*$/ { flush() }

END {
	flush()
	for (s in count)
		print s, count[s]
	printf "fold-perf: %d samples, %d distinct stacks\n", nsamples, length(count) > "/dev/stderr"
}
