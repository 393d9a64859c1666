package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/pgserver"
)

// Exit codes.
const (
	exitOK      = 0 // success
	exitFailure = 1 // the command failed
	exitInvalid = 2 // invalid input: flags, arguments, configuration, validation errors
)

// Environment variables; each has a flag of the same meaning, which wins.
const (
	envDatabaseURL = "DATABASE_URL"
	envDataDir     = "BACKFILL_DATA_DIR"
	envSchema      = "BACKFILL_SCHEMA"
	envLogLevel    = "BACKFILL_LOG_LEVEL"
	envNow         = "BACKFILL_NOW"
)

// rootDataDir is the embedded server's default data directory when
// backfilld runs as root: the server then runs as the postgres OS user, who
// cannot enter root's home directory.
const rootDataDir = "/var/lib/backfill/pgdata"

// serverStopTimeout bounds the embedded server's shutdown when a command
// ends; past it the server is shut down immediately.
const serverStopTimeout = 30 * time.Second

// commands lists the commands in the order `backfilld help` shows them.
// Adding a command is a new cmd_NAME.go file defining its *command, plus its
// line here.
var commands = []*command{
	migrateCommand,
	onboardCommand,
	calculateCommand,
	pricesImportCommand,
	symbolsImportCommand,
	symbolsListCommand,
	calendarCommand,
	runCommand,
	statusCommand,
	explainCommand,
	retryCommand,
	flowsAddCommand,
	flowsListCommand,
	positionsAddCommand,
	positionsListCommand,
	positionsCloseCommand,
	deleteCommand,
	benchCommand,
}

// command is one backfilld command.
type command struct {
	// Name selects the command: one word, or two for a command in a group
	// ("prices import").
	Name string
	// Args is the synopsis of the positional arguments, e.g. "PORTFOLIO_ID".
	Args string
	// Summary is the one line `backfilld help` shows.
	Summary string
	// Help is the description `backfilld COMMAND --help` shows before the
	// flags.
	Help string
	// Database says the command works on a database: it gets the
	// --database-url, --data-dir and --schema flags and may call app.db.
	Database bool
	// Flags defines the command's own flags on fs and returns the function
	// that runs the command once they are parsed.
	Flags func(fs *flag.FlagSet) runFunc
}

// runFunc runs a command; args are the positional arguments left after the
// flags.
type runFunc func(ctx context.Context, a *app, args []string) error

// run is backfilld: it runs the command named by args (os.Args[1:]) with the
// environment read through getenv, and returns an error for exitCode.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printUsage(stderr)
		return &reportedError{code: exitInvalid}
	}
	switch args[0] {
	case "help":
		return help(stdout, args[1:])
	case "-h", "-help", "--help":
		printUsage(stdout)
		return nil
	}
	if len(args) == 2 && isHelp(args[1]) && len(groupCommands(args[0])) > 0 {
		printGroup(stdout, args[0])
		return nil
	}
	cmd, rest, err := lookup(args)
	if err != nil {
		return err
	}
	return cmd.execute(ctx, rest, getenv, &stdio{in: stdin, out: stdout, err: stderr})
}

// stdio are the streams a command reads and writes.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// lookup finds the command named by the first one or two words of args and
// returns it with the remaining arguments.
func lookup(args []string) (*command, []string, error) {
	if len(args) >= 2 {
		for _, c := range commands {
			if c.Name == args[0]+" "+args[1] {
				return c, args[2:], nil
			}
		}
	}
	for _, c := range commands {
		if c.Name == args[0] {
			return c, args[1:], nil
		}
	}
	if group := groupCommands(args[0]); len(group) > 0 {
		what := "missing subcommand"
		if len(args) >= 2 {
			what = fmt.Sprintf("unknown subcommand %q", args[1])
		}
		return nil, nil, &usageError{err: fmt.Errorf("%s: %s; use %s", args[0], what, strings.Join(group, " or "))}
	}
	return nil, nil, &usageError{err: fmt.Errorf("unknown command %q", args[0])}
}

// groupCommands lists the commands of a group ("prices" → "prices import").
func groupCommands(group string) []string {
	var names []string
	for _, c := range commands {
		if strings.HasPrefix(c.Name, group+" ") {
			names = append(names, "backfilld "+c.Name)
		}
	}
	return names
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// printGroup lists the commands of a group, for `backfilld prices --help`.
func printGroup(w io.Writer, group string) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintf(tw, "Commands of backfilld %s:\n", group)
	for _, c := range commands {
		if strings.HasPrefix(c.Name, group+" ") {
			fmt.Fprintf(tw, "  %s\t%s\n", c.synopsis(), c.Summary)
		}
	}
	tw.Flush()
}

