package txn

import (
	"context"

	"github.com/cofferdb/coffer/storage"
)

// Principal is who commits a transaction.
type Principal struct {
	Name string
	Host string
}

// Proposer turns a transaction's write set into a committed sequence
// number. It returns storage.ErrConflict (wrapped) when a concurrent
// transaction committed first, and only returns a sequence once the commit
// is durable and visible to new snapshots on this node.
type Proposer interface {
	Propose(ctx context.Context, ws *storage.WriteSet, readSeq uint64, p Principal) (uint64, error)
}

// Snapshotter picks the read sequence of a new transaction on a replicated
// node (read index on a follower; bounded-staleness local reads when the
// session asked for follower reads). Without one, Reader.ReadSeq is used.
type Snapshotter interface {
	SnapshotSeq(ctx context.Context, follower bool) (uint64, error)
}

// ReadModeVar is the session variable choosing follower reads
// ('follower') over linearizable ones ('leader', the default).
const ReadModeVar = "coffer_read_mode"

// Reader is the read side of storage a transaction needs.
type Reader interface {
	ReadSeq() uint64
	NewIter(lo, hi []byte, seq uint64) (*storage.Iter, error)
	Get(key []byte, seq uint64) ([]byte, bool, error)
}

type commitKindKey struct{}

// WithCommitKind returns ctx carrying the ledger kind (ledger.KindGovernance
// …) of the write set proposed with it; without one the kind is derived
// from the write set. A replicating Proposer must carry it with the write
// set to the log.
func WithCommitKind(ctx context.Context, kind string) context.Context {
	return context.WithValue(ctx, commitKindKey{}, kind)
}

// CommitKind returns the kind WithCommitKind put in ctx, or "".
func CommitKind(ctx context.Context) string {
	k, _ := ctx.Value(commitKindKey{}).(string)
	return k
}

// LocalProposer applies write sets to the local store: the single-node
// Proposer.
type LocalProposer struct {
	DB *storage.DB
}

var _ Proposer = LocalProposer{}

// Propose implements Proposer.
func (l LocalProposer) Propose(ctx context.Context, ws *storage.WriteSet, readSeq uint64, p Principal) (uint64, error) {
	return l.DB.Apply(ws, readSeq, storage.Commit{Principal: p.Name, Kind: CommitKind(ctx)})
}
