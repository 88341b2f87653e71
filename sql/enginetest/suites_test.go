package enginetest

import (
	"testing"

	gmsenginetest "github.com/dolthub/go-mysql-server/enginetest"
	"github.com/dolthub/go-mysql-server/enginetest/queries"
)

// suites are the upstream suites Coffer runs, under the names of the
// upstream functions; TestMemoryBaseline runs the same list on the memory
// engine. The first group is the core DML, DDL and transaction suites;
// the second widens coverage to the rest of what a storage backend
// implements (errors, constraints, schema changes, indexes, views,
// triggers, procedures).
var suites = []suite{
	{"TestQueries", gmsenginetest.TestQueries, defaultMemory, nil},
	{"TestInsertInto", gmsenginetest.TestInsertInto, defaultMemory, scripts(queries.InsertScripts)},
	{"TestUpdate", gmsenginetest.TestUpdate, defaultMemory, nil},
	{"TestDelete", gmsenginetest.TestDelete, defaultMemory, nil},
	{"TestReplaceInto", gmsenginetest.TestReplaceInto, defaultMemory, nil},
	{"TestCreateTable", testCreateTable, defaultMemory, scripts(queries.CreateTableScriptTests, queries.CreateTableInSubroutineTests, queries.CreateTableAutoIncrementTests, named(createTableSubtests...))},
	{"TestAlterTable", gmsenginetest.TestAlterTable, defaultMemory, scripts(queries.AlterTableScripts)},
	{"TestTransactionScripts", gmsenginetest.TestTransactionScripts, skippingMemory, transactionScripts()},
	{"TestForeignKeys", gmsenginetest.TestForeignKeys, defaultMemory, scripts(queries.ForeignKeyTests)},
	{"TestChecksOnInsert", gmsenginetest.TestChecksOnInsert, defaultMemory, scripts(queries.ChecksOnInsertScripts)},
	{"TestScripts", gmsenginetest.TestScripts, defaultMemory, scripts(queries.ScriptTests)},

	{"TestInsertIgnoreInto", gmsenginetest.TestInsertIgnoreInto, defaultMemory, scripts(queries.InsertIgnoreScripts)},
	{"TestInsertIntoErrors", gmsenginetest.TestInsertIntoErrors, defaultMemory, scripts(queries.InsertErrorScripts)},
	{"TestInsertDuplicateKeyKeyless", gmsenginetest.TestInsertDuplicateKeyKeyless, defaultMemory, scripts(queries.InsertDuplicateKeyKeyless)},
	{"TestIgnoreIntoWithDuplicateUniqueKeyKeyless", gmsenginetest.TestIgnoreIntoWithDuplicateUniqueKeyKeyless, defaultMemory, scripts(queries.IgnoreWithDuplicateUniqueKeyKeylessScripts)},
	{"TestUpdateIgnore", gmsenginetest.TestUpdateIgnore, defaultMemory, scripts(queries.UpdateIgnoreScripts)},
	{"TestUpdateErrors", gmsenginetest.TestUpdateErrors, defaultMemory, scripts(queries.UpdateErrorScripts)},
	{"TestDeleteErrors", gmsenginetest.TestDeleteErrors, defaultMemory, scripts(queries.DeleteErrorTests)},
	{"TestReplaceIntoErrors", gmsenginetest.TestReplaceIntoErrors, defaultMemory, nil},
	{"TestTruncate", gmsenginetest.TestTruncate, defaultMemory, nil},
	{"TestOnUpdateExprScripts", gmsenginetest.TestOnUpdateExprScripts, defaultMemory, scripts(queries.OnUpdateExprScripts)},
	{"TestColumnDefaults", gmsenginetest.TestColumnDefaults, defaultMemory, scripts(queries.ColumnDefaultTests)},
	{"TestGeneratedColumns", gmsenginetest.TestGeneratedColumns, defaultMemory, scripts(queries.GeneratedColumnTests)},
	{"TestBlobs", gmsenginetest.TestBlobs, defaultMemory, nil},
	{"TestCreateCheckConstraints", gmsenginetest.TestCreateCheckConstraints, defaultMemory, scripts(queries.CreateCheckConstraintsScripts)},
	{"TestChecksOnUpdate", gmsenginetest.TestChecksOnUpdate, defaultMemory, scripts(queries.ChecksOnUpdateScriptTests)},
	{"TestDropCheckConstraints", gmsenginetest.TestDropCheckConstraints, defaultMemory, scripts(queries.DropCheckConstraintsScripts)},
	{"TestDisallowedCheckConstraints", gmsenginetest.TestDisallowedCheckConstraints, defaultMemory, scripts(queries.DisallowedCheckConstraintsScripts)},
	{"TestCreateForeignKeys", gmsenginetest.TestCreateForeignKeys, defaultMemory, scripts(queries.CreateForeignKeyTests)},
	{"TestDropForeignKeys", gmsenginetest.TestDropForeignKeys, defaultMemory, scripts(queries.DropForeignKeyTests)},
	{"TestCreateDatabase", gmsenginetest.TestCreateDatabase, defaultMemory, scripts(queries.CreateDatabaseScripts)},
	{"TestDropDatabase", gmsenginetest.TestDropDatabase, defaultMemory, scripts(queries.DropDatabaseScripts)},
	{"TestDropTable", gmsenginetest.TestDropTable, defaultMemory, nil},
	{"TestRenameTable", gmsenginetest.TestRenameTable, defaultMemory, scripts(queries.RenameTableScripts)},
	{"TestRenameColumn", testRenameColumn, defaultMemory, scripts(queries.RenameColumnScripts, named(noDatabaseSelected))},
	{"TestAddColumn", gmsenginetest.TestAddColumn, defaultMemory, scripts(queries.AddColumnScripts)},
	{"TestModifyColumn", gmsenginetest.TestModifyColumn, defaultMemory, scripts(queries.ModifyColumnScripts)},
	{"TestDropColumn", gmsenginetest.TestDropColumn, defaultMemory, scripts(queries.DropColumnScripts)},
	{"TestDropColumnKeylessTables", gmsenginetest.TestDropColumnKeylessTables, defaultMemory, scripts(queries.DropColumnKeylessTablesScripts)},
	{"TestAddDropPks", gmsenginetest.TestAddDropPks, defaultMemory, scripts(queries.AddDropPrimaryKeyScripts)},
	{"TestPkOrdinalsDDL", gmsenginetest.TestPkOrdinalsDDL, defaultMemory, nil},
	{"TestPkOrdinalsDML", gmsenginetest.TestPkOrdinalsDML, defaultMemory, nil},
	{"TestIndexes", gmsenginetest.TestIndexes, defaultMemory, scripts(queries.IndexQueries)},
	{"TestIndexPrefix", gmsenginetest.TestIndexPrefix, defaultMemory, scripts(queries.IndexPrefixQueries)},
	{"TestComplexIndexQueries", gmsenginetest.TestComplexIndexQueries, defaultMemory, nil},
	{"TestNullRanges", gmsenginetest.TestNullRanges, defaultMemory, nil},
	{"TestJoinQueries", gmsenginetest.TestJoinQueries, defaultMemory, scripts(queries.JoinScriptTests)},
	{"TestWindowFunctions", gmsenginetest.TestWindowFunctions, defaultMemory, nil},
	{"TestViews", gmsenginetest.TestViews, defaultMemory, scripts(queries.ViewCreateInSubroutineTests, queries.ViewScripts)},
	{"TestTriggers", gmsenginetest.TestTriggers, defaultMemory, scripts(queries.TriggerCreateInSubroutineTests, queries.TriggerTests)},
	{"TestTriggerErrors", gmsenginetest.TestTriggerErrors, defaultMemory, scripts(queries.TriggerErrorTests)},
	{"TestStoredProcedures", testStoredProcedures, defaultMemory, scripts(queries.ProcedureCallTests, queries.ProcedureCreateInSubroutineTests, queries.ProcedureDropTests, queries.ProcedureLogicTests, queries.ProcedureShowCreate, queries.ProcedureShowStatus, named(noDatabaseSelected))},
}