// help implements `backfilld help [COMMAND]`.
func help(stdout io.Writer, args []string) error {
	if len(args) == 0 {
		printUsage(stdout)
		return nil
	}
	if len(args) == 1 && len(groupCommands(args[0])) > 0 {
		printGroup(stdout, args[0])
		return nil
	}
	cmd, rest, err := lookup(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &usageError{err: fmt.Errorf("help takes one command, got %q", strings.Join(args, " "))}
	}
	fs, sections, _, _ := cmd.flagSet()
	cmd.printHelp(stdout, fs, sections)
	return nil
}

// flagSection names the flags shown under one heading of a command's help.
type flagSection struct {
	title string
	names []string
}

// flagSet builds the command's flag set: its own flags, then the database
// and common ones, with the headings of its help. g receives the database
// and common flags, runCmd is the command's function.
func (c *command) flagSet() (fs *flag.FlagSet, sections []flagSection, g *globalFlags, runCmd runFunc) {
	fs = flag.NewFlagSet("backfilld "+c.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runCmd = c.Flags(fs)
	if own := flagNames(fs, nil); len(own) > 0 {
		sections = append(sections, flagSection{"Flags", own})
	}
	g = new(globalFlags)
	if c.Database {
		seen := flagNames(fs, nil)
		g.registerDatabase(fs)
		sections = append(sections, flagSection{"Database", flagNames(fs, seen)})
	}
	seen := flagNames(fs, nil)
	g.registerCommon(fs)
	sections = append(sections, flagSection{"Common", flagNames(fs, seen)})
	return fs, sections, g, runCmd
}

// flagNames lists the names of fs's flags not in except, sorted.
func flagNames(fs *flag.FlagSet, except []string) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(except, f.Name) {
			names = append(names, f.Name)
		}
	})
	return names
}

// execute parses the command's flags, builds its configuration and runs it.
func (c *command) execute(ctx context.Context, args []string, getenv func(string) string, s *stdio) error {
	fs, sections, g, runCmd := c.flagSet()
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printHelp(s.out, fs, sections)
			return nil
		}
		return &usageError{cmd: c, err: fmt.Errorf("%s: %w", c.Name, err)}
	}
	a, err := g.app(s, getenv)
	if err != nil {
		return err
	}
	a.cmd = c
	defer a.close()
	err = runCmd(ctx, a, positional)
	if err != nil && ctx.Err() != nil {
		// A signal: say so rather than leave only the error it caused.
		err = fmt.Errorf("interrupted: %w", err)
	}
	return err
}

// parseInterspersed parses flags anywhere among the arguments ("calculate
// ID --wait"), and returns the arguments; everything after "--" is an
// argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// printUsage writes the overview of `backfilld help`.
func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`backfilld keeps every portfolio's analytics up to the latest trading day.

Usage:
  backfilld COMMAND [flags] [arguments]

Commands:
`)
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(tw, "  help [COMMAND]\tshow this help, or a command's flags and environment\n")
	tw.Flush()
	b.WriteString(`
Run 'backfilld COMMAND --help' for a command's flags and environment; -h and
--help work everywhere. Flags may stand before or after the arguments; after
"--" everything is an argument.

Environment (each has a flag, which wins; see a command's help):
  DATABASE_URL         PostgreSQL to use. Without it, an embedded PostgreSQL is
                       started from the machine's installed server binaries in
                       BACKFILL_DATA_DIR, migrated, and stopped when the command
                       ends.
  BACKFILL_DATA_DIR    data directory of the embedded PostgreSQL
                       (default $XDG_DATA_HOME/backfill/pgdata, else
                       $HOME/.local/share/backfill/pgdata; as root
                       /var/lib/backfill/pgdata)
  BACKFILL_SCHEMA      schema of the tables (default backfill)
  BACKFILL_LOG_LEVEL   debug, info, warn or error (default info); logs go to stderr
  BACKFILL_NOW         the clock, as an RFC 3339 time (default the system clock)

Exit status:
  0  success
  1  failure
  2  invalid input: flags, arguments, configuration, validation errors
`)
	io.WriteString(w, b.String())
}

