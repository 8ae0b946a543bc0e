//go:build !unix

package local

// syncDir does nothing where folders cannot be fsynced (Windows); the file
// system orders renames itself.
func syncDir(string) error { return nil }
