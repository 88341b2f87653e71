package harness

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill the node if the test binary dies, so a
// crashed or interrupted test run leaves no servers behind.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
