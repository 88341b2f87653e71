package policy

import (
	"strings"
	"sync"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"

	"github.com/cofferdb/coffer/charter"
)

// CostLimit bounds the work of one evaluation of one policy expression
// (CEL cost units, roughly one per operation and per element visited).
// An expression whose worst case, estimated when it is compiled with
// every string, list and map taken as up to sizeBound long, stays within
// the limit runs without runtime accounting (which would triple the cost
// of a cheap policy); any other runs with the limit enforced on every
// evaluation. A policy that exceeds it on a row does not grant (or,
// restrictive, denies) that row.
const CostLimit = 100_000

// sizeBound is the size the static estimate assumes for values of unknown
// size (strings, bytes, lists, maps).
const sizeBound = 4096

type boundedSizes struct{}

func (boundedSizes) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: sizeBound}
}

func (boundedSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// Command is the statement kind a decision is for.
type Command string

// Commands.
const (
	Select Command = "SELECT"
	Insert Command = "INSERT"
	Update Command = "UPDATE"
	Delete Command = "DELETE"
)

// program is one compiled expression.
type program struct {
	prg cel.Program
	eq  *eqPattern // evaluated natively when set (fast.go)
	// shape is the schema the program was compiled against.
	shape *rowShape
	// usesRow is false for expressions over principal only: they are
	// evaluated once per principal, not per row.
	usesRow bool
}

// compiled is one policy compiled against one schema.
type compiled struct {
	name        string
	restrictive bool
	command     string // ALL, SELECT, INSERT, UPDATE, DELETE
	roles       []string
	using       *program
	check       *program // nil: USING is the check
	// broken is set when an expression no longer compiles against the
	// schema (the table changed, or an AS OF read of an older schema): a
	// broken permissive policy grants nothing, a broken restrictive one
	// denies everything.
	broken bool
}

func (c *compiled) appliesTo(cmd Command) bool {
	return c.command == "ALL" || c.command == string(cmd)
}

// splitCommand splits a stored command ("RESTRICTIVE SELECT", "ALL").
func splitCommand(s string) (restrictive bool, cmd string) {
	f := strings.Fields(strings.ToUpper(s))
	if len(f) == 2 && f[0] == "RESTRICTIVE" {
		return true, f[1]
	}
	if len(f) == 2 && f[0] == "PERMISSIVE" {
		return false, f[1]
	}
	if len(f) == 1 {
		return false, f[0]
	}
	return false, "ALL"
}

// Check type-checks a policy against its table's schema: the statement
// that proposes it fails with this error. Both expressions must compile
// and have type bool.
func Check(p charter.Policy, sch gmssql.Schema) error {
	env, _, err := newEnv(sch)
	if err != nil {
		return err
	}
	if p.Using == "" && p.Check == "" {
		return &CompileError{Policy: p.Name, Table: p.Table, Clause: "policy", Detail: "needs USING or WITH CHECK"}
	}
	if _, cmd := splitCommand(p.Command); cmd == "INSERT" && p.Using != "" {
		return &CompileError{Policy: p.Name, Table: p.Table, Clause: "USING", Detail: "an INSERT policy takes WITH CHECK only (there are no existing rows to filter)"}
	}
	if p.Using != "" {
		if _, err := compileExpr(env, nil, p, "USING", p.Using); err != nil {
			return err
		}
	}
	if p.Check != "" {
		if _, err := compileExpr(env, nil, p, "WITH CHECK", p.Check); err != nil {
			return err
		}
	}
	return nil
}

func compileExpr(env *cel.Env, shape *rowShape, p charter.Policy, clause, text string) (*program, error) {
	ast, iss := env.Compile(text)
	if iss.Err() != nil {
		return nil, &CompileError{Policy: p.Name, Table: p.Table, Clause: clause, Detail: strings.TrimSpace(iss.Err().Error())}
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) {
		return nil, &CompileError{Policy: p.Name, Table: p.Table, Clause: clause,
			Detail: "expression has type " + t.String() + ", want bool"}
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if est, err := env.EstimateCost(ast, boundedSizes{}); err != nil || est.Max > CostLimit {
		opts = append(opts, cel.CostLimit(CostLimit))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, &CompileError{Policy: p.Name, Table: p.Table, Clause: clause, Detail: err.Error()}
	}
	usesRow := false
	for _, ref := range ast.NativeRep().ReferenceMap() {
		if ref.Name == "row" {
			usesRow = true
			break
		}
	}
	out := &program{prg: prg, usesRow: usesRow, shape: shape}
	if shape != nil && usesRow {
		if eq := matchEq(ast.NativeRep().Expr(), shape); eq != nil && !eq.hasNull() {
			out.eq = eq
		}
	}
	return out, nil
}

// Table is the policies of one table compiled against one schema. It is
// immutable and shared; Filter builds per-principal decisions from it.
type Table struct {
	name     string
	policies []*compiled
}

// Name is the table the policies are for (db.table).
func (t *Table) Name() string { return t.name }

// Cache holds compiled policies per (policy set, schema version); the
// catalog keeps one.
type Cache struct {
	mu sync.Mutex
	m  map[string]*Table
}

// maxCached bounds the cache; it is cleared when full (compiling again is
// cheap next to a table scan).
const maxCached = 4096

// Table returns the compiled policies of table for a schema. policiesKey
// identifies the policy set (Key), schemaKey the schema version
// (SchemaKey); both are computed once by the caller and reused.
func (c *Cache) Table(table string, ps []charter.Policy, policiesKey string, sch gmssql.Schema, schemaKey string) *Table {
	if len(ps) == 0 {
		return nil
	}
	k := table + "\x00" + policiesKey + "\x00" + schemaKey
	c.mu.Lock()
	t, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return t
	}
	t = compileTable(table, ps, sch)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]*Table{}
	}
	c.m[k] = t
	c.mu.Unlock()
	return t
}

func compileTable(table string, ps []charter.Policy, sch gmssql.Schema) *Table {
	t := &Table{name: table}
	env, shape, envErr := newEnv(sch)
	for _, p := range ps {
		restrictive, cmd := splitCommand(p.Command)
		c := &compiled{name: p.Name, restrictive: restrictive, command: cmd, roles: p.Roles}
		if envErr != nil {
			c.broken = true
		} else {
			var err error
			if p.Using != "" {
				if c.using, err = compileExpr(env, shape, p, "USING", p.Using); err != nil {
					c.broken = true
				}
			}
			if p.Check != "" {
				if c.check, err = compileExpr(env, shape, p, "WITH CHECK", p.Check); err != nil {
					c.broken = true
				}
			}
		}
		t.policies = append(t.policies, c)
	}
	return t
}

// Key identifies a policy set: equal keys, equal policies.
func Key(ps []charter.Policy) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Name)
		b.WriteByte(0)
		b.WriteString(p.Command)
		b.WriteByte(0)
		b.WriteString(strings.Join(p.Roles, ","))
		b.WriteByte(0)
		b.WriteString(p.Using)
		b.WriteByte(0)
		b.WriteString(p.Check)
		b.WriteByte(1)
	}
	return b.String()
}

// SchemaKey identifies a schema version as CEL sees it.
func SchemaKey(sch gmssql.Schema) string {
	var b strings.Builder
	for _, c := range sch {
		b.WriteString(strings.ToLower(c.Name))
		b.WriteByte(' ')
		b.WriteString(c.Type.String())
		if c.Nullable {
			b.WriteString(" null")
		}
		b.WriteByte(',')
	}
	return b.String()
}
