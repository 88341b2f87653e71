package governance

import (
	"bytes"
	"fmt"
	"io"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/rowexec"

	"github.com/cofferdb/coffer/charter"
	"github.com/cofferdb/coffer/sql/catalog"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// GrantsKey is where the engine's user store (go-mysql-server's MySQLDb,
// serialized) lives: the engine loads it after a commit that wrote it.
func GrantsKey() []byte { return storage.SystemKey(catalog.SysGrants) }

// grantsKey is GrantsKey, made once for IsGrantsKey.
var grantsKey = GrantsKey()

// IsGrantsKey reports whether k is GrantsKey(), without making one: every
// commit's mutations are looked through for it.
func IsGrantsKey(k []byte) bool { return bytes.Equal(k, grantsKey) }

// effects applies account actions to a scratch copy of the user store
// loaded from the transaction, and writes the result back into the same
// transaction. The blob is computed once, on the node that runs the
// statement, and replicated as bytes.
type effects struct {
	ctx *gmssql.Context
	t   *txn.Transaction
	cat gmssql.Catalog
}

var _ charter.Effects = (*effects)(nil)

// Check implements charter.Effects: a dry run.
func (f *effects) Check(a *charter.Action) error {
	_, err := f.run(a)
	return err
}

// Apply implements charter.Effects.
func (f *effects) Apply(a *charter.Action) error {
	blob, err := f.run(a)
	if err != nil || blob == nil {
		return err
	}
	f.t.Put(GrantsKey(), blob)
	return nil
}

type capture struct{ data []byte }

func (c *capture) Persist(_ *gmssql.Context, data []byte) error {
	c.data = append([]byte(nil), data...)
	return nil
}

// run applies a to a scratch user store and returns the new blob, or nil
// when a does not touch the user store.
func (f *effects) run(a *charter.Action) ([]byte, error) {
	switch a.Kind {
	case charter.KindCreateMember, charter.KindDropMember, charter.KindCreateUser, charter.KindAlterUser:
		if len(a.Accounts) == 0 && a.Kind != charter.KindCreateMember {
			return nil, nil
		}
	case charter.KindDropUser, charter.KindCreateRole, charter.KindDropRole, charter.KindGrant, charter.KindRevoke:
	default:
		return nil, nil
	}
	db, cp, err := f.scratch()
	if err != nil {
		return nil, err
	}
	switch a.Kind {
	case charter.KindCreateMember:
		if len(a.Accounts) == 0 {
			// An existing login becomes a member.
			r := db.Reader()
			u := db.GetUser(r, a.Name, "%", false)
			r.Close()
			if u == nil || u.IsRole || u.Locked {
				return nil, fmt.Errorf("CREATE MEMBER %s: no user %q; give IDENTIFIED BY '<password>' to create its login (roles and locked accounts cannot be members)", a.Name, a.Name)
			}
			return nil, nil
		}
		err = createLogins(f.ctx, db, a.Accounts, false, memberDatabases...)
	case charter.KindCreateUser:
		err = createLogins(f.ctx, db, a.Accounts, a.IfNotExists)
	case charter.KindAlterUser:
		err = alterLogin(f.ctx, db, a.Accounts[0])
	case charter.KindDropMember:
		err = dropLogins(f.ctx, db, a.Accounts)
	default:
		err = f.replay(db, a)
	}
	if err != nil {
		return nil, err
	}
	return cp.data, nil
}

func (f *effects) scratch() (*mysql_db.MySQLDb, *capture, error) {
	db := mysql_db.CreateEmptyMySQLDb()
	cp := &capture{}
	db.SetPersister(cp)
	blob, ok, err := f.t.Get(GrantsKey())
	if err != nil {
		return nil, nil, err
	}
	if ok {
		ed := db.Editor()
		err := db.OverwriteUsersAndGrantData(f.ctx, ed, blob)
		ed.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	db.SetEnabled(true)
	return db, cp, nil
}

// passwordEpoch stands in for the password change time: applying must not
// read the clock.
var passwordEpoch = time.Unix(0, 0).UTC()

// memberDatabases are what a member's login may read from the start: the
// charter it governs and the ledger it audits.
var memberDatabases = []string{CharterDatabase, "coffer_ledger"}

func createLogins(ctx *gmssql.Context, db *mysql_db.MySQLDb, accs []charter.Account, ifNotExists bool, readable ...string) error {
	ed := db.Editor()
	defer ed.Close()
	for _, acc := range accs {
		pk := mysql_db.UserPrimaryKey{User: acc.Name, Host: acc.Host}
		if _, ok := ed.GetUser(pk); ok {
			if ifNotExists {
				continue
			}
			return gmssql.ErrUserCreationFailure.New(fmt.Sprintf("'%s'@'%s'", acc.Name, acc.Host))
		}
		plugin := acc.Plugin
		if plugin == "" {
			plugin = "mysql_native_password"
		}
		privs := mysql_db.NewPrivilegeSet()
		for _, d := range readable {
			privs.AddDatabase(d, gmssql.PrivilegeType_Select)
		}
		ed.PutUser(&mysql_db.User{
			User: acc.Name, Host: acc.Host, PrivilegeSet: privs,
			Plugin: plugin, AuthString: acc.AuthString, PasswordLastChanged: passwordEpoch,
		})
	}
	return db.Persist(ctx, ed)
}

func alterLogin(ctx *gmssql.Context, db *mysql_db.MySQLDb, acc charter.Account) error {
	ed := db.Editor()
	defer ed.Close()
	u, ok := ed.GetUser(mysql_db.UserPrimaryKey{User: acc.Name, Host: acc.Host})
	if !ok {
		return gmssql.ErrUserAlterFailure.New(fmt.Sprintf("no user '%s'@'%s'", acc.Name, acc.Host))
	}
	if acc.Plugin != "" {
		// u is the scratch store's own record.
		u.Plugin, u.AuthString, u.PasswordLastChanged = acc.Plugin, acc.AuthString, passwordEpoch
	}
	return db.Persist(ctx, ed)
}

func dropLogins(ctx *gmssql.Context, db *mysql_db.MySQLDb, accs []charter.Account) error {
	ed := db.Editor()
	defer ed.Close()
	for _, acc := range accs {
		ed.RemoveUser(mysql_db.UserPrimaryKey{User: acc.Name, Host: acc.Host})
		ed.RemoveRoleEdgesFromKey(mysql_db.RoleEdgesFromKey{FromHost: acc.Host, FromUser: acc.Name})
		ed.RemoveRoleEdgesToKey(mysql_db.RoleEdgesToKey{ToHost: acc.Host, ToUser: acc.Name})
	}
	return db.Persist(ctx, ed)
}

// replay runs the stored statement with go-mysql-server's own executor
// against the scratch user store, in the database it was proposed in.
func (f *effects) replay(db *mysql_db.MySQLDb, a *charter.Action) error {
	if f.cat == nil {
		return fmt.Errorf("governance: no catalog to run %q", a.Summary)
	}
	old := f.ctx.GetCurrentDatabase()
	f.ctx.SetCurrentDatabase(a.Database)
	defer f.ctx.SetCurrentDatabase(old)
	b := planbuilder.New(f.ctx, f.cat, nil, gmssql.NewMysqlParser())
	b.DisableAuth()
	node, _, _, _, err := b.Parse(a.Statement, nil, false)
	if err != nil {
		return err
	}
	switch n := node.(type) {
	case *plan.DropUser:
		n.MySQLDb = db
	case *plan.CreateRole:
		n.MySQLDb = db
	case *plan.DropRole:
		n.MySQLDb = db
	case *plan.Grant:
		n.MySQLDb = db
	case *plan.GrantRole:
		n.MySQLDb = db
	case *plan.Revoke:
		n.MySQLDb = db
	case *plan.RevokeRole:
		n.MySQLDb = db
	default:
		return fmt.Errorf("governance: %q is not supported as a proposal", a.Summary)
	}
	iter, err := rowexec.DefaultBuilder.Build(f.ctx, node, nil)
	if err != nil {
		return err
	}
	for {
		if _, err := iter.Next(f.ctx); err == io.EOF {
			break
		} else if err != nil {
			iter.Close(f.ctx)
			return err
		}
	}
	return iter.Close(f.ctx)
}
