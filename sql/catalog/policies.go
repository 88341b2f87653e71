package catalog

import (
	"slices"
	"sort"
	"strings"
	"sync"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/charter"
	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/sql/txn"
)

// Row policies are enforced here, inside the table's own iterators and
// editors, on the full stored row before any projection (a wrapper table
// would be unwrapped by go-mysql-server's index and DML paths). sql/policy
// decides; this file finds the policies of the transaction's snapshot and
// the session's principal.
//
// The policies always come from the transaction's current snapshot, also
// for AS OF reads and history views: reading an old version never escapes
// today's policies.

// SetRoleSource sets how the roles granted to a login are found (the
// engine's user store). Without one, principals have no roles.
func (p *Provider) SetRoleSource(roles func(user, host string) []string) { p.roles = roles }

// principalCache keeps one Principal per login and catalog state: roles
// and attributes change only with the system keyspace, which makes a new
// state.
type principalCache struct {
	mu sync.Mutex
	st *state
	m  map[string]*policy.Principal
}

// maxPrincipals bounds the principal cache (hosts may include ports).
const maxPrincipals = 4096

// principal returns who ctx's session acts for, as policies see it.
func (p *Provider) principal(ctx *gmssql.Context, st *state) *policy.Principal {
	name, host := "", ""
	if s, ok := ctx.Session.(*txn.Session); ok {
		pr := s.Principal()
		name, host = pr.Name, pr.Host
	} else if ctx.Session != nil {
		c := ctx.Session.Client()
		name, host = c.User, c.Address
	}
	key := name + "@" + host
	c := &p.principals
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st != st || len(c.m) >= maxPrincipals {
		c.st, c.m = st, map[string]*policy.Principal{}
	}
	if pr, ok := c.m[key]; ok {
		return pr
	}
	pr := &policy.Principal{Name: name, Host: host, Attributes: map[string]any{}}
	if p.roles != nil {
		pr.Roles = p.roles(name, host)
	}
	if u, ok := userOf(st, name, host); ok {
		pr.Attributes = policy.ParseAttributes(u)
	}
	c.m[key] = pr
	return pr
}

// userOf returns the attributes of the charter user a login is: the
// account with the login's host if there is one, else the one with "%".
func userOf(st *state, name, host string) (string, bool) {
	us := st.users[strings.ToLower(name)]
	for _, u := range us {
		if u.Host == host {
			return u.Attributes, true
		}
	}
	for _, u := range us {
		if u.Host == "%" || u.Host == "" {
			return u.Attributes, true
		}
	}
	if len(us) > 0 {
		return us[0].Attributes, true
	}
	return "", false
}

