package harness

import (
	"fmt"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// process is a running `coffer serve` child.
type process struct {
	cmd    *exec.Cmd
	run    *runWriter
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's result, valid after exited is closed
}

// serveArgs are the arguments of `coffer serve` for this run.
func (n *Node) serveArgs(addr string) []string {
	args := []string{"serve", "--data-dir", n.dataDir, "--mysql-addr", addr, "--pg-addr", ""}
	o := n.opts
	if !o.replicated() {
		return args
	}
	if o.NodeID != "" {
		args = append(args, "--node-id", o.NodeID)
	}
	args = append(args, "--raft-addr", o.RaftAddr)
	if o.Join != "" {
		args = append(args, "--join", o.Join)
	}
	if o.RaftSnapshotThreshold > 0 {
		args = append(args, "--raft-snapshot-threshold", strconv.FormatUint(o.RaftSnapshotThreshold, 10))
	}
	if o.RaftTrailingLogs > 0 {
		args = append(args, "--raft-trailing-logs", strconv.FormatUint(o.RaftTrailingLogs, 10))
	}
	if o.FaultInjection {
		args = append(args, "--admin-addr", n.adminAddr, "--unsafe-fault-injection")
	}
	return args
}

func (n *Node) launchProcess(addr string) (*launch, error) {
	if n.opts.FaultInjection {
		n.adminAddr = freeAddr(n.t) // any free port will do: nothing else knows it
	}
	cmd := exec.Command(Binary(n.t), n.serveArgs(addr)...)
	cmd.Env = append(cleanEnv(), "COFFER_ADMIN_PASSWORD="+n.password)
	w := n.out.newRun()
	// One writer for both streams: exec then never calls it concurrently.
	cmd.Stdout, cmd.Stderr = w, w
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &process{cmd: cmd, run: w, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return &launch{addr: addr, proc: p}, nil
}

// awaitProcess waits until p listens and answers, and makes it the
// node's process; on failure it kills p.
func (n *Node) awaitProcess(p *process) error {
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case n.addr = <-p.run.listening:
	case <-p.exited:
		return fmt.Errorf("coffer serve exited before listening (%v):\n%s", p.err, p.run.text())
	case <-timer.C:
		p.kill()
		return fmt.Errorf("coffer serve not listening after %v", startTimeout)
	}
	if err := waitReady(n.readyConfig(), time.Now().Add(startTimeout), p.exited); err != nil {
		p.kill()
		return err
	}
	n.proc = p
	return nil
}

// kill sends SIGKILL and waits for the exit.
func (p *process) kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		select {
		case <-p.exited: // already gone
		default:
			return err
		}
	}
	<-p.exited // SIGKILL cannot be caught; the kernel reaps promptly
	return nil
}

// terminate sends SIGTERM and waits for a clean exit (status 0).
func (p *process) terminate() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		select {
		case <-p.exited:
			return fmt.Errorf("coffer had already exited: %v", p.err)
		default:
			return err
		}
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("coffer exited uncleanly after SIGTERM: %w", p.err)
		}
		return nil
	case <-timer.C:
		p.kill()
		return fmt.Errorf("coffer did not exit within %v of SIGTERM; killed", stopTimeout)
	}
}
