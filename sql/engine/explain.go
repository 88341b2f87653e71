package engine

import (
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// explainRuleID names keepExplainRows among the analyzer's rules (above
// go-mysql-server's own ids).
const explainRuleID analyzer.RuleId = 10000

// keepExplainRows undoes a one-row promise made for the query an EXPLAIN
// describes. go-mysql-server marks a query whose primary-key lookup returns
// at most one row so that the wire handler skips its row spooling; under
// EXPLAIN the analyzer sees only the described query, so the mark stays and
// the handler then refuses the plan's several lines ("result max1Row
// iterator returned more than one row" for EXPLAIN FORMAT=TREE). The rule
// cannot see the EXPLAIN node, so it reads the statement's text.
func keepExplainRows(ctx *gmssql.Context, _ *analyzer.Analyzer, n gmssql.Node, scope *plan.Scope, _ analyzer.RuleSelector, qFlags *gmssql.QueryFlags) (gmssql.Node, transform.TreeIdentity, error) {
	if scope == nil && qFlags.IsSet(gmssql.QFlagMax1Row) && isExplain(ctx.Query()) {
		qFlags.Unset(gmssql.QFlagMax1Row)
	}
	return n, transform.SameTree, nil
}

// isExplain reports whether query starts with EXPLAIN or DESCRIBE (after
// blanks and comments).
func isExplain(query string) bool {
	q := query
	for {
		q = strings.TrimLeft(q, " \t\r\n(")
		switch {
		case strings.HasPrefix(q, "/*"):
			end := strings.Index(q, "*/")
			if end < 0 {
				return false
			}
			q = q[end+2:]
		case strings.HasPrefix(q, "#"), strings.HasPrefix(q, "-- "):
			end := strings.IndexByte(q, '\n')
			if end < 0 {
				return false
			}
			q = q[end+1:]
		default:
			w := q
			if i := strings.IndexAny(w, " \t\r\n("); i >= 0 {
				w = w[:i]
			}
			return strings.EqualFold(w, "explain") || strings.EqualFold(w, "describe") || strings.EqualFold(w, "desc")
		}
	}
}
