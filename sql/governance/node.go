package governance

import (
	"context"
	"log/slog"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// erUnsupportedPS is MySQL's ER_UNSUPPORTED_PS.
const erUnsupportedPS = 1295

// Config configures a Governor.
type Config struct {
	// Catalog resolves the statements replayed on the user store (GRANT …).
	Catalog gmssql.Catalog
	Logger  *slog.Logger
	// Cluster lists the nodes for SHOW CLUSTER (rows of ClusterSchema);
	// nil on a node without replication, which shows itself alone.
	Cluster func(ctx context.Context) ([]gmssql.Row, error)
}

// Governor runs governance statements for one engine.
type Governor struct {
	cfg Config
}

// New returns a Governor.
func New(cfg Config) *Governor {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Governor{cfg: cfg}
}

// Parser returns the parser to install as the engine's Parser.
func (g *Governor) Parser() *Parser { return &Parser{stock: gmssql.NewMysqlParser(), gov: g} }

// Node is an injected governance statement: a source of rows that runs the
// statement when it is built.
type Node struct {
	st   *Statement
	text string
	gov  *Governor
}

var (
	_ gmssql.ExecSourceRel = (*Node)(nil)
	_ ast.Injectable       = (*Node)(nil)
)

// WithResolvedChildren implements ast.Injectable.
func (n *Node) WithResolvedChildren(children []any) (any, error) { return n, nil }

// Resolved implements sql.Node.
func (n *Node) Resolved() bool { return true }

// String implements sql.Node.
func (n *Node) String() string { return n.text }

// Children implements sql.Node.
func (n *Node) Children() []gmssql.Node { return nil }

// WithChildren implements sql.Node.
func (n *Node) WithChildren(children ...gmssql.Node) (gmssql.Node, error) {
	if len(children) != 0 {
		return nil, gmssql.ErrInvalidChildrenNumber.New(n, len(children), 0)
	}
	return n, nil
}

// IsReadOnly implements sql.Node.
func (n *Node) IsReadOnly() bool { return n.st.Op == opShow || n.st.Op == opNoop }

// Schema implements sql.Node.
func (n *Node) Schema() gmssql.Schema {
	switch n.st.Op {
	case opNoop:
		return types.OkResultSchema
	case opShow:
		return showSchema(n.st)
	}
	return resultSchema
}

func col(name string, t gmssql.Type) *gmssql.Column {
	return &gmssql.Column{Name: name, Type: t, Nullable: true}
}

// resultSchema is what a proposal, ballot or withdrawal returns: the
// proposal as it stands after the statement.
var resultSchema = gmssql.Schema{
	col("proposal_id", types.Uint64),
	col("kind", types.LongText),
	col("state", types.LongText),
	col("approvals", types.Int64),
	col("rejections", types.Int64),
	col("summary", types.LongText),
	col("reason", types.LongText),
}
