package catalog

import (
	"crypto/x509"
	"sort"
	"strings"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/cofferdb/coffer/storage/ledger"
)

// LedgerDatabase is the read-only system database coffer_ledger: the
// ledger's entries and signatures as tables.
const LedgerDatabase = "coffer_ledger"

type ledgerDatabase struct {
	noEvents
	p *Provider
}

var _ gmssql.Database = ledgerDatabase{}

func (ledgerDatabase) Name() string { return LedgerDatabase }

func (d ledgerDatabase) GetTableInsensitive(_ *gmssql.Context, name string) (gmssql.Table, bool, error) {
	switch strings.ToLower(name) {
	case "transactions":
		return &ledgerTable{p: d.p, name: "transactions", sch: transactionsSchema}, true, nil
	case "signatures":
		return &ledgerTable{p: d.p, name: "signatures", sch: signaturesSchema}, true, nil
	}
	return nil, false, nil
}

func (ledgerDatabase) GetTableNames(*gmssql.Context) ([]string, error) {
	return []string{"signatures", "transactions"}, nil
}

func ledgerColumn(table, name string, typ gmssql.Type, pk bool) *gmssql.Column {
	return &gmssql.Column{Name: name, Type: typ, Source: table, DatabaseSource: LedgerDatabase, PrimaryKey: pk}
}

var (
	hexType  = types.MustCreateStringWithDefaults(sqltypes.VarChar, 64)
	nameType = types.MustCreateStringWithDefaults(sqltypes.VarChar, 255)

	transactionsSchema = gmssql.Schema{
		ledgerColumn("transactions", "seq", types.Uint64, true),
		ledgerColumn("transactions", "hash", hexType, false),
		ledgerColumn("transactions", "prev_hash", hexType, false),
		ledgerColumn("transactions", "write_set_hash", hexType, false),
		ledgerColumn("transactions", "principal", nameType, false),
		ledgerColumn("transactions", "committed_at", types.DatetimeMaxPrecision, false),
		ledgerColumn("transactions", "kind", nameType, false),
	}
	signaturesSchema = gmssql.Schema{
		ledgerColumn("signatures", "size", types.Uint64, true),
		ledgerColumn("signatures", "root", hexType, false),
		ledgerColumn("signatures", "signed_at", types.DatetimeMaxPrecision, false),
		ledgerColumn("signatures", "node", nameType, false),
	}
)

// ledgerTable is coffer_ledger.transactions or .signatures. Rows are the
// committed, durable ledger (up to the node's read sequence).
type ledgerTable struct {
	p    *Provider
	name string
	sch  gmssql.Schema
}

var _ gmssql.Table = (*ledgerTable)(nil)

func (t *ledgerTable) Name() string                  { return t.name }
func (t *ledgerTable) String() string                { return t.name }
func (t *ledgerTable) Schema() gmssql.Schema         { return t.sch }
func (t *ledgerTable) Collation() gmssql.CollationID { return gmssql.Collation_Default }

func (t *ledgerTable) Partitions(*gmssql.Context) (gmssql.PartitionIter, error) {
	return &partitionIter{p: &partition{}}, nil
}

// PartitionRows lists the ledger; transactions lists only those the
// principal may see (see ledger_policy.go).
func (t *ledgerTable) PartitionRows(ctx *gmssql.Context, _ gmssql.Partition) (gmssql.RowIter, error) {
	var rows []gmssql.Row
	head := t.p.db.ReadSeq()
	var err error
	if t.name == "transactions" {
		hidden, me, herr := t.p.hiddenTransactions(ctx, head)
		if herr != nil {
			return nil, herr
		}
		err = t.p.db.Entries(1, func(enc []byte, e *ledger.Entry) error {
			if e.Seq > head {
				return errStop
			}
			if hidden[e.Seq] && e.Principal != me {
				return nil
			}
			rows = append(rows, gmssql.Row{e.Seq, ledger.LeafHash(enc).String(), e.PrevHash.String(),
				e.WriteSetHash.String(), e.Principal, time.Unix(0, e.CommittedAt).UTC(), e.Kind})
			return nil
		})
	} else {
		err = t.p.db.Signatures(func(s *ledger.SignedRoot) error {
			node := ""
			if c, cerr := x509.ParseCertificate(s.NodeCert); cerr == nil {
				node = c.Subject.CommonName
			}
			rows = append(rows, gmssql.Row{s.Size, s.Root.String(), time.Unix(0, s.SignedAt).UTC(), node})
			return nil
		})
		sort.Slice(rows, func(i, j int) bool { return rows[i][0].(uint64) < rows[j][0].(uint64) })
	}
	if err != nil && err != errStop {
		return nil, err
	}
	return gmssql.RowsToRowIter(rows...), nil
}

type stopError struct{}

func (stopError) Error() string { return "stop" }

var errStop error = stopError{}

// coffer_ledger has no views, but go-mysql-server's privilege wrapper asks
// every database for them.
var _ gmssql.ViewDatabase = ledgerDatabase{}

func (ledgerDatabase) CreateView(*gmssql.Context, string, string, string) error {
	return gmssql.ErrDatabaseWriteLocked.New(LedgerDatabase)
}
func (ledgerDatabase) DropView(*gmssql.Context, string) error {
	return gmssql.ErrDatabaseWriteLocked.New(LedgerDatabase)
}
func (ledgerDatabase) GetViewDefinition(*gmssql.Context, string) (gmssql.ViewDefinition, bool, error) {
	return gmssql.ViewDefinition{}, false, nil
}
func (ledgerDatabase) AllViews(*gmssql.Context) ([]gmssql.ViewDefinition, error) { return nil, nil }

// Nor triggers or procedures: empty, for the same reason as views.
var (
	_ gmssql.TriggerDatabase         = ledgerDatabase{}
	_ gmssql.StoredProcedureDatabase = ledgerDatabase{}
)

func (ledgerDatabase) GetTriggers(*gmssql.Context) ([]gmssql.TriggerDefinition, error) {
	return nil, nil
}
func (ledgerDatabase) CreateTrigger(*gmssql.Context, gmssql.TriggerDefinition) error {
	return gmssql.ErrDatabaseWriteLocked.New(LedgerDatabase)
}
func (ledgerDatabase) DropTrigger(*gmssql.Context, string) error {
	return gmssql.ErrDatabaseWriteLocked.New(LedgerDatabase)
}
func (ledgerDatabase) GetStoredProcedure(*gmssql.Context, string) (gmssql.StoredProcedureDetails, bool, error) {
	return gmssql.StoredProcedureDetails{}, false, nil
}
func (ledgerDatabase) GetStoredProcedures(*gmssql.Context) ([]gmssql.StoredProcedureDetails, error) {
	return nil, nil
}
func (ledgerDatabase) SaveStoredProcedure(*gmssql.Context, gmssql.StoredProcedureDetails) error {
	return gmssql.ErrDatabaseWriteLocked.New(LedgerDatabase)
}
func (ledgerDatabase) DropStoredProcedure(*gmssql.Context, string) error {
	return gmssql.ErrDatabaseWriteLocked.New(LedgerDatabase)
}
