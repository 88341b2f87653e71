package policy

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"

	"github.com/cofferdb/coffer/charter"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata expectations")

// sqlTypes are the column types testdata schemas may use.
var sqlTypes = map[string]gmssql.Type{
	"int":       types.Int64,
	"uint":      types.Uint64,
	"double":    types.Float64,
	"decimal":   types.MustCreateDecimalType(12, 2),
	"varchar":   types.Text,
	"blob":      types.Blob,
	"bool":      types.Boolean,
	"datetime":  types.DatetimeMaxPrecision,
	"timestamp": types.TimestampMaxPrecision,
	"json":      types.JSON,
}

// case state of one testdata case.
type tcase struct {
	sch       gmssql.Schema
	policies  []charter.Policy
	principal *Principal
	rows      []gmssql.Row
}

func (c *tcase) run(t *testing.T, line string) string {
	cmd, arg, _ := strings.Cut(line, " ")
	switch cmd {
	case "schema":
		c.sch = nil
		for _, def := range strings.Split(arg, ",") {
			f := strings.Fields(def)
			typ, ok := sqlTypes[f[1]]
			if !ok {
				t.Fatalf("unknown type %q", f[1])
			}
			c.sch = append(c.sch, &gmssql.Column{Name: f[0], Type: typ, Nullable: len(f) > 2 && f[2] == "null"})
		}
	case "policy":
		parts := strings.Split(arg, ";")
		for len(parts) < 5 {
			parts = append(parts, "")
		}
		p := charter.Policy{Name: strings.TrimSpace(parts[0]), Table: "db.t", Command: strings.TrimSpace(parts[1]),
			Using: strings.TrimSpace(parts[3]), Check: strings.TrimSpace(parts[4])}
		if r := strings.TrimSpace(parts[2]); r != "" && r != "-" {
			p.Roles = strings.Split(r, ",")
		}
		c.policies = append(c.policies, p)
	case "check":
		var out []string
		for _, p := range c.policies {
			if err := Check(p, c.sch); err != nil {
				out = append(out, p.Name+": "+err.Error())
			} else {
				out = append(out, p.Name+": ok")
			}
		}
		return strings.Join(out, "\n")
	case "principal":
		parts := strings.Split(arg, ";")
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		c.principal = &Principal{Name: strings.TrimSpace(parts[0]), Attributes: ParseAttributes(parts[2])}
		if r := strings.TrimSpace(parts[1]); r != "" && r != "-" {
			c.principal.Roles = strings.Split(r, ",")
		}
	case "row":
		var vals []any
		d := json.NewDecoder(strings.NewReader(arg))
		d.UseNumber()
		if err := d.Decode(&vals); err != nil {
			t.Fatalf("row %s: %v", arg, err)
		}
		row := make(gmssql.Row, len(vals))
		for i, v := range vals {
			row[i] = sqlValue(t, c.sch[i].Type, v)
		}
		c.rows = append(c.rows, row)
	case "read", "write":
		var cache Cache
		tbl := cache.Table("db.t", c.policies, Key(c.policies), c.sch, SchemaKey(c.sch))
		var f *Filter
		if cmd == "read" {
			f = tbl.Read(c.principal, Command(arg))
		} else {
			f = tbl.Write(c.principal, Command(arg))
		}
		var out []string
		for _, r := range c.rows {
			verdict := "deny"
			if f.Allow(r) {
				verdict = "allow"
			}
			out = append(out, fmt.Sprintf("%v: %s", []any(r), verdict))
		}
		return strings.Join(out, "\n")
	default:
		t.Fatalf("unknown directive %q", line)
	}
	return ""
}

