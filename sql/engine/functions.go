package engine

import (
	"errors"
	"fmt"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/cofferdb/coffer/sql/catalog"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// receiptWait is how long coffer_receipt waits for a signature covering
// the transaction before saying the receipt is pending.
const receiptWait = 2 * time.Second

// registerFunctions adds Coffer's SQL functions to the engine.
func (e *Engine) registerFunctions() {
	ctx := gmssql.NewEmptyContext()
	e.Analyzer.Catalog.RegisterFunction(ctx,
		gmssql.Function0{Name: "coffer_last_commit", Fn: func() gmssql.Expression {
			return lastCommit{NoArgFunc: function.NoArgFunc{Name: "coffer_last_commit", SQLType: types.Uint64}}
		}},
		gmssql.Function1{Name: "coffer_receipt", Fn: func(arg gmssql.Expression) gmssql.Expression {
			return &receipt{UnaryExpression: expression.UnaryExpression{Child: arg}, db: e.cfg.DB, cat: e.Provider}
		}},
	)
}

// lastCommit is coffer_last_commit(): the sequence of the session's last
// committed transaction, like LAST_INSERT_ID() for commits.
type lastCommit struct{ function.NoArgFunc }

var _ gmssql.FunctionExpression = lastCommit{}

func (lastCommit) IsNonDeterministic() bool { return true }
func (lastCommit) FunctionName() string     { return "coffer_last_commit" }
func (lastCommit) Description() string {
	return "returns the ledger sequence number of this session's last committed transaction"
}

func (lastCommit) Eval(ctx *gmssql.Context, _ gmssql.Row) (any, error) {
	s, ok := ctx.Session.(*txn.Session)
	if !ok {
		return nil, nil
	}
	return s.LastCommit(), nil
}

func (c lastCommit) WithChildren(children ...gmssql.Expression) (gmssql.Expression, error) {
	return function.NoArgFuncWithChildren(c, children)
}

// receipt is coffer_receipt(seq): the receipt of a committed transaction
// as JSON, waiting briefly for the signature that covers it.
type receipt struct {
	expression.UnaryExpression
	db  *storage.DB
	cat *catalog.Provider // row policies: who may see which transaction
}

var _ gmssql.FunctionExpression = (*receipt)(nil)

func (*receipt) FunctionName() string { return "coffer_receipt" }
func (*receipt) Description() string {
	return "returns the offline-verifiable receipt (JSON) of the transaction with the given ledger sequence number"
}
func (*receipt) Type() gmssql.Type        { return types.LongText }
func (*receipt) IsNonDeterministic() bool { return true }
func (r *receipt) String() string         { return fmt.Sprintf("coffer_receipt(%s)", r.Child) }
func (r *receipt) CollationCoercibility(*gmssql.Context) (gmssql.CollationID, byte) {
	return gmssql.Collation_Default, 4
}

func (r *receipt) WithChildren(children ...gmssql.Expression) (gmssql.Expression, error) {
	if len(children) != 1 {
		return nil, gmssql.ErrInvalidChildrenNumber.New(r, len(children), 1)
	}
	return &receipt{UnaryExpression: expression.UnaryExpression{Child: children[0]}, db: r.db, cat: r.cat}, nil
}

func (r *receipt) Eval(ctx *gmssql.Context, row gmssql.Row) (any, error) {
	v, err := r.Child.Eval(ctx, row)
	if err != nil || v == nil {
		return nil, err
	}
	seqV, _, err := types.Uint64.Convert(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("coffer_receipt: %v is not a sequence number", v)
	}
	seq := seqV.(uint64)
	if seq == 0 || seq > r.db.ReadSeq() {
		return nil, fmt.Errorf("coffer_receipt(%d): no committed transaction has this sequence number (newest is %d)", seq, r.db.ReadSeq())
	}
	// A transaction that wrote rows the principal may not see has no
	// receipt for it (the same rule as coffer_ledger.transactions).
	entry, err := r.db.Entry(seq)
	if err != nil {
		return nil, err
	}
	if ok, err := r.cat.MaySeeTransaction(ctx, seq, entry.Principal); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("coffer_receipt(%d): the transaction wrote rows your row policies do not let you see", seq)
	}
	rc, err := r.db.Receipt(seq)
	if errors.Is(err, storage.ErrReceiptPending) && r.db.WaitSigned(seq, receiptWait) {
		rc, err = r.db.Receipt(seq)
	}
	if errors.Is(err, storage.ErrReceiptPending) {
		return nil, fmt.Errorf("coffer_receipt(%d): pending: no signed root covers it yet; ask again shortly", seq)
	}
	if err != nil {
		return nil, err
	}
	b, err := rc.MarshalIndent()
	if err != nil {
		return nil, err
	}
	return string(b), nil
}