// printHelp writes the command's help: synopsis, description and flags by
// section.
func (c *command) printHelp(w io.Writer, fs *flag.FlagSet, sections []flagSection) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n\n%s\n", c.synopsis(), strings.TrimSpace(c.Help))
	for _, s := range sections {
		fmt.Fprintf(&b, "\n%s:\n", s.title)
		for _, name := range s.names {
			writeFlag(&b, fs.Lookup(name))
		}
		if s.title == "Common" {
			writeFlagLine(&b, "-h, --help", "show this help")
		}
	}
	b.WriteString("\nExit status: 0 success, 1 failure, 2 invalid input.\n")
	io.WriteString(w, b.String())
}

// synopsis is the command's one-line usage.
func (c *command) synopsis() string {
	s := "backfilld " + c.Name + " [flags]"
	if c.Args != "" {
		s += " " + c.Args
	}
	return s
}

func writeFlag(b *strings.Builder, f *flag.Flag) {
	name, usage := flag.UnquoteUsage(f)
	left := "--" + f.Name
	if name != "" {
		left += " " + name
	}
	writeFlagLine(b, left, usage)
}

// Layout of the flag lists in a command's help: usage text starts in
// column flagColumn+2 and wraps before helpWidth.
const (
	flagColumn = 24
	helpWidth  = 80
)

func writeFlagLine(b *strings.Builder, left, usage string) {
	indent := strings.Repeat(" ", flagColumn+2)
	b.WriteString("  ")
	b.WriteString(left)
	if len(left) < flagColumn {
		b.WriteString(strings.Repeat(" ", flagColumn-len(left)))
	} else {
		b.WriteString("\n")
		b.WriteString(indent)
	}
	for i, line := range wrap(usage, helpWidth-len(indent)) {
		if i > 0 {
			b.WriteString("\n")
			b.WriteString(indent)
		}
		b.WriteString(line)
	}
	b.WriteString("\n")
}

// wrap breaks text into lines of at most width bytes at spaces; a newline
// in text always breaks.
func wrap(text string, width int) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case len(line)+1+len(word) > width:
				lines = append(lines, line)
				line = word
			default:
				line += " " + word
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// globalFlags are the settings every command (common) or every database
// command shares. An empty flag falls back to its environment variable,
// then to the default.
type globalFlags struct {
	databaseURL, dataDir, schema string
	logLevel, now                string
}

func (g *globalFlags) registerDatabase(fs *flag.FlagSet) {
	fs.StringVar(&g.databaseURL, "database-url", "",
		"PostgreSQL connection `URL` (env DATABASE_URL). Default: none, which starts "+
			"an embedded PostgreSQL from the machine's installed server binaries in --data-dir, "+
			"applies the migrations, and stops it when the command ends")
	fs.StringVar(&g.dataDir, "data-dir", "",
		"the embedded PostgreSQL's data `DIR`, kept between runs (env BACKFILL_DATA_DIR). "+
			"Default $XDG_DATA_HOME/backfill/pgdata, else $HOME/.local/share/backfill/pgdata; "+
			"as root "+rootDataDir+", which the postgres OS user running the server can enter")
	fs.StringVar(&g.schema, "schema", "",
		"PostgreSQL schema `NAME` holding the tables (env BACKFILL_SCHEMA; default "+portfolio.DefaultSchema+")")
}

func (g *globalFlags) registerCommon(fs *flag.FlagSet) {
	fs.StringVar(&g.logLevel, "log-level", "",
		"`LEVEL` of the logs on stderr: debug, info, warn or error (env BACKFILL_LOG_LEVEL; default info)")
	fs.StringVar(&g.now, "now", "",
		"the clock, as an RFC 3339 `TIME` such as 2024-12-02T22:00:00Z: dates after it "+
			"are in the future, and backfills end at the last session closed by then "+
			"(env BACKFILL_NOW; default the system clock)")
}

// setting returns the flag's value when given, else the variable's.
func setting(flagValue, env string, getenv func(string) string) (value, source string) {
	if flagValue != "" {
		return flagValue, "--" + strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "BACKFILL_"), "_", "-"))
	}
	return getenv(env), env
}

