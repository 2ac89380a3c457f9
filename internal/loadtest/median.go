package loadtest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Median combines repeated runs of the same phases into one report whose
// every figure is the median of the runs' figures, phase by phase, and
// whose status counts are the runs' sums. Medians of repeated runs are what
// docs/performance.md quotes: one run on a shared two-core machine is noise.
//
// Phases are matched by kind and concurrency; a phase missing from a run or
// failed in it is left out of that phase's medians, and noted.
func Median(runs []*Report) (*Report, error) {
	if len(runs) == 0 {
		return nil, errors.New("median of no runs")
	}
	first := runs[0]
	out := *first
	out.RunID = fmt.Sprintf("median of %d runs (%s)", len(runs), strings.Join(runIDs(runs), ", "))
	out.Phases = nil
	out.Warnings = nil
	out.Bound = medianBound(runs)
	out.IdleLoginMS = median(collect(runs, func(r *Report) (float64, bool) { return r.IdleLoginMS, r.IdleLoginMS > 0 }))

	for _, p := range first.Phases {
		var same []PhaseResult
		for _, r := range runs {
			i := slices.IndexFunc(r.Phases, func(q PhaseResult) bool {
				return q.Kind == p.Kind && q.Concurrency == p.Concurrency && q.Error == ""
			})
			if i >= 0 {
				same = append(same, r.Phases[i])
			}
		}
		if len(same) < len(runs) {
			out.warn("phase %s@%d: median of %d of %d runs (missing or failed in the others)", p.Kind, p.Concurrency, len(same), len(runs))
		}
		if len(same) == 0 {
			out.Phases = append(out.Phases, PhaseResult{Kind: p.Kind, Concurrency: p.Concurrency, Error: "failed in every run"})
			continue
		}
		out.Phases = append(out.Phases, medianPhase(same))
	}
	for _, r := range runs {
		for _, w := range r.Warnings {
			if !slices.Contains(out.Warnings, w) {
				out.Warnings = append(out.Warnings, w)
			}
		}
	}
	return &out, nil
}

func medianPhase(ps []PhaseResult) PhaseResult {
	f := func(get func(PhaseResult) float64) float64 {
		v := make([]float64, len(ps))
		for i, p := range ps {
			v[i] = get(p)
		}
		return median(v)
	}
	m := PhaseResult{
		Kind:        ps[0].Kind,
		Concurrency: ps[0].Concurrency,
		Requests:    int(f(func(p PhaseResult) float64 { return float64(p.Requests) })),
		OK:          int(f(func(p PhaseResult) float64 { return float64(p.OK) })),
		Seconds:     f(func(p PhaseResult) float64 { return p.Seconds }),
		RPS:         f(func(p PhaseResult) float64 { return p.RPS }),
		OKPerSecond: f(func(p PhaseResult) float64 { return p.OKPerSecond }),
		Latency:     medianLatency(ps, func(p PhaseResult) (Latency, bool) { return p.Latency, true }),
		Statuses:    map[string]int{},
	}
	var effs []float64
	for _, p := range ps {
		for k, n := range p.Statuses {
			m.Statuses[k] += n
		}
		if p.Efficiency != nil {
			effs = append(effs, *p.Efficiency)
		}
		m.Relogins += p.Relogins
		m.PrepareFailures += p.PrepareFailures
		m.Capped = m.Capped || p.Capped
	}
	if len(effs) > 0 {
		e := median(effs)
		m.Efficiency = &e
	}
	probed := slices.ContainsFunc(ps, func(p PhaseResult) bool { return p.Probe != nil })
	if probed {
		pr := &ProbeResult{Statuses: map[string]int{}}
		var n, interval []float64
		for _, p := range ps {
			if p.Probe == nil {
				continue
			}
			n = append(n, float64(p.Probe.Requests))
			interval = append(interval, p.Probe.IntervalMS)
			for k, c := range p.Probe.Statuses {
				pr.Statuses[k] += c
			}
		}
		pr.Requests, pr.IntervalMS = int(median(n)), median(interval)
		pr.Latency = medianLatency(ps, func(p PhaseResult) (Latency, bool) {
			if p.Probe == nil {
				return Latency{}, false
			}
			return p.Probe.Latency, true
		})
		m.Probe = pr
	}
	return m
}

func medianLatency(ps []PhaseResult, get func(PhaseResult) (Latency, bool)) Latency {
	var p50, p95, p99, max, mean []float64
	for _, p := range ps {
		l, ok := get(p)
		if !ok {
			continue
		}
		p50, p95, p99 = append(p50, l.P50), append(p95, l.P95), append(p99, l.P99)
		max, mean = append(max, l.Max), append(mean, l.Mean)
	}
	return Latency{P50: median(p50), P95: median(p95), P99: median(p99), Max: median(max), Mean: median(mean)}
}

func medianBound(runs []*Report) *Bound {
	var bs []*Bound
	for _, r := range runs {
		if r.Bound != nil {
			bs = append(bs, r.Bound)
		}
	}
	if len(bs) == 0 {
		return nil
	}
	b := *bs[0]
	get := func(f func(*Bound) float64) float64 {
		v := make([]float64, len(bs))
		for i, x := range bs {
			v[i] = f(x)
		}
		return median(v)
	}
	b.PerSecond = get(func(x *Bound) float64 { return x.PerSecond })
	b.HashMS = get(func(x *Bound) float64 { return x.HashMS })
	b.Seconds = get(func(x *Bound) float64 { return x.Seconds })
	b.Hashes = int(get(func(x *Bound) float64 { return float64(x.Hashes) }))
	return &b
}

func collect(runs []*Report, get func(*Report) (float64, bool)) []float64 {
	var v []float64
	for _, r := range runs {
		if x, ok := get(r); ok {
			v = append(v, x)
		}
	}
	return v
}

func runIDs(runs []*Report) []string {
	ids := map[string]bool{}
	for _, r := range runs {
		ids[r.RunID] = true
	}
	return slices.Sorted(maps.Keys(ids))
}

// median is the middle value (the mean of the two middle ones for an even
// count), or 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
