//go:build docker

package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Set up once by TestMain for every scenario.
var (
	eng      *engine
	images   standins
	repoRoot string
	// version stamps this run's opsworker image (OPSWORKER_VERSION): unique per run, so that
	// `--version` proves the image was built from this tree.
	version = fmt.Sprintf("v0.0.0-ci.%d", time.Now().Unix())
)

// setupTimeout bounds the engine, the plugins and the stand-ins: on a cold machine, debootstrap
// and the plugin builds take most of it.
const setupTimeout = 40 * time.Minute

func TestMain(m *testing.M) {
	logf := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	err := setup(ctx, logf)
	cancel()
	var ne noEngine
	if errors.As(err, &ne) {
		// The one line; nothing else runs, and the package passes: the rest of CI goes on.
		fmt.Printf("deploy: SKIP: no Docker engine can run here: %s\n", ne.reason)
		os.Exit(0)
	}
	if err != nil {
		fmt.Printf("deploy: FAIL: setup: %v\n", err)
		os.Exit(1)
	}
	logf("deploy: engine, compose and stand-ins ready in %s (go %s, postgres %s, runtime %s)",
		time.Since(start).Round(100*time.Millisecond), images.goImage, images.postgresImage, images.runtimeImage)
	code := m.Run()
	timings.Lock()
	if len(timings.lines) > 0 {
		fmt.Printf("deploy: scenario times (whole run %s):\n  %s\n", time.Since(start).Round(time.Second), strings.Join(timings.lines, "\n  "))
	}
	timings.Unlock()
	os.Exit(code)
}

func setup(ctx context.Context, logf func(string, ...any)) error {
	var err error
	if repoRoot, err = findRepo(); err != nil {
		return err
	}
	if eng, err = setupEngine(ctx, logf); err != nil {
		return err
	}
	// On a cold machine the plugin builds take the CPU while debootstrap mostly waits on the
	// mirror: side by side they save minutes. The stand-ins need only the docker client, so they
	// are built with a copy of the engine, which setupCompose does not touch.
	var composeErr error
	done := make(chan struct{})
	standinEng := *eng
	standinEng.env = slices.Clone(eng.env)
	go func() {
		defer close(done)
		composeErr = eng.setupCompose(ctx, logf)
	}()
	images, err = buildStandins(ctx, &standinEng, repoRoot, logf)
	<-done
	if err := errors.Join(err, composeErr); err != nil {
		return err
	}
	eng.pruneRuns(ctx)
	return nil
}

// pruneRuns removes what earlier runs left in the engine: their opsworker images (one tag per
// run), the demo images their builds replaced (dangling), and build cache beyond a few
// gigabytes (vfs copies every layer whole).
func (e *engine) pruneRuns(ctx context.Context) {
	out, _ := e.run(ctx, e.docker, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "opsworker")
	for _, ref := range strings.Fields(out) {
		if strings.HasPrefix(ref, "opsworker:v0.0.0-ci.") {
			e.run(ctx, e.docker, "image", "rm", ref)
		}
	}
	e.run(ctx, e.docker, "image", "prune", "--force")
	e.run(ctx, e.docker, "builder", "prune", "--force", "--keep-storage", "8GB")
}

// Every scenario has its own compose project, so they run in parallel: two at a time (go test's
// -parallel defaults to GOMAXPROCS), which halves the harness's time on the 2-core machines where
// most of a scenario is waiting on firings. Each first calls ensureImage, before t.Parallel: the
// first builds the image while the others wait.
var buildOnce struct {
	sync.Mutex
	done bool
}

// ensureImage builds this run's opsworker image from the real Dockerfile, once per run.
func ensureImage(t *testing.T) string {
	t.Helper()
	buildOnce.Lock()
	defer buildOnce.Unlock()
	ref := "opsworker:" + version
	if !buildOnce.done {
		if _, err := run(time.Minute, eng.docker, "image", "inspect", ref); err != nil {
			s := &stack{t: t, project: "opsworker-ci-build", envFile: writeEnv(t, nil)}
			start := time.Now()
			s.compose(20*time.Minute, "build", "opsworker")
			t.Logf("built %s in %s", ref, time.Since(start).Round(100*time.Millisecond))
		}
		buildOnce.done = true
	}
	return ref
}