func sqlValue(t *testing.T, typ gmssql.Type, v any) any {
	if v == nil {
		return nil
	}
	switch {
	case typ == types.Int64 || typ == types.Boolean:
		n, _ := v.(json.Number).Int64()
		if typ == types.Boolean {
			return int8(n)
		}
		return n
	case typ == types.Uint64:
		n, _ := v.(json.Number).Int64()
		return uint64(n)
	case typ == types.Float64:
		f, _ := v.(json.Number).Float64()
		return f
	case types.IsDecimal(typ):
		return decimal.RequireFromString(v.(json.Number).String())
	case types.IsTime(typ):
		tm, err := time.Parse(time.RFC3339, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return tm
	case typ == types.Blob:
		return []byte(v.(string))
	case types.IsJSON(typ):
		return types.JSONDocument{Val: v}
	}
	return v
}

// TestData runs testdata/*.txt: directives, "----", the expected output of
// the last directive, blank line. -rewrite updates the expectations.
func TestData(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			c := &tcase{}
			sc := bufio.NewScanner(strings.NewReader(string(b)))
			var got string
			inExpect := false
			var want []string
			flush := func() {
				if !inExpect {
					return
				}
				w := strings.Join(want, "\n")
				if !*rewrite && w != got {
					t.Errorf("%s: got\n%s\nwant\n%s", file, got, w)
				}
				out.WriteString(got)
				out.WriteString("\n")
				inExpect, want = false, nil
			}
			for sc.Scan() {
				line := sc.Text()
				switch {
				case inExpect && line == "":
					flush()
					out.WriteString("\n")
				case inExpect:
					want = append(want, line)
				case line == "----":
					inExpect = true
					out.WriteString(line + "\n")
				case line == "reset":
					c = &tcase{}
					out.WriteString(line + "\n")
				case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
					out.WriteString(line + "\n")
				default:
					got = c.run(t, line)
					out.WriteString(line + "\n")
				}
			}
			flush()
			if *rewrite {
				if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestFiltersPerPrincipal: a principal's filters are built once per table,
// command and kind; native ones are shared between statements, ones that
// run CEL per row are a copy per statement; other principals decide for
// themselves.
func TestFiltersPerPrincipal(t *testing.T) {
	sch := gmssql.Schema{
		{Name: "id", Type: types.Int64},
		{Name: "bank", Type: types.Text},
		{Name: "amount", Type: types.Int64},
	}
	ps := []charter.Policy{{Name: "by_bank", Table: "db.t", Command: "ALL", Using: "row.bank == principal.attributes.bank"}}
	var cache Cache
	tbl := cache.Table("db.t", ps, Key(ps), sch, SchemaKey(sch))
	rowA, rowB := gmssql.Row{int64(1), "A", int64(5)}, gmssql.Row{int64(2), "B", int64(50)}
	alice := &Principal{Name: "alice", Attributes: map[string]any{"bank": "A"}}
	bob := &Principal{Name: "bob", Attributes: map[string]any{"bank": "B"}}

	f1, f2 := tbl.Read(alice, Select), tbl.Read(alice, Select)
	if f1 != f2 {
		t.Error("a native filter is built again for the same principal")
	}
	if w := tbl.Write(alice, Insert); w == f1 {
		t.Error("a WITH CHECK filter is the SELECT one")
	}
	if !f1.Allow(rowA) || f1.Allow(rowB) {
		t.Error("alice's filter does not decide by bank A")
	}
	fb := tbl.Read(bob, Select)
	if fb == f1 || fb.Allow(rowA) || !fb.Allow(rowB) {
		t.Error("bob's filter is not his own")
	}

	// A CEL program per row: each statement gets its own activation.
	ps = []charter.Policy{{Name: "big", Table: "db.t", Command: "SELECT", Using: "row.amount > 10 && row.bank == principal.attributes.bank"}}
	tbl = cache.Table("db.t", ps, Key(ps), sch, SchemaKey(sch))
	g1, g2 := tbl.Read(bob, Select), tbl.Read(bob, Select)
	if g1 == g2 {
		t.Fatal("a filter that evaluates CEL per row is shared between statements")
	}
	done := make(chan bool)
	for _, f := range []*Filter{g1, g2} {
		go func() {
			ok := true
			for i := 0; i < 1000; i++ {
				ok = ok && f.Allow(rowB) && !f.Allow(rowA)
			}
			done <- ok
		}()
	}
	if first, second := <-done, <-done; !first || !second {
		t.Error("a per-row CEL filter decided wrongly under concurrent statements")
	}
}
