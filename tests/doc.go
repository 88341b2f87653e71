// Package tests holds Coffer's system tests: they start real nodes (as
// child processes of the coffer binary, and in-process through package
// server) on loopback and talk to them only through MySQL clients — the Go
// driver, the mysql command-line client and PyMySQL. They check what a user
// relies on: acknowledged commits survive SIGKILL, concurrent transactions
// neither create nor destroy data, errors carry MySQL's numbers, and schema
// and users survive a restart.
//
// Every test uses package harness to start and stop nodes; none sleeps to
// wait for a condition.
package tests
