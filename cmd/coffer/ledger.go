package main

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/cofferdb/coffer/server"
	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// Exit codes of the verifying commands, so that scripts can tell a ledger
// that fails verification from one that could not be checked.
const (
	exitVerified = 0
	exitFailed   = 1 // the ledger or receipt does not verify
	exitNotRun   = 2 // bad flags, missing files, store in use: nothing was checked
)

// exportFormat names the JSON lines format of `coffer ledger export`.
const exportFormat = "coffer-ledger-export"

const ledgerUsage = `usage:
  coffer ledger verify --data-dir DIR [--service-cert FILE]
      check a stopped node's (or a copied) data dir: hash chain, Merkle
      nodes and signed roots, signatures and their endorsement by the
      service certificate (default DIR/service.pem), and every stored row
      version against its entry
  coffer ledger verify --export FILE --service-cert FILE
      check a ledger export the same way, except rows (an export has none)
  coffer ledger export --data-dir DIR --out FILE [--service-cert FILE]
      write entries and signatures (hashes only, no row data) as JSON lines

The last line of verify is "verified N entries, M signatures, head HASH":
it depends only on the ledger's content, so replicas' outputs compare equal.
Exit status: 0 verified, 1 verification failed, 2 nothing was checked.
`

func ledgerCmd(args []string, s streams) int {
	return dispatch("coffer ledger", ledgerUsage, map[string]func([]string, streams) int{
		"verify": ledgerVerify,
		"export": ledgerExport,
	}, args, s)
}

func ledgerVerify(args []string, s streams) int {
	fset := flag.NewFlagSet("coffer ledger verify", flag.ContinueOnError)
	fset.SetOutput(s.err)
	dataDir := fset.String("data-dir", "", "data directory of a stopped node, or a copy of one")
	export := fset.String("export", "", "ledger export written by coffer ledger export")
	certPath := fset.String("service-cert", "", "the service certificate to trust (default DIR/service.pem with --data-dir)")
	if code, ok := parseFlags(fset, args, s); !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintln(s.err, "coffer ledger verify:", err)
		return exitNotRun
	}
	switch {
	case (*dataDir == "") == (*export == ""):
		return fail(errors.New("give either --data-dir DIR or --export FILE"))
	case *export != "" && *certPath == "":
		return fail(errors.New("--export needs --service-cert FILE: the copy of the certificate inside an export is not a trust anchor"))
	case *certPath == "":
		*certPath = filepath.Join(*dataDir, server.ServiceCertFile)
	}
	cert, err := ledger.LoadCert(*certPath)
	if err != nil {
		return fail(fmt.Errorf("service certificate %s: %w", *certPath, err))
	}
	if *export != "" {
		return verifyExportFile(*export, cert, s)
	}
	return verifyDataDir(*dataDir, cert, s)
}

// parseFlags parses args into fset, which takes no positional arguments.
func parseFlags(fset *flag.FlagSet, args []string, s streams) (int, bool) {
	err := fset.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0, false
	}
	if err != nil {
		return exitNotRun, false
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(s.err, "%s: unexpected argument %q\n", fset.Name(), fset.Arg(0))
		return exitNotRun, false
	}
	return 0, true
}

func verifyDataDir(dataDir string, cert *x509.Certificate, s streams) int {
	db, err := openStore(dataDir, s.err)
	if err != nil {
		fmt.Fprintln(s.err, "coffer ledger verify:", err)
		return exitNotRun
	}
	var signed uint64
	if err := db.Signatures(func(r *ledger.SignedRoot) error { signed = max(signed, r.Size); return nil }); err != nil {
		_ = db.Close()
		return printOutcome(s, nil, signed, err)
	}
	report, err := db.VerifyLedger(cert, func(done, total uint64) {
		fmt.Fprintf(s.err, "checked %d of %d entries (%d%%)\n", done, total, done*100/max(total, 1))
	})
	// VerifyLedger has stopped all its readers when it returns, failed or
	// not: the store closes either way.
	if cerr := db.Close(); cerr != nil {
		fmt.Fprintln(s.err, "coffer ledger verify: closing the store:", cerr)
	}
	return printOutcome(s, report, signed, err)
}

