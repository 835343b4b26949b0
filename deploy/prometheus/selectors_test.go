package prometheus

import (
	"slices"
	"strings"
	"testing"
)

// Words of PromQL that are not metric names: aggregation operators, keywords and the operators
// spelt as words. Functions are recognised by the parenthesis that follows them.
var promqlWords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true, "count": true,
	"count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true, "start": true, "end": true,
}

// selectors returns the vector selectors an expression names, each a metric name with its label
// matchers (or matchers alone), in order: what must exist for the expression to mean something.
// It is a tokenizer, not a parser: enough for the dashboard's and the rules' expressions, which
// TestSelectors covers.
func selectors(expr string) []string {
	var out []string
	s := []rune(expr)
	i := 0
	skipSpace := func(j int) int {
		for j < len(s) && strings.ContainsRune(" \t\r\n", s[j]) {
			j++
		}
		return j
	}
	// skipString returns the index after the string literal that starts at j.
	skipString := func(j int) int {
		q := s[j]
		for j++; j < len(s) && s[j] != q; j++ {
			if s[j] == '\\' && q != '`' {
				j++
			}
		}
		return min(j+1, len(s))
	}
	// closing returns the index after the bracket that closes the one at j, skipping strings.
	closing := func(j int, open, close rune) int {
		depth := 0
		for ; j < len(s); j++ {
			switch c := s[j]; {
			case c == '"' || c == '\'' || c == '`':
				j = skipString(j) - 1
			case c == open:
				depth++
			case c == close:
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	isIdentStart := func(c rune) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c rune) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(i) // a string outside a selector, such as label_replace's
		case c == '[':
			i = closing(i, '[', ']')
		case c == '{':
			end := closing(i, '{', '}')
			out = append(out, string(s[i:end]))
			i = end
		case c >= '0' && c <= '9' || c == '.':
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := string(s[i:j])
			k := skipSpace(j)
			switch {
			case k < len(s) && s[k] == '(' && (word == "by" || word == "without" || word == "on" || word == "ignoring" ||
				word == "group_left" || word == "group_right"):
				i = closing(k, '(', ')') // a list of label names
			case k < len(s) && s[k] == '(' || promqlWords[word]:
				i = j // a function or a keyword
			case k < len(s) && s[k] == '{':
				end := closing(k, '{', '}')
				out = append(out, word+string(s[k:end]))
				i = end
			default:
				out = append(out, word)
				i = j
			}
		default:
			i++
		}
	}
	return out
}

func TestSelectors(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (job, outcome) (rate(opsworker_job_runs_total{job=~".+"}[1m])) * 60`:                       {`opsworker_job_runs_total{job=~".+"}`},
		`histogram_quantile(0.95, sum by (job, le) (rate(opsworker_job_run_duration_seconds_bucket[5m])))`: {`opsworker_job_run_duration_seconds_bucket`},
		`time() - max by (job) (opsworker_job_last_success_timestamp_seconds > 0)`:                         {`opsworker_job_last_success_timestamp_seconds`},
		`a and on (instance) (b{x="}"} == on () group_left () max(c))`:                                     {`a`, `b{x="}"}`, `c`},
		`deriv((max(sum by (instance) (q{state=~"available|retryable"})))[15m:1m]) > 0`:                    {`q{state=~"available|retryable"}`},
		`absent(up{job="opsworker"})`:                                  {`up{job="opsworker"}`},
		`{__name__="x"} offset 5m`:                                     {`{__name__="x"}`},
		`count by (version) (opsworker_build_info)`:                    {`opsworker_build_info`},
		`sum without (instance) (rate(x[1h30m])) / 2`:                  {`x`},
		`label_replace(up, "a", "$1", "b", "(.*)") + on (a) y{z='q"'}`: {`up`, `y{z='q"'}`},
	} {
		if got := selectors(expr); !slices.Equal(got, want) {
			t.Errorf("selectors(%s) = %q, want %q", expr, got, want)
		}
	}
}
