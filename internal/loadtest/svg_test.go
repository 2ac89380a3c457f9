package loadtest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sampleReport has the shape of a real run: login at four concurrencies
// and one phase of each other kind, with throughputs hundreds apart.
func sampleReport() *Report {
	ph := func(k Kind, c int, rps, p99 float64) PhaseResult {
		return PhaseResult{Kind: k, Concurrency: c, Requests: int(rps * 10), OK: int(rps * 10), Seconds: 10,
			RPS: rps, OKPerSecond: rps, Latency: Latency{P50: p99 / 2, P95: p99 * 0.9, P99: p99},
			Statuses: map[string]int{"200": int(rps * 10)}}
	}
	return &Report{
		RunID: "abc<&>", Addr: "http://127.0.0.1:8080", NumCPU: 2,
		Bound: &Bound{Cost: 10, PerSecond: 40},
		Phases: []PhaseResult{
			ph(KindLogin, 8, 36, 260), ph(KindLogin, 1, 18, 60), ph(KindLogin, 64, 35, 1900), ph(KindLogin, 32, 37, 900),
			ph(KindRegister, 8, 34, 270), ph(KindMe, 32, 12000, 9), ph(KindRefresh, 8, 2500, 12),
			{Kind: KindHealthz, Concurrency: 4, Error: "could not start"},
		},
	}
}

// svgElement is one element of the chart as the XML decoder sees it.
type svgElement struct {
	name  string
	attrs map[string]string
	text  string
}

// parseSVG decodes the whole document, failing the test on malformed XML,
// and returns its elements in document order.
func parseSVG(t *testing.T, doc []byte) []svgElement {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	var (
		els   []svgElement
		stack []int
		root  string
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("WriteSVG output is not well-formed XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Space + " " + tok.Name.Local
			}
			e := svgElement{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			stack = append(stack, len(els))
			els = append(els, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				els[stack[len(stack)-1]].text += string(tok)
			}
		}
	}
	if want := "http://www.w3.org/2000/svg svg"; root != want {
		t.Fatalf("root element = %q, want %q", root, want)
	}
	return els
}

func TestWriteSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSVG(&buf, sampleReport()); err != nil {
		t.Fatalf("WriteSVG() error = %v", err)
	}
	els := parseSVG(t, buf.Bytes())

	series := map[string]int{} // data-series → number of points
	var texts []string
	for _, e := range els {
		if s, ok := e.attrs["data-series"]; ok {
			series[s] = len(strings.Fields(e.attrs["points"]))
		}
		texts = append(texts, strings.TrimSpace(e.text))
	}
	want := map[string]int{
		"login-rps": 4, "login-p99": 4,
		"register-rps": 1, "register-p99": 1,
		"me-rps": 1, "me-p99": 1,
		"refresh-rps": 1, "refresh-p99": 1,
		"bcrypt-bound": 0, // a line, not a polyline
	}
	if diff := cmp.Diff(want, series); diff != "" {
		t.Errorf("WriteSVG() series (-want +got):\n%s", diff)
	}
	for _, label := range []string{
		"authserve: throughput and p99 latency against concurrency",
		"concurrent clients (log scale)",
		"requests per second (solid), log scale",
		"p99 latency, ms (dashed), log scale",
		"bcrypt bound 40.0/s",
		"login req/s, p99",
		"me @32: 12000.0 requests/s",
		"login @64: p99 1900.0 ms",
	} {
		if !slices.Contains(texts, label) {
			t.Errorf("WriteSVG() has no text %q", label)
		}
	}
	if !strings.Contains(buf.String(), "run abc&lt;&amp;&gt;") {
		t.Errorf("WriteSVG() did not escape the run id in the subtitle")
	}
}

// TestWriteSVGLoginPointsInOrder checks that a series is drawn from low to
// high concurrency whatever order the phases ran in.
func TestWriteSVGLoginPointsInOrder(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSVG(&buf, sampleReport()); err != nil {
		t.Fatalf("WriteSVG() error = %v", err)
	}
	for _, e := range parseSVG(t, buf.Bytes()) {
		if e.attrs["data-series"] != "login-rps" {
			continue
		}
		var xs []float64
		for _, pt := range strings.Fields(e.attrs["points"]) {
			s, _, _ := strings.Cut(pt, ",")
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("login-rps point %q: %v", pt, err)
			}
			xs = append(xs, x)
		}
		if len(xs) != 4 || !slices.IsSorted(xs) {
			t.Errorf("login-rps x coordinates = %v, want increasing", xs)
		}
	}
}

func TestWriteSVGEmptyReport(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSVG(&buf, &Report{RunID: "x"}); err != nil {
		t.Fatalf("WriteSVG() error = %v", err)
	}
	els := parseSVG(t, buf.Bytes())
	found := false
	for _, e := range els {
		found = found || e.text == "no completed phases"
		if _, ok := e.attrs["data-series"]; ok {
			t.Errorf("WriteSVG(empty) drew series %q", e.attrs["data-series"])
		}
	}
	if !found {
		t.Errorf("WriteSVG(empty) does not say there is nothing to show")
	}
}

func TestValueScale(t *testing.T) {
	tests := []struct {
		name    string
		vals    []float64
		wantLog bool
		wantHi  float64
		ticks   []float64
	}{
		{"linear nice ceiling", []float64{18, 36, 37}, false, 40, []float64{0, 10, 20, 30, 40}},
		{"linear with a small maximum", []float64{0.3}, false, 0.3, []float64{0, 0.1, 0.2, 0.3}},
		{"log by decades when the span is wide", []float64{35, 12000}, true, 100000, []float64{10, 100, 1000, 10000, 100000}},
		{"nothing positive", []float64{0}, false, 1, []float64{0, 0.25, 0.5, 0.75, 1}},
	}
	for _, tt := range tests {
		s := valueScale(tt.vals)
		if s.log != tt.wantLog || math.Abs(s.hi-tt.wantHi) > 1e-9 {
			t.Errorf("valueScale(%s) = log %v hi %v, want log %v hi %v", tt.name, s.log, s.hi, tt.wantLog, tt.wantHi)
		}
		if diff := cmp.Diff(tt.ticks, s.ticks, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
			t.Errorf("valueScale(%s) ticks (-want +got):\n%s", tt.name, diff)
		}
		for _, v := range tt.vals {
			if f := s.frac(v); f < 0 || f > 1 {
				t.Errorf("valueScale(%s).frac(%v) = %v, want within [0, 1]", tt.name, v, f)
			}
		}
	}
}

func TestNiceStep(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0.7, 1}, {1, 1}, {1.2, 2}, {3, 5}, {7.4, 10}, {12, 20}, {2400, 5000}, {0, 1},
	}
	for _, tt := range tests {
		if got := niceStep(tt.in); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("niceStep(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.25, "0.25"}, {40, "40"}, {999, "999"}, {1000, "1k"}, {1500, "1.5k"},
		{12000, "12k"}, {12345, "12.3k"}, {100000, "100k"}, {2e6, "2M"},
	}
	for _, tt := range tests {
		if got := FormatNumber(tt.in); got != tt.want {
			t.Errorf("FormatNumber(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
