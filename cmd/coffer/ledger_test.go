package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// fixtureTime is the commit time of seq 0: entries, and so the report's
// head, do not depend on when the test runs.
var fixtureTime = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fixture is a stopped node's data dir: db/ with n committed transactions,
// a signature every signEvery of them (and one over the tail, written when
// the store closes), and service.pem.
type fixture struct {
	dir      string
	svc      *ledger.Identity
	report   string                     // the storage's own verification report
	receipts map[uint64]*ledger.Receipt // of a few sequences
}

func newFixture(t *testing.T, n, signEvery int) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), receipts: map[uint64]*ledger.Receipt{}}
	var err error
	if f.svc, err = ledger.NewServiceIdentity("test"); err != nil {
		t.Fatal(err)
	}
	node, err := ledger.NewNodeIdentity("n1", f.svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "service.pem"), f.svc.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	db := openFixtureStore(t, f.dir)
	if err := db.StartSigner(storage.SignerConfig{Identity: node, Every: time.Hour, MaxUnsigned: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		ws := &storage.WriteSet{Mutations: []storage.Mutation{{Key: rowKey(t, i), Value: []byte(fmt.Sprint("balance ", i*10))}}}
		if i%3 == 0 {
			ws.Mutations = append(ws.Mutations, storage.Mutation{Key: rowKey(t, i-1), Delete: true})
		}
		at := fixtureTime.Add(time.Duration(i) * time.Second).UnixNano()
		seq, err := db.Apply(ws, db.ReadSeq(), storage.Commit{Principal: "alice", Time: at})
		if err != nil {
			t.Fatal(err)
		}
		if i%signEvery == 0 && !db.WaitSigned(seq, 10*time.Second) {
			t.Fatalf("no signature over seq %d", seq)
		}
	}
	if !db.WaitSigned(uint64(n), 10*time.Second) {
		t.Fatal("no signature over the tail")
	}
	for _, seq := range []uint64{1, 7, uint64(n)} {
		if seq > uint64(n) {
			continue
		}
		if f.receipts[seq], err = db.Receipt(seq); err != nil {
			t.Fatal(err)
		}
	}
	r, err := db.VerifyLedger(f.svc.Cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.report = r.String()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return f
}

func openFixtureStore(t *testing.T, dataDir string) *storage.DB {
	t.Helper()
	cfg := storage.DefaultConfig(filepath.Join(dataDir, "db"))
	cfg.NoSync = true
	cfg.CacheSize = 8 << 20
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := storage.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// rowKey is the user key of row i of table 7.
func rowKey(t *testing.T, i int) []byte {
	k, err := storage.AppendKeyValue(storage.TablePrefix(7), int64(i))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Stored key layouts (storage/keys.go, storage/ledger.go), rebuilt here to
// tamper with the store the way someone with disk access would.
func versionKey(userKey []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), userKey...), ^seq)
}
func entryKey(seq uint64) []byte      { return binary.BigEndian.AppendUint64([]byte{'l'}, seq) }
func signatureKey(size uint64) []byte { return binary.BigEndian.AppendUint64([]byte{'g'}, size) }

