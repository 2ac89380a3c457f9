package loadtest

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	svgWidth    = 960
	svgHeight   = 580
	plotLeft    = 90
	plotRight   = svgWidth - 90
	plotTop     = 80
	plotBottom  = svgHeight - 130
	markerSize  = 4
	legendTop   = plotBottom + 70
	legendEntry = 150
)

// seriesColors gives each kind one colour for both of its lines.
var seriesColors = map[Kind]string{
	KindLogin:    "#1f77b4",
	KindRegister: "#2ca02c",
	KindMe:       "#d62728",
	KindRefresh:  "#9467bd",
	KindHealthz:  "#8c564b",
}

// point is one phase on the chart.
type point struct {
	conc     float64
	rps, p99 float64
}

// WriteSVG draws throughput and p99 latency against concurrency: one solid
// line of requests/s (left axis) and one dashed line of p99 (right axis)
// per phase kind, and the bcrypt bound as a dotted line when a password
// path is shown. Axes switch to a log scale when the values span more than
// a factor of 50 (login and me differ by several hundred), so that every
// series stays readable on one chart.
func WriteSVG(w io.Writer, r *Report) error {
	series := map[Kind][]point{}
	var concs, rates, p99s []float64
	var password bool
	for _, p := range r.Phases {
		if p.Error != "" || p.Requests == 0 {
			continue
		}
		series[p.Kind] = append(series[p.Kind], point{float64(p.Concurrency), p.RPS, p.Latency.P99})
		concs = append(concs, float64(p.Concurrency))
		rates = append(rates, p.RPS)
		p99s = append(p99s, p.Latency.P99)
		password = password || p.Kind.PasswordPath()
	}
	bound := 0.0
	if password && r.Bound != nil && r.Bound.PerSecond > 0 {
		bound = r.Bound.PerSecond
		rates = append(rates, bound)
	}
	xs := concurrencyScale(concs)
	ys := valueScale(rates)
	ps := valueScale(p99s)

	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	title := "authserve: throughput and p99 latency against concurrency"
	sub := fmt.Sprintf("run %s, %s, %d CPUs", r.RunID, r.Addr, r.NumCPU)
	if r.Bound != nil {
		sub += fmt.Sprintf(", bcrypt cost %d bound %.1f/s", r.Bound.Cost, r.Bound.PerSecond)
	}
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgWidth, svgHeight, svgWidth, svgHeight)
	p("<title>%s</title>\n<desc>%s</desc>\n", esc(title), esc(sub))
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="%d" y="32" text-anchor="middle" font-size="18" font-weight="bold">%s</text>`+"\n", svgWidth/2, esc(title))
	p(`<text x="%d" y="54" text-anchor="middle" fill="#555555">%s</text>`+"\n", svgWidth/2, esc(sub))

	// Grid and tick labels.
	p(`<g class="grid" stroke="#e0e0e0" stroke-width="1">` + "\n")
	for _, t := range ys.ticks {
		y := yPos(ys, t)
		p(`<line x1="%d" y1="%s" x2="%d" y2="%s"/>`+"\n", plotLeft, f1(y), plotRight, f1(y))
	}
	for _, t := range xs.ticks {
		x := xPos(xs, t)
		p(`<line x1="%s" y1="%d" x2="%s" y2="%d"/>`+"\n", f1(x), plotTop, f1(x), plotBottom)
	}
	p("</g>\n")
	p(`<g class="axes" stroke="#333333" stroke-width="1.5">` + "\n")
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d"/>`+"\n", plotLeft, plotTop, plotLeft, plotBottom)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d"/>`+"\n", plotRight, plotTop, plotRight, plotBottom)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d"/>`+"\n", plotLeft, plotBottom, plotRight, plotBottom)
	p("</g>\n")
	p(`<g class="ticks" fill="#333333">` + "\n")
	for _, t := range ys.ticks {
		p(`<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", plotLeft-8, f1(yPos(ys, t)), esc(FormatNumber(t)))
	}
	for _, t := range ps.ticks {
		p(`<text x="%d" y="%s" text-anchor="start" dominant-baseline="middle">%s</text>`+"\n", plotRight+8, f1(yPos(ps, t)), esc(FormatNumber(t)))
	}
	for _, t := range xs.ticks {
		p(`<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", f1(xPos(xs, t)), plotBottom+20, esc(FormatNumber(t)))
	}
	p("</g>\n")

	// Axis titles.
	xTitle := "concurrent clients"
	if xs.log {
		xTitle += " (log scale)"
	}
	p(`<text x="%d" y="%d" text-anchor="middle" font-size="14">%s</text>`+"\n", (plotLeft+plotRight)/2, plotBottom+45, esc(xTitle))
	midY := (plotTop + plotBottom) / 2
	p(`<text transform="translate(24 %d) rotate(-90)" text-anchor="middle" font-size="14">%s</text>`+"\n", midY, esc(axisTitle("requests per second (solid)", ys)))
	p(`<text transform="translate(%d %d) rotate(90)" text-anchor="middle" font-size="14">%s</text>`+"\n", svgWidth-24, midY, esc(axisTitle("p99 latency, ms (dashed)", ps)))

	if bound > 0 {
		y := f1(yPos(ys, bound))
		p(`<g class="bound"><line data-series="bcrypt-bound" x1="%d" y1="%s" x2="%d" y2="%s" stroke="#ff7f0e" stroke-width="1.5" stroke-dasharray="2 3"/>`, plotLeft, y, plotRight, y)
		// Left end, where the lowest concurrency leaves the password paths
		// well under the bound; the white halo keeps it legible over a line.
		p(`<text x="%d" y="%s" text-anchor="start" fill="#ff7f0e" stroke="#ffffff" stroke-width="3" paint-order="stroke">%s</text></g>`+"\n", plotLeft+6, f1(yPos(ys, bound)-6), esc(fmt.Sprintf("bcrypt bound %.1f/s", bound)))
	}

	// Series, in the fixed kind order so colours and legend are stable.
	var shown []Kind
	for _, k := range Kinds {
		pts := series[k]
		if len(pts) == 0 {
			continue
		}
		shown = append(shown, k)
		slices.SortStableFunc(pts, func(a, b point) int { return cmp.Compare(a.conc, b.conc) })
		color := seriesColors[k]
		var rpsLine, p99Line []string
		for _, pt := range pts {
			x := xPos(xs, pt.conc)
			rpsLine = append(rpsLine, f1(x)+","+f1(yPos(ys, pt.rps)))
			p99Line = append(p99Line, f1(x)+","+f1(yPos(ps, pt.p99)))
		}
		p(`<g class="series" data-kind="%s">`+"\n", k)
		p(`<polyline data-series="%s-rps" points="%s" fill="none" stroke="%s" stroke-width="2.5"/>`+"\n", k, strings.Join(rpsLine, " "), color)
		p(`<polyline data-series="%s-p99" points="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="7 4"/>`+"\n", k, strings.Join(p99Line, " "), color)
		for _, pt := range pts {
			x := xPos(xs, pt.conc)
			p(`<circle cx="%s" cy="%s" r="%d" fill="%s"><title>%s</title></circle>`+"\n",
				f1(x), f1(yPos(ys, pt.rps)), markerSize, color, esc(fmt.Sprintf("%s @%g: %.1f requests/s", k, pt.conc, pt.rps)))
			p(`<rect x="%s" y="%s" width="%d" height="%d" fill="#ffffff" stroke="%s" stroke-width="1.5"><title>%s</title></rect>`+"\n",
				f1(x-markerSize), f1(yPos(ps, pt.p99)-markerSize), 2*markerSize, 2*markerSize, color, esc(fmt.Sprintf("%s @%g: p99 %.1f ms", k, pt.conc, pt.p99)))
		}
		p("</g>\n")
	}
	if len(shown) == 0 {
		p(`<text x="%d" y="%d" text-anchor="middle" fill="#999999" font-size="16">no completed phases</text>`+"\n", (plotLeft+plotRight)/2, midY)
	}

	// Legend: one entry per kind, a solid and a dashed sample.
	p(`<g class="legend">` + "\n")
	x0 := (svgWidth - legendEntry*len(shown)) / 2
	for i, k := range shown {
		x := x0 + i*legendEntry
		color := seriesColors[k]
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"/>`, x, legendTop, x+18, legendTop, color)
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="7 4"/>`, x, legendTop+14, x+18, legendTop+14, color)
		p(`<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", x+24, legendTop+7, esc(string(k)+" req/s, p99"))
	}
	p("</g>\n</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// scale maps values onto [0, 1], linearly from lo or logarithmically.
type scale struct {
	log    bool
	lo, hi float64
	ticks  []float64
}

func (s scale) frac(v float64) float64 {
	if s.hi <= s.lo {
		return 0.5
	}
	if s.log {
		v = max(v, s.lo)
		return (math.Log(v) - math.Log(s.lo)) / (math.Log(s.hi) - math.Log(s.lo))
	}
	return (v - s.lo) / (s.hi - s.lo)
}

// xPos leaves 5% of the width free at both ends so end points are not
// drawn on the axes.
func xPos(s scale, v float64) float64 {
	return plotLeft + (0.05+0.9*s.frac(v))*(plotRight-plotLeft)
}

func yPos(s scale, v float64) float64 {
	return plotBottom - s.frac(v)*(plotBottom-plotTop)
}

// concurrencyScale is logarithmic (concurrencies usually double) with a
// tick at every concurrency measured.
func concurrencyScale(concs []float64) scale {
	ticks := slices.Compact(slices.Sorted(slices.Values(concs)))
	if len(ticks) == 0 {
		return scale{log: true, lo: 1, hi: 64, ticks: []float64{1, 8, 64}}
	}
	lo, hi := ticks[0], ticks[len(ticks)-1]
	if lo == hi {
		lo, hi = lo/2, hi*2
	}
	return scale{log: true, lo: lo, hi: hi, ticks: ticks}
}

// valueScale is linear from zero with "nice" ticks, or logarithmic by
// decades when the positive values span more than a factor of 50.
func valueScale(vals []float64) scale {
	hi, lo := 0.0, math.Inf(1)
	for _, v := range vals {
		if v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
			hi = max(hi, v)
			lo = min(lo, v)
		}
	}
	if hi == 0 {
		return scale{lo: 0, hi: 1, ticks: []float64{0, 0.25, 0.5, 0.75, 1}}
	}
	if hi/lo > 50 {
		s := scale{log: true, lo: math.Pow(10, math.Floor(math.Log10(lo))), hi: math.Pow(10, math.Ceil(math.Log10(hi)))}
		for t := s.lo; t <= s.hi*1.0001; t *= 10 {
			s.ticks = append(s.ticks, t)
		}
		return s
	}
	step := niceStep(hi / 5)
	s := scale{lo: 0, hi: math.Ceil(hi/step) * step}
	for i := 0.0; i*step <= s.hi*1.0001; i++ {
		s.ticks = append(s.ticks, i*step)
	}
	return s
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	switch f := x / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	default:
		return 10 * p
	}
}

func axisTitle(s string, sc scale) string {
	if sc.log {
		return s + ", log scale"
	}
	return s
}

// FormatNumber renders an axis value briefly: 0.5, 40, 1.5k, 12k, 2M.
func FormatNumber(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(round3(v/1e6), 'f', -1, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(round3(v/1e3), 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(round3(v), 'f', -1, 64)
	}
}

// round3 keeps three significant digits, enough for a tick label.
func round3(v float64) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writing to a strings.Builder cannot fail
	return b.String()
}
