// Command opsworker is the operations worker of an alerting platform: next to PostgreSQL, on cron
// specs set through the environment, it escalates unacknowledged alerts through their policies,
// paging whoever is on call, and writes each tenant's daily operations report.
//
// Run `opsworker --help` for the subcommands; README.md documents the environment.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // zone data inside the binary: the final image has no /usr/share/zoneinfo

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/setting"
	"github.com/opsworker/opsworker/worker"
)

// version and revision are stamped at build time:
// -ldflags "-X main.version=v1.2.3 -X main.revision=abc123".
var (
	version  = "dev"
	revision = ""
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2 // also a bad configuration
)

type ioStreams struct{ stdout, stderr io.Writer }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := dispatch(ctx, ioStreams{os.Stdout, os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// exitError ends a command with an exit code. Its message, when there is one, is printed on
// stderr by dispatch; a command that has already logged why it failed returns one without.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageErrorf is a mistake in the command line: exit code 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// failed is a runtime failure already logged: exit code 1, nothing more to print.
var failed = &exitError{code: exitFailure}

// setup loads the configuration and builds the logger. A bad configuration is returned as is,
// for dispatch to print as one line with exit code 2, before anything touches the database.
func setup(s ioStreams) (*worker.Config, *slog.Logger, error) {
	cfg, err := worker.LoadConfig(time.Now())
	if err != nil {
		return nil, nil, err
	}
	log := worker.NewLogger(cfg.LogFormat, cfg.Level, s.stderr)
	slog.SetDefault(log)
	return cfg, log, nil
}

// newWorker sets up a Worker for a command; close it with Shutdown.
func newWorker(s ioStreams) (*worker.Worker, *slog.Logger, error) {
	cfg, log, err := setup(s)
	if err != nil {
		return nil, nil, err
	}
	return worker.New(cfg, worker.Options{Logger: log, Build: worker.Build{Version: version, Revision: revision}}), log, nil
}

// connect sets up and connects (migrating when migrate is set), for the commands that read or
// write the database without running the worker: migrate, demo, oncall. what names the
// command's purpose for the failure line. Close the pool with worker.CloseWithin.
func connect(ctx context.Context, s ioStreams, migrate bool, what string) (*pgxpool.Pool, *slog.Logger, error) {
	cfg, log, err := setup(s)
	if err != nil {
		return nil, nil, err
	}
	pool, err := worker.Connect(ctx, cfg, log, migrate)
	if err != nil {
		log.Error(what, "error", err)
		return nil, nil, failed
	}
	return pool, log, nil
}

// dispatch runs the command line args and returns the exit code: 0, 1 for a runtime failure,
// 2 for a usage or configuration mistake.
func dispatch(ctx context.Context, s ioStreams, args []string) int {
	root := newRootCmd(s)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	var se *setting.Error
	switch {
	case errors.As(err, &se):
		printConfigError(s.stderr, se)
		return exitUsage
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(s.stderr, "%s: %s\n", cmd.CommandPath(), ee.msg)
			if ee.code == exitUsage {
				fmt.Fprintf(s.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
			}
		}
		return ee.code
	}
	// Anything else comes from cobra itself: an unknown command (with suggestions) or flag, or
	// arguments it rejected.
	fmt.Fprintf(s.stderr, "%s: %s\n", cmd.CommandPath(), strings.TrimSpace(err.Error()))
	fmt.Fprintf(s.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	return exitUsage
}

func newRootCmd(s ioStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "opsworker",
		Short: "escalation, daily reports and on-call answers for an alerting platform",
		Long: "opsworker is the operations worker of an alerting platform: next to its PostgreSQL, on cron specs\n" +
			"set through the environment, it escalates every unacknowledged alert through its escalation policy,\n" +
			"paging whoever is on call, and writes each tenant's daily operations report.\n\n" +
			"Without a command it runs `serve`. Configuration is read from the environment: see each command's\n" +
			"--help and README.md.",
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
		// opsworker alone serves; opsworker with an unknown word gets cobra's suggestions.
		RunE: func(cmd *cobra.Command, args []string) error { return serve(cmd.Context(), s) },
	}
	root.SetOut(s.stdout)
	root.SetErr(s.stderr)
	root.SetVersionTemplate("opsworker {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newServeCmd(s),
		newRunCmd(s),
		newScheduleCmd(s),
		newMigrateCmd(s),
		newOncallCmd(s),
		newHandoffCmd(s),
		newHeartbeatCmd(s),
		newDemoCmd(s),
		newHealthcheckCmd(s),
		newReceiveCmd(s),
	)
	strictCompletion(root)
	return root
}

// printConfigError prints a bad setting as one line: a JSON log line when LOG_FORMAT asks for
// JSON (whatever else is wrong), so a log pipeline reads it like every other line; plain text
// otherwise.
func printConfigError(w io.Writer, se *setting.Error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("LOG_FORMAT")), "json") {
		b, _ := json.Marshal(map[string]string{"time": time.Now().UTC().Format(time.RFC3339Nano), "level": "ERROR",
			"msg": "bad configuration", "variable": se.Name, "value": se.Value, "reason": se.Reason, "error": se.Error()})
		fmt.Fprintln(w, string(b))
		return
	}
	fmt.Fprintf(w, "opsworker: %v\n", se)
}

// strictCompletion makes `completion` without a shell, or with one it does not know (tcsh), a
// usage error: cobra's own prints its help and exits 0, which a script takes for a script.
func strictCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	c, _, err := root.Find([]string{"completion"})
	if err != nil || c.Name() != "completion" {
		return
	}
	var shells []string
	for _, sub := range c.Commands() {
		shells = append(shells, sub.Name())
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageErrorf("name a shell: %s", strings.Join(shells, ", "))
		}
		return usageErrorf("unknown shell %q: want %s", args[0], strings.Join(shells, ", "))
	}
}

// negativeNumber finds a negative number pflag took for a shorthand flag, as in `oncall -5`.
var negativeNumber = regexp.MustCompile(`unknown shorthand flag: '\d' in (-\d+)`)

// flagError turns a flag parsing error into a usage error.
func flagError(cmd *cobra.Command, err error) error {
	if m := negativeNumber.FindStringSubmatch(err.Error()); m != nil && (cmd.Name() == "oncall" || cmd.Name() == "handoff") {
		return usageErrorf("SCHEDULE_ID %s is not a schedule id (a positive whole number)", m[1])
	}
	return usageErrorf("%v", err)
}

// withEnv appends the environment variables a command reads to its long help.
func withEnv(long string, names ...string) string {
	var b strings.Builder
	b.WriteString(long)
	b.WriteString("\n\nEnvironment:\n")
	for _, name := range names {
		v, ok := worker.LookupVariable(name)
		if !ok {
			panic("withEnv: undocumented variable " + name) // a programming error, caught by every --help test
		}
		fmt.Fprintf(&b, "  %-22s %s (default %q)\n", v.Name, v.Meaning, v.Default)
	}
	return strings.TrimRight(b.String(), "\n")
}

// allVariables names every variable opsworker reads, for the commands that read them all (serve,
// run): a variable added to worker.Env or the registry shows in their help without a word here.
func allVariables() []string {
	var out []string
	for _, v := range worker.Variables() {
		out = append(out, v.Name)
	}
	return out
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("takes no arguments, got %q", strings.Join(args, " "))
	}
	return nil
}
