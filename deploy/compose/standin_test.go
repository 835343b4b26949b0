//go:build docker

package compose

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// standins name the local images that replace the public base images, which no registry serves
// here. compose.yaml and the Dockerfile take them as GO_IMAGE, RUNTIME_IMAGE and POSTGRES_IMAGE;
// their defaults stay the public images.
type standins struct{ goImage, runtimeImage, postgresImage string }

func (s standins) vars() map[string]string {
	return map[string]string{"GO_IMAGE": s.goImage, "RUNTIME_IMAGE": s.runtimeImage, "POSTGRES_IMAGE": s.postgresImage}
}

// The debootstrap rootfs that the stand-ins start from: Debian's minimal variant plus PostgreSQL
// (the postgres stand-in) and the CA bundle (taken by the runtime stand-in). What the images need
// not carry is removed: package caches, documentation, and LLVM, which only PostgreSQL's JIT uses
// (the entrypoint turns it off).
var (
	debianPackages = []string{"postgresql", "ca-certificates"}
	debianTrim     = []string{
		"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "var/log/*",
		"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
		"usr/lib/*/libLLVM*", "usr/lib/postgresql/*/lib/llvmjit*", "usr/lib/postgresql/*/lib/bitcode",
	}
)

// debianRecipe versions the rootfs recipe above and in debianBase: bump it when they change in a
// way their lists do not show.
const debianRecipe = "1"

// buildStandins makes sure every stand-in exists in the engine. Each image's tag is the hash of
// its inputs, so an image is built once per machine and rebuilt only when its recipe, its base,
// or (for the Go builder) the toolchain or go.sum changes; older tags are removed.
func buildStandins(ctx context.Context, e *engine, repo string, logf func(string, ...any)) (standins, error) {
	base, err := debianBase(ctx, e, logf)
	if err != nil {
		return standins{}, err
	}
	var s standins
	if s.postgresImage, err = dirStandin(ctx, e, logf, "postgres", base, filepath.Join(repo, "deploy/images/postgres")); err != nil {
		return s, err
	}
	if s.runtimeImage, err = dirStandin(ctx, e, logf, "runtime", base, filepath.Join(repo, "deploy/images/runtime")); err != nil {
		return s, err
	}
	if s.goImage, err = goStandin(ctx, e, logf, repo, base); err != nil {
		return s, err
	}
	return s, nil
}

// debianBase imports the debootstrap rootfs as an image. The rootfs tarball is kept under
// cacheDir too, so a wiped engine imports it again without running debootstrap.
func debianBase(ctx context.Context, e *engine, logf func(string, ...any)) (string, error) {
	suite, mirror, err := aptSource()
	if err != nil {
		return "", err
	}
	h := hashOf(debianRecipe, suite, mirror, strings.Join(debianPackages, ","), strings.Join(debianTrim, ","))
	tag := "opsworker-ci/debian:" + h
	if e.imageExists(ctx, tag) {
		return tag, nil
	}
	tarball := filepath.Join(cacheDir, "rootfs", "debian-"+h+".tar")
	if _, err := os.Stat(tarball); err != nil {
		if err := debootstrap(ctx, logf, suite, mirror, tarball); err != nil {
			return "", err
		}
	}
	logf("deploy: importing %s as %s", tarball, tag)
	if out, err := e.run(ctx, e.docker, "import", "--change", `CMD ["/bin/bash"]`, tarball, tag); err != nil {
		return "", fmt.Errorf("docker import %s: %w: %s", tarball, err, lastLines(out, 10))
	}
	e.pruneTags(ctx, tag)
	return tag, nil
}

