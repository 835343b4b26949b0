// Command opsworker is the operations worker of an alerting platform: next to PostgreSQL, on cron
// specs set through the environment, it escalates unacknowledged alerts through their policies,
// paging whoever is on call, and writes each tenant's daily operations report.
//
// Run `opsworker --help` for the subcommands; README.md documents the environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	_ "time/tzdata" // zone data inside the binary: the final image has no /usr/share/zoneinfo

	"github.com/spf13/cobra"
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
	var ce *configError
	switch {
	case errors.As(err, &ce):
		fmt.Fprintf(s.stderr, "opsworker: %v\n", ce)
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
		newDemoCmd(s),
		newHealthcheckCmd(s),
		newReceiveCmd(s),
	)
	return root
}

// negativeNumber finds a negative number pflag took for a shorthand flag, as in `oncall -5`.
var negativeNumber = regexp.MustCompile(`unknown shorthand flag: '\d' in (-\d+)`)

// flagError turns a flag parsing error into a usage error.
func flagError(cmd *cobra.Command, err error) error {
	if m := negativeNumber.FindStringSubmatch(err.Error()); m != nil && cmd.Name() == "oncall" {
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
		v, ok := lookupVariable(name)
		if !ok {
			panic("withEnv: undocumented variable " + name) // a programming error, caught by every --help test
		}
		fmt.Fprintf(&b, "  %-22s %s (default %q)\n", v.Name, v.Meaning, v.Default)
	}
	return strings.TrimRight(b.String(), "\n")
}

// specVariables names every task's spec variable, for the help of the commands that read them.
func specVariables() []string {
	out := make([]string, len(registry))
	for i, td := range registry {
		out[i] = td.Variable
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
