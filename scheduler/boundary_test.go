package scheduler

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Only package scheduler names the run history's table: everything else reads runs through its
// API (OldestRunning, and the listings the console uses), so the history can change in one place.
func TestOnlySchedulerNamesJobRuns(t *testing.T) {
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "scheduler" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "job_runs") {
			t.Errorf("%s names job_runs: read runs through package scheduler", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
