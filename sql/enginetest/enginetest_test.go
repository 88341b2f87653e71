package enginetest

import (
	"flag"
	"fmt"
	"io"
	"os"
	"testing"

	gmsenginetest "github.com/dolthub/go-mysql-server/enginetest"
	"github.com/dolthub/go-mysql-server/enginetest/queries"

	"github.com/cofferdb/coffer/sql/enginetest/internal/skiplist"
)

// suite is one upstream enginetest suite.
type suite struct {
	name string
	run  func(*testing.T, gmsenginetest.Harness)
	// memory is the memory engine harness upstream's own
	// memory_engine_test.go runs the suite with, for the baseline.
	memory func() gmsenginetest.Harness
	// scripts are the upstream scripts the suite runs, for script-scoped
	// skip list entries.
	scripts []queries.ScriptTest
}

func defaultMemory() gmsenginetest.Harness { return gmsenginetest.NewDefaultMemoryHarness() }

// skippingMemory is upstream's choice for the transaction scripts: the
// memory engine has no transactions (no isolation, no savepoints) and
// panics on a write in a READ ONLY transaction, so upstream skips them all.
func skippingMemory() gmsenginetest.Harness { return gmsenginetest.NewSkippingMemoryHarness() }

// scripts joins script lists.
func scripts(lists ...[]queries.ScriptTest) []queries.ScriptTest {
	var out []queries.ScriptTest
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// transactionScripts returns the transaction tests as scripts: only the
// names matter here.
func transactionScripts() []queries.ScriptTest {
	names := make([]string, len(queries.TransactionTests))
	for i, tt := range queries.TransactionTests {
		names[i] = tt.Name
	}
	return named(names...)
}

func (s suite) scriptNames() []string {
	out := make([]string, len(s.scripts))
	for i, sc := range s.scripts {
		out[i] = sc.Name
	}
	return out
}

var (
	skips  *skiplist.List
	record io.Writer
)

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if skips, err = skiplist.Load("testdata/skip.txt"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if os.Getenv("COFFER_ENGINETEST_NOSKIP") == "1" {
		skips = skips.Crashing()
	}
	var f *os.File
	if p := os.Getenv("COFFER_ENGINETEST_RECORD"); p != "" {
		if f, err = os.Create(p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		record = f
	}
	code := m.Run()
	if f != nil {
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 2
		}
	}
	if flag.Lookup("test.run").Value.String() == "" && os.Getenv("COFFER_ENGINETEST_NOSKIP") != "1" {
		names := make([]string, len(suites))
		for i, s := range suites {
			names[i] = s.name
		}
		for _, e := range skips.Unused(names...) {
			fmt.Fprintf(os.Stderr, "enginetest: stale skip list entry: %s\n", e)
		}
	}
	os.Exit(code)
}

// runSuite runs the named upstream suite over a Coffer harness.
func runSuite(t *testing.T, name string) {
	for _, s := range suites {
		if s.name != name {
			continue
		}
		h, err := NewHarness(Config{Suite: name, Skips: skips, Scripts: s.scriptNames(), Record: record})
		if err != nil {
			t.Fatal(err)
		}
		s.run(t, h)
		return
	}
	t.Fatalf("no suite %s", name)
}

// TestMemoryBaseline runs the same suites on go-mysql-server's memory
// engine, for comparing pass counts (count.sh -baseline). It is off unless
// COFFER_ENGINETEST_BASELINE=1.
func TestMemoryBaseline(t *testing.T) {
	if os.Getenv("COFFER_ENGINETEST_BASELINE") != "1" {
		t.Skip("set COFFER_ENGINETEST_BASELINE=1 to run the memory engine baseline")
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			s.run(t, s.memory())
		})
	}
}