// flipByte flips one bit of the value stored under key, pebble opened
// directly: no Coffer code sees the change.
func flipByte(t *testing.T, dataDir string, key []byte, at func(n int) int) {
	t.Helper()
	p, err := pebble.Open(filepath.Join(dataDir, "db"), &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v, closer, err := p.Get(key)
	if err != nil {
		t.Fatalf("key %x: %v", key, err)
	}
	bad := bytes.Clone(v)
	closer.Close()
	bad[at(len(bad))] ^= 0x01
	if err := p.Set(key, bad, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func last(n int) int { return n - 1 }

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)           {}
func (quietPebble) Errorf(string, ...any)          {}
func (quietPebble) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// runCLI runs coffer in-process and returns its exit code, stdout and
// stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runWith(args, streams{in: strings.NewReader(stdin), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestLedgerVerifyDataDir(t *testing.T) {
	t.Parallel()
	otherSvc, err := ledger.NewServiceIdentity("other")
	if err != nil {
		t.Fatal(err)
	}
	otherCert := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(otherCert, otherSvc.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		tamper   func(t *testing.T, dir string)
		args     []string // after --data-dir DIR
		wantCode int
		wantLast string // "" means the fixture's report
		wantErr  string // in stderr
	}{
		{name: "intact", wantCode: 0},
		{name: "explicit service cert", args: []string{"--service-cert", "{dir}/service.pem"}, wantCode: 0},
		{
			name:     "row version rewritten",
			tamper:   func(t *testing.T, dir string) { flipByte(t, dir, versionKey(rowKey(t, 17), 17), last) },
			wantCode: 1,
			wantLast: "first bad seq 17: stored row versions do not match the entry's write set hash",
		},
		{
			name: "tombstone turned into a value",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, dir, versionKey(rowKey(t, 26), 27), func(int) int { return 0 })
			},
			wantCode: 1,
			wantLast: "first bad seq 27: stored row versions do not match the entry's write set hash",
		},
		{
			name:     "entry principal",
			tamper:   func(t *testing.T, dir string) { flipByte(t, dir, entryKey(9), last) },
			wantCode: 1,
			wantLast: "first bad seq 9: entry does not match the hash the next entry chains onto (altered entry)",
		},
		{
			name:     "signature",
			tamper:   func(t *testing.T, dir string) { flipByte(t, dir, signatureKey(20), func(n int) int { return n / 2 }) },
			wantCode: 1,
			wantLast: "first bad seq 20: ",
		},
		{
			name:     "service cert of another service",
			args:     []string{"--service-cert", otherCert},
			wantCode: 1,
			wantLast: "first bad seq 10: ledger: node certificate \"coffer node n1\" is not endorsed by the service identity",
		},
		{
			name:     "no store",
			args:     []string{"--data-dir", "{dir}/nothing-here", "--service-cert", "{dir}/service.pem"},
			wantCode: 2,
			wantErr:  "no Coffer store in",
		},
		{name: "no flags", args: []string{"--data-dir", ""}, wantCode: 2, wantErr: "give either --data-dir DIR or --export FILE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 45, 10)
			if c.tamper != nil {
				c.tamper(t, f.dir)
			}
			args := []string{"ledger", "verify", "--data-dir", f.dir}
			for _, a := range c.args {
				args = append(args, strings.ReplaceAll(a, "{dir}", f.dir))
			}
			code, out, errOut := runCLI(t, "", args...)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.wantCode, out, errOut)
			}
			want := c.wantLast
			if want == "" && c.wantCode == 0 {
				want = f.report
			}
			if got := lastLine(out); want != "" && !strings.HasPrefix(got, want) {
				t.Fatalf("last line %q, want %q", got, want)
			}
			if !strings.Contains(errOut, c.wantErr) {
				t.Fatalf("stderr %q does not say %q", errOut, c.wantErr)
			}
		})
	}
}

func TestLedgerVerifyCopiesAgree(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30, 7)
	want := "verified 30 entries, 5 signatures, head "
	var lines []string
	for _, dir := range []string{f.dir, copyDir(t, f.dir), copyDir(t, f.dir)} {
		code, out, errOut := runCLI(t, "", "ledger", "verify", "--data-dir", dir)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s%s", dir, code, out, errOut)
		}
		if strings.Contains(out, dir) {
			t.Fatalf("output names the path: %q", out)
		}
		lines = append(lines, lastLine(out))
	}
	if lines[0] != f.report || !strings.HasPrefix(lines[0], want) || lines[1] != lines[0] || lines[2] != lines[0] {
		t.Fatalf("copies report %q, want all %q", lines, f.report)
	}
}

func TestLedgerVerifyRefusesStoreInUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	db := openFixtureStore(t, f.dir)
	defer db.Close()
	code, _, errOut := runCLI(t, "", "ledger", "verify", "--data-dir", f.dir)
	if code != 2 || !strings.Contains(errOut, "stop the node, or copy the data dir") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// exportFixture exports f's ledger and returns the lines of the export.
