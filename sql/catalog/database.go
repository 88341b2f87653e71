package catalog

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
)

// Database is one database of the catalog. It holds only its name; every
// call reads the catalog as the caller's transaction sees it.
type Database struct {
	noEvents
	p    *Provider
	name string
}

var (
	_ gmssql.Database                = (*Database)(nil)
	_ gmssql.TableCreator            = (*Database)(nil)
	_ gmssql.TableDropper            = (*Database)(nil)
	_ gmssql.TableRenamer            = (*Database)(nil)
	_ gmssql.ViewDatabase            = (*Database)(nil)
	_ gmssql.TriggerDatabase         = (*Database)(nil)
	_ gmssql.StoredProcedureDatabase = (*Database)(nil)
)

// objectDesc stores a view, trigger or stored procedure definition.
type objectDesc struct {
	Name      string                         `json:"name"`
	Database  string                         `json:"database"`
	View      *gmssql.ViewDefinition         `json:"view,omitempty"`
	Trigger   *gmssql.TriggerDefinition      `json:"trigger,omitempty"`
	Procedure *gmssql.StoredProcedureDetails `json:"procedure,omitempty"`
}

// Name implements sql.Nameable.
func (d *Database) Name() string { return d.name }

// GetTableInsensitive implements sql.Database.
func (d *Database) GetTableInsensitive(ctx *gmssql.Context, name string) (gmssql.Table, bool, error) {
	st, _, err := d.p.stateFor(ctx)
	if err != nil {
		return nil, false, err
	}
	desc := st.table(d.name, name)
	if desc == nil {
		if base, ok := historyBase(name); ok {
			if bd := st.table(d.name, base); bd != nil {
				return newHistoryTable(d.p, bd), true, nil
			}
		}
		return nil, false, nil
	}
	return newTable(d.p, desc, 0), true, nil
}

