//go:build unix

package pgserver

import (
	"io/fs"
	"os"
	"os/exec"
	"syscall"
)

// credential is the OS user a server binary runs as.
type credential = syscall.Credential

// sigQuit asks the postmaster for an immediate shutdown.
const sigQuit = syscall.SIGQUIT

// supported reports whether the embedded server can run here.
func supported() error { return nil }

// lockFile takes an exclusive flock on f without waiting; closing f
// releases it.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// fileOwner returns the owning uid and gid of fi.
func fileOwner(fi fs.FileInfo) (uid, gid uint32, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return st.Uid, st.Gid, true
}

// setCredential makes cmd run as cred (nil: this process's user).
func setCredential(cmd *exec.Cmd, cred *credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
}

// setServerProcess prepares the postmaster's command: its own process
// group, so that a Ctrl-C in a terminal reaches this program, which then
// stops the server in order, instead of reaching both at once; and
// whatever ties its life to this program (setParentDeath).
func setServerProcess(cmd *exec.Cmd) {
	cmd.SysProcAttr.Setpgid = true
	setParentDeath(cmd.SysProcAttr)
}

// killGroup sends SIGKILL to the process group p leads.
func killGroup(p *os.Process) error {
	return syscall.Kill(-p.Pid, syscall.SIGKILL)
}