func exportFixture(t *testing.T, f *fixture) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ledger.jsonl")
	code, stdout, errOut := runCLI(t, "", "ledger", "export", "--data-dir", f.dir, "--out", out)
	if code != 0 {
		t.Fatalf("export: exit %d: %s%s", code, stdout, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// editLine decodes line i of an export, lets edit change it and encodes it
// back.
func editLine(t *testing.T, lines []string, i int, edit func(l *exportLine)) {
	t.Helper()
	var l exportLine
	if err := json.Unmarshal([]byte(lines[i]), &l); err != nil {
		t.Fatal(err)
	}
	edit(&l)
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	lines[i] = string(b)
}

func TestLedgerExportRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 25, 10)
	lines := exportFixture(t, f)
	// Header, 25 entries, signatures after entries 10, 20 and 25.
	if len(lines) != 1+25+3 || !strings.Contains(lines[0], `"format":"coffer-ledger-export","version":1`) {
		t.Fatalf("export has %d lines, header %.80s", len(lines), lines[0])
	}
	for _, l := range lines {
		if strings.Contains(l, "balance") {
			t.Fatalf("export carries row data: %s", l)
		}
	}
	// Line numbers: entry seq s is line s (the header is line 0); the
	// signature over 10 entries is line 11, over 20 line 22.
	entryLine := func(seq int) int { return seq + (seq-1)/10 }
	if !strings.HasPrefix(lines[11], `{"signature":{"size":10,`) || !strings.HasPrefix(lines[entryLine(12)], `{"entry":{"version":1,"seq":12,`) {
		t.Fatalf("lines out of order:\n%s\n%s", lines[11], lines[entryLine(12)])
	}
	other, err := ledger.NewServiceIdentity("other")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		edit     func(t *testing.T, lines []string) []string
		cert     []byte // default: f's service.pem
		wantCode int
		wantLast string // default: the fixture's report
	}{
		{name: "intact", edit: func(_ *testing.T, l []string) []string { return l }},
		{
			name: "entry altered",
			edit: func(t *testing.T, l []string) []string {
				editLine(t, l, entryLine(5), func(x *exportLine) { x.Entry.Principal = "mallory" })
				return l
			},
			wantCode: 1, wantLast: "first bad seq 5: entry does not hash to its leaf_hash (altered entry)",
		},
		{
			name: "entry and its leaf hash altered",
			edit: func(t *testing.T, l []string) []string {
				editLine(t, l, entryLine(5), func(x *exportLine) { x.Entry.Principal = "mallory"; *x.LeafHash = x.Entry.LeafHash() })
				return l
			},
			wantCode: 1, wantLast: "first bad seq 6: previous-entry hash does not match the chain",
		},
		{
			name: "last entry and its leaf hash altered",
			edit: func(t *testing.T, l []string) []string {
				editLine(t, l, entryLine(25), func(x *exportLine) { x.Entry.CommittedAt++; *x.LeafHash = x.Entry.LeafHash() })
				return l
			},
			wantCode: 1, wantLast: "first bad seq 25: signed Merkle root does not match the entries",
		},
		{
			name:     "entry dropped",
			edit:     func(_ *testing.T, l []string) []string { return append(l[:entryLine(7)], l[entryLine(7)+1:]...) },
			wantCode: 1, wantLast: "first bad seq 7: entry missing (found seq 8 next)",
		},
		{
			name: "signature altered",
			edit: func(t *testing.T, l []string) []string {
				editLine(t, l, 22, func(x *exportLine) { x.Signature.Signature[8] ^= 1 })
				return l
			},
			wantCode: 1, wantLast: "first bad seq 20: ledger: bad root signature at size 20",
		},
		{
			name: "signature moved before its entries",
			edit: func(_ *testing.T, l []string) []string {
				l[21], l[22] = l[22], l[21]
				return l
			},
			wantCode: 1, wantLast: "first bad seq 20: signature over entries that do not exist",
		},
		{
			name: "unknown field",
			edit: func(_ *testing.T, l []string) []string {
				l[3] = strings.Replace(l[3], `{"entry":`, `{"row":"x","entry":`, 1)
				return l
			},
			wantCode: 1, wantLast: `verification failed: export line 4 (after seq 2): json: unknown field "row"`,
		},
		{
			name:     "no header",
			edit:     func(_ *testing.T, l []string) []string { return l[1:] },
			wantCode: 1, wantLast: "verification failed: not a Coffer ledger export",
		},
		{
			name:     "another service's certificate",
			edit:     func(_ *testing.T, l []string) []string { return l },
			cert:     other.CertPEM(),
			wantCode: 1, wantLast: "first bad seq 10: ledger: node certificate \"coffer node n1\" is not endorsed",
		},
		{
			// Cut after a signature, an export is a valid shorter ledger:
			// only the last line's count tells. The guide says to compare it.
			name:     "truncated after a signature",
			edit:     func(_ *testing.T, l []string) []string { return l[:12] },
			wantCode: 0, wantLast: "verified 10 entries, 1 signatures, head ",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, "ledger.jsonl")
			edited := c.edit(t, append([]string(nil), lines...))
			if err := os.WriteFile(file, []byte(strings.Join(edited, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cert := filepath.Join(f.dir, "service.pem")
			if c.cert != nil {
				cert = filepath.Join(dir, "other.pem")
				if err := os.WriteFile(cert, c.cert, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := runCLI(t, "", "ledger", "verify", "--export", file, "--service-cert", cert)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.wantCode, out, errOut)
			}
			want := c.wantLast
			if want == "" {
				want = f.report
			}
			if got := lastLine(out); !strings.HasPrefix(got, want) {
				t.Fatalf("last line %q, want %q", got, want)
			}
			if code == 0 && !strings.Contains(out, "rows not checked") {
				t.Fatalf("output does not say rows were not checked:\n%s", out)
			}
		})
	}
}

func TestLedgerExportNeedsTrustedCert(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, "", "ledger", "verify", "--export", "x.jsonl")
	if code != 2 || !strings.Contains(errOut, "--export needs --service-cert FILE") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestLedgerVerifyLargeTamperedLedger fails early in a ledger larger than
// VerifyLedger's read-ahead: the command must still exit 1, not crash
// closing the store.
func TestLedgerVerifyLargeTamperedLedger(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 60000, 1000)
	flipByte(t, f.dir, entryKey(9), last)
	code, out, errOut := runCLI(t, "", "ledger", "verify", "--data-dir", f.dir)
	if want := "first bad seq 9: entry does not match the hash the next entry chains onto (altered entry)"; code != 1 || lastLine(out) != want {
		t.Fatalf("exit %d, last line %q, want 1 and %q\nstderr:\n%s", code, lastLine(out), want, errOut)
	}
}
