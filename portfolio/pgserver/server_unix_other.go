//go:build unix && !linux

package pgserver

import (
	"os"
	"syscall"
)

// setParentDeath does nothing: only Linux has a parent-death signal. A
// postmaster left by a killed program is found by the next Start through
// its postmaster.pid, and its temporary directory is swept (see
// sweepStaleTempDirs).
func setParentDeath(*syscall.SysProcAttr) {}

// defaultTempDir returns where throwaway clusters go by default: TMPDIR,
// else the system's temporary directory (/dev/shm is Linux's).
func defaultTempDir() string { return os.TempDir() }

// isTmpfs reports whether path is on a tmpfs; the check is Linux's.
func isTmpfs(string) bool { return false }
