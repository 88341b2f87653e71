// Command testcount reads `go test -json` output of package enginetest and
// prints pass, fail and skip counts of the leaf tests (the queries and
// script assertions), per suite and in total, for Coffer and, when
// TestMemoryBaseline ran, for the memory engine.
//
// With -asked FILE (written by the harness under COFFER_ENGINETEST_RECORD)
// it also prints, for every failing leaf, the skip list entry that would
// skip it and the first lines of its error: the raw material of
// testdata/skip.txt.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cofferdb/coffer/sql/enginetest/internal/testname"
)

const baselineTest = "TestMemoryBaseline"

type event struct {
	Action string
	Test   string
	Output string
}

type result struct {
	action string
	output []string
}

func main() {
	asked := flag.String("asked", "", "file of queries the harness was asked about (COFFER_ENGINETEST_RECORD); print skip candidates for failures")
	flag.Parse()
	results, order, err := readEvents(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testcount:", err)
		os.Exit(2)
	}
	leaves := leafTests(order, results)
	printCounts(os.Stdout, results, leaves)
	if *asked != "" {
		texts, err := readAsked(*asked)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testcount:", err)
			os.Exit(2)
		}
		printCandidates(os.Stdout, results, order, leaves, texts)
	}
}

func readEvents(r io.Reader) (map[string]*result, []string, error) {
	results := map[string]*result{}
	var order []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Test == "" {
			continue // build output and package lines
		}
		res := results[ev.Test]
		if res == nil {
			res = &result{}
			results[ev.Test] = res
			order = append(order, ev.Test)
		}
		switch ev.Action {
		case "pass", "fail", "skip":
			res.action = ev.Action
		case "output":
			if len(res.output) < 400 {
				res.output = append(res.output, ev.Output)
			}
		}
	}
	return results, order, sc.Err()
}

// leafTests returns, in order, the tests that count: those without
// subtests, and those that failed in their own body (no subtest of theirs
// failed), which would otherwise go uncounted.
func leafTests(order []string, results map[string]*result) []string {
	parent := map[string]bool{}
	failedBelow := map[string]bool{}
	for _, name := range order {
		for i := 0; i < len(name); i++ {
			if name[i] != '/' {
				continue
			}
			parent[name[:i]] = true
			if results[name].action == "fail" {
				failedBelow[name[:i]] = true
			}
		}
	}
	var out []string
	for _, name := range order {
		ownFailure := results[name].action == "fail" && !failedBelow[name]
		if !parent[name] || ownFailure {
			out = append(out, name)
		}
	}
	return out
}

type counts struct{ pass, fail, skip int }

func (c *counts) add(action string) {
	switch action {
	case "pass":
		c.pass++
	case "skip":
		c.skip++
	default: // "fail", or no result: the test binary died under it
		c.fail++
	}
}

// engineAndSuite splits a test name into the engine that ran it and the
// upstream suite.
func engineAndSuite(name string) (string, string) {
	parts := strings.SplitN(name, "/", 3)
	if parts[0] == baselineTest {
		if len(parts) < 2 {
			return "memory", "(none)"
		}
		return "memory", parts[1]
	}
	return "coffer", parts[0]
}

