package harness

import (
	"bytes"
	"strings"
	"sync"
)

// listeningMarker is the log message a node prints once its MySQL listener
// is bound; the line carries addr=host:port.
const listeningMarker = "mysql wire listening"

// output keeps a node's log across all its runs.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// note adds a harness line, so the log shows what the test did when.
func (o *output) note(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.WriteString("=== " + line + "\n")
}

// newRun returns the writer for one run of the node.
func (o *output) newRun() *runWriter {
	return &runWriter{out: o, listening: make(chan string, 1)}
}

// runWriter receives one run's output: it appends whole lines to the
// node's output and reports the address in the listening line.
type runWriter struct {
	out       *output
	listening chan string // receives the listen address once

	mu      sync.Mutex
	partial []byte
	run     bytes.Buffer // this run's output, for start errors
	found   bool
}

func (w *runWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.partial[:i+1])
		w.partial = w.partial[i+1:]
		w.run.WriteString(line)
		w.out.mu.Lock()
		w.out.buf.WriteString(line)
		w.out.mu.Unlock()
		w.scan(line)
	}
}

func (w *runWriter) scan(line string) {
	if w.found || !strings.Contains(line, listeningMarker) {
		return
	}
	_, rest, ok := strings.Cut(line, " addr=")
	if !ok {
		return
	}
	addr, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	w.found = true
	w.listening <- strings.Trim(addr, `"`)
}

func (w *runWriter) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.run.String() + string(w.partial)
}
