//go:build docker

package compose

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// stack is one compose project made of the repository's compose.yaml, with its own env file:
// the scenario's variables (specs, replicas' ports) and the stand-in images.
type stack struct {
	t       *testing.T
	project string
	envFile string
}

// newStack returns an empty project named after the test; it is taken down, volumes and all,
// when the test ends (after printing its logs if the test failed).
func newStack(t *testing.T, vars map[string]string) *stack {
	t.Helper()
	s := &stack{
		t:       t,
		project: "opsworker-ci-" + strings.ToLower(strings.TrimPrefix(t.Name(), "Test")),
	}
	all := subnetVars(s.project)
	maps.Copy(all, vars)
	s.envFile = writeEnv(t, all)
	s.down() // what an interrupted run left
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := s.try(time.Minute, "logs", "--no-color", "--timestamps")
			var lines []string
			for _, line := range strings.Split(out, "\n") {
				if !strings.Contains(line, " INF alert escalated ") { // thousands in the large escalations
					lines = append(lines, line)
				}
			}
			t.Logf("compose logs of %s (last 150 lines but per-alert ones):\n%s", s.project, lastLines(strings.Join(lines, "\n"), 150))
		}
		s.down()
	})
	return s
}

// subnetVars gives each project a subnet of its own (compose.yaml fixes one, for the demo
// receiver's address), so that scenarios run side by side: 10.201.N.0/24, N from the project's
// name (the scenarios' names map to distinct values).
func subnetVars(project string) map[string]string {
	h := fnv.New32a()
	h.Write([]byte(project))
	n := 16 + h.Sum32()%200
	return map[string]string{
		"OPSWORKER_SUBNET":        fmt.Sprintf("10.201.%d.0/24", n),
		"OPSWORKER_IP_RANGE":      fmt.Sprintf("10.201.%d.128/25", n),
		"RECEIVER_ADDRESS":        fmt.Sprintf("10.201.%d.10", n),
		"DELIVERY_ALLOW_NETWORKS": fmt.Sprintf("10.201.%d.10/32", n),
	}
}

// writeEnv writes the env file of a project: the stand-ins, this run's version, a free host
// port per replica, and the scenario's variables.
func writeEnv(t *testing.T, vars map[string]string) string {
	t.Helper()
	all := images.vars()
	all["OPSWORKER_VERSION"] = version
	all["OPSWORKER_REVISION"] = revision() // opsworker_build_info names the commit the image was built from
	all["OPSWORKER_HOST_PORT"] = "0"       // replicas and the developer's own stack never fight over 8080
	maps.Copy(all, vars)
	var env strings.Builder
	for _, k := range slices.Sorted(maps.Keys(all)) {
		fmt.Fprintf(&env, "%s=%s\n", k, all[k])
	}
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte(env.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// revision is the checkout's commit, or empty outside a git checkout.
func revision() string {
	out, err := exec.Command("git", "-C", repoRoot, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func (s *stack) down() {
	// Images stay: this run's opsworker image serves every scenario (compose's --rmi local would
	// take it too); pruneRuns removes what runs leave.
	if out, err := s.try(3*time.Minute, "--profile", "demo", "down", "--volumes", "--remove-orphans", "--timeout", "5"); err != nil {
		s.t.Logf("compose down %s: %v: %s", s.project, err, out)
	}
}

// compose runs a compose command and returns its output; it fails the test on error.
func (s *stack) compose(timeout time.Duration, args ...string) string {
	s.t.Helper()
	out, err := s.try(timeout, args...)
	if err != nil {
		s.t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, lastLines(out, 60))
	}
	return out
}

// try runs a compose command and returns its output and error.
func (s *stack) try(timeout time.Duration, args ...string) (string, error) {
	base := append(slices.Clone(eng.compose[1:]), "--project-name", s.project, "--env-file", s.envFile,
		"--file", filepath.Join(repoRoot, "compose.yaml"), "--project-directory", repoRoot)
	return run(timeout, eng.compose[0], append(base, args...)...)
}

// docker runs a docker command; it fails the test on error.
func (s *stack) docker(timeout time.Duration, args ...string) string {
	s.t.Helper()
	out, err := run(timeout, eng.docker, args...)
	if err != nil {
		s.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, lastLines(out, 40))
	}
	return strings.TrimSpace(out)
}

func run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := eng.run(ctx, name, args...)
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (after %s)", ctx.Err(), timeout)
	}
	return out, err
}

// sql runs statements in the stack's database with psql inside the postgres container and
// returns the unaligned rows (fields separated by |); it fails the test on error.
func (s *stack) sql(query string) string {
	s.t.Helper()
	out, err := s.trySQL(query)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

func (s *stack) trySQL(query string) (string, error) {
	out, err := s.try(3*time.Minute, "exec", "-T", "postgres", "psql", "-U", "postgres", "-d", "opsworker",
		"-v", "ON_ERROR_STOP=1", "-qAtX", "-c", query)
	if err != nil {
		return "", fmt.Errorf("psql %q: %w: %s", query, err, lastLines(out, 10))
	}
	return strings.TrimSpace(out), nil
}

// ids returns the ids of the service's containers, stopped ones included.
func (s *stack) ids(service string) []string {
	s.t.Helper()
	return strings.Fields(s.compose(time.Minute, "ps", "--all", "--quiet", service))
}

func (s *stack) inspect(id, format string) string {
	s.t.Helper()
	return s.docker(time.Minute, "inspect", "--format", format, id)
}

// waitHealthy waits until every container reports healthy.
func (s *stack) waitHealthy(timeout time.Duration, ids ...string) {
	s.t.Helper()
	eventually(s.t, timeout, "containers healthy", func() (bool, string) {
		var states []string
		ok := true
		for _, id := range ids {
			h := s.inspect(id, "{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}")
			states = append(states, id[:12]+"="+h)
			ok = ok && strings.HasSuffix(h, "/healthy")
		}
		return ok, strings.Join(states, " ")
	})
}

// eventually polls cond until it holds, failing the test with cond's last word after timeout.
// The stack is another system: there is no event to wait on but its own answers.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, detail)
		}
		<-tick.C
	}
}

// timings records how long each scenario took, printed at the end of the run.
var timings struct {
	sync.Mutex
	lines []string
}

// timed records the scenario's duration when it ends: defer timed(t)().
func timed(t *testing.T) func() {
	start := time.Now()
	return func() {
		d := time.Since(start).Round(100 * time.Millisecond)
		status := "ok"
		if t.Failed() {
			status = "FAILED"
		} else if t.Skipped() {
			status = "skipped"
		}
		t.Logf("scenario %s: %s (%s)", t.Name(), d, status)
		timings.Lock()
		timings.lines = append(timings.lines, fmt.Sprintf("%-28s %8s  %s", t.Name(), d, status))
		timings.Unlock()
	}
}

// findRepo returns the repository root: the directory of go.mod above the test's directory.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test directory")
		}
		dir = parent
	}
}

// interpolated returns the variables compose.yaml interpolates (${NAME...}).
func interpolated() map[string]bool {
	names := map[string]bool{}
	repo, err := findRepo()
	if err != nil {
		return names
	}
	b, err := os.ReadFile(filepath.Join(repo, "compose.yaml"))
	if err != nil {
		return names
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(string(b), -1) {
		names[m[1]] = true
	}
	return names
}