func TestQueries(t *testing.T)            { runSuite(t, "TestQueries") }
func TestInsertInto(t *testing.T)         { runSuite(t, "TestInsertInto") }
func TestUpdate(t *testing.T)             { runSuite(t, "TestUpdate") }
func TestDelete(t *testing.T)             { runSuite(t, "TestDelete") }
func TestReplaceInto(t *testing.T)        { runSuite(t, "TestReplaceInto") }
func TestCreateTable(t *testing.T)        { runSuite(t, "TestCreateTable") }
func TestAlterTable(t *testing.T)         { runSuite(t, "TestAlterTable") }
func TestTransactionScripts(t *testing.T) { runSuite(t, "TestTransactionScripts") }
func TestForeignKeys(t *testing.T)        { runSuite(t, "TestForeignKeys") }
func TestChecksOnInsert(t *testing.T)     { runSuite(t, "TestChecksOnInsert") }
func TestScripts(t *testing.T)            { runSuite(t, "TestScripts") }

func TestInsertIgnoreInto(t *testing.T)          { runSuite(t, "TestInsertIgnoreInto") }
func TestInsertIntoErrors(t *testing.T)          { runSuite(t, "TestInsertIntoErrors") }
func TestInsertDuplicateKeyKeyless(t *testing.T) { runSuite(t, "TestInsertDuplicateKeyKeyless") }
func TestIgnoreIntoWithDuplicateUniqueKeyKeyless(t *testing.T) {
	runSuite(t, "TestIgnoreIntoWithDuplicateUniqueKeyKeyless")
}
func TestUpdateIgnore(t *testing.T)               { runSuite(t, "TestUpdateIgnore") }
func TestUpdateErrors(t *testing.T)               { runSuite(t, "TestUpdateErrors") }
func TestDeleteErrors(t *testing.T)               { runSuite(t, "TestDeleteErrors") }
func TestReplaceIntoErrors(t *testing.T)          { runSuite(t, "TestReplaceIntoErrors") }
func TestTruncate(t *testing.T)                   { runSuite(t, "TestTruncate") }
func TestOnUpdateExprScripts(t *testing.T)        { runSuite(t, "TestOnUpdateExprScripts") }
func TestColumnDefaults(t *testing.T)             { runSuite(t, "TestColumnDefaults") }
func TestGeneratedColumns(t *testing.T)           { runSuite(t, "TestGeneratedColumns") }
func TestBlobs(t *testing.T)                      { runSuite(t, "TestBlobs") }
func TestCreateCheckConstraints(t *testing.T)     { runSuite(t, "TestCreateCheckConstraints") }
func TestChecksOnUpdate(t *testing.T)             { runSuite(t, "TestChecksOnUpdate") }
func TestDropCheckConstraints(t *testing.T)       { runSuite(t, "TestDropCheckConstraints") }
func TestDisallowedCheckConstraints(t *testing.T) { runSuite(t, "TestDisallowedCheckConstraints") }
func TestCreateForeignKeys(t *testing.T)          { runSuite(t, "TestCreateForeignKeys") }
func TestDropForeignKeys(t *testing.T)            { runSuite(t, "TestDropForeignKeys") }
func TestCreateDatabase(t *testing.T)             { runSuite(t, "TestCreateDatabase") }
func TestDropDatabase(t *testing.T)               { runSuite(t, "TestDropDatabase") }
func TestDropTable(t *testing.T)                  { runSuite(t, "TestDropTable") }
func TestRenameTable(t *testing.T)                { runSuite(t, "TestRenameTable") }
func TestRenameColumn(t *testing.T)               { runSuite(t, "TestRenameColumn") }
func TestAddColumn(t *testing.T)                  { runSuite(t, "TestAddColumn") }
func TestModifyColumn(t *testing.T)               { runSuite(t, "TestModifyColumn") }
func TestDropColumn(t *testing.T)                 { runSuite(t, "TestDropColumn") }
func TestDropColumnKeylessTables(t *testing.T)    { runSuite(t, "TestDropColumnKeylessTables") }
func TestAddDropPks(t *testing.T)                 { runSuite(t, "TestAddDropPks") }
func TestPkOrdinalsDDL(t *testing.T)              { runSuite(t, "TestPkOrdinalsDDL") }
func TestPkOrdinalsDML(t *testing.T)              { runSuite(t, "TestPkOrdinalsDML") }
func TestIndexes(t *testing.T)                    { runSuite(t, "TestIndexes") }
func TestIndexPrefix(t *testing.T)                { runSuite(t, "TestIndexPrefix") }
func TestComplexIndexQueries(t *testing.T)        { runSuite(t, "TestComplexIndexQueries") }
func TestNullRanges(t *testing.T)                 { runSuite(t, "TestNullRanges") }
func TestJoinQueries(t *testing.T)                { runSuite(t, "TestJoinQueries") }
func TestWindowFunctions(t *testing.T)            { runSuite(t, "TestWindowFunctions") }
func TestViews(t *testing.T)                      { runSuite(t, "TestViews") }
func TestTriggers(t *testing.T)                   { runSuite(t, "TestTriggers") }
func TestTriggerErrors(t *testing.T)              { runSuite(t, "TestTriggerErrors") }
func TestStoredProcedures(t *testing.T)           { runSuite(t, "TestStoredProcedures") }
