//go:build unix

package cassandra

import (
	"os/exec"
	"syscall"
)

// isolate runs cmd in a session of its own and makes cancellation kill the
// whole process group. nodetool and cqlsh are shell scripts that start a JVM
// or Python: killing only the script would leave the child running and
// holding our pipes. Without a controlling terminal, a password prompt
// fails at once instead of stopping the process in the background.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
