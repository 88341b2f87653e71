// Package server wires one Coffer node together: it reads a Config, opens
// storage, builds the SQL engine with its Proposer, starts the wire
// listeners, and stops them all in reverse order. It is the only package
// that imports every other part; it holds no logic of its own beyond order.
package server