func printCounts(w io.Writer, results map[string]*result, leaves []string) {
	per := map[string]map[string]*counts{"coffer": {}, "memory": {}}
	var suites []string
	seen := map[string]bool{}
	for _, name := range leaves {
		eng, suite := engineAndSuite(name)
		if name == baselineTest {
			continue // skipped unless asked for
		}
		if per[eng][suite] == nil {
			per[eng][suite] = &counts{}
		}
		per[eng][suite].add(results[name].action)
		if !seen[suite] {
			seen[suite] = true
			suites = append(suites, suite)
		}
	}
	sort.Strings(suites)
	baseline := len(per["memory"]) > 0
	fmt.Fprintf(w, "%-24s %8s %8s %8s", "suite", "passed", "failed", "skipped")
	if baseline {
		fmt.Fprintf(w, " %12s %8s", "memory pass", "ratio")
	}
	fmt.Fprintln(w)
	var total, mem counts
	cofferOnShared := 0 // Coffer's passes on suites the memory engine passes something of
	for _, s := range suites {
		c := per["coffer"][s]
		if c == nil {
			c = &counts{}
		}
		total.pass, total.fail, total.skip = total.pass+c.pass, total.fail+c.fail, total.skip+c.skip
		fmt.Fprintf(w, "%-24s %8d %8d %8d", s, c.pass, c.fail, c.skip)
		if m := per["memory"][s]; baseline && m != nil {
			mem.pass, mem.fail, mem.skip = mem.pass+m.pass, mem.fail+m.fail, mem.skip+m.skip
			if m.pass > 0 {
				cofferOnShared += c.pass
				fmt.Fprintf(w, " %12d %7.1f%%", m.pass, pct(c.pass, m.pass))
			} else {
				fmt.Fprintf(w, " %12d %8s", m.pass, "-")
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "enginetest: %d passed, %d failed, %d skipped\n", total.pass, total.fail, total.skip)
	if baseline {
		fmt.Fprintf(w, "memory engine: %d passed, %d failed, %d skipped; on the suites it runs, Coffer passes %d = %.1f%% of its count\n",
			mem.pass, mem.fail, mem.skip, cofferOnShared, pct(cofferOnShared, mem.pass))
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// asked is what the harness recorded for one suite.
type asked struct {
	texts   []string // queries and script names
	scripts map[string]bool
}

// readAsked reads the harness's record: quoted "suite\tkind\ttext" lines.
func readAsked(path string) (map[string]*asked, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]*asked{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line, err := strconv.Unquote(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("%s: bad record %q", path, line)
		}
		suite, kind, text := parts[0], parts[1], parts[2]
		a := out[suite]
		if a == nil {
			a = &asked{scripts: map[string]bool{}}
			out[suite] = a
		}
		a.texts = append(a.texts, text)
		if kind == "script" {
			a.scripts[text] = true
		}
	}
	return out, sc.Err()
}

// printCandidates prints, for each failing Coffer leaf, the skip list
// entry that would skip it: the longest asked text the leaf's name ends
// with, scoped to its script when the name's parent is a script the
// harness was asked about.
func printCandidates(w io.Writer, results map[string]*result, order, leaves []string, record map[string]*asked) {
	fmt.Fprintln(w, "\n# skip candidates for failing tests")
	repeats := map[string]int{} // tests that share a name but for testing's "#NN"
	for _, name := range order {
		repeats[testname.StripNumber(name)]++
	}
	for _, name := range leaves {
		eng, suite := engineAndSuite(name)
		if eng != "coffer" || results[name].action != "fail" {
			continue
		}
		base := testname.StripNumber(name)
		a := record[suite]
		if a == nil {
			a = &asked{}
		}
		best := ""
		for _, text := range a.texts {
			if len(text) > len(best) && strings.HasSuffix(base, "/"+testname.Rewrite(text)) {
				best = text
			}
		}
		if best == "" {
			fmt.Fprintf(w, "# unmatched: %s\n", name)
		} else {
			scope, script := suite, ""
			parent := strings.TrimSuffix(base, "/"+testname.Rewrite(best))
			for text := range a.scripts {
				if text != best && len(text) > len(script) && testname.HasElement(parent, testname.Rewrite(text)) {
					script = text
				}
			}
			text := normalize(best)
			if script != "" {
				scope = suite + "/" + normalize(script)
				if repeats[base] > 1 {
					text = fmt.Sprintf("#%d %s", occurrence(name), text)
				}
			}
			fmt.Fprintf(w, "%s | %s\n", scope, text)
		}
		for _, l := range errorLines(results[name].output) {
			fmt.Fprintf(w, "#    %s\n", l)
		}
	}
}

// occurrence returns which of the tests sharing a name this is: 1 for the
// first, n+1 for testing's "#0n" suffix.
func occurrence(name string) int {
	base := testname.StripNumber(name)
	if base == name {
		return 1
	}
	n, _ := strconv.Atoi(name[len(base)+1:])
	return n + 1
}

// normalize is the skip list's: runs of white space become one space.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// errorLines returns the first lines of testify's "Error:" message.
func errorLines(output []string) []string {
	var out []string
	in := false
	for _, o := range output {
		l := strings.TrimSpace(o)
		switch {
		case strings.HasPrefix(l, "Error:"):
			in = true
			l = strings.TrimSpace(strings.TrimPrefix(l, "Error:"))
		case strings.HasPrefix(l, "Test:") || strings.HasPrefix(l, "Messages:") || strings.HasPrefix(l, "Error Trace:"):
			in = false
		case strings.HasPrefix(l, "panic:"):
			in = true
		}
		if in && l != "" {
			out = append(out, l)
			if len(out) >= 6 {
				break
			}
		}
	}
	return out
}
