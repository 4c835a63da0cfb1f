# Reads stestr's output; prints each failed test's name and the last
# lines of its captured traceback (where the exception rose and what it
# said), so that the tail of a long CI log is enough to start from.
function flush(    i, first) {
    if (name == "") return
    print "  " name
    first = n > 8 ? n - 7 : 1
    for (i = first; i <= n; i++) print "      " lines[i]
    name = ""; n = 0; traceback = 0
}
/^\{[0-9]+\} .* \.\.\. / {
    flush()
    if ($0 ~ /\.\.\. FAILED$/) {
        name = $0
        sub(/^\{[0-9]+\} /, "", name)
        sub(/ \[[0-9.]+s\] \.\.\. FAILED$/, "", name)
    }
    next
}
/^=+$/ { flush(); next }
/^Captured [a-z]+:$/ { traceback = ($0 == "Captured traceback:"); next }
# stestr indents a traceback; unindented lines are other output.
name != "" && traceback && /^    +[^ ]/ {
    sub(/^ +/, ""); lines[++n] = $0
}
END { flush() }
