package governance

import (
	"errors"
	"fmt"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	vmysql "github.com/dolthub/vitess/go/mysql"

	"github.com/cofferdb/coffer/charter"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// txnStore is the charter's Store over a Coffer transaction.
type txnStore struct{ t *txn.Transaction }

func (s txnStore) Get(k []byte) ([]byte, bool, error) { return s.t.Get(k) }
func (s txnStore) Put(k, v []byte)                    { s.t.Put(k, v) }
func (s txnStore) Delete(k []byte)                    { s.t.Delete(k) }
func (s txnStore) Scan(p []byte, fn func(k, v []byte) error) error {
	it, err := s.t.NewIter(p, storage.PrefixEnd(p))
	if err != nil {
		return err
	}
	return charter.ScanIter(it, fn)
}

// RowIter implements sql.ExecSourceRel: the statement runs here, inside
// the session's transaction; the engine commits it when the iterator
// closes (autocommit).
func (n *Node) RowIter(ctx *gmssql.Context, _ gmssql.Row) (gmssql.RowIter, error) {
	switch n.st.Op {
	case opNoop:
		return gmssql.RowsToRowIter(gmssql.Row{types.NewOkResult(0)}), nil
	case opShow:
		return n.show(ctx)
	}
	if ctx.GetIgnoreAutoCommit() {
		return nil, fmt.Errorf("%s: governance statements run in their own transaction; COMMIT or ROLLBACK first", firstWords(n.text))
	}
	if on, err := plan.IsSessionAutocommit(ctx); err != nil {
		return nil, err
	} else if !on {
		return nil, fmt.Errorf("%s: governance statements need autocommit; SET autocommit = 1 first", firstWords(n.text))
	}
	t, err := txn.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	if t.Dirty() {
		return nil, fmt.Errorf("%s: governance statements run in their own transaction", firstWords(n.text))
	}
	sess, ok := ctx.Session.(*txn.Session)
	if !ok {
		return nil, fmt.Errorf("governance: session %T is not a Coffer session", ctx.Session)
	}
	tx, err := charter.Begin(txnStore{t}, &effects{ctx: ctx, t: t, cat: n.gov.cfg.Catalog})
	if err != nil {
		return nil, err
	}
	p, err := n.run(ctx, tx, sess.Principal().Name)
	if err != nil {
		return nil, sqlError(err)
	}
	t.SetKind(ledger.KindGovernance)
	a, r := p.Count()
	return gmssql.RowsToRowIter(gmssql.Row{p.ID, p.Action.Kind, p.State, int64(a), int64(r), p.Action.Summary, p.Reason}), nil
}

func (n *Node) run(ctx *gmssql.Context, tx *charter.Tx, member string) (*charter.Proposal, error) {
	switch n.st.Op {
	case opVote:
		return tx.Vote(member, n.st.ID, n.st.Approve)
	case opWithdraw:
		return tx.Withdraw(member, n.st.ID)
	}
	a := n.st.Action
	if err := complete(ctx, tx.Charter(), n.st, &a); err != nil {
		return nil, err
	}
	if a.Kind == charter.KindCreatePolicy {
		if err := n.checkPolicy(ctx, a.Policy); err != nil {
			return nil, err
		}
	}
	return tx.Propose(member, a)
}

// complete fills in what the action needs from the session and the
// charter at proposal time: hashed passwords, the current database, the
// constitution being replaced.
func complete(ctx *gmssql.Context, c *charter.Charter, st *Statement, a *charter.Action) error {
	a.Database = ctx.GetCurrentDatabase()
	switch a.Kind {
	case charter.KindCreateMember:
		if len(a.Accounts) == 1 {
			acc, err := hashPassword(a.Accounts[0], st.Password)
			if err != nil {
				return err
			}
			a.Accounts[0] = acc
		}
	case charter.KindDropMember:
		if m, ok := c.Member(a.Name); ok && m.OwnsLogin {
			a.Accounts = []charter.Account{{Name: m.Name, Host: m.Host}}
		}
	case charter.KindSetConstitution:
		a.Replaces = charter.ConstitutionHash(c.Constitution)
	case charter.KindCreatePolicy, charter.KindDropPolicy:
		db := st.tableDB
		if db == "" {
			db = a.Database
		}
		if db == "" {
			return gmssql.ErrNoDatabaseSelected.New()
		}
		p := *a.Policy
		p.Table = strings.ToLower(db + "." + st.table)
		a.Policy = &p
		verb := "CREATE"
		if a.Kind == charter.KindDropPolicy {
			verb = "DROP"
		}
		a.Summary = fmt.Sprintf("%s POLICY %s ON %s", verb, p.Name, p.Table)
	}
	return nil
}

// sqlError maps charter errors to MySQL errors.
func sqlError(err error) error {
	switch {
	case errors.Is(err, charter.ErrNotMember):
		return vmysql.NewSQLError(vmysql.ERSpecifiedAccessDenied, vmysql.SSClientError, "%s", strings.TrimPrefix(err.Error(), "charter: "))
	case errors.Is(err, charter.ErrNoProposal), errors.Is(err, charter.ErrClosed), errors.Is(err, charter.ErrDoubleVote),
		errors.Is(err, charter.ErrStale), errors.Is(err, charter.ErrInvalid), errors.Is(err, charter.ErrBadConstitution):
		return errors.New(strings.TrimPrefix(err.Error(), "charter: "))
	}
	return err
}

// Genesis writes the first charter (member admin and the default
// constitution) into t if the store has none, and reports whether it did.
func Genesis(t *txn.Transaction, admin string, nodes ...string) (bool, error) {
	ok, err := charter.Genesis(txnStore{t}, admin, "%", nodes...)
	if ok {
		t.SetKind(ledger.KindGovernance)
	}
	return ok, err
}
