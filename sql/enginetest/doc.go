// Package enginetest runs go-mysql-server's upstream engine test suites
// (github.com/dolthub/go-mysql-server/enginetest) over Coffer's catalog,
// transactions and storage, so that Coffer's SQL behaviour is measured
// against the same thousands of queries the memory engine passes.
//
// It owns the Harness (one fresh in-memory store per engine), the skip list
// in testdata/skip.txt (every skipped query with the reason it fails on
// Coffer, grouped by the backend code responsible) and count.sh, which
// prints the pass, fail and skip counts, the memory engine's for
// comparison (-baseline) and the skip entries for new failures
// (-candidates). It must never change Coffer's behaviour to suit a test:
// a failing query is either a backend bug to fix in its own package or a
// skip with a named reason.
package enginetest
