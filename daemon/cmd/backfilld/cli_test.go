package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func TestMain(m *testing.M) { portfoliotest.Main(m) }

// result is what one backfilld invocation printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// backfilld runs the CLI in-process as main does, with exactly env as its
// environment and stdin as its standard input.
func backfilld(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(t.Context(), args, getenv, strings.NewReader(stdin), &stdout, &stderr)
	code := exitCode(err, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// want fails the test unless r exited with code and every fragment appears
// in its stdout or stderr.
func (r result) want(t *testing.T, code int, fragments ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(r.stdout, f) && !strings.Contains(r.stderr, f) {
			t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", f, r.stdout, r.stderr)
		}
	}
}

// decode unmarshals r's stdout into v.
func (r result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\n%s", err, r.stdout)
	}
}

// dbEnv is the environment of a command on the test's database, with the
// clock after the first week of 2024 that the fixtures use.
func dbEnv(t *testing.T) map[string]string {
	t.Helper()
	db := portfoliotest.NewDB(t)
	return map[string]string{
		"DATABASE_URL":       db.ConnString,
		"BACKFILL_NOW":       "2024-01-06T12:00:00Z",
		"BACKFILL_LOG_LEVEL": "warn",
	}
}

// with returns a copy of env with the given key/value pairs set.
func with(env map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(env)+len(kv)/2)
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := backfilld(t, nil, "", "help")
	r.want(t, exitOK, "DATABASE_URL", "BACKFILL_DATA_DIR", "BACKFILL_SCHEMA", "BACKFILL_LOG_LEVEL", "BACKFILL_NOW", "Exit status")
	for _, c := range commands {
		if !strings.Contains(r.stdout, c.Name) {
			t.Errorf("help lacks command %q", c.Name)
		}
	}
	backfilld(t, nil, "", "--help").want(t, exitOK, "Commands:")
	backfilld(t, nil, "", "-h").want(t, exitOK, "Commands:")
	backfilld(t, nil, "", "help", "prices", "import").want(t, exitOK, "Usage: backfilld prices import [flags] FILE...")

	r = backfilld(t, nil, "")
	r.want(t, exitInvalid, "Commands:")
	backfilld(t, nil, "", "frobnicate").want(t, exitInvalid, `unknown command "frobnicate"`, "backfilld help")
	backfilld(t, nil, "", "prices").want(t, exitInvalid, "missing subcommand", "backfilld prices import")
	backfilld(t, nil, "", "help", "frobnicate").want(t, exitInvalid, `unknown command "frobnicate"`)
	backfilld(t, nil, "", "prices", "--help").want(t, exitOK, "backfilld prices import [flags] FILE...")
	backfilld(t, nil, "", "help", "prices").want(t, exitOK, "backfilld prices import [flags] FILE...")
}

// Every command's help documents each of its flags, and the database
// commands the variables they read.
func TestCommandHelpDocumentsFlags(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		t.Run(strings.ReplaceAll(c.Name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			args := append(strings.Fields(c.Name), "--help")
			r := backfilld(t, nil, "", args...)
			r.want(t, exitOK, "Usage: backfilld "+c.Name, "BACKFILL_NOW", "BACKFILL_LOG_LEVEL", "Exit status")
			if c.Database {
				r.want(t, exitOK, "DATABASE_URL", "BACKFILL_DATA_DIR", "BACKFILL_SCHEMA")
			}
			fs, _, _, _ := c.flagSet()
			fs.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(r.stdout, "--"+f.Name) {
					t.Errorf("help lacks --%s", f.Name)
				}
			})
			if r2 := backfilld(t, nil, "", append(strings.Fields(c.Name), "-h")...); r2.stdout != r.stdout {
				t.Errorf("-h and --help differ")
			}
		})
	}
}

func TestInvalidConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"now", map[string]string{"BACKFILL_NOW": "yesterday"}, []string{"calendar"}, `invalid BACKFILL_NOW "yesterday"`},
		{"now date only", map[string]string{"BACKFILL_NOW": "2024-01-06"}, []string{"calendar"}, "RFC 3339"},
		{"now flag", nil, []string{"calendar", "--now", "noon"}, `invalid --now "noon"`},
		// A database command rejects it before opening any database.
		{"now database command", map[string]string{"BACKFILL_NOW": "x", "DATABASE_URL": "postgres://nowhere.invalid/db"}, []string{"calculate", "01923f4e-7b3c-7d2a-9c1e-5f6a7b8c9d0e"}, "BACKFILL_NOW"},
		{"log level", map[string]string{"BACKFILL_LOG_LEVEL": "loud"}, []string{"calendar"}, `invalid log level "loud" (BACKFILL_LOG_LEVEL)`},
		{"schema", map[string]string{"BACKFILL_SCHEMA": "Bad-Name"}, []string{"migrate"}, "invalid schema (BACKFILL_SCHEMA)"},
		{"schema flag", nil, []string{"migrate", "--schema", "1x"}, "invalid schema (--schema)"},
		{"database url", map[string]string{"DATABASE_URL": "postgres://x:notaport/db"}, []string{"migrate"}, "invalid DATABASE_URL"},
		{"unknown flag", nil, []string{"migrate", "--bogus"}, "flag provided but not defined"},
		{"migrate down", map[string]string{"DATABASE_URL": "postgres://nowhere.invalid/db"}, []string{"migrate", "--down", "99"}, "--down 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			backfilld(t, tt.env, "", tt.args...).want(t, exitInvalid, tt.want)
		})
	}
}

func TestDefaultDataDir(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name string
		env  map[string]string
		euid int
		want string
	}{
		{"xdg", map[string]string{"XDG_DATA_HOME": "/x/data", "HOME": "/home/u"}, 1000, "/x/data/backfill/pgdata"},
		{"home", map[string]string{"HOME": "/home/u"}, 1000, "/home/u/.local/share/backfill/pgdata"},
		{"root", map[string]string{"HOME": "/root", "XDG_DATA_HOME": "/root/.local/share"}, 0, "/var/lib/backfill/pgdata"},
		{"nothing", nil, 1000, ""},
	}
	for _, tt := range tests {
		if got := defaultDataDir(env(tt.env), tt.euid); got != tt.want {
			t.Errorf("%s: defaultDataDir = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
		wait bool
	}{
		{[]string{"ID", "--wait"}, []string{"ID"}, true},
		{[]string{"--wait", "ID"}, []string{"ID"}, true},
		{[]string{"a", "-", "b"}, []string{"a", "-", "b"}, false},
		{[]string{"a", "--", "--wait", "b"}, []string{"a", "--wait", "b"}, false},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		wait := fs.Bool("wait", false, "")
		got, err := parseInterspersed(fs, tt.args)
		if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") || *wait != tt.wait {
			t.Errorf("parseInterspersed(%q) = %q, %v, wait=%v; want %q, wait=%v", tt.args, got, err, *wait, tt.want, tt.wait)
		}
	}
}

// The built binary maps errors to exit statuses as the in-process tests
// assume.
func TestBinary(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "backfilld")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := func(args ...string) result {
		c := exec.Command(bin, args...)
		c.Env = []string{"PATH=" + os.Getenv("PATH")}
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{stdout.String(), stderr.String(), code}
	}

	r := cmd("calendar", "--from", "2024-11-28", "--to", "2024-11-29")
	r.want(t, exitOK)
	if r.stdout != "2024-11-29 13:00\n" || r.stderr != "" {
		t.Errorf("calendar: stdout %q, stderr %q; want %q and nothing", r.stdout, r.stderr, "2024-11-29 13:00\n")
	}
	cmd("help").want(t, exitOK, "Usage:", "calendar", "DATABASE_URL")
	cmd("calendar", "--from", "2024-02-30").want(t, exitInvalid, `backfilld: invalid --from "2024-02-30"`)
	cmd().want(t, exitInvalid, "Commands:")
}

// Without DATABASE_URL a command starts PostgreSQL in the data directory,
// says so, and stops it; the data stays for the next command.
func TestEmbeddedDatabase(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	if os.Geteuid() == 0 {
		// The server runs as the postgres OS user, who must be able to
		// enter every parent of the data directory.
		dir, err := os.MkdirTemp("/tmp", "backfilld-embedded-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		base = dir
	}
	dataDir := filepath.Join(base, "pgdata")
	env := map[string]string{"BACKFILL_DATA_DIR": dataDir, "BACKFILL_LOG_LEVEL": "warn"}

	r := backfilld(t, env, "", "migrate")
	r.want(t, exitOK, "backfilld: no DATABASE_URL; using embedded PostgreSQL in "+dataDir+" (port ",
		fmt.Sprintf("migrated from version 0 to %d", portfolio.LatestVersion()))
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		t.Errorf("no cluster in the data directory: %v", err)
	}
	backfilld(t, env, "", "migrate").want(t, exitOK, "using embedded PostgreSQL", "nothing to do")
	// Other commands migrate by themselves; this one finds no portfolio.
	backfilld(t, env, "", "calculate", "01923f4e-7b3c-7d2a-9c1e-5f6a7b8c9d0e").want(t, exitFailure, "not found")
}
