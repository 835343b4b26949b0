package prometheus

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// runbooks is where every alert's runbook_url points: docs/runbooks.md in the repository.
const runbooks = "https://github.com/opsworker/opsworker/blob/main/docs/runbooks.md#"

// rule is an alerting rule of rules.yml.
type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	raw, err := os.ReadFile("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("rules.yml: %v", err)
	}
	var out []rule
	for _, g := range file.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatal("rules.yml has no rules")
	}
	return out
}

// Every alert waits (`for`), has a severity, a summary and a description, and a runbook_url to
// its own section of docs/runbooks.md, which says what it means, what to check and what to do;
// every section there is an alert's. Links to the console go through the console_url external
// label, and no expression names a scrape job: any scrape configuration works.
func TestRulesDocumented(t *testing.T) {
	sections := runbookSections(t)
	var alerts []string
	jobMatcher := regexp.MustCompile(`[{,]\s*job\s*(=|!=|=~|!~)`)
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue // a recording rule
		}
		alerts = append(alerts, r.Alert)
		if d, err := time.ParseDuration(r.For); err != nil || d <= 0 {
			t.Errorf("%s: for %q: every alert waits before it fires", r.Alert, r.For)
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q", r.Alert, s)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if r.Annotations[a] == "" {
				t.Errorf("%s has no %s", r.Alert, a)
			}
		}
		anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbooks)
		if !ok || anchor != githubAnchor(r.Alert) {
			t.Errorf("%s: runbook_url %q, want %s%s", r.Alert, r.Annotations["runbook_url"], runbooks, githubAnchor(r.Alert))
		}
		if body, ok := sections[r.Alert]; !ok {
			t.Errorf("docs/runbooks.md has no section %q", r.Alert)
		} else {
			for _, h := range []string{"### What it means", "### What to check", "### What to do"} {
				if !strings.Contains(body, h+"\n") {
					t.Errorf("docs/runbooks.md, %s: no %q", r.Alert, h)
				}
			}
		}
		for name, text := range r.Annotations {
			if name == "console_url" {
				if !strings.HasPrefix(text, "{{ $externalLabels.console_url }}/ui/") {
					t.Errorf("%s: console_url %q is not under the console_url external label", r.Alert, text)
				}
			} else if strings.Contains(text, "/ui/") {
				t.Errorf("%s: %s links to the console without its base URL: %q", r.Alert, name, text)
			}
		}
		if jobMatcher.MatchString(r.Expr) {
			t.Errorf("%s selects a scrape job by name: %s", r.Alert, r.Expr)
		}
	}
	for name := range sections {
		if !slices.Contains(alerts, name) {
			t.Errorf("docs/runbooks.md has a section %q for no alert of rules.yml", name)
		}
	}
}

// runbookSections returns docs/runbooks.md's alert sections (`## Opsworker…`) by title.
func runbookSections(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, part := range strings.Split(string(raw), "\n## ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		if strings.HasPrefix(title, "Opsworker") {
			out[title] = body
		}
	}
	return out
}

// githubAnchor is the fragment GitHub gives a heading: lower case, spaces to hyphens, other
// punctuation dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}
