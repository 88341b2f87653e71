package cluster

import (
	"bytes"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

var testConfiguration = raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: "n1", Address: "127.0.0.1:1"}}}

// fakeCheckpoint writes files of awkward sizes (around tar's 512-byte
// blocks) to a new directory and returns it with their contents.
func fakeCheckpoint(t *testing.T, dir string, seed uint64) map[string][]byte {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	files := map[string][]byte{}
	for i, size := range []int{0, 1, 511, 512, 513, 100_003, 4096} {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		name := []string{"000001.sst", "000002.sst", "MANIFEST-000001", "OPTIONS-000003", "000004.log", "000005.sst", "marker.format-version.000001.013"}[i]
		files[name] = b
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func readSnapshot(t *testing.T, s *snapStore, id string) (*raft.SnapshotMeta, []byte) {
	t.Helper()
	meta, rc, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read snapshot %s: %v", id, err)
	}
	return meta, b
}

// TestSnapStoreCheckpoint: a snapshot taken here keeps the checkpoint
// directory (moved, not copied), and Open streams a tar archive of it of
// exactly the size its metadata announces, which untars to the same
// files.
func TestSnapStoreCheckpoint(t *testing.T) {
	base := t.TempDir()
	s, err := openSnapStore(filepath.Join(base, "snapshots"), snapRetain, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(base, "staging", "checkpoint-1")
	files := fakeCheckpoint(t, ckpt, 1)
	sink, err := s.Create(1, 10, 2, testConfiguration, 9, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&snapshot{dir: ckpt}).Persist(sink); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ckpt); !os.IsNotExist(err) {
		t.Fatalf("the checkpoint was not moved into the store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(base, "snapshots", sink.ID(), snapStateFile)); !os.IsNotExist(err) {
		t.Fatalf("a snapshot taken here was copied to a stream file: %v", err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].ID != sink.ID() || list[0].Index != 10 || list[0].Term != 2 || list[0].ConfigurationIndex != 9 || len(list[0].Configuration.Servers) != 1 {
		t.Fatalf("List: %+v, %v", list, err)
	}
	meta, b := readSnapshot(t, s, sink.ID())
	if int64(len(b)) != meta.Size {
		t.Fatalf("the archive has %d bytes, the metadata says %d", len(b), meta.Size)
	}
	out := filepath.Join(base, "out")
	if err := untar(bytes.NewReader(b), out); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s after the round trip: %d bytes, %v (want %d bytes)", name, len(got), err, len(want))
		}
	}
	// A reader that stops early releases the snapshot.
	_, rc, err := s.Open(sink.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if len(s.open) != 0 {
		t.Fatalf("open snapshots after Close: %v", s.open)
	}
}

// TestSnapStoreStream: a snapshot received from the leader is kept as its
// stream, checked against its CRC when opened.
func TestSnapStoreStream(t *testing.T) {
	base := t.TempDir()
	s, err := openSnapStore(filepath.Join(base, "snapshots"), snapRetain, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("coffer snapshot stream "), 100_000)
	sink, err := s.Create(1, 20, 3, testConfiguration, 19, nil)
	if err != nil {
		t.Fatal(err)
	}
	for rest := want; len(rest) > 0; {
		n := min(len(rest), 7777)
		if _, err := sink.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	meta, got := readSnapshot(t, s, sink.ID())
	if !bytes.Equal(got, want) || meta.Size != int64(len(want)) || meta.Index != 20 {
		t.Fatalf("stream: %d bytes (want %d), meta %+v", len(got), len(want), meta)
	}
	state := filepath.Join(base, "snapshots", sink.ID(), snapStateFile)
	b, _ := os.ReadFile(state)
	b[len(b)/2] ^= 1
	if err := os.WriteFile(state, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(sink.ID()); err == nil || !strings.Contains(err.Error(), "CRC") {
		t.Fatalf("a corrupted stream opened: %v", err)
	}
	// A cancelled sink leaves nothing.
	sink, err = s.Create(1, 21, 3, testConfiguration, 19, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	if err := sink.Cancel(); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List(); len(list) != 1 {
		t.Fatalf("after a cancelled snapshot: %d snapshots", len(list))
	}
}

// TestSnapStoreRetention: only the newest snapshots are kept, except one
// being read; an interrupted snapshot is removed at open; and a snapshot
// raft's FileSnapshotStore wrote (a data dir from before) opens.
func TestSnapStoreRetention(t *testing.T) {
	base := t.TempDir()
	fss, err := raft.NewFileSnapshotStoreWithLogger(base, 2, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, trans := raft.NewInmemTransport("")
	fsink, err := fss.Create(1, 5, 1, testConfiguration, 4, trans)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fsink.Write([]byte("written by FileSnapshotStore")); err != nil {
		t.Fatal(err)
	}
	if err := fsink.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(base, "snapshots", "1-1-1"+snapTmpSuffix), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := openSnapStore(filepath.Join(base, "snapshots"), snapRetain, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(base, "snapshots", "1-1-1"+snapTmpSuffix)); !os.IsNotExist(err) {
		t.Fatalf("an interrupted snapshot survived open: %v", err)
	}
	if _, b := readSnapshot(t, s, fsink.ID()); string(b) != "written by FileSnapshotStore" {
		t.Fatalf("FileSnapshotStore's snapshot: %q", b)
	}
	_, held, err := s.Open(fsink.ID()) // held open while newer ones arrive
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		ckpt := filepath.Join(base, "staging", "ck", string(rune('a'+i)))
		fakeCheckpoint(t, ckpt, uint64(i))
		sink, err := s.Create(1, uint64(10+i), 2, testConfiguration, 9, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := (&snapshot{dir: ckpt}).Persist(sink); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sink.ID())
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || list[0].ID != ids[2] || list[1].ID != ids[1] {
		t.Fatalf("List after 3 new snapshots: %+v, %v", list, err)
	}
	if _, err := os.Stat(filepath.Join(base, "snapshots", ids[0])); !os.IsNotExist(err) {
		t.Fatalf("the oldest new snapshot was kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(base, "snapshots", fsink.ID())); err != nil {
		t.Fatalf("a snapshot being read was reaped: %v", err)
	}
	held.Close()
	s.reap()
	if _, err := os.Stat(filepath.Join(base, "snapshots", fsink.ID())); !os.IsNotExist(err) {
		t.Fatalf("a released old snapshot was kept: %v", err)
	}
}
