package portfolio

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one numbered, reversible schema change.
type Migration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

// Migrations returns the embedded migrations in version order.
func Migrations() []Migration {
	return loadedMigrations
}

var loadedMigrations = mustLoadMigrations(migrationFiles)

func mustLoadMigrations(fsys fs.FS) []Migration {
	ms, err := loadMigrations(fsys)
	if err != nil {
		panic(err)
	}
	return ms
}

// loadMigrations reads migrations/NNNN_name.{up,down}.sql pairs.
func loadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := map[int]*Migration{}
	for _, e := range entries {
		base := e.Name()
		var dir string
		switch {
		case strings.HasSuffix(base, ".up.sql"):
			dir = "up"
		case strings.HasSuffix(base, ".down.sql"):
			dir = "down"
		default:
			return nil, fmt.Errorf("migration %s: name must end in .up.sql or .down.sql", base)
		}
		stem := strings.TrimSuffix(base, "."+dir+".sql")
		num, name, ok := strings.Cut(stem, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.%s.sql", base, dir)
		}
		body, err := fs.ReadFile(fsys, path.Join("migrations", base))
		if err != nil {
			return nil, err
		}
		m := byVersion[v]
		if m != nil && m.Name != name {
			return nil, fmt.Errorf("migration %s: version %d is taken by %04d_%s", base, v, v, m.Name)
		}
		if m == nil {
			m = &Migration{Version: v, Name: name}
			byVersion[v] = m
		}
		if dir == "up" {
			m.Up = string(body)
		} else {
			m.Down = string(body)
		}
	}
	ms := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		if m.Up == "" || m.Down == "" {
			return nil, fmt.Errorf("migration %d: needs both an up and a down file", m.Version)
		}
		ms = append(ms, *m)
	}
	// Versions increase but may leave gaps: numbers are handed out to
	// changes developed side by side, and a schema records the highest one
	// applied.
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// MigrateOpts configures Migrate and MigrateDown.
type MigrateOpts struct {
	// Schema holds the library's tables. Default DefaultSchema.
	Schema Schema
	// Target is the version to migrate to. For Migrate, 0 means the latest;
	// for MigrateDown, 0 means before the first migration (every table
	// dropped).
	Target int
}

// LatestVersion is the version of the newest embedded migration.
func LatestVersion() int {
	if len(loadedMigrations) == 0 {
		return 0
	}
	return loadedMigrations[len(loadedMigrations)-1].Version
}