// app builds the command's configuration from the flags and environment.
// Its errors are invalid input.
func (g *globalFlags) app(s *stdio, getenv func(string) string) (*app, error) {
	a := &app{stdin: s.in, stdout: s.out, stderr: s.err, now: time.Now, getenv: getenv}

	level := slog.LevelInfo
	if v, src := setting(g.logLevel, envLogLevel, getenv); v != "" {
		switch strings.ToLower(v) {
		case "debug":
			level = slog.LevelDebug
		case "info":
			level = slog.LevelInfo
		case "warn", "warning":
			level = slog.LevelWarn
		case "error":
			level = slog.LevelError
		default:
			return nil, invalidf("invalid log level %q (%s): use debug, info, warn or error", v, src)
		}
	}
	a.logger = slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level}))
	a.serverLogger = slog.New(slog.DiscardHandler)
	if level <= slog.LevelDebug {
		a.serverLogger = a.logger
	}

	if v, src := setting(g.now, envNow, getenv); v != "" {
		now, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, invalidf("invalid %s %q: use an RFC 3339 time such as 2024-12-02T22:00:00Z", src, v)
		}
		a.now = func() time.Time { return now }
	}

	v, src := setting(g.schema, envSchema, getenv)
	schema, err := portfolio.ParseSchema(v)
	if err != nil {
		return nil, invalidf("invalid schema (%s): %v", src, err)
	}
	a.schema = schema

	a.databaseURL, _ = setting(g.databaseURL, envDatabaseURL, getenv)
	a.dataDir, _ = setting(g.dataDir, envDataDir, getenv)
	if a.dataDir == "" {
		a.dataDir = defaultDataDir(getenv, os.Geteuid())
	}
	return a, nil
}

// defaultDataDir is the embedded server's data directory when none is
// configured, or "" when there is no home directory to put it in.
func defaultDataDir(getenv func(string) string, euid int) string {
	switch {
	case euid == 0:
		return rootDataDir
	case getenv("XDG_DATA_HOME") != "":
		return filepath.Join(getenv("XDG_DATA_HOME"), "backfill", "pgdata")
	case getenv("HOME") != "":
		return filepath.Join(getenv("HOME"), ".local", "share", "backfill", "pgdata")
	}
	return ""
}

// app is what a command runs with: its streams, logger, clock and database.
type app struct {
	cmd            *command
	getenv         func(string) string // the environment run() was given
	stdin          io.Reader
	stdout, stderr io.Writer
	logger         *slog.Logger
	// serverLogger receives the embedded server's events: only at debug
	// level, since backfilld announces the server itself.
	serverLogger *slog.Logger
	// now is the clock: BACKFILL_NOW when set, else time.Now.
	now    func() time.Time
	schema portfolio.Schema

	databaseURL string // "" means the embedded server
	dataDir     string // the embedded server's data directory

	pool        *pgxpool.Pool
	server      *pgserver.Server // nil unless embedded
	schemaReady bool             // db has migrated or checked the schema
}

// db returns the database, opening it on first use, with its schema at
// this build's version: migrated when embedded, checked otherwise.
func (a *app) db(ctx context.Context) (*pgxpool.Pool, error) {
	if a.schemaReady {
		return a.pool, nil
	}
	pool, err := a.connect(ctx)
	if err != nil {
		return nil, err
	}
	if a.server != nil {
		if err := portfolio.Migrate(ctx, pool, &portfolio.MigrateOpts{Schema: a.schema}); err != nil {
			return nil, fmt.Errorf("migrate embedded database: %w", err)
		}
		a.schemaReady = true
		return pool, nil
	}
	if err := portfolio.CheckSchema(ctx, pool, a.schema); err != nil {
		if !errors.Is(err, portfolio.ErrSchemaOutdated) {
			return nil, err
		}
		current, latest, verr := portfolio.SchemaVersion(ctx, pool, a.schema)
		if verr == nil && current > latest {
			return nil, fmt.Errorf("schema %s is at version %d, newer than this backfilld's %d: upgrade backfilld", a.schema.Name(), current, latest)
		}
		return nil, fmt.Errorf("schema %s is at version %d, this backfilld needs %d: run `backfilld migrate` with the same DATABASE_URL and schema", a.schema.Name(), current, latest)
	}
	a.schemaReady = true
	return pool, nil
}

