package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// snapStore is raft's snapshot store. A snapshot this node takes keeps
// the store's pebble checkpoint (hard links to the live tables, made by
// fsm.Snapshot) as the snapshot itself: Persist moves the directory in,
// and a tar stream of it is produced only when a follower needs it
// (Open). raft's FileSnapshotStore instead copied the whole store into a
// tar file at every snapshot (every 2 to 4 minutes under load) and kept
// two such copies: work and disk space in proportion to the database,
// for snapshots that are rarely sent. A snapshot received from the
// leader is kept as its stream (state.bin), as FileSnapshotStore does;
// the layout (<id>/meta.json, <id>/state.bin) is FileSnapshotStore's, so
// a data dir it wrote opens unchanged.
type snapStore struct {
	dir    string // <raft dir>/snapshots
	retain int
	log    *slog.Logger

	mu   sync.Mutex
	open map[string]int // snapshots being read (Open): not reaped meanwhile
}

const (
	snapMetaFile       = "meta.json"
	snapStateFile      = "state.bin"  // a received snapshot: the stream as it came
	snapCheckpointDir  = "checkpoint" // a snapshot taken here: the pebble checkpoint
	snapTmpSuffix      = ".tmp"
	snapRetain         = 2
	snapStreamBufBytes = 1 << 20
)

// snapMeta is meta.json: FileSnapshotStore's fileSnapshotMeta.
type snapMeta struct {
	raft.SnapshotMeta
	CRC []byte // of state.bin; none for a checkpoint
}

var crcTable = crc64.MakeTable(crc64.ECMA)

func openSnapStore(dir string, retain int, log *slog.Logger) (*snapStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: snapshot store: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cluster: snapshot store: %w", err)
	}
	for _, e := range entries {
		// A snapshot interrupted by a crash.
		if e.IsDir() && strings.HasSuffix(e.Name(), snapTmpSuffix) {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return &snapStore{dir: dir, retain: retain, log: log, open: map[string]int{}}, nil
}

// Create starts a snapshot: one taken here (fsm's Persist adopts its
// checkpoint) or one received from the leader (written to the sink).
func (s *snapStore) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, _ raft.Transport) (raft.SnapshotSink, error) {
	if version != 1 {
		return nil, fmt.Errorf("cluster: unsupported snapshot version %d", version)
	}
	id := fmt.Sprintf("%d-%d-%d", term, index, time.Now().UnixMilli())
	tmp := filepath.Join(s.dir, id+snapTmpSuffix)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	return &snapSink{s: s, tmp: tmp, meta: snapMeta{SnapshotMeta: raft.SnapshotMeta{
		Version: version, ID: id, Index: index, Term: term,
		Configuration: configuration, ConfigurationIndex: configurationIndex,
	}}}, nil
}

// List returns the snapshots, newest first.
func (s *snapStore) List() ([]*raft.SnapshotMeta, error) {
	metas, err := s.metas()
	if err != nil {
		return nil, err
	}
	out := make([]*raft.SnapshotMeta, 0, min(len(metas), s.retain))
	for i := 0; i < len(metas) && i < s.retain; i++ {
		out = append(out, &metas[i].SnapshotMeta)
	}
	return out, nil
}

// metas reads every finished snapshot's meta.json, newest first (raft's
// order: term, then index, then id).
func (s *snapStore) metas() ([]*snapMeta, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var metas []*snapMeta
	for _, e := range entries {
		if !e.IsDir() || strings.HasSuffix(e.Name(), snapTmpSuffix) {
			continue
		}
		m, err := readSnapMeta(filepath.Join(s.dir, e.Name()))
		if err != nil {
			s.log.Warn("cluster: unreadable snapshot skipped", "snapshot", e.Name(), "err", err)
			continue
		}
		if m.Version < raft.SnapshotVersionMin || m.Version > raft.SnapshotVersionMax {
			continue
		}
		metas = append(metas, m)
	}
	sort.Slice(metas, func(i, j int) bool {
		a, b := metas[i], metas[j]
		if a.Term != b.Term {
			return a.Term > b.Term
		}
		if a.Index != b.Index {
			return a.Index > b.Index
		}
		return a.ID > b.ID
	})
	return metas, nil
}

