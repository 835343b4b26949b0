package prometheus

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool finds one of Debian's prometheus package's programs. In CI (CI set) its absence fails the
// test: .ci/run installs the package. Elsewhere the test is skipped.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no %s: .ci/run installs Debian's prometheus package", name)
	}
	t.Skipf("no %s on this machine (apt-get install prometheus)", name)
	return ""
}

// TestRulesWithPromtool checks rules.yml and compose's prometheus.yml (its rule file where the
// container mounts it, here) and runs the rules' unit tests, rules_test.yml.
func TestRulesWithPromtool(t *testing.T) {
	promtool := tool(t, "promtool")
	config, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := filepath.Abs("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(config), "/etc/prometheus/rules.yml") {
		t.Fatal("prometheus.yml does not load /etc/prometheus/rules.yml, where compose mounts rules.yml")
	}
	local := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(config), "/etc/prometheus/rules.yml", rules)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yml"}, {"check", "config", local}, {"test", "rules", "rules_test.yml"}} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