// tablePolicies returns the compiled policies of d's table for schema sch
// as ctx's transaction sees the charter, and the principal; nil when the
// table has no policy.
func (p *Provider) tablePolicies(ctx *gmssql.Context, d *tableDesc, sch gmssql.Schema) (*policy.Table, *policy.Principal, error) {
	st, _, err := p.stateFor(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(st.policies) == 0 {
		return nil, nil, nil
	}
	pt := st.compiledPolicies(d, sch, &p.policyCache)
	if pt == nil {
		return nil, nil, nil
	}
	return pt, p.principal(ctx, st), nil
}

// compiledPolicies returns the policies of d's table compiled against
// sch, d's schema (nil: the table has none), from cache, compiled once
// per state and descriptor.
func (s *state) compiledPolicies(d *tableDesc, sch gmssql.Schema, cache *policy.Cache) *policy.Table {
	if v, ok := s.compiled.Load(d); ok {
		return v.(*policy.Table)
	}
	name := strings.ToLower(d.Database + "." + d.Name)
	var pt *policy.Table
	if ps := s.policies[name]; len(ps) > 0 {
		pt = cache.Table(name, ps, s.policyKeys[name], sch, policy.SchemaKey(sch))
	}
	s.compiled.Store(d, pt)
	return pt
}

// pastPolicies returns today's policies for rows read from an older
// descriptor (AS OF): those of every name that shared storage with it
// (lineage.go), compiled against the old schema.
func (p *Provider) pastPolicies(ctx *gmssql.Context, d *tableDesc, sch gmssql.Schema) (*policy.Table, *policy.Principal, error) {
	st, _, err := p.stateFor(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(st.policies) == 0 {
		return nil, nil, nil
	}
	l, err := p.loadLineage(p.db.ReadSeq())
	if err != nil {
		return nil, nil, err
	}
	return p.lineagePolicies(ctx, st, l, d, sch)
}

// lineagePolicies is pastPolicies over a lineage already loaded (a
// history view reads several storage ids with one).
func (p *Provider) lineagePolicies(ctx *gmssql.Context, st *state, l *lineage, d *tableDesc, sch gmssql.Schema) (*policy.Table, *policy.Principal, error) {
	if len(st.policies) == 0 {
		return nil, nil, nil
	}
	names := append(l.namesOf(d.ID), strings.ToLower(d.Database+"."+d.Name))
	sort.Strings(names)
	names = slices.Compact(names)
	var ps []charter.Policy
	var key strings.Builder
	for _, n := range names {
		ps = append(ps, st.policies[n]...)
		key.WriteString(st.policyKeys[n])
	}
	if len(ps) == 0 {
		return nil, nil, nil
	}
	pt := p.policyCache.Table(strings.Join(names, ","), ps, key.String(), sch, policy.SchemaKey(sch))
	return pt, p.principal(ctx, st), nil
}

// HasPolicies reports whether db.table has row policies in ctx's snapshot
// (statistics and other side channels are closed for such tables).
func (p *Provider) HasPolicies(ctx *gmssql.Context, db, table string) bool {
	st, _, err := p.stateFor(ctx)
	if err != nil {
		return true // fail closed
	}
	if base, ok := historyBase(table); ok && st.table(db, table) == nil {
		table = base
	}
	return len(st.policies[strings.ToLower(db+"."+table)]) > 0
}

// readFilter returns the filter of the rows ctx's principal may read
// from t for cmd, or nil when t has no policy or reads unfiltered
// (foreign key checks, table rewrites).
func (t *Table) readFilter(ctx *gmssql.Context, cmd policy.Command) (*policy.Filter, error) {
	if t.unpoliced || t.live {
		return nil, nil
	}
	if t.asOf != 0 {
		pt, pr, err := t.p.pastPolicies(ctx, t.desc, t.sch.Schema)
		if err != nil || pt == nil {
			return nil, err
		}
		return pt.Read(pr, cmd), nil
	}
	pt, pr, err := t.p.tablePolicies(ctx, t.desc, t.sch.Schema)
	if err != nil || pt == nil {
		return nil, err
	}
	return pt.Read(pr, cmd), nil
}

// editorPolicies are the decisions one editor (one statement) applies.
type editorPolicies struct {
	loaded  bool
	table   string
	visible *policy.Filter // SELECT: rows that exist for the principal
	update  *policy.Filter // UPDATE USING
	delete  *policy.Filter // DELETE USING
	insertW *policy.Filter // INSERT WITH CHECK
	updateW *policy.Filter // UPDATE WITH CHECK
}

func (e *editor) policies(ctx *gmssql.Context) (*editorPolicies, error) {
	if e.pol.loaded {
		return &e.pol, nil
	}
	e.pol.loaded = true
	if e.unpoliced {
		return &e.pol, nil
	}
	pt, pr, err := e.t.p.tablePolicies(ctx, e.t.desc, e.t.sch.Schema)
	if err != nil {
		e.pol.loaded = false
		return nil, err
	}
	if pt == nil {
		return &e.pol, nil
	}
	e.pol = editorPolicies{
		loaded:  true,
		table:   pt.Name(),
		visible: pt.Read(pr, policy.Select),
		update:  pt.Read(pr, policy.Update),
		delete:  pt.Read(pr, policy.Delete),
		insertW: pt.Write(pr, policy.Insert),
		updateW: pt.Write(pr, policy.Update),
	}
	return &e.pol, nil
}

// hidden reports whether an existing row is invisible to the editor's
// principal: a key collision with it is reported without its values.
func (ep *editorPolicies) hidden(row gmssql.Row) bool {
	return ep.table != "" && !ep.visible.Allow(row)
}
