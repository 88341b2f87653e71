package catalog

import (
	gmssql "github.com/dolthub/go-mysql-server/sql"
)

var _ gmssql.CollatedDatabaseProvider = (*Provider)(nil)

// CreateCollatedDatabase implements sql.CollatedDatabaseProvider, which
// go-mysql-server prefers for CREATE DATABASE. Coffer databases have no
// collation of their own, so the requested one is ignored, as
// go-mysql-server does for such databases. Without this method it falls
// back to CreateDatabase and then SetCollation through its privilege
// wrapper, which fails for a database that is not a sql.CollatedDatabase:
// CREATE DATABASE failed whenever users were enabled.
func (p *Provider) CreateCollatedDatabase(ctx *gmssql.Context, name string, _ gmssql.CollationID) error {
	return p.CreateDatabase(ctx, name)
}
