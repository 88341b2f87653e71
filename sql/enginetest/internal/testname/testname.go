// Package testname reproduces how the testing package turns a subtest
// name into the name it reports, so that upstream queries and script names
// can be matched with `go test` output.
package testname

import (
	"strconv"
	"strings"
)

// Rewrite is testing's rewrite of a subtest name: white space becomes '_'
// and unprintable runes are escaped.
func Rewrite(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case isSpace(r):
			b.WriteByte('_')
		case !strconv.IsPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Last returns the last element of a test name, without the "#NN" suffix
// testing adds to repeated names.
func Last(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return StripNumber(name)
}

// StripNumber drops the "#NN" suffix testing adds to repeated names
// (two or more digits, as testing's "#%02d" writes them).
func StripNumber(name string) string {
	i := strings.LastIndex(name, "#")
	if i < 0 || i < strings.LastIndex(name, "/") {
		return name
	}
	n := name[i+1:]
	if len(n) < 2 || (len(n) > 2 && n[0] == '0') {
		return name
	}
	if _, err := strconv.Atoi(n); err != nil {
		return name
	}
	return name[:i]
}

// HasElement reports whether test name ends with the subtest element
// (already rewritten), which may itself contain '/'.
func HasElement(name, element string) bool {
	name = StripNumber(name)
	return strings.HasSuffix(name, "/"+element)
}

func isSpace(r rune) bool {
	if r < 0x2000 {
		switch r {
		case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680:
			return true
		}
		return false
	}
	if r <= 0x200a {
		return true
	}
	switch r {
	case 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return false
}