func readSnapMeta(dir string) (*snapMeta, error) {
	b, err := os.ReadFile(filepath.Join(dir, snapMetaFile))
	if err != nil {
		return nil, err
	}
	m := &snapMeta{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Open returns a snapshot's metadata and its stream: the received
// stream, its CRC checked first, or a tar archive of the checkpoint made
// as it is read, exactly meta.Size bytes long.
func (s *snapStore) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	dir := filepath.Join(s.dir, id)
	m, err := readSnapMeta(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: snapshot %s: %w", id, err)
	}
	s.hold(id, 1)
	release := sync.OnceFunc(func() { s.hold(id, -1) })
	ckpt := filepath.Join(dir, snapCheckpointDir)
	if _, err := os.Stat(ckpt); err == nil {
		pr, pw := io.Pipe()
		go func() {
			cw := &countingWriter{w: pw}
			err := tarDir(ckpt, cw)
			if err == nil && cw.n != m.Size {
				err = fmt.Errorf("cluster: snapshot %s: the archive has %d bytes, its metadata says %d", id, cw.n, m.Size)
			}
			pw.CloseWithError(err)
		}()
		return &m.SnapshotMeta, &closeFunc{Reader: pr, close: func() error {
			release()
			return pr.Close()
		}}, nil
	}
	f, err := os.Open(filepath.Join(dir, snapStateFile))
	if err == nil && len(m.CRC) > 0 {
		if err = checkCRC(f, m.CRC); err != nil {
			f.Close()
		}
	}
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("cluster: snapshot %s: %w", id, err)
	}
	return &m.SnapshotMeta, &closeFunc{Reader: bufio.NewReaderSize(f, snapStreamBufBytes), close: func() error {
		release()
		return f.Close()
	}}, nil
}

// checkCRC reads f whole, compares its CRC-64 with want, and rewinds it.
func checkCRC(f *os.File, want []byte) error {
	h := crc64.New(crcTable)
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := h.Sum(nil); string(got) != string(want) {
		return fmt.Errorf("CRC mismatch (%x, expected %x)", got, want)
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

func (s *snapStore) hold(id string, d int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[id] += d; s.open[id] <= 0 {
		delete(s.open, id)
	}
}

// reap removes the snapshots past the newest retain, except any being
// read.
func (s *snapStore) reap() {
	metas, err := s.metas()
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := s.retain; i < len(metas); i++ {
		if s.open[metas[i].ID] > 0 {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.dir, metas[i].ID)); err != nil {
			s.log.Warn("cluster: cannot remove an old snapshot", "snapshot", metas[i].ID, "err", err)
		}
	}
}

// snapSink is a snapshot being made: a checkpoint adopted whole, or a
// stream written to state.bin.
type snapSink struct {
	s       *snapStore
	tmp     string // the directory until Close renames it to its id
	meta    snapMeta
	f       *os.File
	bw      *bufio.Writer
	crc     hash.Hash64
	adopted bool
	done    bool
}

func (k *snapSink) ID() string { return k.meta.ID }

// adopt makes the checkpoint in dir the snapshot: it is moved in (same
// filesystem: a rename) and its archive's size recorded.
func (k *snapSink) adopt(dir string) error {
	if k.f != nil || k.adopted {
		return errors.New("cluster: snapshot sink already written")
	}
	dst := filepath.Join(k.tmp, snapCheckpointDir)
	if err := os.Rename(dir, dst); err != nil {
		return err
	}
	size, err := tarSize(dst)
	if err != nil {
		return err
	}
	k.meta.Size, k.adopted = size, true
	return nil
}

func (k *snapSink) Write(p []byte) (int, error) {
	if k.adopted || k.done {
		return 0, errors.New("cluster: write to a finished snapshot sink")
	}
	if k.f == nil {
		f, err := os.Create(filepath.Join(k.tmp, snapStateFile))
		if err != nil {
			return 0, err
		}
		k.f, k.crc = f, crc64.New(crcTable)
		k.bw = bufio.NewWriterSize(io.MultiWriter(f, k.crc), snapStreamBufBytes)
	}
	n, err := k.bw.Write(p)
	k.meta.Size += int64(n)
	return n, err
}

// Close finishes the snapshot: the stream synced, meta.json written, the
// directory renamed to its id (all synced), and older snapshots reaped.
func (k *snapSink) Close() error {
	if k.done {
		return nil
	}
	k.done = true
	if err := k.finish(); err != nil {
		_ = os.RemoveAll(k.tmp)
		return err
	}
	k.s.reap()
	return nil
}

func (k *snapSink) finish() error {
	if !k.adopted && k.f == nil {
		if _, err := k.Write(nil); err != nil { // an empty stream: an empty state.bin
			return err
		}
	}
	if k.f != nil {
		err := k.bw.Flush()
		if err == nil {
			err = k.f.Sync()
		}
		if cerr := k.f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		k.meta.CRC = k.crc.Sum(nil)
	}
	b, err := json.Marshal(&k.meta)
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(k.tmp, snapMetaFile), b); err != nil {
		return err
	}
	if err := syncDir(k.tmp); err != nil {
		return err
	}
	if err := os.Rename(k.tmp, filepath.Join(k.s.dir, k.meta.ID)); err != nil {
		return err
	}
	return syncDir(k.s.dir)
}

func (k *snapSink) Cancel() error {
	if k.done {
		return nil
	}
	k.done = true
	if k.f != nil {
		_ = k.f.Close()
	}
	return os.RemoveAll(k.tmp)
}

func writeFileSync(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

type closeFunc struct {
	io.Reader
	close func() error
}

func (c *closeFunc) Close() error { return c.close() }
