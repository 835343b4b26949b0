package main

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
)

// readmeBlock returns the first ```sh block after heading in README.md.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	readme := readFile(t, "../../README.md")
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	rest := readme[i:]
	start := strings.Index(rest, "```sh\n")
	end := strings.Index(rest[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatalf("README.md's %q section has no sh block", heading)
	}
	return rest[start+6 : start+6+end]
}

// The README's "Without Docker" block works when pasted as written: run line by line by bash
// from the repository's root against a scratch database, its receiver prints the demo's first
// page within 5 s of the demo's load. The example line the README shows has the shape of what
// the receiver printed.
func TestREADMEWithoutDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	block := readmeBlock(t, "### Without Docker")
	// The block listens on fixed ports: runs of this test on one machine take turns.
	lock, err := os.OpenFile(os.TempDir()+"/opsworker-readme-test.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	cmd := exec.Command("bash", "-c", "set -e\n"+block+"echo README-BLOCK-DONE\nwait\n")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbtest.NewURL(t))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		_ = os.Remove("../../opsworker")
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The demo command ends once its load and its reports are written; the page may come before:
	// both must happen, the page at most 5 s after the demo ended.
	var done bool
	var page string
	timeout := time.After(3 * time.Minute) // the build, on a cold cache
	for !done || page == "" {
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-timeout:
			t.Fatalf("the block did not finish, or no page within 5 s of the demo (done %v, page %q)", done, page)
		}
		if !ok {
			t.Fatal("the block ended before the receiver printed a page")
		}
		t.Log(line)
		switch {
		case line == "README-BLOCK-DONE":
			done = true
			if page == "" {
				timeout = time.After(5 * time.Second)
			}
		case strings.Contains(line, " page: alert ") && page == "":
			page = line
		}
	}
	checkExample(t, page)
}

// checkExample compares the README's example receiver line with the one printed, by shape.
func checkExample(t *testing.T, printed string) {
	t.Helper()
	readme := readFile(t, "../../README.md")
	m := regexp.MustCompile("The receiver prints, for example,\n`([^`]*)`").FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("README.md's example receiver line is gone")
	}
	shape := func(s string) string {
		return regexp.MustCompile(`\d+`).ReplaceAllString(regexp.MustCompile(`^\S+`).ReplaceAllString(s, "T"), "N")
	}
	if shape(m[1]) != shape(printed) {
		t.Errorf("README.md's example:\n%s\nthe receiver printed:\n%s", m[1], printed)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
