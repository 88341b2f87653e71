package governance

import (
	"errors"
	"io"
	"strings"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/cofferdb/coffer/charter"
	"github.com/cofferdb/coffer/sql/txn"
)

// CharterDatabase is the read-only system database with the charter as
// tables, read at the session's snapshot.
const CharterDatabase = "coffer_charter"

// Database returns coffer_charter, for catalog.Provider.AddSystemDatabase.
func Database() gmssql.Database { return charterDB{} }

var errReadOnly = errors.New("coffer_charter is read-only: change the charter with governance statements")

func ccol(table, name string, t gmssql.Type) *gmssql.Column {
	return &gmssql.Column{Name: name, Type: t, Source: table, DatabaseSource: CharterDatabase, Nullable: true}
}

func withSource(table string, sch gmssql.Schema) gmssql.Schema {
	out := make(gmssql.Schema, len(sch))
	for i, c := range sch {
		out[i] = ccol(table, c.Name, c.Type)
	}
	return out
}

// charterTables are the tables and how to read their rows.
var charterTables = map[string]struct {
	sch  gmssql.Schema
	rows func(s charter.Store) ([]gmssql.Row, error)
}{
	"proposals": {withSource("proposals", ProposalsSchema), func(s charter.Store) ([]gmssql.Row, error) {
		ps, err := charter.Proposals(s)
		rows := make([]gmssql.Row, len(ps))
		for i := range ps {
			rows[i] = ProposalRow(&ps[i])
		}
		return rows, err
	}},
	"ballots": {gmssql.Schema{ccol("ballots", "proposal_id", types.Uint64), ccol("ballots", "member", types.LongText), ccol("ballots", "vote", types.LongText)},
		func(s charter.Store) ([]gmssql.Row, error) {
			ps, err := charter.Proposals(s)
			var rows []gmssql.Row
			for _, p := range ps {
				for _, b := range p.Ballots {
					rows = append(rows, gmssql.Row{p.ID, b.Member, b.Vote})
				}
			}
			return rows, err
		}},
	"members": {withSource("members", membersSchema), fromCharter(func(c *charter.Charter) (rows []gmssql.Row) {
		for _, m := range c.Members {
			rows = append(rows, gmssql.Row{m.Name, m.Host, m.Proposal})
		}
		return rows
	})},
	"users": {gmssql.Schema{ccol("users", "name", types.LongText), ccol("users", "host", types.LongText), ccol("users", "attributes", types.LongText), ccol("users", "proposal", types.Uint64)},
		fromCharter(func(c *charter.Charter) (rows []gmssql.Row) {
			for _, u := range c.Users {
				rows = append(rows, gmssql.Row{u.Name, u.Host, u.Attributes, u.Proposal})
			}
			return rows
		})},
	"roles": {gmssql.Schema{ccol("roles", "name", types.LongText), ccol("roles", "host", types.LongText), ccol("roles", "proposal", types.Uint64)},
		fromCharter(func(c *charter.Charter) (rows []gmssql.Row) {
			for _, r := range c.Roles {
				rows = append(rows, gmssql.Row{r.Name, r.Host, r.Proposal})
			}
			return rows
		})},
	"code": {gmssql.Schema{ccol("code", "measurement", types.LongText), ccol("code", "proposal", types.Uint64)},
		fromCharter(func(c *charter.Charter) (rows []gmssql.Row) {
			for _, x := range c.Codes {
				rows = append(rows, gmssql.Row{x.Measurement, x.Proposal})
			}
			return rows
		})},
	"nodes": {gmssql.Schema{ccol("nodes", "name", types.LongText), ccol("nodes", "address", types.LongText), ccol("nodes", "proposal", types.Uint64)},
		fromCharter(func(c *charter.Charter) (rows []gmssql.Row) {
			for _, x := range c.Nodes {
				rows = append(rows, gmssql.Row{x.Name, x.Address, x.Proposal})
			}
			return rows
		})},
	"policies": {gmssql.Schema{ccol("policies", "name", types.LongText), ccol("policies", "table_name", types.LongText), ccol("policies", "command", types.LongText),
		ccol("policies", "roles", types.LongText), ccol("policies", "using_expr", types.LongText), ccol("policies", "check_expr", types.LongText), ccol("policies", "proposal", types.Uint64)},
		fromCharter(func(c *charter.Charter) (rows []gmssql.Row) {
			for _, x := range c.Policies {
				rows = append(rows, gmssql.Row{x.Name, x.Table, x.Command, strings.Join(x.Roles, ","), x.Using, x.Check, x.Proposal})
			}
			return rows
		})},
	"constitution": {withSource("constitution", constitutionSchema), fromCharter(func(c *charter.Charter) []gmssql.Row {
		return []gmssql.Row{{c.Constitution, charter.ConstitutionHash(c.Constitution)}}
	})},
}