// printOutcome prints a verification's result as the last line of stdout.
func printOutcome(s streams, report *storage.VerifyReport, signed uint64, err error) int {
	var ve *storage.VerifyError
	switch {
	case errors.As(err, &ve):
		fmt.Fprintf(s.out, "first bad seq %d: %s\n", ve.Seq, ve.Reason)
		return exitFailed
	case err != nil:
		fmt.Fprintf(s.out, "verification failed: %v\n", err)
		return exitFailed
	}
	if report.Entries > signed {
		fmt.Fprintf(s.out, "note: entries %d to %d are chained but no signature covers them yet\n", signed+1, report.Entries)
	}
	fmt.Fprintln(s.out, report)
	return exitVerified
}

// openStore opens the store of a data dir that no node is running on.
func openStore(dataDir string, stderr io.Writer) (*storage.DB, error) {
	dbDir := filepath.Join(dataDir, "db")
	// storage.Open creates a store where there is none: refuse first, so
	// that a mistyped path is not "verified" as an empty ledger.
	if m, _ := filepath.Glob(filepath.Join(dbDir, "MANIFEST-*")); len(m) == 0 {
		return nil, fmt.Errorf("no Coffer store in %s (expected %s, as written by coffer serve --data-dir %s)", dataDir, dbDir, dataDir)
	}
	cfg := storage.DefaultConfig(dbDir)
	cfg.VerifyOnly = true
	cfg.CacheSize = storage.VerifyCacheSize
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := storage.Open(cfg)
	if err != nil && storeLocked(err) {
		return nil, fmt.Errorf("the store in %s is in use, probably by a running node: stop the node, or copy the data dir and point --data-dir at the copy", dataDir)
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("%w (the store is opened read-write: verify a copy you own)", err)
	}
	return db, err
}

// storeLocked reports whether err is pebble failing to take its directory
// lock: held by another process (fcntl's EAGAIN or EACCES, unlike a path
// error from creating the lock file) or by this one.
func storeLocked(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(err.Error(), "lock held by current process")
}

// exportLine is one line of an export after the header: an entry with its
// leaf hash, or a signature.
type exportLine struct {
	Entry     *ledger.Entry      `json:"entry,omitempty"`
	LeafHash  *ledger.Hash       `json:"leaf_hash,omitempty"`
	Signature *ledger.SignedRoot `json:"signature,omitempty"`
}

// exportHeader is an export's first line.
type exportHeader struct {
	Format      string `json:"format"`
	Version     int    `json:"version"`
	ServiceCert string `json:"service_cert"`
}

func ledgerExport(args []string, s streams) int {
	fset := flag.NewFlagSet("coffer ledger export", flag.ContinueOnError)
	fset.SetOutput(s.err)
	dataDir := fset.String("data-dir", "", "data directory of a stopped node, or a copy of one")
	out := fset.String("out", "", "file to write (- for stdout)")
	certPath := fset.String("service-cert", "", "service certificate to put in the header (default DIR/service.pem)")
	if code, ok := parseFlags(fset, args, s); !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintln(s.err, "coffer ledger export:", err)
		return exitFailed
	}
	if *dataDir == "" || *out == "" {
		return fail(errors.New("give --data-dir DIR and --out FILE"))
	}
	if *certPath == "" {
		*certPath = filepath.Join(*dataDir, server.ServiceCertFile)
	}
	certPEM, err := os.ReadFile(*certPath)
	if err == nil {
		_, err = ledger.ParseCertPEM(certPEM)
	}
	if err != nil {
		return fail(fmt.Errorf("service certificate %s: %w", *certPath, err))
	}
	db, err := openStore(*dataDir, s.err)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	summary := s.out
	w, commit, err := createOutput(*out, s.out)
	if err != nil {
		return fail(err)
	}
	if *out == "-" {
		summary = s.err
	}
	entries, sigs, err := writeExport(w, db, string(certPEM))
	if err = commit(err); err != nil {
		return fail(err)
	}
	fmt.Fprintf(summary, "exported %d entries, %d signatures to %s\n", entries, sigs, *out)
	return 0
}

