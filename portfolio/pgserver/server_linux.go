package pgserver

import (
	"os"
	"syscall"
)

// setParentDeath makes the kernel kill the postmaster when the thread that
// forked it exits; see startPinned.
func setParentDeath(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}

// defaultTempDir returns where throwaway clusters go by default; see
// Options.TempDir.
func defaultTempDir() string {
	if os.Getenv("TMPDIR") != "" {
		return os.TempDir()
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic &&
		uint64(st.Bavail)*uint64(st.Bsize) >= 1<<30 && syscall.Access("/dev/shm", 0o2|0o1) == nil {
		return "/dev/shm"
	}
	return os.TempDir()
}

const tmpfsMagic = 0x01021994

// isTmpfs reports whether path is on a tmpfs (in memory).
func isTmpfs(path string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(path, &st) == nil && st.Type == tmpfsMagic
}
