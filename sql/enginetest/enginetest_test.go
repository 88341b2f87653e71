package enginetest

import (
	"flag"
	"fmt"
	"io"
	"os"
	"testing"

	gmsenginetest "github.com/dolthub/go-mysql-server/enginetest"
	"github.com/dolthub/go-mysql-server/enginetest/queries"
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
	scripts [][]queries.ScriptTest
}

func defaultMemory() gmsenginetest.Harness { return gmsenginetest.NewDefaultMemoryHarness() }

// skippingMemory is upstream's choice for the transaction scripts: the
// memory engine has no transactions (no isolation, no savepoints) and
// panics on a write in a READ ONLY transaction, so upstream skips them all.
func skippingMemory() gmsenginetest.Harness { return gmsenginetest.NewSkippingMemoryHarness() }

// suites are the upstream suites Coffer runs, under the names of the
// upstream functions; TestMemoryBaseline runs the same list on the memory
// engine.
var suites = []suite{
	{"TestQueries", gmsenginetest.TestQueries, defaultMemory, nil},
	{"TestInsertInto", gmsenginetest.TestInsertInto, defaultMemory, [][]queries.ScriptTest{queries.InsertScripts}},
	{"TestUpdate", gmsenginetest.TestUpdate, defaultMemory, nil},
	{"TestDelete", gmsenginetest.TestDelete, defaultMemory, nil},
	{"TestReplaceInto", gmsenginetest.TestReplaceInto, defaultMemory, nil},
	{"TestCreateTable", testCreateTable, defaultMemory, [][]queries.ScriptTest{
		queries.CreateTableScriptTests, queries.CreateTableInSubroutineTests, queries.CreateTableAutoIncrementTests}},
	{"TestAlterTable", gmsenginetest.TestAlterTable, defaultMemory, [][]queries.ScriptTest{queries.AlterTableScripts}},
	{"TestTransactionScripts", gmsenginetest.TestTransactionScripts, skippingMemory, [][]queries.ScriptTest{transactionScripts()}},
	{"TestForeignKeys", gmsenginetest.TestForeignKeys, defaultMemory, [][]queries.ScriptTest{queries.ForeignKeyTests}},
	{"TestChecksOnInsert", gmsenginetest.TestChecksOnInsert, defaultMemory, [][]queries.ScriptTest{queries.ChecksOnInsertScripts}},
	{"TestScripts", gmsenginetest.TestScripts, defaultMemory, [][]queries.ScriptTest{queries.ScriptTests}},
}

// transactionScripts returns the transaction tests as scripts: only the
// names matter here.
func transactionScripts() []queries.ScriptTest {
	out := make([]queries.ScriptTest, len(queries.TransactionTests))
	for i, tt := range queries.TransactionTests {
		out[i].Name = tt.Name
	}
	return out
}

func (s suite) scriptNames() []string {
	var out []string
	for _, list := range s.scripts {
		for _, sc := range list {
			out = append(out, sc.Name)
		}
	}
	return out
}

var (
	skips  *SkipList
	record io.Writer
)

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if skips, err = LoadSkipList("testdata/skip.txt"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if p := os.Getenv("COFFER_ENGINETEST_RECORD"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		record = f
	}
	code := m.Run()
	if flag.Lookup("test.run").Value.String() == "" {
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

func TestQueries(t *testing.T)            { runSuite(t, "TestQueries") }
func TestInsertInto(t *testing.T)         { runSuite(t, "TestInsertInto") }
func TestUpdate(t *testing.T)             { runSuite(t, "TestUpdate") }
func TestDelete(t *testing.T)             { runSuite(t, "TestDelete") }
func TestReplaceInto(t *testing.T)        { runSuite(t, "TestReplaceInto") }
func TestCreateTable(t *testing.T)        { runSuite(t, "TestCreateTable") }
func TestAlterTable(t *testing.T)         { runSuite(t, "TestAlterTable") }
func TestTransactionScripts(t *testing.T) { runSuite(t, "TestTransactionScripts") }
func TestForeignKeys(t *testing.T)        { runSuite(t, "TestForeignKeys") }
func TestChecksOnInsert(t *testing.T)     { runSuite(t, "TestChecksOnInsert") }
func TestScripts(t *testing.T)            { runSuite(t, "TestScripts") }

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
