package main

import (
	"fmt"
	"testing"

	"github.com/sigmasight/backfill/portfolio"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	env := with(dbEnv(t), "BACKFILL_SCHEMA", "cli_mig")
	latest := portfolio.LatestVersion()

	// Before the migration, other commands refuse the schema and say what to do.
	backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv").
		want(t, exitFailure, "schema cli_mig is at version 0", "run `backfilld migrate`")

	backfilld(t, env, "", "migrate").want(t, exitOK, fmt.Sprintf("schema cli_mig: migrated from version 0 to %d (latest %d)", latest, latest))
	backfilld(t, env, "", "migrate").want(t, exitOK, fmt.Sprintf("schema cli_mig: at version %d (latest %d); nothing to do", latest, latest))
	backfilld(t, env, "", "prices", "import", "testdata/prices/good.csv").want(t, exitOK, "good.csv")

	var v struct {
		Schema                string
		Before, After, Latest int
	}
	r := backfilld(t, env, "", "migrate", "--json", "--down", "0")
	r.want(t, exitOK)
	r.decode(t, &v)
	if v.Schema != "cli_mig" || v.Before != latest || v.After != 0 || v.Latest != latest {
		t.Errorf("migrate --down 0 --json = %+v", v)
	}
	backfilld(t, env, "", "migrate", "--down", "0").want(t, exitOK, fmt.Sprintf("at version 0 (latest %d); nothing to do", latest))
	backfilld(t, env, "", "migrate", "--schema", "cli_mig").want(t, exitOK, fmt.Sprintf("migrated from version 0 to %d", latest))

	// The default schema of the test database was migrated already.
	backfilld(t, dbEnv(t), "", "migrate").want(t, exitOK, fmt.Sprintf("schema backfill: at version %d", latest))
}

func TestMigrateUnreachable(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=5"}
	backfilld(t, env, "", "migrate").want(t, exitFailure, "connect to PostgreSQL at postgres@127.0.0.1:1/none")
}
