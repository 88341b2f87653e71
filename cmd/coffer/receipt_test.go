package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofferdb/coffer/storage/ledger"
)

func TestReceiptVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 12, 5)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A receipt as coffer_receipt returns it, and variants of it.
	receiptJSON := func(seq uint64, edit func(r *ledger.Receipt)) []byte {
		b, err := f.receipts[seq].MarshalIndent()
		if err != nil {
			t.Fatal(err)
		}
		var r ledger.Receipt
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(&r)
		}
		if b, err = r.MarshalIndent(); err != nil {
			t.Fatal(err)
		}
		return b
	}
	svcCert := filepath.Join(f.dir, "service.pem")
	other, err := ledger.NewServiceIdentity("test")
	if err != nil {
		t.Fatal(err)
	}
	otherCert := write("other.pem", other.CertPEM())
	rogueNode, err := ledger.NewNodeIdentity("n1", other)
	if err != nil {
		t.Fatal(err)
	}
	r7 := f.receipts[7]
	wantOK := "receipt verified: seq 7, entry hash " + r7.LeafHash.String() + ", principal alice, committed at " +
		fixtureTime.Add(7*time.Second).Format(time.RFC3339Nano)

	cases := []struct {
		name     string
		receipt  []byte   // written to a file, unless stdin
		stdin    bool     // pass it as - on stdin
		args     []string // default: --service-cert SVC FILE
		wantCode int
		want     string // prefix of the last stdout line, or of stderr when nothing is checked
	}{
		{name: "valid", receipt: receiptJSON(7, nil), want: wantOK},
		{name: "valid on stdin", receipt: receiptJSON(7, nil), stdin: true, want: wantOK},
		{name: "flags after the file", receipt: receiptJSON(7, nil), args: []string{"{file}", "--service-cert", svcCert}, want: wantOK},
		{name: "first entry", receipt: receiptJSON(1, nil), want: "receipt verified: seq 1, "},
		{name: "last entry", receipt: receiptJSON(12, nil), want: "receipt verified: seq 12, "},
		{
			name: "principal altered", receipt: receiptJSON(7, func(r *ledger.Receipt) { r.Entry.Principal = "mallory" }),
			wantCode: 1, want: "receipt does not verify: ledger: receipt entry does not hash to its leaf hash",
		},
		{
			name: "principal and leaf hash altered",
			receipt: receiptJSON(7, func(r *ledger.Receipt) {
				r.Entry.Principal = "mallory"
				r.LeafHash = r.Entry.LeafHash()
			}),
			wantCode: 1, want: "receipt does not verify: ledger: inclusion proof does not verify",
		},
		{
			name: "write set hash altered", receipt: receiptJSON(7, func(r *ledger.Receipt) { r.Entry.WriteSetHash[0] ^= 1 }),
			wantCode: 1, want: "receipt does not verify: ",
		},
		{
			name: "commit time altered", receipt: receiptJSON(7, func(r *ledger.Receipt) { r.Entry.CommittedAt-- }),
			wantCode: 1, want: "receipt does not verify: ",
		},
		{
			name: "proof altered", receipt: receiptJSON(7, func(r *ledger.Receipt) { r.Proof[1][31] ^= 1 }),
			wantCode: 1, want: "receipt does not verify: ledger: inclusion proof does not verify",
		},
		{
			name: "signature altered", receipt: receiptJSON(7, func(r *ledger.Receipt) { r.Signature.Signature[9] ^= 1 }),
			wantCode: 1, want: "receipt does not verify: ledger: bad root signature",
		},
		{
			name: "signed by a node the service did not endorse",
			receipt: receiptJSON(7, func(r *ledger.Receipt) {
				s, err := ledger.SignRoot(rogueNode, r.Signature.Size, r.Signature.Root, 1)
				if err != nil {
					t.Fatal(err)
				}
				r.Signature = s
			}),
			wantCode: 1, want: "receipt does not verify: ledger: node certificate \"coffer node n1\" is not endorsed by the service identity",
		},
		{
			name: "another service's certificate", receipt: receiptJSON(7, nil), args: []string{"--service-cert", otherCert, "{file}"},
			wantCode: 1, want: "receipt does not verify: ledger: node certificate \"coffer node n1\" is not endorsed by the service identity",
		},
		{
			name:     "unknown field",
			receipt:  []byte(strings.Replace(string(receiptJSON(7, nil)), `"version": 1,`, `"version": 1, "rows": [],`, 1)),
			wantCode: 1, want: `receipt does not verify: not a Coffer receipt: json: unknown field "rows"`,
		},
		{
			name:     "saved without mysql --raw",
			receipt:  []byte(strings.ReplaceAll(string(receiptJSON(7, nil)), "\n", `\n`) + "\n"),
			wantCode: 1, want: "receipt does not verify: not a Coffer receipt: invalid character '\\\\' looking for beginning of object key string (its newlines are escaped: save the receipt with mysql --raw)",
		},
		{name: "not JSON", receipt: []byte("pending"), wantCode: 1, want: "receipt does not verify: not a Coffer receipt: "},
		{name: "two receipts", receipt: append(receiptJSON(7, nil), receiptJSON(1, nil)...), wantCode: 1, want: "receipt does not verify: not a Coffer receipt: trailing data"},
		{name: "no service cert", receipt: receiptJSON(7, nil), args: []string{"{file}"}, wantCode: 2, want: "coffer receipt verify: --service-cert FILE is required"},
		{name: "no receipt", args: []string{"--service-cert", svcCert}, wantCode: 2, want: "coffer receipt verify: give one receipt file"},
		{name: "missing file", args: []string{"--service-cert", svcCert, "{dir}/nope.json"}, wantCode: 2, want: "coffer receipt verify: open "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			file := write(strings.ReplaceAll(c.name, " ", "_")+".json", c.receipt)
			stdin := ""
			if c.stdin {
				file, stdin = "-", string(c.receipt)
			}
			args := []string{"--service-cert", svcCert, file}
			if c.args != nil {
				args = nil
				for _, a := range c.args {
					a = strings.ReplaceAll(a, "{file}", file)
					args = append(args, strings.ReplaceAll(a, "{dir}", dir))
				}
			}
			code, out, errOut := runCLI(t, stdin, append([]string{"receipt", "verify"}, args...)...)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.wantCode, out, errOut)
			}
			got := lastLine(out)
			if code == 2 {
				got = lastLine(errOut)
			}
			if !strings.HasPrefix(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