// debootstrap writes the trimmed rootfs of suite, from mirror, to tarball.
func debootstrap(ctx context.Context, logf func(string, ...any), suite, mirror, tarball string) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		if err := aptInstall(ctx, logf, "debootstrap"); err != nil {
			return err
		}
	}
	work := filepath.Join(cacheDir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(work, "rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rootfs := filepath.Join(dir, "rootfs")
	logf("deploy: debootstrap %s from %s with %s (once per machine; minutes)", suite, mirror, strings.Join(debianPackages, ","))
	start := time.Now()
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(debianPackages, ","), suite, rootfs, mirror)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap: %w: %s", err, lastLines(string(out), 20))
	}
	for _, pattern := range debianTrim {
		matches, err := filepath.Glob(filepath.Join(rootfs, pattern))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(tarball), 0o755); err != nil {
		return err
	}
	// Only the current rootfs is kept.
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(tarball), "debian-*.tar"))
	for _, o := range old {
		os.Remove(o)
	}
	tmp := tarball + ".tmp"
	if out, err := exec.CommandContext(ctx, "tar", "-C", rootfs, "--numeric-owner", "-cf", tmp, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("tar rootfs: %w: %s", err, out)
	}
	logf("deploy: rootfs ready in %s", time.Since(start).Round(time.Second))
	return os.Rename(tmp, tarball)
}

// aptSource returns the machine's Debian suite and the mirror its apt sources use for it, so
// that the repository names no host.
func aptSource() (suite, mirror string, err error) {
	osRelease, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(osRelease), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
			suite = strings.Trim(v, `"`)
		}
	}
	if suite == "" {
		return "", "", fmt.Errorf("no VERSION_CODENAME in /etc/os-release: debootstrap needs a Debian suite")
	}
	type source struct{ types, uris, suites, components []string }
	var sources []source
	lists, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	for _, path := range append([]string{"/etc/apt/sources.list"}, lists...) {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			line, _, _ = strings.Cut(line, "#")
			f := strings.Fields(line)
			if len(f) > 1 && strings.HasPrefix(f[1], "[") { // options: [arch=amd64 signed-by=...]
				i := slices.IndexFunc(f, func(s string) bool { return strings.HasSuffix(s, "]") })
				f = append(f[:1], f[i+1:]...)
			}
			if len(f) >= 4 {
				sources = append(sources, source{f[:1], f[1:2], f[2:3], f[3:]})
			}
		}
	}
	deb822, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, path := range deb822 {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, stanza := range strings.Split(string(b), "\n\n") {
			fields := map[string][]string{}
			sc := bufio.NewScanner(strings.NewReader(stanza))
			for sc.Scan() {
				if k, v, ok := strings.Cut(sc.Text(), ":"); ok && !strings.HasPrefix(k, "#") && !strings.HasPrefix(k, " ") {
					fields[strings.ToLower(k)] = strings.Fields(v)
				}
			}
			if slices.Contains(fields["enabled"], "no") {
				continue
			}
			sources = append(sources, source{fields["types"], fields["uris"], fields["suites"], fields["components"]})
		}
	}
	for _, s := range sources {
		if slices.Contains(s.types, "deb") && slices.Contains(s.suites, suite) && slices.Contains(s.components, "main") && len(s.uris) > 0 {
			return suite, s.uris[0], nil
		}
	}
	return "", "", fmt.Errorf("no apt source of suite %s with component main in /etc/apt: debootstrap needs a mirror", suite)
}

// dirStandin builds the stand-in whose recipe (a Dockerfile and its files) is dir, on base.
func dirStandin(ctx context.Context, e *engine, logf func(string, ...any), name, base, dir string) (string, error) {
	dh, err := dirHash(dir)
	if err != nil {
		return "", err
	}
	tag := "opsworker-ci/" + name + ":" + hashOf(base, dh)
	return tag, e.buildStandin(ctx, logf, tag, base, dir)
}

