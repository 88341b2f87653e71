// Command coffer runs and inspects Coffer nodes.
//
//	coffer serve   [--config FILE] [--data-dir DIR] [--mysql-addr HOST:PORT] …
//	coffer version
package main

import (
	"fmt"
	"os"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		usage()
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:])
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
  version   print the version
`)
}
