// Command opsworker is the operations worker of an alerting platform: next to PostgreSQL, on cron
// specs set through the environment, it escalates unacknowledged alerts through their policies,
// paging whoever is on call, and writes each tenant's daily operations report.
//
// Run `opsworker --help` for the subcommands; README.md documents the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // zone data inside the binary: the final image has no /usr/share/zoneinfo

	"github.com/jackc/pgx/v5/pgxpool"

	opsql "github.com/opsworker/opsworker/sql"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2 // also a bad configuration
)

// command is one subcommand.
type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, io ioStreams, args []string) int
}

type ioStreams struct{ stdout, stderr io.Writer }

func commands() []command {
	return []command{
		{"serve", "", "run the scheduler, the HTTP endpoints and every task on its spec (the default)", serveCmd},
		{"run", "TASK [--at RFC3339]", "run one task once, now (or as if at --at), then exit", runCmd},
		{"schedule", "", "print each task's spec, zone, next 5 firings and DST notes, without a database", scheduleCmd},
		{"migrate", "", "apply the database migrations, then exit", migrateCmd},
		{"oncall", "SCHEDULE_ID [--at T] [--until T] [--json]", "who is on call at T (default now), or the shifts from --at to --until", oncallCmd},
		{"demo", "", "load the demo tenant (once) and a new triggered alert, then exit", demoCmd},
		{"healthcheck", "", "exit 0 when the running service's /healthz answers 200 (for the image's HEALTHCHECK)", healthcheckCmd},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := dispatch(ctx, ioStreams{os.Stdout, os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, s ioStreams, args []string) int {
	name := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			usage(s.stdout)
			return exitOK
		case "-version", "--version", "version":
			fmt.Fprintln(s.stdout, "opsworker", version)
			return exitOK
		}
		if !strings.HasPrefix(args[0], "-") {
			name, args = args[0], args[1:]
		}
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, s, args)
		}
	}
	fmt.Fprintf(s.stderr, "opsworker: unknown command %q\n\n", name)
	usage(s.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "opsworker %s — escalation and daily reports for an alerting platform\n\nUsage:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  opsworker %s\n      %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintln(w, "\nConfiguration is read from the environment (see README.md). Run `opsworker COMMAND --help` for a command's flags.")
}

// flags returns a flag set for a subcommand. Its Usage prints the command's usage to stderr;
// parseFlags prints it to stdout for --help.
func flags(s ioStreams, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.stderr)
	fs.Usage = func() { printUsage(fs, s.stderr) }
	return fs
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	for _, c := range commands() {
		if c.name == fs.Name() {
			fmt.Fprintf(w, "Usage: opsworker %s\n\n%s.\n", strings.TrimSpace(c.name+" "+c.args), strings.ToUpper(c.summary[:1])+c.summary[1:])
		}
	}
	var any bool
	fs.VisitAll(func(*flag.Flag) { any = true })
	if any {
		fmt.Fprintln(w, "\nFlags:")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// parseFlags parses args, allowing flags before and after positional arguments
// (`run escalation --at T` and `run --at T escalation`). It returns the positionals, or an exit
// code when parsing ended the command (--help, or a bad flag).
func parseFlags(fs *flag.FlagSet, s ioStreams, args []string) ([]string, int, bool) {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package would print it on -help too; we choose the stream
	defer func() { fs.Usage = usage }()
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(fs, s.stdout)
				return nil, exitOK, false
			}
			printUsage(fs, s.stderr)
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			return positional, 0, true
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseNoArgs parses the arguments of a command that takes none but --help.
func parseNoArgs(s ioStreams, name string, args []string) (int, bool) {
	fs := flags(s, name)
	pos, code, ok := parseFlags(fs, s, args)
	if ok && len(pos) > 0 {
		fmt.Fprintf(s.stderr, "opsworker %s takes no arguments\n", name)
		printUsage(fs, s.stderr)
		return exitUsage, false
	}
	return code, ok
}

// setup loads the configuration and builds the logger. A bad configuration is one line on stderr
// and exit code 2, before anything touches the database.
func setup(s ioStreams) (*config, *slog.Logger, int) {
	cfg, err := loadConfig(time.Now())
	if err != nil {
		fmt.Fprintf(s.stderr, "opsworker: %v\n", err)
		return nil, nil, exitUsage
	}
	log := newLogger(cfg.LogFormat, cfg.level, s.stderr)
	slog.SetDefault(log)
	return cfg, log, exitOK
}

// connect opens the pool, checks the database answers and, with MIGRATE=true, migrates it.
func connect(ctx context.Context, cfg *config, log *slog.Logger, migrate bool) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg.pool)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", cfg.database(), err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s does not answer: %w", cfg.database(), err)
	}
	if migrate {
		applied, err := opsql.Migrate(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, err
		}
		for _, m := range applied {
			log.Info("migration applied", "version", m.Version, "source", m.Source)
		}
	}
	return pool, nil
}

// taskNames lists the known tasks, sorted, for messages.
func taskNames() string {
	var names []string
	for _, tv := range taskVars {
		names = append(names, tv.task)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
