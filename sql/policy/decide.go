package policy

import (
	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/interpreter"
)

// Filter is the decision for one principal, one table and one command:
// which rows pass. A nil *Filter lets every row pass (the table has no
// policy). A Filter that evaluates CEL per row is used by one goroutine at
// a time; one decided natively (fast.go) or by the principal alone is
// shared.
type Filter struct {
	deny        bool // no permissive policy can grant: nothing passes
	permissive  []matcher
	restrictive []matcher
	perRow      bool // a matcher runs a CEL program per row (uses act)
	act         activation
}

// matcher decides one policy expression for a row: a native equality
// (fast.go) or a CEL program.
type matcher struct {
	eq  *eqMatcher
	prg *program
}

// activation binds row and principal for one evaluation.
type activation struct {
	row       rowValue
	principal *principalValue
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "row":
		return &a.row, true
	case "principal":
		return a.principal, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// Read returns the filter of the rows p may see (SELECT) or act on
// (UPDATE, DELETE: their USING expressions).
func (t *Table) Read(p *Principal, cmd Command) *Filter {
	return t.filter(p, cmd, false)
}

// Write returns the filter rows written by cmd (INSERT, UPDATE) must pass:
// each policy's WITH CHECK, or its USING when it has none.
func (t *Table) Write(p *Principal, cmd Command) *Filter {
	return t.filter(p, cmd, true)
}

// filterKey names one of a principal's filters.
type filterKey struct {
	t     *Table
	cmd   Command
	check bool
}

// filter returns p's filter for cmd on t, built once per principal (a
// Principal lives as long as the catalog state it was made from) and
// copied for a statement only when it runs CEL per row.
func (t *Table) filter(p *Principal, cmd Command, check bool) *Filter {
	if t == nil {
		return nil
	}
	k := filterKey{t, cmd, check}
	v, ok := p.filters.Load(k)
	if !ok {
		v, _ = p.filters.LoadOrStore(k, t.build(p, cmd, check))
	}
	f := v.(*Filter)
	if !f.perRow {
		return f
	}
	c := *f // the matchers are shared and read-only; act is the copy's own
	return &c
}

func (t *Table) build(p *Principal, cmd Command, check bool) *Filter {
	f := &Filter{act: activation{principal: p.value()}}
	granted := false
	for _, c := range t.policies {
		if !c.appliesTo(cmd) || !p.admittedBy(c.roles) {
			continue
		}
		prg := c.using
		if check && c.check != nil {
			prg = c.check
		}
		if c.broken {
			if c.restrictive {
				f.deny = true
			}
			continue
		}
		if prg == nil {
			continue
		}
		// Expressions over principal only are decided here, once.
		if !prg.usesRow {
			ok := f.eval(prg, nil)
			switch {
			case c.restrictive && !ok:
				f.deny = true
			case !c.restrictive && ok:
				granted = true
				f.permissive = nil
			}
			continue
		}
		m := matcher{prg: prg}
		if prg.eq != nil {
			m.eq = prg.eq.bind(f.act.principal, prg.shape)
		} else {
			f.perRow = true
		}
		if c.restrictive {
			f.restrictive = append(f.restrictive, m)
		} else if !granted {
			f.permissive = append(f.permissive, m)
		}
	}
	if !granted && len(f.permissive) == 0 {
		f.deny = true
	}
	if granted {
		f.permissive = nil
		if len(f.restrictive) == 0 && !f.deny {
			return allowAll
		}
	}
	return f
}

// allowAll is a filter that lets everything pass on a policied table
// (an auditor's): distinct from nil so that callers still know the table
// is policied.
var allowAll = &Filter{}

// AllowsAll reports whether every row passes.
func (f *Filter) AllowsAll() bool { return f == nil || f == allowAll }

// DeniesAll reports whether no row passes.
func (f *Filter) DeniesAll() bool { return f != nil && f.deny }

// Allow reports whether row passes. An expression that fails on a row
// (a missing attribute, the cost limit) counts as false: it grants nothing
// and, restrictive, denies.
func (f *Filter) Allow(row gmssql.Row) bool {
	if f == nil || f == allowAll {
		return true
	}
	if f.deny {
		return false
	}
	for i := range f.restrictive {
		if !f.match(&f.restrictive[i], row) {
			return false
		}
	}
	if len(f.permissive) == 0 {
		return true // granted by a principal-only policy
	}
	for i := range f.permissive {
		if f.match(&f.permissive[i], row) {
			return true
		}
	}
	return false
}

func (f *Filter) match(m *matcher, row gmssql.Row) bool {
	if m.eq != nil {
		return m.eq.allow(row)
	}
	return f.eval(m.prg, row)
}

func (f *Filter) eval(p *program, row gmssql.Row) bool {
	f.act.row.row = row
	out, _, err := p.prg.Eval(&f.act)
	f.act.row.row = nil
	return err == nil && out == types.True
}
