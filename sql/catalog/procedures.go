package catalog

import (
	gmssql "github.com/dolthub/go-mysql-server/sql"
)

var _ gmssql.ExternalStoredProcedureProvider = (*Provider)(nil)

// RegisterProcedure adds a built-in procedure (CALL name(…)), available in
// every database. Register before serving: the registry is not locked.
func (p *Provider) RegisterProcedure(d gmssql.ExternalStoredProcedureDetails) {
	p.procs.Register(d)
}

// ExternalStoredProcedure implements sql.ExternalStoredProcedureProvider.
func (p *Provider) ExternalStoredProcedure(_ *gmssql.Context, name string, numOfParams int) (*gmssql.ExternalStoredProcedureDetails, error) {
	return p.procs.LookupByNameAndParamCount(name, numOfParams)
}

// ExternalStoredProcedures implements sql.ExternalStoredProcedureProvider.
func (p *Provider) ExternalStoredProcedures(_ *gmssql.Context, name string) ([]gmssql.ExternalStoredProcedureDetails, error) {
	return p.procs.LookupByName(name)
}
