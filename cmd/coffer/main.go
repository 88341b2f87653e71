// Command coffer runs and inspects Coffer nodes.
//
//	coffer serve   [--config FILE] [--data-dir DIR] [--mysql-addr HOST:PORT] …
//	coffer ledger  verify|export …
//	coffer receipt verify --service-cert FILE RECEIPT
//	coffer version
package main

import (
	"fmt"
	"io"
	"os"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	return runWith(args, streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
}

// streams are a command's standard streams, passed in so that tests run
// commands in-process.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

func runWith(args []string, s streams) int {
	if len(args) == 0 {
		usage()
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:])
	case "ledger":
		return ledgerCmd(args[1:], s)
	case "receipt":
		return receiptCmd(args[1:], s)
	case "version", "--version", "-v":
		fmt.Println("coffer", Version)
		return 0
	case "help", "-h", "--help":
		usage()
		return 0
	}
	fmt.Fprintf(os.Stderr, "coffer: unknown command %q\n", args[0])
	usage()
	return 2
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: coffer <command> [flags]

commands:
  serve     run a node (coffer serve --help for flags)
  ledger    verify or export a stopped node's ledger (coffer ledger help)
  receipt   verify a transaction receipt offline (coffer receipt help)
  version   print the version
`)
}

// dispatch runs the subcommand args[0] of the command name; help (or -h)
// prints usage, no or an unknown subcommand prints it as an error.
func dispatch(name, usage string, cmds map[string]func([]string, streams) int, args []string, s streams) int {
	if len(args) == 0 {
		fmt.Fprint(s.err, usage)
		return exitNotRun
	}
	if run, ok := cmds[args[0]]; ok {
		return run(args[1:], s)
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(s.out, usage)
		return 0
	}
	fmt.Fprintf(s.err, "%s: unknown command %q\n\n%s", name, args[0], usage)
	return exitNotRun
}
