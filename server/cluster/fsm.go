package cluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// applyResult is what FSM.Apply returns to the proposer's ApplyFuture.
type applyResult struct {
	seq uint64
	err error // a *storage.ConflictError, or nil
}

// fsm is the replicated state machine: storage.Apply, the same function a
// single node commits with. The store records the log index of every
// commit it applies, so entries the store already holds (replayed after a
// restart) are skipped; commits are applied without fsync because the
// raft log, synced on append, is the durable record, and the store is
// synced before raft may truncate the log (Snapshot).
type fsm struct {
	db        *storage.DB
	log       *slog.Logger
	tmp       string // staging directory for snapshots, under the raft dir
	onApply   func(*storage.WriteSet)
	applying  func(wss []*storage.WriteSet, apply func() error) error
	onRestore func()
	seq       atomic.Uint64 // names staging directories
	// applied remembers the last commit entries applied, to settle
	// entries a lost leader had in flight (settle.go).
	applied appliedLog
}

var _ raft.BatchingFSM = (*fsm)(nil)

func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies the committed entries raft hands over together (up
// to MaxAppendEntries), in log order; each run of commit entries (a
// commit, or a batch of them: batch.go) is one storage.ApplyBatch (one
// pebble batch, one WAL write), which decides each commit as Apply would
// after the ones before it. The applying hook runs once for the whole
// batch, with its commits' write sets: the engine's work
// there (moving AUTO_INCREMENT counters) has a fixed cost per call that a
// per-commit call paid for every transaction. Counters then move past the
// values of the whole batch before any commit of it is visible, including
// values of a commit the conflict check rejects (a gap, as a rolled-back
// insert leaves one). A commit entry's result is an applyResult; a batch
// entry's, one applyResult per commit, in order.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	cmds := make([][]*commitCmd, len(logs)) // nil: not a commit entry
	var wss []*storage.WriteSet             // the commits' write sets, in order
	for i, l := range logs {
		if l.Type != raft.LogCommand || l.Index <= f.db.RaftIndex() {
			continue // not a command, or applied before a restart
		}
		typ, body, err := commandType(l.Data)
		if err != nil {
			f.fatal(l, err)
		}
		switch typ {
		case cmdCommit:
			c, err := decodeCommit(body)
			if err != nil {
				f.fatal(l, err)
			}
			cmds[i] = []*commitCmd{c}
		case cmdBatch:
			if cmds[i], err = decodeBatch(body); err != nil {
				f.fatal(l, err)
			}
		default:
			continue
		}
		for _, c := range cmds[i] {
			wss = append(wss, &c.WS)
		}
	}
	run := func() error {
		// Runs of commit entries go to the store as one batch each; any
		// other entry (a signature) is applied on its own, in log order.
		for i := 0; i < len(logs); {
			if cmds[i] == nil {
				out[i] = f.apply(logs[i])
				i++
				continue
			}
			j := i + 1
			for j < len(logs) && cmds[j] != nil {
				j++
			}
			f.applyCommits(logs[i:j], cmds[i:j], out[i:j])
			i = j
		}
		return nil
	}
	// Settling looks at what was applied only once the FSM has
	// processed the whole batch (appliedLog.advance).
	defer f.applied.advance(logs[len(logs)-1].Index)
	if f.applying == nil || len(wss) == 0 {
		_ = run()
		return out
	}
	if err := f.applying(wss, run); err != nil {
		f.fatal(logs[len(logs)-1], err)
	}
	return out
}

// applyCommits applies the commits of consecutive commit entries as one
// store batch; each commit carries its entry's log index.
func (f *fsm) applyCommits(logs []*raft.Log, cmds [][]*commitCmd, out []any) {
	n := 0
	for _, cs := range cmds {
		n += len(cs)
	}
	ps := make([]storage.Proposal, 0, n)
	for i, cs := range cmds {
		for _, c := range cs {
			ps = append(ps, storage.Proposal{WS: &c.WS, ReadSeq: c.ReadSeq,
				Commit: storage.Commit{Principal: c.Principal, Kind: c.Kind, Time: c.Time, RaftIndex: logs[i].Index}})
		}
	}
	res, err := f.db.ApplyBatch(ps)
	if err != nil {
		f.fatal(logs[len(logs)-1], err)
	}
	k := 0
	seen := make([]appliedEntry, len(cmds))
	for i, cs := range cmds {
		rs := make([]applyResult, len(cs))
		for j, c := range cs {
			r := res[k]
			k++
			if r.Err != nil {
				rs[j] = applyResult{err: r.Err}
				continue
			}
			if f.onApply != nil {
				f.onApply(&c.WS)
			}
			rs[j] = applyResult{seq: r.Seq}
		}
		if logs[i].Data[1] == cmdBatch {
			out[i] = rs
		} else {
			out[i] = rs[0]
		}
		seen[i] = appliedEntry{index: logs[i].Index, fp: fingerprint(logs[i].Data), res: out[i]}
	}
	f.applied.add(seen)
}

