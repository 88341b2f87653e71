package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cofferdb/coffer/storage/ledger"
)

const receiptUsage = `usage:
  coffer receipt verify --service-cert service.pem RECEIPT
      check a receipt (the JSON of SELECT coffer_receipt(n)) offline: the
      entry's hash, its Merkle path to a signed root, the root's signature
      and that the service certificate endorsed the signing node.
      RECEIPT is a file, or - for stdin.

Exit status: 0 verified, 1 the receipt does not verify, 2 nothing was checked.
`

// maxReceiptSize bounds what is read: a receipt is a few kilobytes.
const maxReceiptSize = 1 << 20

func receiptCmd(args []string, s streams) int {
	return dispatch("coffer receipt", receiptUsage, map[string]func([]string, streams) int{
		"verify": receiptVerify,
	}, args, s)
}

func receiptVerify(args []string, s streams) int {
	fset := flag.NewFlagSet("coffer receipt verify", flag.ContinueOnError)
	fset.SetOutput(s.err)
	certPath := fset.String("service-cert", "", "the service certificate to trust (service.pem from the node's data dir)")
	path, err := parseWithOnePositional(fset, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fail := func(err error) int {
		fmt.Fprintln(s.err, "coffer receipt verify:", err)
		return exitNotRun
	}
	if err != nil {
		return fail(err)
	}
	if *certPath == "" {
		return fail(errors.New("--service-cert FILE is required: the receipt is checked against the service certificate you trust"))
	}
	cert, err := ledger.LoadCert(*certPath)
	if err != nil {
		return fail(fmt.Errorf("service certificate %s: %w", *certPath, err))
	}
	b, err := readReceipt(path, s.in)
	if err != nil {
		return fail(err)
	}
	var r ledger.Receipt
	if err := decodeStrict(b, &r); err != nil {
		hint := ""
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`{\n`)) {
			hint = " (its newlines are escaped: save the receipt with mysql --raw)"
		}
		fmt.Fprintf(s.out, "receipt does not verify: not a Coffer receipt: %v%s\n", err, hint)
		return exitFailed
	}
	e, err := r.Verify(cert)
	if err != nil {
		fmt.Fprintf(s.out, "receipt does not verify: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(s.out, "receipt verified: seq %d, entry hash %s, principal %s, committed at %s\n",
		e.Seq, r.LeafHash, quoteIfNeeded(e.Principal), time.Unix(0, e.CommittedAt).UTC().Format(time.RFC3339Nano))
	return exitVerified
}

// parseWithOnePositional parses flags placed before or after the one
// positional argument, which it returns.
func parseWithOnePositional(fset *flag.FlagSet, args []string) (string, error) {
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			return "", err
		}
		if fset.NArg() == 0 {
			break
		}
		pos = append(pos, fset.Arg(0))
		args = fset.Args()[1:]
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("give one receipt file (or - for stdin), got %d arguments", len(pos))
	}
	return pos[0], nil
}

func readReceipt(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxReceiptSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxReceiptSize {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a receipt", path, maxReceiptSize)
	}
	return b, nil
}

// quoteIfNeeded keeps a principal that could be mistaken for more output
// (spaces, commas, control characters) inside quotes.
func quoteIfNeeded(s string) string {
	if q := strconv.Quote(s); s == "" || q[1:len(q)-1] != s || strings.ContainsAny(s, " ,\"") {
		return q
	}
	return s
}
