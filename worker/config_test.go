package worker

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOffDisablesATask(t *testing.T) {
	t.Setenv("REPORT_SCHEDULE", "off")
	t.Setenv("ESCALATION_SCHEDULE", "OFF")
	cfg, err := LoadConfig(at(t, "2027-01-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Specs["report"] != nil || cfg.Specs["escalation"] != nil {
		t.Fatalf("specs = %v, want both off", cfg.Specs)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := LoadConfig(at(t, "2027-01-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Specs["escalation"].Text != "@every 1m" || cfg.Specs["report"].Text != "@daily" || cfg.Zone.String() != "UTC" ||
		cfg.JobTimeout.String() != "5m0s" || cfg.ShutdownTimeout.String() != "30s" || cfg.HTTPAddr != ":8080" ||
		cfg.LogFormat != "text" || cfg.Level.String() != "INFO" || !cfg.Migrate || cfg.ReportCatchupDays != 7 ||
		cfg.Pool.ConnConfig.Database != "postgres" {
		t.Fatalf("defaults = %+v", cfg.Env)
	}
}

// The registry and the configuration agree: every entry builds a job of its own name, its default
// spec parses, its variable is its own (not also a field of env) and documented with its default
// in README.md and compose.yaml, like every other variable opsworker reads.
func TestRegistryAgreesWithConfiguration(t *testing.T) {
	readme := readFile(t, "../README.md")
	compose := readFile(t, "../compose.yaml")
	envVars := map[string]bool{}
	et := reflect.TypeFor[Env]()
	for i := range et.NumField() {
		envVars[et.Field(i).Tag.Get("envconfig")] = true
	}
	names := map[string]bool{}
	for _, td := range Tasks {
		if names[td.Name] || names[td.Variable] {
			t.Errorf("%s: name or variable used twice", td.Name)
		}
		names[td.Name], names[td.Variable] = true, true
		if envVars[td.Variable] {
			t.Errorf("%s: %s is also a field of Env", td.Name, td.Variable)
		}
		if job := td.New(Deps{Config: &Config{}}); job.Name() != td.Name {
			t.Errorf("registry entry %q builds job %q", td.Name, job.Name())
		}
		if _, err := LoadConfig(time.Now()); err != nil {
			t.Errorf("the defaults do not load: %v", err)
		}
		if td.Conns < 1 || td.Summary == "" || td.New == nil {
			t.Errorf("%s: incomplete entry %+v", td.Name, td)
		}
	}
	for _, v := range Variables() {
		row := regexp.MustCompile("(?m)^\\| `" + v.Name + "` \\| (.*?) \\|")
		m := row.FindStringSubmatch(readme)
		switch {
		case m == nil:
			t.Errorf("README.md's configuration table lacks %s", v.Name)
		case v.Default != "" && m[1] != "`"+v.Default+"`":
			t.Errorf("README.md gives %s the default %s, opsworker %q", v.Name, m[1], v.Default)
		}
		if v.Name == "DATABASE_URL" {
			continue // compose builds it from POSTGRES_PASSWORD
		}
		def := v.Default
		if v.Name == "DELIVERY_ALLOW_NETWORKS" {
			def = "172.31.250.10/32" // compose's demo receiver, on its own fixed address
		}
		if want := v.Name + ": ${" + v.Name + ":-" + def + "}"; !strings.Contains(compose, want) {
			t.Errorf("compose.yaml does not pass %s from .env with opsworker's default: want %q", v.Name, want)
		}
	}
}

// README.md stands on its own: it names nothing outside the repository, and documents what a
// new user needs that is not a variable of opsworker's.
func TestREADMEIsSelfContained(t *testing.T) {
	readme := readFile(t, "../README.md")
	if i := strings.Index(readme, "../"); i >= 0 {
		t.Errorf("README.md points outside the repository: %q", readme[max(0, i-40):min(len(readme), i+40)])
	}
	for _, want := range []string{"POSTGRES_PASSWORD", "--version", "bench/escalation-floor.sh", "pool_max_conns"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not mention %s", want)
		}
	}
	if _, err := os.Stat("../bench/escalation-floor.sh"); err != nil {
		t.Errorf("the benchmark script the README cites: %v", err)
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