// goStandin builds the Go builder: the machine's toolchain and a module cache holding what this
// repository's `go mod download` fetches, staged beside the recipe as its build context.
func goStandin(ctx context.Context, e *engine, logf func(string, ...any), repo, base string) (string, error) {
	recipe := filepath.Join(repo, "deploy/images/golang")
	dh, err := dirHash(recipe)
	if err != nil {
		return "", err
	}
	goenv, err := exec.CommandContext(ctx, "go", "env", "GOVERSION", "GOROOT", "GOMODCACHE", "GOPROXY").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	g := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	if len(g) != 4 {
		return "", fmt.Errorf("go env: unexpected output %q", goenv)
	}
	version, goroot, modcache, proxy := g[0], g[1], g[2], g[3]
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		return "", err
	}
	gosum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		return "", err
	}
	tag := "opsworker-ci/golang:" + hashOf(base, dh, version, string(gomod), string(gosum))
	if e.imageExists(ctx, tag) {
		return tag, nil
	}
	work := filepath.Join(cacheDir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	stage, err := os.MkdirTemp(work, "golang-")
	if err != nil {
		return "", err
	}
	defer func() {
		exec.Command("chmod", "-R", "u+w", stage).Run() // the module cache is read-only
		os.RemoveAll(stage)
	}()
	if out, err := exec.CommandContext(ctx, "cp", "-a", recipe+"/.", stage).CombinedOutput(); err != nil {
		return "", fmt.Errorf("stage recipe: %w: %s", err, out)
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", goroot, filepath.Join(stage, "go")).CombinedOutput(); err != nil {
		return "", fmt.Errorf("stage GOROOT: %w: %s", err, out)
	}
	os.RemoveAll(filepath.Join(stage, "go", "test")) // the toolchain's own test suite
	// The machine's module cache serves as a proxy first (the tests built the module, so it
	// holds everything); its usual proxy covers anything missing.
	cmd := exec.CommandContext(ctx, "go", "mod", "download")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GOMODCACHE="+filepath.Join(stage, "gomodcache"), "GOFLAGS=-mod=readonly", "GOWORK=off",
		"GOPROXY=file://"+filepath.Join(modcache, "cache", "download")+","+proxy)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("stage module cache: %w: %s", err, lastLines(string(out), 10))
	}
	return tag, e.buildStandin(ctx, logf, tag, base, stage)
}

// buildStandin builds context into tag, unless the engine has it already.
func (e *engine) buildStandin(ctx context.Context, logf func(string, ...any), tag, base, context string) error {
	if e.imageExists(ctx, tag) {
		return nil
	}
	logf("deploy: building stand-in %s", tag)
	start := time.Now()
	if out, err := e.run(ctx, e.docker, "build", "--build-arg", "BASE="+base, "-t", tag, context); err != nil {
		return fmt.Errorf("build %s: %w: %s", tag, err, lastLines(out, 30))
	}
	logf("deploy: built %s in %s", tag, time.Since(start).Round(100*time.Millisecond))
	e.pruneTags(ctx, tag)
	return nil
}

func (e *engine) imageExists(ctx context.Context, ref string) bool {
	_, err := e.run(ctx, e.docker, "image", "inspect", "--format", "{{.Id}}", ref)
	return err == nil
}

// pruneTags removes the other tags of tag's repository: older stand-ins, each hundreds of
// megabytes on the vfs storage driver. An image still in use stays.
func (e *engine) pruneTags(ctx context.Context, tag string) {
	repo, _, _ := strings.Cut(tag, ":")
	out, err := e.run(ctx, e.docker, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo)
	if err != nil {
		return
	}
	for _, t := range strings.Fields(out) {
		if t != tag {
			e.run(ctx, e.docker, "image", "rm", t)
		}
	}
}

// hashOf is the content hash that names a cached image.
func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// dirHash hashes the names, modes and contents of the files under dir.
func dirHash(dir string) (string, error) {
	var parts []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		parts = append(parts, rel, fmt.Sprint(info.Mode()&0o111 != 0), string(b)) // git keeps only the executable bit
		return nil
	})
	return hashOf(parts...), err
}
