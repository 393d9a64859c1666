package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/sigmasight/backfill/portfolio"
)

var migrateCommand = &command{
	Name:     "migrate",
	Summary:  "apply the schema migrations, or revert them with --down",
	Database: true,
	Help: `Apply every pending schema migration, in one transaction, and print the
schema's version before and after. Running it again does nothing; several
processes may run it at once. With --down, revert migrations instead, newest
first, down to the given version.

Other commands check that a database given by DATABASE_URL is migrated and
say so when it is not; the embedded database is migrated automatically.`,
	Flags: func(fs *flag.FlagSet) runFunc {
		down := fs.Int("down", -1, "revert migrations, newest first, down to `VERSION` (0 reverts them all; the schema and its version table stay)")
		asJSON := fs.Bool("json", false, `print {"schema","before","after","latest"} as JSON`)
		return func(ctx context.Context, a *app, args []string) error {
			if err := a.checkArgs(args, 0, 0); err != nil {
				return err
			}
			revert := false
			fs.Visit(func(f *flag.Flag) { revert = revert || f.Name == "down" })
			if revert && (*down < 0 || *down > portfolio.LatestVersion()) {
				return a.usage("--down %d: want a version from 0 to %d", *down, portfolio.LatestVersion())
			}
			pool, err := a.connect(ctx)
			if err != nil {
				return err
			}
			before, latest, err := portfolio.SchemaVersion(ctx, pool, a.schema)
			if err != nil {
				return err
			}
			opts := &portfolio.MigrateOpts{Schema: a.schema}
			if revert {
				opts.Target = *down
				err = portfolio.MigrateDown(ctx, pool, opts)
			} else {
				err = portfolio.Migrate(ctx, pool, opts)
			}
			if err != nil {
				return err
			}
			after, _, err := portfolio.SchemaVersion(ctx, pool, a.schema)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(a.stdout, struct {
					Schema string `json:"schema"`
					Before int    `json:"before"`
					After  int    `json:"after"`
					Latest int    `json:"latest"`
				}{a.schema.Name(), before, after, latest})
			}
			name := a.schema.Name()
			switch {
			case before == after:
				fmt.Fprintf(a.stdout, "schema %s: at version %d (latest %d); nothing to do\n", name, after, latest)
			case revert:
				fmt.Fprintf(a.stdout, "schema %s: reverted from version %d to %d (latest %d); `backfilld migrate` applies them again\n", name, before, after, latest)
			default:
				fmt.Fprintf(a.stdout, "schema %s: migrated from version %d to %d (latest %d)\n", name, before, after, latest)
			}
			return nil
		}
	},
}
