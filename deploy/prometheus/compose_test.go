package prometheus

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// compose's monitoring profile runs Prometheus with this directory's configuration and rules,
// and Grafana with the dashboard and its provisioning; both only with the profile, and each
// file they mount exists where compose finds it.
func TestComposeMonitoringProfile(t *testing.T) {
	root := filepath.Join("..", "..")
	load := func(profiles ...string) *types.Project {
		opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "compose.yaml")},
			cli.WithWorkingDirectory(root), cli.WithProfiles(profiles), cli.WithName("opsworker"), cli.WithEnv([]string{"PROMETHEUS_IMAGE=prom/prometheus:test"}))
		if err != nil {
			t.Fatal(err)
		}
		p, err := opts.LoadProject(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := load().GetService("prometheus"); err == nil {
		t.Error("prometheus runs without the monitoring profile")
	}
	p := load("monitoring")
	mounts := func(name string) map[string]string {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(s.Profiles, "monitoring") {
			t.Errorf("%s: profiles %v", name, s.Profiles)
		}
		out := map[string]string{}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("%s mounts %s: %v", name, v.Source, err)
				}
				rel, _ := filepath.Rel(mustAbs(t, root), v.Source)
				out[v.Target] = filepath.ToSlash(rel)
			}
		}
		return out
	}
	prom := mounts("prometheus")
	if prom["/etc/prometheus/rules.yml"] != "deploy/prometheus/rules.yml" || prom["/etc/prometheus/prometheus.yml"] != "deploy/prometheus/prometheus.yml" {
		t.Errorf("prometheus mounts %v", prom)
	}
	if s, _ := p.GetService("prometheus"); s.Image != "prom/prometheus:test" || !strings.Contains(strings.Join(s.Command, " "), "--config.file=/etc/prometheus/prometheus.yml") {
		t.Errorf("prometheus: image %q (want it from PROMETHEUS_IMAGE), command %v", s.Image, s.Command)
	}
	// The console's base URL reaches the rules' links: compose passes CONSOLE_URL, Prometheus
	// expands it into the console_url external label, which prometheus.yml sets from it.
	if s, _ := p.GetService("prometheus"); !slices.Contains(s.Command, "--enable-feature=expand-external-labels") ||
		s.Environment["CONSOLE_URL"] == nil || *s.Environment["CONSOLE_URL"] != "http://127.0.0.1:8080" {
		t.Errorf("prometheus: command %v, environment %v: want expand-external-labels and CONSOLE_URL", s.Command, s.Environment)
	}
	config, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(config), "console_url: ${CONSOLE_URL}") || strings.Contains(string(config), "honor_labels:") {
		t.Errorf("prometheus.yml: want the console_url external label from CONSOLE_URL, and no honor_labels:\n%s", config)
	}
	// The image is stamped with the revision: compose passes OPSWORKER_REVISION to the
	// Dockerfile's REVISION (which the live test shows reaches opsworker_build_info).
	withRevision, err := cli.NewProjectOptions([]string{filepath.Join(root, "compose.yaml")},
		cli.WithWorkingDirectory(root), cli.WithName("opsworker"), cli.WithEnv([]string{"OPSWORKER_REVISION=abc123"}))
	if err != nil {
		t.Fatal(err)
	}
	rp, err := withRevision.LoadProject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s, err := rp.GetService("opsworker"); err != nil || s.Build == nil || s.Build.Args["REVISION"] == nil || *s.Build.Args["REVISION"] != "abc123" {
		t.Errorf("compose does not pass OPSWORKER_REVISION as the build argument REVISION: %v", err)
	}
	graf := mounts("grafana")
	if graf["/etc/grafana/provisioning"] != "deploy/grafana/provisioning" || graf["/etc/grafana/dashboards/opsworker.json"] != "deploy/grafana/opsworker.json" {
		t.Errorf("grafana mounts %v", graf)
	}
	provider, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "provisioning", "dashboards", "opsworker.yml"))
	if err != nil || !strings.Contains(string(provider), "path: /etc/grafana/dashboards") {
		t.Errorf("the dashboard provider does not read /etc/grafana/dashboards: %v", err)
	}
	source, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "provisioning", "datasources", "prometheus.yml"))
	if err != nil || !strings.Contains(string(source), "isDefault: true") || !strings.Contains(string(source), "url: http://prometheus:9090") {
		t.Errorf("the data source is not the prometheus service, by default (the dashboard's datasource variable starts with it): %v", err)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