// Beginner starts transactions; *pgxpool.Pool and *pgx.Conn satisfy it.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Migrate creates the schema if needed and applies every pending migration
// up to opts.Target, in one transaction. It is idempotent, and safe when
// several processes call it at once: a transaction-scoped advisory lock
// serialises them, and the later ones find nothing left to do.
func Migrate(ctx context.Context, db Beginner, opts *MigrateOpts) error {
	o := migrateDefaults(opts)
	if o.Target == 0 {
		o.Target = LatestVersion()
	}
	if o.Target < 0 || o.Target > LatestVersion() {
		return fmt.Errorf("migrate: target version %d outside 0..%d", o.Target, LatestVersion())
	}
	return migrateTx(ctx, db, o.Schema, func(ctx context.Context, tx pgx.Tx, current int) error {
		if current > LatestVersion() {
			return fmt.Errorf("migrate: schema %s is at version %d, newer than this build's %d; upgrade the binary", o.Schema.Name(), current, LatestVersion())
		}
		for _, m := range loadedMigrations {
			if m.Version <= current || m.Version > o.Target {
				continue
			}
			if _, err := tx.Exec(ctx, m.Up); err != nil {
				return fmt.Errorf("migrate: apply %04d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, o.Schema.SQL(`INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)`), m.Version, m.Name); err != nil {
				return fmt.Errorf("migrate: record %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		return nil
	})
}

// MigrateDown reverts migrations, newest first, until the schema is at
// opts.Target (0: every migration reverted; the schema itself and its
// bookkeeping table are kept).
func MigrateDown(ctx context.Context, db Beginner, opts *MigrateOpts) error {
	o := migrateDefaults(opts)
	if o.Target < 0 || o.Target > LatestVersion() {
		return fmt.Errorf("migrate down: target version %d outside 0..%d", o.Target, LatestVersion())
	}
	return migrateTx(ctx, db, o.Schema, func(ctx context.Context, tx pgx.Tx, current int) error {
		if current > LatestVersion() {
			return fmt.Errorf("migrate down: schema %s is at version %d, newer than this build's %d", o.Schema.Name(), current, LatestVersion())
		}
		for i := len(loadedMigrations) - 1; i >= 0; i-- {
			m := loadedMigrations[i]
			if m.Version > current || m.Version <= o.Target {
				continue
			}
			if _, err := tx.Exec(ctx, m.Down); err != nil {
				return fmt.Errorf("migrate down: revert %04d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, o.Schema.SQL(`DELETE FROM {schema}.schema_migrations WHERE version = $1`), m.Version); err != nil {
				return fmt.Errorf("migrate down: unrecord %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		return nil
	})
}

// Querier runs queries; *pgxpool.Pool, *pgx.Conn and pgx.Tx satisfy it.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SchemaVersion returns the schema's applied migration version (0 when the
// schema or its bookkeeping table does not exist yet) and the latest
// version this build knows.
func SchemaVersion(ctx context.Context, db Querier, schema Schema) (current, latest int, err error) {
	var exists bool
	err = db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, schema.Quoted()+".schema_migrations").Scan(&exists)
	if err != nil {
		return 0, LatestVersion(), fmt.Errorf("schema version: %w", err)
	}
	if !exists {
		return 0, LatestVersion(), nil
	}
	err = db.QueryRow(ctx, schema.SQL(`SELECT coalesce(max(version), 0) FROM {schema}.schema_migrations`)).Scan(&current)
	if err != nil {
		return 0, LatestVersion(), fmt.Errorf("schema version: %w", err)
	}
	return current, LatestVersion(), nil
}

// ErrSchemaOutdated is returned by CheckSchema when migrations are pending.
var ErrSchemaOutdated = errors.New("schema not migrated to this build's version")

// CheckSchema returns nil when the schema is at exactly this build's
// latest migration, and an error wrapping ErrSchemaOutdated otherwise.
func CheckSchema(ctx context.Context, db Querier, schema Schema) error {
	current, latest, err := SchemaVersion(ctx, db, schema)
	if err != nil {
		return err
	}
	if current != latest {
		return fmt.Errorf("%w: schema %s at version %d, build expects %d (run `backfilld migrate`)", ErrSchemaOutdated, schema.Name(), current, latest)
	}
	return nil
}

func migrateDefaults(opts *MigrateOpts) MigrateOpts {
	var o MigrateOpts
	if opts != nil {
		o = *opts
	}
	o.Schema = cmp.Or(o.Schema, DefaultSchema)
	return o
}

// migrateTx runs fn in a transaction holding the schema's migration lock,
// with search_path set to the schema and its bookkeeping table in place.
func migrateTx(ctx context.Context, db Beginner, schema Schema, fn func(context.Context, pgx.Tx, int) error) error {
	if _, err := ParseSchema(schema.Name()); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op

	// The lock key depends on the schema so that independent schemas in
	// one database migrate independently.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('backfill.migrate'), hashtext($1))`, schema.Name()); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	stmts := []string{
		`CREATE SCHEMA IF NOT EXISTS {schema}`,
		`CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`,
		`SET LOCAL search_path TO {schema}, pg_catalog`,
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, schema.SQL(s)); err != nil {
			return fmt.Errorf("migrate: prepare schema %s: %w", schema.Name(), err)
		}
	}
	var current int
	if err := tx.QueryRow(ctx, schema.SQL(`SELECT coalesce(max(version), 0) FROM {schema}.schema_migrations`)).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if err := fn(ctx, tx, current); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