// GetTableNames implements sql.Database.
func (d *Database) GetTableNames(ctx *gmssql.Context) ([]string, error) {
	st, _, err := d.p.stateFor(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range st.tables[strings.ToLower(d.name)] {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names, nil
}

// CreateTable implements sql.TableCreator.
func (d *Database) CreateTable(ctx *gmssql.Context, name string, sch gmssql.PrimaryKeySchema, collation gmssql.CollationID, comment string) error {
	st, t, err := d.p.stateFor(ctx)
	if err != nil {
		return err
	}
	if st.table(d.name, name) != nil {
		return gmssql.ErrTableAlreadyExists.New(name)
	}
	if err := checkKeyTypes(sch); err != nil {
		return err
	}
	id, err := d.p.nextTableID(t)
	if err != nil {
		return err
	}
	desc := descFromSchema(id, d.name, name, sch, collation, comment)
	t.Put(tableKey(d.name, name), encodeDesc(desc))
	return nil
}

// checkKeyTypes refuses primary keys whose values cannot be encoded in a
// key (JSON, geometry, …) before any row is written.
func checkKeyTypes(sch gmssql.PrimaryKeySchema) error {
	for _, o := range sch.PkOrdinals {
		if !keyableType(sch.Schema[o].Type) {
			return gmssql.ErrInvalidIndexPrefix.New(sch.Schema[o].Name)
		}
	}
	return nil
}

// DropTable implements sql.TableDropper.
func (d *Database) DropTable(ctx *gmssql.Context, name string) error {
	st, t, err := d.p.stateFor(ctx)
	if err != nil {
		return err
	}
	if st.table(d.name, name) == nil {
		return gmssql.ErrTableNotFound.New(name)
	}
	t.Delete(tableKey(d.name, name))
	return nil
}

// RenameTable implements sql.TableRenamer. Rows are keyed by table id, so
// a rename moves only the descriptor.
func (d *Database) RenameTable(ctx *gmssql.Context, oldName, newName string) error {
	st, t, err := d.p.stateFor(ctx)
	if err != nil {
		return err
	}
	desc := st.table(d.name, oldName)
	if desc == nil {
		return gmssql.ErrTableNotFound.New(oldName)
	}
	// Policies name their table: a renamed table would leave them behind.
	if ps := st.policies[strings.ToLower(d.name+"."+oldName)]; len(ps) > 0 && !strings.EqualFold(oldName, newName) {
		return fmt.Errorf("RENAME TABLE %s: the table has row policies (%s …), which name it; drop them, rename, and create them again", oldName, ps[0].Name)
	}
	if st.table(d.name, newName) != nil && !strings.EqualFold(oldName, newName) {
		return gmssql.ErrTableAlreadyExists.New(newName)
	}
	nd := desc.clone()
	nd.Name = newName
	for i := range nd.ForeignKeys {
		if strings.EqualFold(nd.ForeignKeys[i].Table, oldName) {
			nd.ForeignKeys[i].Table = newName
		}
		if strings.EqualFold(nd.ForeignKeys[i].ParentTable, oldName) {
			nd.ForeignKeys[i].ParentTable = newName
		}
	}
	t.Delete(tableKey(d.name, oldName))
	t.Put(tableKey(d.name, newName), encodeDesc(nd))
	// Foreign keys of other tables that reference the renamed one.
	for _, other := range st.tables[strings.ToLower(d.name)] {
		if other.ID == desc.ID {
			continue
		}
		changed := false
		od := other.clone()
		for i := range od.ForeignKeys {
			if strings.EqualFold(od.ForeignKeys[i].ParentTable, oldName) && strings.EqualFold(od.ForeignKeys[i].ParentDatabase, d.name) {
				od.ForeignKeys[i].ParentTable = newName
				changed = true
			}
		}
		if changed {
			t.Put(tableKey(d.name, od.Name), encodeDesc(od))
		}
	}
	return nil
}

func (d *Database) objects(ctx *gmssql.Context, kind string) ([]objectDesc, error) {
	st, _, err := d.p.stateFor(ctx)
	if err != nil {
		return nil, err
	}
	var out []objectDesc
	for _, raw := range st.objectsOf(kind, d.name) {
		var o objectDesc
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (d *Database) object(ctx *gmssql.Context, kind, name string) (*objectDesc, error) {
	st, _, err := d.p.stateFor(ctx)
	if err != nil {
		return nil, err
	}
	raw, ok := st.objectsOf(kind, d.name)[strings.ToLower(name)]
	if !ok {
		return nil, nil
	}
	var o objectDesc
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

func (d *Database) putObject(ctx *gmssql.Context, kind string, o objectDesc) error {
	_, t, err := d.p.stateFor(ctx)
	if err != nil {
		return err
	}
	o.Database = d.name
	t.Put(objectKey(kind, d.name, o.Name), encodeDesc(&o))
	return nil
}

func (d *Database) deleteObject(ctx *gmssql.Context, kind, name string) (bool, error) {
	o, err := d.object(ctx, kind, name)
	if err != nil || o == nil {
		return false, err
	}
	_, t, err := d.p.stateFor(ctx)
	if err != nil {
		return false, err
	}
	t.Delete(objectKey(kind, d.name, name))
	return true, nil
}

// CreateView implements sql.ViewDatabase.
func (d *Database) CreateView(ctx *gmssql.Context, name string, selectStatement, createViewStmt string) error {
	if o, err := d.object(ctx, sysView, name); err != nil || o != nil {
		if err != nil {
			return err
		}
		return gmssql.ErrExistingView.New(d.name, name)
	}
	v := gmssql.ViewDefinition{Name: name, TextDefinition: selectStatement, CreateViewStatement: createViewStmt, SqlMode: gmssql.LoadSqlMode(ctx).String()}
	return d.putObject(ctx, sysView, objectDesc{Name: name, View: &v})
}

// DropView implements sql.ViewDatabase.
func (d *Database) DropView(ctx *gmssql.Context, name string) error {
	ok, err := d.deleteObject(ctx, sysView, name)
	if err == nil && !ok {
		return gmssql.ErrViewDoesNotExist.New(d.name, name)
	}
	return err
}

// GetViewDefinition implements sql.ViewDatabase.
func (d *Database) GetViewDefinition(ctx *gmssql.Context, name string) (gmssql.ViewDefinition, bool, error) {
	o, err := d.object(ctx, sysView, name)
	if err != nil || o == nil || o.View == nil {
		return gmssql.ViewDefinition{}, false, err
	}
	return *o.View, true, nil
}

// AllViews implements sql.ViewDatabase.
func (d *Database) AllViews(ctx *gmssql.Context) ([]gmssql.ViewDefinition, error) {
	objs, err := d.objects(ctx, sysView)
	var out []gmssql.ViewDefinition
	for _, o := range objs {
		if o.View != nil {
			out = append(out, *o.View)
		}
	}
	return out, err
}

// GetTriggers implements sql.TriggerDatabase, in creation order.
func (d *Database) GetTriggers(ctx *gmssql.Context) ([]gmssql.TriggerDefinition, error) {
	objs, err := d.objects(ctx, sysTrigger)
	var out []gmssql.TriggerDefinition
	for _, o := range objs {
		if o.Trigger != nil {
			out = append(out, *o.Trigger)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, err
}

// CreateTrigger implements sql.TriggerDatabase.
func (d *Database) CreateTrigger(ctx *gmssql.Context, def gmssql.TriggerDefinition) error {
	return d.putObject(ctx, sysTrigger, objectDesc{Name: def.Name, Trigger: &def})
}

// DropTrigger implements sql.TriggerDatabase.
func (d *Database) DropTrigger(ctx *gmssql.Context, name string) error {
	ok, err := d.deleteObject(ctx, sysTrigger, name)
	if err == nil && !ok {
		return gmssql.ErrTriggerDoesNotExist.New(name)
	}
	return err
}

// GetStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) GetStoredProcedure(ctx *gmssql.Context, name string) (gmssql.StoredProcedureDetails, bool, error) {
	o, err := d.object(ctx, sysProcedure, name)
	if err != nil || o == nil || o.Procedure == nil {
		return gmssql.StoredProcedureDetails{}, false, err
	}
	return *o.Procedure, true, nil
}

// GetStoredProcedures implements sql.StoredProcedureDatabase.
func (d *Database) GetStoredProcedures(ctx *gmssql.Context) ([]gmssql.StoredProcedureDetails, error) {
	objs, err := d.objects(ctx, sysProcedure)
	var out []gmssql.StoredProcedureDetails
	for _, o := range objs {
		if o.Procedure != nil {
			out = append(out, *o.Procedure)
		}
	}
	return out, err
}

// SaveStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) SaveStoredProcedure(ctx *gmssql.Context, spd gmssql.StoredProcedureDetails) error {
	if o, err := d.object(ctx, sysProcedure, spd.Name); err != nil || o != nil {
		if err != nil {
			return err
		}
		return gmssql.ErrStoredProcedureAlreadyExists.New(spd.Name)
	}
	return d.putObject(ctx, sysProcedure, objectDesc{Name: spd.Name, Procedure: &spd})
}

// DropStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) DropStoredProcedure(ctx *gmssql.Context, name string) error {
	ok, err := d.deleteObject(ctx, sysProcedure, name)
	if err == nil && !ok {
		return gmssql.ErrStoredProcedureDoesNotExist.New(name)
	}
	return err
}