func fromCharter(f func(*charter.Charter) []gmssql.Row) func(charter.Store) ([]gmssql.Row, error) {
	return func(s charter.Store) ([]gmssql.Row, error) {
		c, err := charter.Load(s)
		if err != nil {
			return nil, err
		}
		return f(c), nil
	}
}

type charterDB struct{}

var (
	_ gmssql.Database                = charterDB{}
	_ gmssql.ViewDatabase            = charterDB{}
	_ gmssql.TriggerDatabase         = charterDB{}
	_ gmssql.StoredProcedureDatabase = charterDB{}
	_ gmssql.EventDatabase           = charterDB{}
)

func (charterDB) Name() string { return CharterDatabase }

func (charterDB) GetTableInsensitive(_ *gmssql.Context, name string) (gmssql.Table, bool, error) {
	n := strings.ToLower(name)
	t, ok := charterTables[n]
	if !ok {
		return nil, false, nil
	}
	return &charterTable{name: n, sch: t.sch}, true, nil
}

func (charterDB) GetTableNames(*gmssql.Context) ([]string, error) {
	return []string{"ballots", "code", "constitution", "members", "nodes", "policies", "proposals", "roles", "users"}, nil
}

// go-mysql-server asks every database for views, triggers, procedures and
// events; coffer_charter has none.
func (charterDB) CreateView(*gmssql.Context, string, string, string) error { return errReadOnly }
func (charterDB) DropView(*gmssql.Context, string) error                   { return errReadOnly }
func (charterDB) GetViewDefinition(*gmssql.Context, string) (gmssql.ViewDefinition, bool, error) {
	return gmssql.ViewDefinition{}, false, nil
}
func (charterDB) AllViews(*gmssql.Context) ([]gmssql.ViewDefinition, error)       { return nil, nil }
func (charterDB) GetTriggers(*gmssql.Context) ([]gmssql.TriggerDefinition, error) { return nil, nil }
func (charterDB) CreateTrigger(*gmssql.Context, gmssql.TriggerDefinition) error   { return errReadOnly }
func (charterDB) DropTrigger(*gmssql.Context, string) error                       { return errReadOnly }
func (charterDB) GetStoredProcedure(*gmssql.Context, string) (gmssql.StoredProcedureDetails, bool, error) {
	return gmssql.StoredProcedureDetails{}, false, nil
}
func (charterDB) GetStoredProcedures(*gmssql.Context) ([]gmssql.StoredProcedureDetails, error) {
	return nil, nil
}
func (charterDB) SaveStoredProcedure(*gmssql.Context, gmssql.StoredProcedureDetails) error {
	return errReadOnly
}
func (charterDB) DropStoredProcedure(*gmssql.Context, string) error { return errReadOnly }
func (charterDB) GetEvent(*gmssql.Context, string) (gmssql.EventDefinition, bool, error) {
	return gmssql.EventDefinition{}, false, nil
}
func (charterDB) GetEvents(*gmssql.Context) ([]gmssql.EventDefinition, any, error) {
	return nil, nil, nil
}
func (charterDB) SaveEvent(*gmssql.Context, gmssql.EventDefinition) (bool, error) {
	return false, errReadOnly
}
func (charterDB) DropEvent(*gmssql.Context, string) error { return errReadOnly }
func (charterDB) UpdateEvent(*gmssql.Context, string, gmssql.EventDefinition) (bool, error) {
	return false, errReadOnly
}
func (charterDB) NeedsToReloadEvents(*gmssql.Context, any) (bool, error) { return false, nil }
func (charterDB) UpdateLastExecuted(*gmssql.Context, string, time.Time) error {
	return errReadOnly
}

// charterTable is one coffer_charter table.
type charterTable struct {
	name string
	sch  gmssql.Schema
}

var _ gmssql.Table = (*charterTable)(nil)

func (t *charterTable) Name() string                  { return t.name }
func (t *charterTable) String() string                { return t.name }
func (t *charterTable) Schema() gmssql.Schema         { return t.sch }
func (t *charterTable) Collation() gmssql.CollationID { return gmssql.Collation_Default }

func (t *charterTable) Partitions(*gmssql.Context) (gmssql.PartitionIter, error) {
	return &onePartition{}, nil
}

func (t *charterTable) PartitionRows(ctx *gmssql.Context, _ gmssql.Partition) (gmssql.RowIter, error) {
	tx, err := txn.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := charterTables[t.name].rows(txnStore{tx})
	if err != nil {
		return nil, err
	}
	return gmssql.RowsToRowIter(rows...), nil
}

type onePartition struct{ done bool }

func (p *onePartition) Key() []byte { return []byte("charter") }

func (p *onePartition) Next(*gmssql.Context) (gmssql.Partition, error) {
	if p.done {
		return nil, io.EOF
	}
	p.done = true
	return p, nil
}

func (p *onePartition) Close(*gmssql.Context) error { return nil }
