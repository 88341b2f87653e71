package engine

import (
	"errors"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/cofferdb/coffer/storage"
)

var verifySchema = gmssql.Schema{
	{Name: "status", Type: types.MustCreateStringWithDefaults(sqltypes.VarChar, 16)},
	{Name: "entries", Type: types.Uint64},
	{Name: "signatures", Type: types.Uint64},
	{Name: "head", Type: types.MustCreateStringWithDefaults(sqltypes.VarChar, 64)},
	{Name: "first_bad_seq", Type: types.Uint64, Nullable: true},
	{Name: "detail", Type: types.LongText},
}

// registerProcedures adds CALL coffer_verify_ledger(): the live node checks
// its whole ledger (chain, Merkle nodes, signatures and their endorsement,
// row versions against write set hashes).
func (e *Engine) registerProcedures() {
	e.Provider.RegisterProcedure(gmssql.ExternalStoredProcedureDetails{
		Name:     "coffer_verify_ledger",
		Schema:   verifySchema,
		ReadOnly: true,
		Function: func(ctx *gmssql.Context) (gmssql.RowIter, error) {
			r, err := e.cfg.DB.VerifyLedger(e.cfg.ServiceCert, nil)
			var ve *storage.VerifyError
			if errors.As(err, &ve) {
				return gmssql.RowsToRowIter(gmssql.Row{"FAILED", uint64(0), uint64(0), "", ve.Seq, ve.Reason}), nil
			}
			if err != nil {
				return nil, err
			}
			return gmssql.RowsToRowIter(gmssql.Row{"OK", r.Entries, uint64(r.Signatures), r.Head.String(), nil, r.String()}), nil
		},
	})
}
