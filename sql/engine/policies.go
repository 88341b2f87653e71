package engine

import (
	"io"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"

	"github.com/cofferdb/coffer/sql/catalog"
)

// roleSource returns the roles granted to a login, directly or through
// other roles, from the user store: row policies' TO lists and
// principal.roles use them. Granted roles count whether or not the
// session activated them with SET ROLE.
func roleSource(mdb *mysql_db.MySQLDb) func(user, host string) []string {
	return func(user, host string) []string {
		r := mdb.Reader()
		defer r.Close()
		u := mdb.GetUser(r, user, host, false)
		if u == nil {
			return nil
		}
		type acct struct{ user, host string }
		seen := map[acct]bool{{u.User, u.Host}: true}
		queue := []acct{{u.User, u.Host}}
		var roles []string
		for len(queue) > 0 {
			a := queue[0]
			queue = queue[1:]
			for _, e := range r.GetToUserRoleEdges(mysql_db.RoleEdgesToKey{ToHost: a.host, ToUser: a.user}) {
				from := acct{e.FromUser, e.FromHost}
				if seen[from] {
					continue
				}
				seen[from] = true
				roles = append(roles, e.FromUser)
				queue = append(queue, from)
			}
		}
		return roles
	}
}

// policyStats keeps statistics of tables with row policies out of the
// shared statistics provider: ANALYZE TABLE would otherwise publish
// histograms of the analyzing principal's rows to everyone
// (information_schema.column_statistics) and feed row counts to the
// planner. Such tables are planned without histograms.
type policyStats struct {
	gmssql.StatsProvider
	p *catalog.Provider
}

var _ gmssql.StatsProvider = policyStats{}

func (s policyStats) policied(ctx *gmssql.Context, db, table string) bool {
	return s.p.HasPolicies(ctx, db, table)
}

func (s policyStats) GetTableStats(ctx *gmssql.Context, db string, table gmssql.Table) ([]gmssql.Statistic, error) {
	if s.policied(ctx, db, table.Name()) {
		return nil, nil
	}
	return s.StatsProvider.GetTableStats(ctx, db, table)
}

func (s policyStats) AnalyzeTable(ctx *gmssql.Context, table gmssql.Table, db string) error {
	if s.policied(ctx, db, table.Name()) {
		return nil // nothing is collected
	}
	if t, ok := table.(*catalog.Table); ok {
		table = closingTable{t}
	}
	return s.StatsProvider.AnalyzeTable(ctx, table, db)
}

// closingTable closes each partition's row iterator at its end: the
// in-memory statistics provider reads them to EOF but never closes them,
// which would leave storage iterators open.
type closingTable struct{ *catalog.Table }

func (t closingTable) PartitionRows(ctx *gmssql.Context, p gmssql.Partition) (gmssql.RowIter, error) {
	it, err := t.Table.PartitionRows(ctx, p)
	if err != nil {
		return nil, err
	}
	return &closeAtEOF{RowIter: it}, nil
}

type closeAtEOF struct {
	gmssql.RowIter
	closed bool
}

func (c *closeAtEOF) Next(ctx *gmssql.Context) (gmssql.Row, error) {
	r, err := c.RowIter.Next(ctx)
	if err != nil && !c.closed {
		c.closed = true
		if cerr := c.RowIter.Close(ctx); cerr != nil && err == io.EOF {
			err = cerr
		}
	}
	return r, err
}

func (c *closeAtEOF) Close(ctx *gmssql.Context) error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.RowIter.Close(ctx)
}

func (s policyStats) SetStats(ctx *gmssql.Context, st gmssql.Statistic) error {
	q := st.Qualifier()
	if s.policied(ctx, q.Database, q.Tab) {
		return nil
	}
	return s.StatsProvider.SetStats(ctx, st)
}

func (s policyStats) GetStats(ctx *gmssql.Context, q gmssql.StatQualifier, cols []string) (gmssql.Statistic, bool) {
	if s.policied(ctx, q.Database, q.Tab) {
		return nil, false
	}
	return s.StatsProvider.GetStats(ctx, q, cols)
}

func (s policyStats) RowCount(ctx *gmssql.Context, db string, table gmssql.Table) (uint64, error) {
	if s.policied(ctx, db, table.Name()) {
		return 0, nil
	}
	return s.StatsProvider.RowCount(ctx, db, table)
}

func (s policyStats) DataLength(ctx *gmssql.Context, db string, table gmssql.Table) (uint64, error) {
	if s.policied(ctx, db, table.Name()) {
		return 0, nil
	}
	return s.StatsProvider.DataLength(ctx, db, table)
}
