//go:build !unix

package pgserver

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
)

// credential is the OS user a server binary runs as; only Unix-like
// systems run the server as another user.
type credential struct {
	Uid, Gid uint32
	Groups   []uint32
}

// sigQuit is what stands for SIGQUIT where there are no signals: Kill.
var sigQuit = os.Kill

// errUnsupported is Start's error where the server cannot run.
var errUnsupported = errors.New("the embedded PostgreSQL needs a Unix-like system (process groups, flock, Unix sockets); set DATABASE_URL to a PostgreSQL server instead")

// supported reports whether the embedded server can run here: not on this
// system.
func supported() error { return errUnsupported }

func lockFile(*os.File) error { return errUnsupported }

func fileOwner(fs.FileInfo) (uid, gid uint32, ok bool) { return 0, 0, false }

func setCredential(*exec.Cmd, *credential) {}

func setServerProcess(*exec.Cmd) {}

func killGroup(p *os.Process) error { return p.Kill() }

func defaultTempDir() string { return os.TempDir() }

func isTmpfs(string) bool { return false }