// connect opens the database, starting the embedded server when there is
// no DATABASE_URL, without touching the schema (what migrate needs).
func (a *app) connect(ctx context.Context) (*pgxpool.Pool, error) {
	if a.pool != nil {
		return a.pool, nil
	}
	url := a.databaseURL
	if url == "" {
		if a.dataDir == "" {
			return nil, invalidf("no DATABASE_URL, and no home directory for the embedded PostgreSQL's data: set DATABASE_URL, or BACKFILL_DATA_DIR (--data-dir)")
		}
		srv, err := pgserver.Start(ctx, &pgserver.Options{DataDir: a.dataDir, Logger: a.serverLogger})
		if err != nil {
			return nil, fmt.Errorf("no DATABASE_URL; start embedded PostgreSQL in %s: %w", a.dataDir, err)
		}
		a.server = srv
		fmt.Fprintf(a.stderr, "backfilld: no DATABASE_URL; using embedded PostgreSQL in %s (port %d)\n", srv.DataDir(), srv.Port())
		url = srv.ConnString("")
	}
	cfg, err := parseDatabaseURL(url)
	if err != nil {
		return nil, invalidf("invalid DATABASE_URL: %v", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		c := cfg.ConnConfig
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within the connect timeout of %s (connect_timeout in the URL sets it): %w", c.ConnectTimeout, err)
		}
		return nil, fmt.Errorf("connect to PostgreSQL at %s@%s:%d/%s: %w", c.User, c.Host, c.Port, c.Database, err)
	}
	a.pool = pool
	return pool, nil
}

// close closes the database and stops the embedded server, also when the
// command's context was cancelled.
func (a *app) close() {
	if a.pool != nil {
		a.pool.Close()
	}
	if a.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), serverStopTimeout)
		defer cancel()
		if err := a.server.Stop(ctx); err != nil {
			a.logger.Warn("stop embedded PostgreSQL", "data_dir", a.server.DataDir(), "err", err)
		}
	}
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns a writer aligning tab-separated columns; Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// parseDate parses a YYYY-MM-DD flag value as a date at 00:00 UTC.
func parseDate(flagName, v string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, invalidf("invalid --%s %q: use a date as YYYY-MM-DD", flagName, v)
	}
	return d, nil
}

// checkArgs fails unless args has between min and max entries (max < 0:
// no limit).
func (a *app) checkArgs(args []string, min, max int) error {
	switch {
	case len(args) < min:
		return a.usage("missing %s", a.cmd.Args)
	case max == 0 && len(args) > 0:
		return a.usage("takes no arguments, got %q", args[0])
	case max > 0 && len(args) > max:
		return a.usage("unexpected argument %q after %s", args[max], a.cmd.Args)
	}
	return nil
}

// usage returns a usageError of the running command.
func (a *app) usage(format string, args ...any) error {
	return &usageError{cmd: a.cmd, err: fmt.Errorf("%s: %s", a.cmd.Name, fmt.Sprintf(format, args...))}
}

// usageError is an invalid command line: exit 2, with the synopsis.
type usageError struct {
	cmd *command // nil for backfilld itself
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// invalidError is invalid input other than the command line (configuration,
// values): exit 2.
type invalidError struct{ err error }

func (e *invalidError) Error() string { return e.err.Error() }
func (e *invalidError) Unwrap() error { return e.err }

func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Errorf(format, args...)}
}

// reportedError ends backfilld with code after the command has already
// described the failure (on stderr, or as JSON on stdout).
type reportedError struct {
	code int
	err  error
}

func (e *reportedError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *reportedError) Unwrap() error { return e.err }

// exitCode reports err on stderr (unless the command already did) and
// returns the exit status for it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var rep *reportedError
	if errors.As(err, &rep) {
		return rep.code
	}
	fmt.Fprintf(stderr, "backfilld: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.cmd != nil {
			fmt.Fprintf(stderr, "usage: %s\nRun 'backfilld %s --help' for its flags.\n", ue.cmd.synopsis(), ue.cmd.Name)
		} else {
			fmt.Fprintf(stderr, "usage: backfilld COMMAND [flags] [arguments]\nRun 'backfilld help' for the commands.\n")
		}
		return exitInvalid
	}
	if isInvalid(err) {
		return exitInvalid
	}
	return exitFailure
}

// isInvalid reports whether err is about the input rather than a failure.
func isInvalid(err error) bool {
	var (
		ie   *invalidError
		ve   *portfolio.ValidationError
		perr *batch.PriceFileError
		serr *batch.SymbolFileError
	)
	return errors.As(err, &ie) || errors.As(err, &ve) || errors.As(err, &perr) || errors.As(err, &serr) ||
		errors.Is(err, portfolio.ErrDuplicateAccount)
}
