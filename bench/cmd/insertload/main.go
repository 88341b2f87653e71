// Command insertload runs the durable single-row INSERT load of
// coffer-bench against one MySQL-wire endpoint, for profiling a server by
// hand:
//
//	insertload -addr 127.0.0.1:3306 -user admin -password pw -conns 64 -duration 20s
//
// Several comma-separated addresses (a cluster's nodes) share the
// connections in turn; the table is made through the first.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cofferdb/coffer/bench"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3306", "MySQL wire address, or comma-separated addresses that share the connections")
	user := flag.String("user", "admin", "user")
	password := flag.String("password", os.Getenv("COFFER_ADMIN_PASSWORD"), "password")
	db := flag.String("db", "bench", "database (created if missing)")
	conns := flag.Int("conns", 16, "connections, one worker each")
	duration := flag.Duration("duration", 10*time.Second, "measured time")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured time first")
	windows := flag.Bool("windows", false, "also print the tx/s of each half second")
	flag.Parse()
	var eps []bench.Endpoint
	for _, a := range strings.Split(*addr, ",") {
		host, p, err := net.SplitHostPort(a)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		port, _ := strconv.Atoi(p)
		eps = append(eps, bench.Endpoint{Wire: bench.WireMySQL, Host: host, Port: port, User: *user, Password: *password, Database: *db})
	}
	ctx := context.Background()
	if err := bench.PrepareInsert(ctx, eps[0]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, err := bench.RunInsert(ctx, bench.InsertConfig{Endpoint: eps[0], Spread: eps[1:], Conns: *conns, Warmup: *warmup, Duration: *duration})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%.0f tx/s, p50 %.2f ms, p99 %.2f ms, %d errors (%s)\n", res.TPS, res.P50Ms, res.P99Ms, res.Errors, res.FirstError)
	if *windows {
		ws := make([]string, len(res.WindowTPS))
		for i, w := range res.WindowTPS {
			ws[i] = strconv.FormatFloat(w, 'f', 0, 64)
		}
		fmt.Println("tx/s per half second:", strings.Join(ws, " "))
	}
}
