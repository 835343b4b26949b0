//go:build docker

package compose

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxImageSize bounds the opsworker image: the stripped static binary and 217 kB of runtime
// files. The target was 20 MB (15.4 MB before delivery and the console); the binary now
// carries River, River UI's embedded assets (1.3 MB), the senders and the console, 24.1 MB
// stripped, with no dead weight found (.text 9.9 MB, pclntab 8.2 MB, rodata 5.2 MB). A bound
// still catches a dependency that doubles it; compressing the binary (UPX) would trade shared
// pages and start-up time for the number.
const maxImageSize = 26_000_000

// TestImage checks the built image from outside: its size, its user, that it has no shell, that
// it prints the version it was stamped with, that the compose service runs healthy on a
// read-only root filesystem as uid 65532, and that the image's own HEALTHCHECK passes.
func TestImage(t *testing.T) {
	ref := ensureImage(t) // before the clock: a scenario is timed without the build
	t.Parallel()
	defer timed(t)()
	s := newStack(t, nil)

	size, err := strconv.ParseInt(s.docker(time.Minute, "image", "inspect", "--format", "{{.Size}}", ref), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %.1f MB", ref, float64(size)/1e6)
	if size > maxImageSize {
		t.Errorf("image is %d bytes, want at most %d", size, maxImageSize)
	}
	if got := s.docker(time.Minute, "image", "inspect", "--format", "{{json .Config.Healthcheck.Test}}", ref); got != `["CMD","/usr/local/bin/opsworker","healthcheck"]` {
		t.Errorf("HEALTHCHECK %s", got)
	}
	if got := s.docker(time.Minute, "run", "--rm", ref, "--version"); got != "opsworker "+version {
		t.Errorf("--version printed %q, want %q", got, "opsworker "+version)
	}
	if out, err := run(time.Minute, eng.docker, "run", "--rm", "--entrypoint", "/bin/sh", ref, "-c", "true"); err == nil {
		t.Errorf("the image has a shell: %s", out)
	}

	s.compose(5*time.Minute, "up", "--detach", "opsworker")
	ids := s.ids("opsworker")
	s.waitHealthy(time.Minute, ids...)
	if ro := s.inspect(ids[0], "{{.HostConfig.ReadonlyRootfs}}"); ro != "true" {
		t.Errorf("opsworker's root filesystem read-only: %s, want true (compose.yaml read_only)", ro)
	}
	// The uid of the process as the host sees it, not what the image claims.
	top := strings.Fields(s.docker(time.Minute, "top", ids[0], "-o", "pid,uid"))
	if len(top) != 4 || top[3] != "65532" {
		t.Errorf("opsworker runs as %v, want uid 65532", top)
	}

	// The image's own HEALTHCHECK command (only its interval shortened), outside compose.
	net := s.inspect(ids[0], "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}")
	name := s.project + "-healthcheck"
	run(time.Minute, eng.docker, "rm", "--force", name)
	t.Cleanup(func() { run(time.Minute, eng.docker, "rm", "--force", name) })
	id := s.docker(time.Minute, "run", "--detach", "--name", name, "--read-only", "--network", net,
		"--health-interval", "2s", "--env", "DATABASE_URL=postgres://postgres:opsworker@postgres:5432/opsworker?sslmode=disable",
		"--env", "MIGRATE=false", ref)
	s.waitHealthy(time.Minute, id)
}