// createOutput opens path for writing through a temporary file, so that a
// failed export leaves nothing behind; commit renames it into place.
func createOutput(path string, stdout io.Writer) (io.Writer, func(error) error, error) {
	if path == "-" {
		bw := bufio.NewWriter(stdout)
		return bw, func(err error) error {
			if err != nil {
				return err
			}
			return bw.Flush()
		}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	return bw, func(err error) error {
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
		return err
	}, nil
}

// writeExport writes the header, then the entries in order, each signature
// right after the entry that completes the tree it signs.
func writeExport(w io.Writer, db *storage.DB, certPEM string) (entries, sigs uint64, err error) {
	enc := json.NewEncoder(w)
	if err := enc.Encode(exportHeader{Format: exportFormat, Version: 1, ServiceCert: certPEM}); err != nil {
		return 0, 0, err
	}
	// A slice per size: a stored record claiming another's size is exported
	// too, for the verifier to reject, rather than silently dropped.
	bySize := map[uint64][]*ledger.SignedRoot{}
	if err := db.Signatures(func(r *ledger.SignedRoot) error { bySize[r.Size] = append(bySize[r.Size], r); return nil }); err != nil {
		return 0, 0, err
	}
	writeSigs := func(size uint64) error {
		for _, r := range bySize[size] {
			sigs++
			if err := enc.Encode(exportLine{Signature: r}); err != nil {
				return err
			}
		}
		delete(bySize, size)
		return nil
	}
	err = db.Entries(1, func(raw []byte, e *ledger.Entry) error {
		leaf := ledger.LeafHash(raw)
		if err := enc.Encode(exportLine{Entry: e, LeafHash: &leaf}); err != nil {
			return err
		}
		entries++
		return writeSigs(e.Seq)
	})
	if err != nil {
		return entries, sigs, err
	}
	// Signatures over entries that do not exist are exported too (last), so
	// that verifying the export reports them as verifying the store does.
	rest := make([]uint64, 0, len(bySize))
	for size := range bySize {
		rest = append(rest, size)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	for _, size := range rest {
		if err := writeSigs(size); err != nil {
			return entries, sigs, err
		}
	}
	return entries, sigs, nil
}

func verifyExportFile(path string, cert *x509.Certificate, s streams) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(s.err, "coffer ledger verify:", err)
		return exitNotRun
	}
	defer f.Close()
	report, signed, err := verifyExport(f, cert, s.err)
	if err == nil {
		// Said on stdout, before the last line, so nobody mistakes the
		// result for a check of the data.
		fmt.Fprintln(s.out, "note: rows not checked: an export holds write set hashes, not row versions (verify a data dir for that)")
	}
	return printOutcome(s, report, signed, err)
}

