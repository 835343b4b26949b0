// Package opsworker_test checks the container files with the parsers Docker itself uses: there is
// no Docker engine where the tests run, so the Dockerfile and compose.yaml are verified as data.
package opsworker_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/opsworker/opsworker/scheduler"
)

func TestDockerfile(t *testing.T) {
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 {
		t.Fatalf("want a build stage and a final stage, got %d stages", len(stages))
	}
	build, final := stages[0], stages[1]
	if !strings.HasPrefix(build.BaseName, "golang:1.26") {
		t.Errorf("build stage FROM %s, want golang:1.26", build.BaseName)
	}
	var buildLine string
	for _, c := range build.Commands {
		if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			buildLine = strings.Join(r.CmdLine, " ")
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "./cmd/opsworker"} {
		if !strings.Contains(buildLine, want) {
			t.Errorf("go build line %q lacks %q", buildLine, want)
		}
	}

	if !strings.Contains(final.BaseName, "distroless/static") {
		t.Errorf("final stage FROM %s, want a small static base", final.BaseName)
	}
	var user, binary string
	var health *instructions.HealthCheckCommand
	var entrypoint []string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.CopyCommand:
			if c.From != build.Name {
				t.Errorf("final stage copies from %q, want the build stage %q", c.From, build.Name)
			}
			binary = c.DestPath
		case *instructions.HealthCheckCommand:
			health = c
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				t.Error("ENTRYPOINT in shell form: signals would go to a shell, not to opsworker")
			}
			entrypoint = c.CmdLine
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("final stage runs as %q, want a non-root user", user)
	}
	if len(entrypoint) != 1 || entrypoint[0] != binary {
		t.Errorf("ENTRYPOINT %v, want the binary %s", entrypoint, binary)
	}
	if health == nil || !slices.Equal(health.Health.Test, []string{"CMD", binary, "healthcheck"}) {
		t.Errorf("HEALTHCHECK %+v, want CMD %s healthcheck", health, binary)
	}
	if health != nil && (health.Health.Interval == 0 || health.Health.Timeout == 0) {
		t.Errorf("HEALTHCHECK without interval or timeout: %+v", health.Health)
	}

	// The final image has no zone files: the binary must carry them.
	main, err := os.ReadFile(filepath.Join("cmd", "opsworker", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(main), `_ "time/tzdata"`) {
		t.Error("cmd/opsworker does not import time/tzdata")
	}
}

func loadCompose(t *testing.T, env ...string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"},
		cli.WithWorkingDirectory("."), cli.WithEnv(env), cli.WithProfiles([]string{"demo"}), cli.WithName("opsworker"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestComposeWiring(t *testing.T) {
	p := loadCompose(t)
	db, err := p.GetService("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if db.HealthCheck == nil || len(db.HealthCheck.Test) == 0 || !strings.Contains(strings.Join(db.HealthCheck.Test, " "), "pg_isready") {
		t.Errorf("postgres health check = %+v", db.HealthCheck)
	}
	var named bool
	for _, v := range db.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Target == "/var/lib/postgresql/data" {
			if _, ok := p.Volumes[v.Source]; ok {
				named = true
			}
		}
	}
	if !named {
		t.Errorf("postgres data is not on a named volume: %+v", db.Volumes)
	}

	w, err := p.GetService("opsworker")
	if err != nil {
		t.Fatal(err)
	}
	if w.Build == nil || filepath.Base(w.Build.Dockerfile) != "Dockerfile" {
		t.Errorf("opsworker build = %+v, want the Dockerfile", w.Build)
	}
	if dep, ok := w.DependsOn["postgres"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("opsworker depends_on = %+v, want postgres healthy", w.DependsOn)
	}
	env := func(s types.ServiceConfig, k string) string {
		v := s.Environment[k]
		if v == nil {
			t.Fatalf("%s has no %s", s.Name, k)
		}
		return *v
	}
	for k, want := range map[string]string{
		"ESCALATION_SCHEDULE": "@every 1m", "REPORT_SCHEDULE": "@daily", "CRON_TZ": "UTC", "LOG_FORMAT": "text", "LOG_LEVEL": "info",
	} {
		if got := env(w, k); got != want {
			t.Errorf("%s default = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"ESCALATION_SCHEDULE", "REPORT_SCHEDULE"} {
		if _, err := scheduler.ParseSpec(env(w, k), time.UTC, time.Now()); err != nil {
			t.Errorf("%s default does not parse: %v", k, err)
		}
	}
	cfg, err := pgxpool.ParseConfig(env(w, "DATABASE_URL"))
	if err != nil || cfg.ConnConfig.Host != "postgres" {
		t.Errorf("DATABASE_URL does not reach the postgres service: %v %v", cfg, err)
	}
	shutdown, err := time.ParseDuration(env(w, "SHUTDOWN_TIMEOUT"))
	if err != nil {
		t.Fatal(err)
	}
	if w.StopGracePeriod == nil || time.Duration(*w.StopGracePeriod) <= shutdown {
		t.Errorf("stop_grace_period %v must exceed SHUTDOWN_TIMEOUT %v, or SIGKILL cuts the drain short", w.StopGracePeriod, shutdown)
	}

	demo, err := p.GetService("demo")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal([]string(demo.Command), []string{"demo"}) || demo.Build == nil || demo.Build.Context != w.Build.Context || !slices.Contains(demo.Profiles, "demo") {
		t.Errorf("demo service = command %v build %+v profiles %v", demo.Command, demo.Build, demo.Profiles)
	}
	if dep, ok := demo.DependsOn["postgres"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("demo depends_on = %+v, want postgres healthy", demo.DependsOn)
	}
}

// A person edits the schedules, zone and logging in .env: each is passed as ${VAR:-default}.
func TestComposeTakesSettingsFromEnv(t *testing.T) {
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{
		"ESCALATION_SCHEDULE": "*/5 * * * *", "REPORT_SCHEDULE": "@hourly", "CRON_TZ": "Europe/Berlin", "LOG_FORMAT": "json", "LOG_LEVEL": "debug",
	}
	for k := range settings {
		if !regexp.MustCompile(`\$\{` + k + `:-[^}]+\}`).Match(raw) {
			t.Errorf("compose.yaml does not pass %s as ${%s:-default}", k, k)
		}
	}
	var env []string
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	w, err := loadCompose(t, env...).GetService("opsworker")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range settings {
		if got := w.Environment[k]; got == nil || *got != want {
			t.Errorf("%s = %v, want %q from the environment", k, got, want)
		}
	}
}
