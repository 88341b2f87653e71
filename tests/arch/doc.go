// Package arch holds Coffer's architecture rules as tests: which packages
// may import which, and that every package has a doc comment saying what it
// owns.
package arch
