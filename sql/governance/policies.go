package governance

import (
	"fmt"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/cofferdb/coffer/charter"
	"github.com/cofferdb/coffer/sql/catalog"
	"github.com/cofferdb/coffer/sql/policy"
)

// showPolicies is SHOW POLICIES [ON [db.]table].
const showPolicies = "policies"

// PoliciesSchema is SHOW POLICIES: one row per row policy in force.
var PoliciesSchema = gmssql.Schema{
	col("name", types.LongText),
	col("table", types.LongText),
	col("permissive", types.LongText),
	col("command", types.LongText),
	col("roles", types.LongText),
	col("using", types.LongText),
	col("with_check", types.LongText),
	col("proposal", types.Uint64),
}

// policyRows lists the policies, those of one table if the statement
// names one (without a database: that table name in every database).
func policyRows(s charter.Store, st *Statement) ([]gmssql.Row, error) {
	c, err := charter.Load(s)
	if err != nil {
		return nil, err
	}
	want := strings.ToLower(st.table)
	if st.tableDB != "" {
		want = strings.ToLower(st.tableDB + "." + st.table)
	}
	var rows []gmssql.Row
	for _, p := range c.Policies {
		if want != "" && p.Table != want && (st.tableDB != "" || !strings.HasSuffix(p.Table, "."+want)) {
			continue
		}
		kind, cmd := "PERMISSIVE", p.Command
		if f := strings.Fields(cmd); len(f) == 2 {
			kind, cmd = f[0], f[1]
		}
		roles := "PUBLIC"
		if len(p.Roles) > 0 {
			roles = strings.Join(p.Roles, ", ")
		}
		rows = append(rows, gmssql.Row{p.Name, p.Table, kind, cmd, roles, p.Using, p.Check, p.Proposal})
	}
	return rows, nil
}

// checkPolicy type-checks a proposed policy against its table: the table
// must exist and the expressions must compile to bool over its columns.
// A proposal that fails here is never stored.
func (n *Node) checkPolicy(ctx *gmssql.Context, p *charter.Policy) error {
	db, table, _ := strings.Cut(p.Table, ".")
	if n.gov.cfg.Catalog == nil {
		return nil
	}
	t, _, err := n.gov.cfg.Catalog.Table(ctx, db, table)
	if err != nil || t == nil {
		return fmt.Errorf("CREATE POLICY %s: table %s does not exist", p.Name, p.Table)
	}
	if w, ok := t.(gmssql.TableWrapper); ok {
		t = w.Underlying()
	}
	if _, ok := t.(*catalog.Table); !ok {
		// System tables (coffer_ledger, coffer_charter, information_schema)
		// and history views have their own visibility rules.
		return fmt.Errorf("CREATE POLICY %s: %s is not a stored table; policies apply to tables created with CREATE TABLE", p.Name, p.Table)
	}
	if err := policy.Check(*p, t.Schema()); err != nil {
		return fmt.Errorf("CREATE POLICY %s: %w", p.Name, err)
	}
	return nil
}
