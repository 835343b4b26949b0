//go:build docker

package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cacheDir keeps what the harness builds between runs on one machine, outside the repository:
// the CLI plugins, the debootstrap rootfs and scratch space for staging build contexts.
const cacheDir = "/var/cache/opsworker-ci"

// The compose v2 CLI plugin and the buildx plugin it hands builds to, built from the Go module
// proxy (no registry serves their images or release binaries here). compose v2.40.3 requires
// buildx v0.29.1.
const (
	composeModule  = "github.com/docker/compose/v2"
	composeVersion = "v2.40.3"
	buildxModule   = "github.com/docker/buildx"
	buildxVersion  = "v0.29.1"
)

// engineWait bounds how long a dockerd started here may take to answer.
const engineWait = 90 * time.Second

// noEngine is the one reason the harness skips instead of failing: no Docker engine can run on
// this machine at all. Anything else (an install, a start or a build that fails) is an error.
type noEngine struct{ reason string }

func (e noEngine) Error() string { return e.reason }

// engine is the Docker engine and the clients the scenarios drive it with.
type engine struct {
	docker  string   // the client: Debian's 20.10, which builds with BuildKit (/usr/local/bin's has no buildx)
	compose []string // the compose v2 plugin ("docker compose"), or Debian's docker-compose 1.29
	env     []string // the environment of every client command
	started bool     // this run started dockerd
}

// setupEngine finds or starts the engine; setupCompose then makes the compose CLI available.
func setupEngine(ctx context.Context, logf func(string, ...any)) (*engine, error) {
	if os.Getenv("OPSWORKER_DOCKER") == "off" {
		return nil, noEngine{"OPSWORKER_DOCKER=off"}
	}
	root := os.Geteuid() == 0
	e := &engine{docker: "/usr/bin/docker", env: clientEnv(os.Environ())}
	if _, err := os.Stat(e.docker); err != nil {
		if !root {
			return nil, noEngine{"Debian's docker client (/usr/bin/docker) is missing and installing it needs root"}
		}
		if err := aptInstall(ctx, logf, "docker.io"); err != nil {
			return nil, err
		}
	}
	if !e.answers(ctx) {
		if !root {
			return nil, noEngine{"no Docker engine answers and starting dockerd needs root"}
		}
		if err := e.start(ctx, logf); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// answers reports whether an engine answers the client.
func (e *engine) answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.docker, "version", "--format", "{{.Server.Version}}")
	cmd.Env = e.env
	return cmd.Run() == nil
}

// start starts dockerd as the issue found it runs on these machines: no iptables (the sandbox
// has none to program), vfs storage (no overlay mounts), the default bridge kept (BuildKit's RUN
// steps need it). It stays running after the tests, like the machine's PostgreSQL, so the next
// run finds it; its data dir (/var/lib/docker), and so the cached images, persist either way.
func (e *engine) start(ctx context.Context, logf func(string, ...any)) error {
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		if err := aptInstall(ctx, logf, "docker.io"); err != nil {
			return err
		}
		if dockerd, err = exec.LookPath("dockerd"); err != nil {
			return fmt.Errorf("dockerd not found after installing docker.io: %w", err)
		}
	}
	// The one thing that rules an engine out: a kernel or sandbox that cannot give a process its
	// own namespaces, which every container needs.
	if out, err := exec.CommandContext(ctx, "unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "true").CombinedOutput(); err != nil {
		return noEngine{fmt.Sprintf("this kernel or sandbox cannot create container namespaces (unshare: %v: %s)", err, bytes.TrimSpace(out))}
	}
	if err := os.MkdirAll("/var/log/opsworker-ci", 0o755); err != nil {
		return err
	}
	logPath := "/var/log/opsworker-ci/dockerd.log"
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(dockerd, "--iptables=false", "--ip-masq=false", "--storage-driver=vfs")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives the test binary
	logf("deploy: starting %s (log: %s)", strings.Join(cmd.Args, " "), logPath)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(engineWait)
	defer deadline.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("dockerd exited before answering (%v); last lines of %s:\n%s", err, logPath, tail(logPath, 20))
		case <-deadline.C:
			return fmt.Errorf("dockerd did not answer within %s; last lines of %s:\n%s", engineWait, logPath, tail(logPath, 20))
		case <-tick.C:
			if e.answers(ctx) {
				e.started = true
				return nil
			}
		}
	}
}

