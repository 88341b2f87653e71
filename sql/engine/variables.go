package engine

import (
	"sync"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/cofferdb/coffer/sql/txn"
)

var registerVariablesOnce sync.Once

// registerVariables adds Coffer's system variables to go-mysql-server's
// (process-wide) table:
//
//	coffer_read_mode  'leader' (default): linearizable reads; 'follower':
//	                  a follower reads its own state, bounded staleness.
func registerVariables() {
	registerVariablesOnce.Do(func() {
		gmssql.SystemVariables.AddSystemVariables([]gmssql.SystemVariable{
			&gmssql.MysqlSystemVariable{
				Name:    txn.ReadModeVar,
				Scope:   gmssql.GetMysqlScope(gmssql.SystemVariableScope_Both),
				Dynamic: true,
				Type:    types.NewSystemEnumType(txn.ReadModeVar, "leader", "follower"),
				Default: "leader",
			},
		})
	})
}
