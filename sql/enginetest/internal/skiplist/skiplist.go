// Package skiplist reads the list of upstream engine tests Coffer is known
// to fail (sql/enginetest/testdata/skip.txt) and answers whether a query,
// setup statement or script is on it.
package skiplist

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// AnySuite is the suite name of a skip entry that applies to every suite.
const AnySuite = "*"

// List is the set of upstream tests Coffer is known to fail, each with
// the reason. It is read from a text file:
//
//	# a comment
//	[FULLTEXT indexes unsupported]
//	TestScripts | fulltext: basic
//	TestScripts/some script | select * from t
//	TestScripts/row_count() behavior | #5 select row_count()
//	* | select match(a) against ('x') from t
//
// A bracketed line starts a group: every entry below it is skipped for
// that reason. A reason starting with "!" marks entries that crash the
// test binary; they stay skipped when the rest of the list is off (see
// Crashing).
//
// An entry is "Scope | text". Scope is the Go test function that runs the
// upstream suite ("*" for every suite), optionally followed by "/" and a
// script name to apply only inside that script. Text is a query, a setup
// statement or a script name (which skips the whole script). Both are
// compared exactly but for runs of white space, which count as one space,
// so multi-line queries fit on one line; not case-insensitively, because
// upstream has queries that differ only in the case of a string literal.
// Text may start with "#N " to skip only the Nth time a script runs that
// exact query: scripts repeat queries such as "select row_count()".
type List struct {
	reasons map[skipKey]string
	// crashOnly keeps only the "!" entries: the rest of the list is off,
	// to find entries whose tests pass by now.
	crashOnly bool

	mu   sync.Mutex
	used map[skipKey]bool
}

// skipKey is a normalized entry: scope is "Suite" or "Suite/script"; nth
// is the occurrence of text in the script, 0 for every one.
type skipKey struct {
	scope, text string
	nth         int
}

// Parse reads a skip list.
func Parse(r io.Reader) (*List, error) {
	s := &List{reasons: map[skipKey]string{}, used: map[skipKey]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	reason, n := "", 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			reason = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		scope, text, ok := strings.Cut(line, "|")
		if !ok {
			return nil, fmt.Errorf("skip list line %d: want \"Suite | query\", got %q", n, line)
		}
		if reason == "" {
			return nil, fmt.Errorf("skip list line %d: entry before any [reason] line", n)
		}
		nth, text, err := parseOccurrence(text)
		if err != nil {
			return nil, fmt.Errorf("skip list line %d: %w", n, err)
		}
		k := skipKey{scopeKey(scope), Normalize(text), nth}
		if k.scope == "" || k.text == "" {
			return nil, fmt.Errorf("skip list line %d: empty scope or text in %q", n, line)
		}
		if old, dup := s.reasons[k]; dup {
			return nil, fmt.Errorf("skip list line %d: %s | %s listed twice (also under [%s])", n, k.scope, k.text, old)
		}
		s.reasons[k] = reason
	}
	return s, sc.Err()
}

// Load reads the skip list file at path.
func Load(path string) (*List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Reason returns why text is skipped in script (may be "") of suite, if
// it is; nth counts the times the script ran text so far (1 for the first).
func (s *List) Reason(suite, script, text string, nth int) (string, bool) {
	if s == nil {
		return "", false
	}
	norm := Normalize(text)
	var keys []skipKey
	if script != "" {
		scoped := scopeKey(suite + "/" + script)
		keys = append(keys, skipKey{scoped, norm, nth}, skipKey{scoped, norm, 0})
	}
	keys = append(keys, skipKey{suite, norm, 0}, skipKey{AnySuite, norm, 0})
	for _, k := range keys {
		if r, ok := s.reasons[k]; ok {
			if s.crashOnly && !strings.HasPrefix(r, "!") {
				continue
			}
			s.mu.Lock()
			s.used[k] = true
			s.mu.Unlock()
			return r, true
		}
	}
	return "", false
}

// Crashing returns the list reduced to its "!" entries, the tests that
// would crash the test binary.
func (s *List) Crashing() *List {
	if s == nil {
		return nil
	}
	return &List{reasons: s.reasons, crashOnly: true, used: map[skipKey]bool{}}
}

// Len returns the number of entries.
func (s *List) Len() int {
	if s == nil {
		return 0
	}
	return len(s.reasons)
}

// Unused returns the entries of the given suites that no test asked
// about: stale entries, once every one of those suites has run.
func (s *List) Unused(suites ...string) []string {
	if s == nil {
		return nil
	}
	want := map[string]bool{}
	for _, su := range suites {
		want[su] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.reasons {
		suite, _, _ := strings.Cut(k.scope, "/")
		if want[suite] && !s.used[k] {
			text := k.text
			if k.nth > 0 {
				text = fmt.Sprintf("#%d %s", k.nth, text)
			}
			out = append(out, k.scope+" | "+text)
		}
	}
	sort.Strings(out)
	return out
}

// scopeKey normalizes "Suite" or "Suite/script name": the suite keeps its
// case (it is a Go identifier), the script is normalized like text.
func scopeKey(scope string) string {
	suite, script, ok := strings.Cut(strings.TrimSpace(scope), "/")
	if !ok {
		return suite
	}
	return suite + "/" + Normalize(script)
}

// parseOccurrence splits "#N text" into N and text; other text has N 0.
func parseOccurrence(text string) (int, string, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "#") {
		return 0, text, nil
	}
	num, rest, _ := strings.Cut(text[1:], " ")
	nth, err := strconv.Atoi(num)
	if err != nil || nth < 1 {
		return 0, "", fmt.Errorf("bad occurrence %q: want \"#N query\" with N >= 1", text)
	}
	return nth, rest, nil
}

// Normalize collapses runs of white space to one space.
func Normalize(text string) string {
	return strings.Join(strings.Fields(text), " ")
}