// apply applies one entry that is not a commit, or a commit the store
// already holds (commits go through applyCommits).
func (f *fsm) apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	if l.Index <= f.db.RaftIndex() {
		return applyResult{} // applied before a restart
	}
	typ, body, err := commandType(l.Data)
	if err != nil {
		f.fatal(l, err)
	}
	switch typ {
	case cmdSignature:
		s, err := ledger.DecodeSignedRoot(body)
		if err != nil {
			f.fatal(l, err)
		}
		if err := f.db.StoreSignature(s, l.Index); err != nil {
			f.fatal(l, err)
		}
		return applyResult{}
	default:
		f.fatal(l, fmt.Errorf("%w: type %d", errBadCommand, typ))
	}
	return nil
}

// fatal stops the node: a replica that cannot apply a committed entry
// would diverge from the others. Restarting replays the entry.
func (f *fsm) fatal(l *raft.Log, err error) {
	if errors.Is(err, storage.ErrClosed) {
		// Shutting down: the entry is replayed at the next start.
		panic(fmt.Sprintf("cluster: apply of log index %d after the store closed", l.Index))
	}
	f.log.Error("cluster: cannot apply a committed log entry; stopping", "index", l.Index, "err", err)
	panic(fmt.Sprintf("cluster: apply log index %d: %v", l.Index, err))
}

// Snapshot returns at once; Persist makes the store durable and
// checkpoints it (hard links) and hands the checkpoint over, to be
// streamed as a tar archive only when a follower needs it. raft calls
// Snapshot on its FSM goroutine, between applies, and Persist on its
// snapshot goroutine while applies go on: making the store durable (a
// memtable flush on a store without a WAL, 0.5-1 s under load) held every
// commit while it ran. The checkpoint thus holds the store as of the
// snapshot's index or later; the entries past that index that it holds
// are skipped when they are applied after a restore (Apply skips entries
// at or below the store's RaftIndex), as after a restart.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &snapshot{f: f}, nil
}

// checkpoint makes the store durable and checkpoints it into a new
// staging directory.
func (f *fsm) checkpoint() (string, error) {
	// Flushed first, outside the commit lock: Checkpoint flushes again
	// under it, with little left.
	if err := f.db.Sync(); err != nil {
		return "", err
	}
	dir := filepath.Join(f.tmp, fmt.Sprintf("checkpoint-%d-%d", os.Getpid(), f.seq.Add(1)))
	if err := os.MkdirAll(f.tmp, 0o700); err != nil {
		return "", err
	}
	if _, _, err := f.db.Checkpoint(dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// Restore replaces the store with a snapshot received from the leader.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	dir := filepath.Join(f.tmp, fmt.Sprintf("restore-%d-%d", os.Getpid(), f.seq.Add(1)))
	defer os.RemoveAll(dir)
	if err := untar(rc, dir); err != nil {
		return fmt.Errorf("cluster: receive snapshot: %w", err)
	}
	if err := f.db.Restore(dir); err != nil {
		return err
	}
	// Commit entries up to the snapshot's were not applied here one by
	// one. (Past its last commit's index, raft's log holds no commit
	// entry below the snapshot's index, except one whose commits all
	// conflicted: settling that as not committed proposes them again,
	// to conflict again.)
	f.applied.reset(f.db.RaftIndex())
	f.log.Info("cluster: restored a snapshot", "raft_index", f.db.RaftIndex(), "seq", f.db.ReadSeq())
	if f.onRestore != nil {
		f.onRestore()
	}
	return nil
}

// snapshot is an FSM snapshot: dir is its checkpoint, made by Persist
// from f's store unless given.
type snapshot struct {
	f   *fsm
	dir string
}

// Persist checkpoints the store and hands the checkpoint to the snapshot
// store: snapStore keeps the directory itself (snapstore.go); another
// store gets its tar archive.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if s.dir == "" {
		dir, err := s.f.checkpoint()
		if err != nil {
			_ = sink.Cancel()
			return err
		}
		s.dir = dir
	}
	if a, ok := sink.(*snapSink); ok {
		if err := a.adopt(s.dir); err != nil {
			_ = sink.Cancel()
			return err
		}
		return sink.Close()
	}
	if err := tarDir(s.dir, sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) Release() {
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}
