package engine

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"

	"github.com/cofferdb/coffer/sql/governance"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// AdminUser is the genesis account: the first member of the charter.
const AdminUser = "admin"

// errUsersFromCharter is what go-mysql-server's own account statements get
// if one ever reaches the user store directly: accounts change only
// through charter proposals (sql/governance intercepts them).
var errUsersFromCharter = errors.New("users and grants change only through charter proposals (CREATE USER, GRANT, … as text queries)")

// charterPersister refuses direct writes to the user store.
type charterPersister struct{}

func (charterPersister) Persist(*gmssql.Context, []byte) error { return errUsersFromCharter }

type capturePersister struct{ data []byte }

func (c *capturePersister) Persist(_ *gmssql.Context, data []byte) error {
	c.data = append([]byte(nil), data...)
	return nil
}

// reloadingProposer loads the user store after every commit that wrote it,
// so that logins and grants follow the charter at once.
type reloadingProposer struct {
	txn.Proposer
	e *Engine
}

func (r reloadingProposer) Propose(ctx context.Context, ws *storage.WriteSet, readSeq uint64, p txn.Principal) (uint64, error) {
	start := time.Now()
	seq, err := r.Proposer.Propose(ctx, ws, readSeq, p)
	r.e.commits.observe(time.Since(start), err)
	if err != nil {
		return seq, err
	}
	for _, m := range ws.Mutations {
		if !m.Delete && governance.IsGrantsKey(m.Key) {
			if err := r.e.ReloadUsers(m.Value); err != nil {
				r.e.cfg.Logger.Error("reload users after commit", "seq", seq, "err", err)
			}
		}
	}
	return seq, nil
}

// ReloadUsers replaces the engine's users and grants with blob (a commit
// applied by replication calls it too).
func (e *Engine) ReloadUsers(blob []byte) error {
	mdb := e.Analyzer.Catalog.MySQLDb
	ctx := gmssql.NewContext(context.Background())
	ed := mdb.Editor()
	defer ed.Close()
	return mdb.OverwriteUsersAndGrantData(ctx, ed, blob)
}

// loadUsers restores users and grants from storage; on an empty store it
// creates the genesis admin with adminPassword (generated if empty) and
// returns the password it set, so the caller can tell the operator once.
// It also writes the charter's genesis (member admin, default
// constitution) when the store has none, in the same commit.
func (e *Engine) loadUsers(adminPassword string) (created string, err error) {
	mdb := e.Analyzer.Catalog.MySQLDb
	// The store's own state, not the Snapshotter's: starting must not
	// wait for anything outside this node (a Snapshotter may wait for
	// others, as a replicated node's does for a leader). Later changes
	// reach the user store through ReloadUsers.
	s := txn.NewSession(gmssql.NewBaseSession(), e.cfg.DB, e.proposer, txn.Principal{Name: "coffer"})
	ctx := gmssql.NewContext(context.Background(), gmssql.WithSession(s))
	t, err := txn.FromContext(ctx)
	if err != nil {
		return "", err
	}
	blob, ok, err := t.Get(governance.GrantsKey())
	if err != nil {
		return "", err
	}
	if ok {
		if err := mdb.LoadData(ctx, blob); err != nil {
			return "", fmt.Errorf("engine: load users and grants: %w", err)
		}
	} else {
		if adminPassword == "" {
			b := make([]byte, 18)
			if _, err := rand.Read(b); err != nil {
				return "", err
			}
			adminPassword = base64.RawURLEncoding.EncodeToString(b)
		}
		cp := &capturePersister{}
		mdb.SetPersister(cp)
		ed := mdb.Editor()
		mdb.AddSuperUser(ed, AdminUser, "%", adminPassword)
		err = mdb.Persist(ctx, ed)
		ed.Close()
		if err != nil {
			return "", fmt.Errorf("engine: genesis admin: %w", err)
		}
		t.Put(governance.GrantsKey(), cp.data)
		created = adminPassword
	}
	mdb.SetPersister(charterPersister{})
	mdb.SetEnabled(true)
	if _, err := governance.Genesis(t, AdminUser, e.cfg.GenesisNodes...); err != nil {
		return "", fmt.Errorf("engine: charter genesis: %w", err)
	}
	if err := ctx.Session.(*txn.Session).CommitTransaction(ctx, t); err != nil {
		return "", fmt.Errorf("engine: store genesis: %w", err)
	}
	return created, nil
}

var (
	_ mysql_db.MySQLDbPersistence = charterPersister{}
	_ txn.Proposer                = reloadingProposer{}
)

// ReloadUsersFromStore loads the user store from storage's newest state
// (after a replicated node restored a snapshot).
func (e *Engine) ReloadUsersFromStore() error {
	blob, ok, err := e.cfg.DB.Get(governance.GrantsKey(), e.cfg.DB.ReadSeq())
	if err != nil || !ok {
		return err
	}
	return e.ReloadUsers(blob)
}