// verifyExport checks an export as VerifyLedger checks a store, except for
// the row versions: the hash chain, each entry's leaf hash, the Merkle root
// at every signature, the signatures and their endorsement by service. It
// also returns the size of the last signed tree.
func verifyExport(r io.Reader, service *x509.Certificate, stderr io.Writer) (*storage.VerifyReport, uint64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	if err := readExportHeader(sc, service, stderr); err != nil {
		return nil, 0, err
	}
	var (
		tree    ledger.Tree
		prev    ledger.Hash
		signed  uint64
		nsig    int
		lineNum = 1
	)
	for sc.Scan() {
		lineNum++
		var l exportLine
		if err := decodeStrict(sc.Bytes(), &l); err != nil {
			return nil, signed, fmt.Errorf("export line %d (after seq %d): %w", lineNum, tree.Size(), err)
		}
		switch {
		case l.Entry != nil && l.Signature == nil && l.LeafHash != nil:
			if err := checkExportEntry(l.Entry, *l.LeafHash, tree.Size(), prev); err != nil {
				return nil, signed, err
			}
			prev = *l.LeafHash
			tree.Append(prev, func(ledger.NodeID, ledger.Hash) {})
			if tree.Size()%100000 == 0 {
				fmt.Fprintf(stderr, "checked %d entries\n", tree.Size())
			}
		case l.Signature != nil && l.Entry == nil && l.LeafHash == nil:
			if err := checkExportSignature(l.Signature, &tree, signed, service); err != nil {
				return nil, signed, err
			}
			signed = l.Signature.Size
			nsig++
		default:
			return nil, signed, fmt.Errorf("export line %d (after seq %d): neither an entry with its leaf_hash nor a signature", lineNum, tree.Size())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, signed, fmt.Errorf("reading the export after line %d: %w", lineNum, err)
	}
	return &storage.VerifyReport{Entries: tree.Size(), Signatures: nsig, Head: prev, Root: tree.Root()}, signed, nil
}

func readExportHeader(sc *bufio.Scanner, service *x509.Certificate, stderr io.Writer) error {
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return err
		}
		return errors.New("the export is empty")
	}
	var h exportHeader
	if err := decodeStrict(sc.Bytes(), &h); err != nil || h.Format != exportFormat {
		return fmt.Errorf("not a Coffer ledger export: the first line must be a %q header", exportFormat)
	}
	if h.Version != 1 {
		return fmt.Errorf("ledger export version %d is not supported by this coffer (it reads version 1)", h.Version)
	}
	if c, err := ledger.ParseCertPEM([]byte(h.ServiceCert)); err != nil || !c.Equal(service) {
		fmt.Fprintln(stderr, "warning: the export's header names a different service certificate; checking against --service-cert")
	}
	return nil
}

func checkExportEntry(e *ledger.Entry, leaf ledger.Hash, size uint64, prev ledger.Hash) error {
	want := size + 1
	switch {
	case e.Seq != want:
		return &storage.VerifyError{Seq: want, Reason: fmt.Sprintf("entry missing (found seq %d next)", e.Seq)}
	case e.Version != ledger.EntryVersion:
		return &storage.VerifyError{Seq: e.Seq, Reason: fmt.Sprintf("entry version %d is not supported", e.Version)}
	case e.LeafHash() != leaf:
		return &storage.VerifyError{Seq: e.Seq, Reason: "entry does not hash to its leaf_hash (altered entry)"}
	case e.PrevHash != prev:
		return &storage.VerifyError{Seq: e.Seq, Reason: "previous-entry hash does not match the chain"}
	}
	return nil
}

func checkExportSignature(r *ledger.SignedRoot, tree *ledger.Tree, signed uint64, service *x509.Certificate) error {
	switch {
	case r.Size > tree.Size():
		return &storage.VerifyError{Seq: r.Size, Reason: "signature over entries that do not exist (or that come after it)"}
	case r.Size <= signed || r.Size != tree.Size():
		return &storage.VerifyError{Seq: r.Size, Reason: fmt.Sprintf("signature out of place: it must follow entry %d", r.Size)}
	case r.Root != tree.Root():
		return &storage.VerifyError{Seq: r.Size, Reason: "signed Merkle root does not match the entries"}
	}
	if err := r.Verify(service); err != nil {
		return &storage.VerifyError{Seq: r.Size, Reason: err.Error()}
	}
	return nil
}

// decodeStrict decodes one JSON value, refusing unknown fields and
// trailing data: a field this build does not check must not pass silently.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
