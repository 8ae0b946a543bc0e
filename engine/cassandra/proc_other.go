//go:build !unix

package cassandra

import "os/exec"

// isolate keeps exec's default cancellation (kill the process) where there
// are no process groups.
func isolate(cmd *exec.Cmd) {}
