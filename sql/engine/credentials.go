package engine

import (
	"context"
	"math"

	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// credentialKey names a wire protocol's credential record for a user in
// the system keyspace.
func credentialKey(kind, user string) []byte {
	return storage.SystemKey("cred/" + kind + "/" + user)
}

// Credential returns the credential record of kind (for example
// "scram-sha-256") stored for user, if any. The record's format belongs
// to the wire protocol that wrote it.
func (e *Engine) Credential(kind, user string) ([]byte, bool, error) {
	return e.cfg.DB.Get(credentialKey(kind, user), e.cfg.DB.ReadSeq())
}

// SetCredential stores a credential record through the Proposer like any
// other commit. The newest record wins (no conflict check), as for the
// user store itself.
func (e *Engine) SetCredential(ctx context.Context, kind, user string, data []byte) error {
	ws := &storage.WriteSet{Mutations: []storage.Mutation{{Key: credentialKey(kind, user), Value: data}}}
	_, err := e.cfg.Proposer.Propose(ctx, ws, math.MaxUint64, txn.Principal{Name: user})
	return err
}

// EnsureDatabase creates database name if it does not exist, as New does
// for DefaultDatabase (the Postgres wire needs "postgres" from genesis).
func (e *Engine) EnsureDatabase(name string) error {
	return e.Provider.EnsureDatabase(name, func(ws *storage.WriteSet, readSeq uint64) error {
		_, err := e.cfg.Proposer.Propose(context.Background(), ws, readSeq, txn.Principal{Name: "coffer"})
		return err
	})
}
