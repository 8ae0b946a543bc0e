//go:build !unix

package providertest

import "os/exec"

// setProcessGroup does nothing where process groups do not exist.
func setProcessGroup(*exec.Cmd) {}

// signalGroup kills the child itself where process groups do not exist.
func signalGroup(cmd *exec.Cmd, _ bool) error { return cmd.Process.Kill() }
