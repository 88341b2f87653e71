package engine

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"

	"github.com/cofferdb/coffer/sql/catalog"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// AdminUser is the genesis account.
const AdminUser = "admin"

// grantsPersister stores go-mysql-server's users and grants in the system
// keyspace, through the Proposer like any other commit. The blob is the
// whole user store, so the newest write wins and no conflict check is
// needed (read sequence "infinity").
type grantsPersister struct {
	proposer txn.Proposer
}

func (g grantsPersister) Persist(ctx *gmssql.Context, data []byte) error {
	ws := &storage.WriteSet{Mutations: []storage.Mutation{{Key: storage.SystemKey(catalog.SysGrants), Value: data}}}
	principal := txn.Principal{Name: ctx.Session.Client().User}
	_, err := g.proposer.Propose(ctx, ws, math.MaxUint64, principal)
	return err
}

// loadUsers restores users and grants from storage; on an empty store it
// creates the genesis admin with adminPassword (generated if empty) and
// returns the password it set, so the caller can tell the operator once.
func (e *Engine) loadUsers(adminPassword string) (created string, err error) {
	mdb := e.Analyzer.Catalog.MySQLDb
	mdb.SetPersister(grantsPersister{proposer: e.cfg.Proposer})
	ctx := gmssql.NewContext(context.Background(), gmssql.WithSession(e.NewSession(gmssql.NewBaseSession(), txn.Principal{Name: "coffer"})))
	blob, ok, err := e.cfg.DB.Get(storage.SystemKey(catalog.SysGrants), e.cfg.DB.ReadSeq())
	if err != nil {
		return "", err
	}
	if ok {
		if err := mdb.LoadData(ctx, blob); err != nil {
			return "", fmt.Errorf("engine: load users and grants: %w", err)
		}
		mdb.SetEnabled(true)
		return "", nil
	}
	if adminPassword == "" {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		adminPassword = base64.RawURLEncoding.EncodeToString(b)
	}
	ed := mdb.Editor()
	mdb.AddSuperUser(ed, AdminUser, "%", adminPassword)
	err = mdb.Persist(ctx, ed)
	ed.Close()
	if err != nil {
		return "", fmt.Errorf("engine: store genesis admin: %w", err)
	}
	return adminPassword, nil
}

var _ mysql_db.MySQLDbPersistence = grantsPersister{}
