package app

import (
	"strconv"
)

// Charts are drawn on the server as SVG so that pages need no script and
// no network: the template (views/partials/chart.html) only places the
// shapes computed here. Colours come from classes in static/css/app.css
// (the CSP forbids inline styles), so the series follow the brand.
//
// The SVG has no viewBox: it is as wide as its box and a fixed height,
// with horizontal positions in percent and vertical ones in pixels. Its
// text is therefore drawn at the size the stylesheet gives it (12 px),
// never shrunk with the chart on a narrow screen.

// ChartSeries is one stacked series of a bar chart.
type ChartSeries struct {
	Name   string
	Values []int64
}

// BarChart is a stacked bar chart ready to draw.
type BarChart struct {
	Title string // also the SVG's accessible name
	Unit  string // of the values, e.g. "calls", "minutes"
	// Height is the SVG's height in pixels; it is as wide as its box.
	Height int
	Bars   []ChartBar
	Grid   []ChartTick
	Labels []ChartLabel
	Legend []ChartLegend
	// Empty is true when every value is zero: the page says so instead of
	// drawing an empty frame.
	Empty bool
	// Baseline is the y of the bars' foot; category labels hang below it.
	Baseline int
}

// ChartBar is one rectangle of one series at one position: X and W in
// percent of the plot's width, Y and H in pixels.
type ChartBar struct {
	X, Y, W, H string
	Series     int    // index into the legend, for the colour class
	Title      string // tooltip: label, series, value
}

// ChartTick is a horizontal grid line (Y in pixels) with its value.
type ChartTick struct {
	Y     string
	Label string
}

// ChartLabel is a category label under the bars: X in percent, Anchor
// the SVG text-anchor that keeps it inside the plot.
type ChartLabel struct {
	X, Text, Anchor string
}

// ChartLegend names a series and its colour class.
type ChartLegend struct {
	Name   string
	Series int
}

// chart geometry, in pixels.
const (
	chartHeight  = 200
	chartTop     = 8  // room for the top grid label
	chartBottom  = 24 // room for the category labels
	chartMaxTick = 4  // grid lines above the baseline
)

// newBarChart lays out stacked bars: one bar per label, one segment per
// series. labelEvery thins the category labels (1 labels every bar).
func newBarChart(title, unit string, labels []string, series []ChartSeries, labelEvery int) BarChart {
	ch := BarChart{Title: title, Unit: unit, Height: chartHeight, Baseline: chartHeight - chartBottom}
	for i, s := range series {
		ch.Legend = append(ch.Legend, ChartLegend{Name: s.Name, Series: i})
	}
	n := len(labels)
	if n == 0 {
		ch.Empty = true
		return ch
	}
	var top int64
	totals := make([]int64, n)
	for i := range n {
		for _, s := range series {
			if i < len(s.Values) && s.Values[i] > 0 {
				totals[i] += s.Values[i]
			}
		}
		top = max(top, totals[i])
	}
	if top == 0 {
		ch.Empty = true
	}
	step := niceStep(top, chartMaxTick)
	scaleTop := step * chartMaxTick
	if scaleTop == 0 {
		scaleTop = 1
	}
	plotH := float64(chartHeight - chartTop - chartBottom)
	slot := 100 / float64(n) // percent of the width
	barW := slot * 0.7
	y := func(v int64) float64 { return float64(chartHeight-chartBottom) - plotH*float64(v)/float64(scaleTop) }

	for t := int64(0); t <= chartMaxTick; t++ {
		v := t * step
		ch.Grid = append(ch.Grid, ChartTick{Y: coord(y(v)), Label: compactNumber(v)})
	}
	if labelEvery < 1 {
		labelEvery = 1
	}
	for i := range n {
		x := slot*float64(i) + (slot-barW)/2
		var base int64
		for si, s := range series {
			if i >= len(s.Values) || s.Values[i] <= 0 {
				continue
			}
			v := s.Values[i]
			y0, y1 := y(base), y(base+v)
			ch.Bars = append(ch.Bars, ChartBar{X: percent(x), Y: coord(y1), W: percent(barW), H: coord(y0 - y1), Series: si,
				Title: labels[i] + " · " + s.Name + ": " + strconv.FormatInt(v, 10) + " " + unitFor(v, unit)})
			base += v
		}
		if (n-1-i)%labelEvery == 0 { // label the newest bar, then every labelEvery-th before it
			label := ChartLabel{X: percent(x + barW/2), Text: labels[i], Anchor: "middle"}
			// a label at either end of a crowded chart would hang out of it
			switch {
			case i == n-1 && slot < 10:
				label.X, label.Anchor = "100%", "end"
			case i == 0 && slot < 10:
				label.X, label.Anchor = percent(x), "start"
			}
			ch.Labels = append(ch.Labels, label)
		}
	}
	return ch
}

// unitFor is the unit for v items: "1 call", "2 calls" (units are
// plural English nouns).
func unitFor(v int64, unit string) string {
	if v == 1 && len(unit) > 1 && unit[len(unit)-1] == 's' {
		return unit[:len(unit)-1]
	}
	return unit
}

// niceStep picks a grid step of 1, 2 or 5 × 10^k so that ticks steps
// cover max.
func niceStep(max int64, ticks int64) int64 {
	if max <= 0 {
		return 1
	}
	raw := (max + ticks - 1) / ticks
	for mag := int64(1); ; mag *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*mag >= raw {
				return m * mag
			}
		}
		if mag > 1e17 {
			return raw
		}
	}
}

// coord formats a pixel coordinate with one decimal.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// percent formats a share of the width with two decimals: "12.35%".
func percent(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "%" }

// compactNumber shortens large grid labels: 1500 → 1.5k, 2000000 → 2M.
func compactNumber(v int64) string {
	switch {
	case v >= 1_000_000 && v%100_000 == 0:
		return trimZero(strconv.FormatFloat(float64(v)/1e6, 'f', 1, 64)) + "M"
	case v >= 1_000 && v%100 == 0:
		return trimZero(strconv.FormatFloat(float64(v)/1e3, 'f', 1, 64)) + "k"
	}
	return strconv.FormatInt(v, 10)
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}
