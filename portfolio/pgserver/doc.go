// Package pgserver runs a PostgreSQL server from the machine's installed
// server binaries, as a child process, for tests and for programs that
// should work without a configured database.
//
// A throwaway server, in a temporary directory removed by Stop (in
// /dev/shm when it is a large enough tmpfs, see Options.TempDir):
//
//	srv, err := pgserver.Start(ctx, nil)
//	if err != nil {
//		return err
//	}
//	defer srv.Stop(context.WithoutCancel(ctx))
//	pool, err := pgxpool.New(ctx, srv.ConnString("")) // database "backfill"
//
// A server whose data is kept between runs:
//
//	srv, err := pgserver.Start(ctx, &pgserver.Options{
//		DataDir: filepath.Join(stateDir, "postgres"),
//		Port:    5433,
//		Logger:  logger,
//	})
//
// # What it runs
//
// Start initialises the data directory with initdb when it is new
// (superuser postgres, trust authentication, UTF8, C locale) and then runs
// the postmaster listening on 127.0.0.1 only, with max_connections 200 and
// its Unix socket in a private directory. Temporary clusters trade
// durability for speed (fsync, synchronous_commit and full_page_writes
// off); clusters in a DataDir of the caller's keep PostgreSQL's durable
// defaults. An existing data directory is reused, after checking that it
// was made by the same major version, and a postmaster.pid left by a
// server that is gone does not prevent the start. The server log is
// pgserver.log in the data directory and its tail is part of every start
// error.
//
// When the program runs as root, initdb and postgres run as the
// "postgres" OS user (PostgreSQL refuses to run as root), and the
// directories it needs are given to that user.
//
// # Process lifetime
//
// The postmaster is started directly (not through pg_ctl, which would
// detach it) with the Linux parent-death signal set to SIGKILL, so a
// server never outlives its program, even when the program is killed or a
// test binary times out: its backends then notice the postmaster's death
// and exit too. The kernel sends that signal when the forking OS thread
// exits, not the process, so the fork happens on a goroutine locked to its
// thread that stays alive, waiting for the postmaster, until the
// postmaster exits (see go.dev/issue/27505). This costs one idle OS thread
// per running server. A temporary directory left behind by a killed
// program is removed by a later Start (it is flock-ed while in use).
//
// # Systems
//
// The package builds everywhere; the server runs on Unix-like systems.
// The parent-death signal, and throwaway clusters in /dev/shm, are
// Linux's: on other Unix systems (macOS, the BSDs) a killed program's
// postmaster is left running, and a later Start on the same DataDir
// refuses while it lives. On Windows Start returns an error that says to
// set DATABASE_URL (see Open).
package pgserver