// setupCompose makes `docker compose` the v2 plugin, built once per machine, with buildx beside
// it; where the plugins cannot be built it falls back to Debian's docker-compose 1.29.
func (e *engine) setupCompose(ctx context.Context, logf func(string, ...any)) error {
	config := filepath.Join(cacheDir, "docker-config")
	plugins := filepath.Join(config, "cli-plugins")
	compose, err := buildPlugin(ctx, logf, composeModule, composeVersion, "./cmd", "docker-compose",
		"-X "+composeModule+"/internal.Version="+composeVersion)
	var buildx string
	if err == nil {
		buildx, err = buildPlugin(ctx, logf, buildxModule, buildxVersion, "./cmd/buildx", "docker-buildx",
			"-X "+buildxModule+"/version.Version="+buildxVersion+" -X "+buildxModule+"/version.Package="+buildxModule)
	}
	if err != nil {
		logf("deploy: cannot build the compose v2 plugin, falling back to Debian's docker-compose 1.29: %v", err)
		if _, lerr := exec.LookPath("docker-compose"); lerr != nil {
			if ierr := aptInstall(ctx, logf, "docker-compose"); ierr != nil {
				return errors.Join(err, ierr)
			}
		}
		e.compose = []string{"docker-compose"}
		return nil
	}
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return err
	}
	for name, target := range map[string]string{"docker-compose": compose, "docker-buildx": buildx} {
		link := filepath.Join(plugins, name)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	e.env = append(e.env, "DOCKER_CONFIG="+config)
	e.compose = []string{e.docker, "compose"}
	out, err := e.run(ctx, e.docker, "compose", "version")
	if err != nil {
		return fmt.Errorf("docker compose version: %w: %s", err, out)
	}
	return nil
}

// buildPlugin returns the path of a CLI plugin built from module@version, building it the first
// time. The module is built inside a copy of its own source tree: compose's go.mod has exclude
// directives, which `go install module@version` refuses.
func buildPlugin(ctx context.Context, logf func(string, ...any), module, version, pkg, name, ldflags string) (string, error) {
	out := filepath.Join(cacheDir, "plugins", name+"-"+version)
	if fi, err := os.Stat(out); err == nil && fi.Mode()&0o111 != 0 {
		return out, nil
	}
	logf("deploy: building the %s plugin from %s@%s (once per machine)", name, module, version)
	start := time.Now()
	work := filepath.Join(cacheDir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	env := append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off", "CGO_ENABLED=0")
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir, cmd.Env = work, env
	raw, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s", module, version, err, stderrOf(err))
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(raw, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %v %s", module, version, err, mod.Error)
	}
	src, err := os.MkdirTemp(work, name+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if out, err := exec.CommandContext(ctx, "cp", "-a", mod.Dir+"/.", src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("copy %s: %w: %s", mod.Dir, err, out)
	}
	if out, err := exec.CommandContext(ctx, "chmod", "-R", "u+w", src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("chmod %s: %w: %s", src, err, out)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	cmd = exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w "+ldflags, "-o", tmp, pkg)
	cmd.Dir, cmd.Env = src, env
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s@%s: %w: %s", module, version, err, lastLines(string(b), 20))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	logf("deploy: built %s in %s", out, time.Since(start).Round(time.Second))
	return out, nil
}

// aptMu serialises apt-get, which setup may need from two goroutines (dpkg holds a lock).
var aptMu sync.Mutex

// aptInstall installs Debian packages.
func aptInstall(ctx context.Context, logf func(string, ...any), pkgs ...string) error {
	aptMu.Lock()
	defer aptMu.Unlock()
	logf("deploy: installing %s with apt-get", strings.Join(pkgs, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w: %s", strings.Join(args, " "), err, lastLines(string(out), 10))
		}
	}
	return nil
}

// run runs a client command in the harness's environment and returns its combined output.
func (e *engine) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = e.env
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// clientEnv is the environment of the clients: BuildKit on, and none of the variables that
// compose.yaml interpolates or that steer compose, so that only the scenario's env file sets
// them (a variable in the environment would override the file).
func clientEnv(environ []string) []string {
	names := interpolated()
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if names[name] || strings.HasPrefix(name, "COMPOSE_") || name == "DOCKER_CONFIG" || name == "DOCKER_BUILDKIT" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "DOCKER_BUILDKIT=1", "BUILDKIT_PROGRESS=plain", "DOCKER_CLI_HINTS=false")
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return lastLines(string(ee.Stderr), 10)
	}
	return ""
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return lastLines(string(b), n)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
