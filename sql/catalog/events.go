package catalog

import (
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
)

// Coffer has no scheduled events yet. Databases still implement
// sql.EventDatabase, empty, because go-mysql-server's privilege wrapper
// turns a missing implementation into an error for every reader of events
// (information_schema.EVENTS, SHOW EVENTS, the event scheduler).
var errNoEvents = gmssql.ErrUnsupportedFeature.New("CREATE EVENT (scheduled events)")

type noEvents struct{}

func (noEvents) GetEvent(*gmssql.Context, string) (gmssql.EventDefinition, bool, error) {
	return gmssql.EventDefinition{}, false, nil
}
func (noEvents) GetEvents(*gmssql.Context) ([]gmssql.EventDefinition, any, error) {
	return nil, nil, nil
}
func (noEvents) SaveEvent(*gmssql.Context, gmssql.EventDefinition) (bool, error) {
	return false, errNoEvents
}
func (noEvents) DropEvent(*gmssql.Context, string) error { return errNoEvents }
func (noEvents) UpdateEvent(*gmssql.Context, string, gmssql.EventDefinition) (bool, error) {
	return false, errNoEvents
}
func (noEvents) NeedsToReloadEvents(*gmssql.Context, any) (bool, error) { return false, nil }
func (noEvents) UpdateLastExecuted(*gmssql.Context, string, time.Time) error {
	return errNoEvents
}

var (
	_ gmssql.EventDatabase = (*Database)(nil)
	_ gmssql.EventDatabase = ledgerDatabase{}
)
