package app

import (
	"strconv"
	"strings"
	"testing"
)

func TestNiceStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ max, want int64 }{
		{0, 1}, {1, 1}, {4, 1}, {5, 2}, {8, 2}, {9, 5}, {20, 5}, {21, 10}, {399, 100}, {401, 200}, {12_345, 5_000},
	} {
		if got := niceStep(tc.max, 4); got != tc.want {
			t.Errorf("niceStep(%d) = %d, want %d", tc.max, got, tc.want)
		}
		if got := niceStep(tc.max, 4); got*4 < tc.max {
			t.Errorf("niceStep(%d) = %d does not cover the maximum", tc.max, got)
		}
	}
}

func TestCompactNumber(t *testing.T) {
	t.Parallel()
	for v, want := range map[int64]string{0: "0", 999: "999", 1000: "1k", 1500: "1.5k", 1234: "1234", 2_000_000: "2M", 2_500_000: "2.5M"} {
		if got := compactNumber(v); got != want {
			t.Errorf("compactNumber(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestBarChartStacksSeriesToScale(t *testing.T) {
	t.Parallel()
	labels := []string{"a", "b", "c"}
	ch := newBarChart("Calls", "calls", labels, []ChartSeries{
		{Name: "Outbound", Values: []int64{3, 0, 8}},
		{Name: "Inbound", Values: []int64{1, 0, 0}},
	}, 1)
	if ch.Empty || len(ch.Bars) != 3 || len(ch.Labels) != 3 || len(ch.Legend) != 2 {
		t.Fatalf("chart = %+v", ch)
	}
	// The grid tops out at 4 steps of niceStep(8) = 2 → 8, so the 8-call
	// bar spans the whole plot height.
	if got := ch.Grid[len(ch.Grid)-1].Label; got != "8" {
		t.Errorf("top grid label %q, want 8", got)
	}
	h := func(b ChartBar) float64 { v, _ := strconv.ParseFloat(b.H, 64); return v }
	plot := float64(chartHeight - chartTop - chartBottom)
	if got := h(ch.Bars[2]); got != plot {
		t.Errorf("tallest bar height %v, want the plot height %v", got, plot)
	}
	// Bar a: outbound 3 below inbound 1, touching.
	outY, _ := strconv.ParseFloat(ch.Bars[0].Y, 64)
	inY, _ := strconv.ParseFloat(ch.Bars[1].Y, 64)
	if ch.Bars[0].Series != 0 || ch.Bars[1].Series != 1 || inY+h(ch.Bars[1]) != outY {
		t.Errorf("stack a: %+v %+v", ch.Bars[0], ch.Bars[1])
	}
	if ch.Bars[2].Title != "c · Outbound: 8 calls" || ch.Bars[1].Title != "a · Inbound: 1 call" {
		t.Errorf("tooltips %q, %q", ch.Bars[2].Title, ch.Bars[1].Title)
	}
}

func TestBarChartEmptyAndThinnedLabels(t *testing.T) {
	t.Parallel()
	labels := make([]string, 30)
	for i := range labels {
		labels[i] = strconv.Itoa(i + 1)
	}
	ch := newBarChart("Calls per day", "calls", labels, []ChartSeries{{Name: "Calls", Values: make([]int64, 30)}}, 7)
	if !ch.Empty || len(ch.Bars) != 0 {
		t.Errorf("all-zero chart: empty %v, %d bars", ch.Empty, len(ch.Bars))
	}
	// Labels every 7th bar counted back from the newest: 30, 23, 16, 9, 2.
	var got []string
	for _, l := range ch.Labels {
		got = append(got, l.Text)
	}
	if len(got) != 5 || got[0] != "2" || got[4] != "30" {
		t.Errorf("labels %v", got)
	}
	if ch := newBarChart("x", "calls", nil, nil, 1); !ch.Empty {
		t.Error("no labels: not empty")
	}
}

// TestBarChartLabelsStayInside: the axis labels hang under their bars in
// percent of the width, and on a crowded chart the first and last keep
// inside the plot.
func TestBarChartLabelsStayInside(t *testing.T) {
	t.Parallel()
	labels := make([]string, 30)
	values := make([]int64, 30)
	for i := range labels {
		labels[i], values[i] = strconv.Itoa(i+1), int64(i)
	}
	ch := newBarChart("Calls per day", "calls", labels, []ChartSeries{{Name: "Calls", Values: values}}, 1)
	first, last := ch.Labels[0], ch.Labels[len(ch.Labels)-1]
	if first.Anchor != "start" || last.Anchor != "end" || last.X != "100%" {
		t.Errorf("end labels: %+v … %+v", first, last)
	}
	for _, b := range ch.Bars {
		x, _ := strconv.ParseFloat(strings.TrimSuffix(b.X, "%"), 64)
		w, _ := strconv.ParseFloat(strings.TrimSuffix(b.W, "%"), 64)
		if !strings.HasSuffix(b.X, "%") || x < 0 || x+w > 100 {
			t.Errorf("bar outside the plot: %+v", b)
		}
	}
	// a roomy chart centres every label under its bar
	ch = newBarChart("Minutes", "minutes", []string{"Oct", "Nov"}, []ChartSeries{{Name: "Out", Values: []int64{1, 2}}}, 1)
	if ch.Labels[0].Anchor != "middle" || ch.Labels[1].Anchor != "middle" || ch.Labels[1].X != "75.00%" {
		t.Errorf("labels of two bars: %+v", ch.Labels)
	}
}

// TestSeriesColor: the second series of a chart keeps the accent colour
// when it stands out from the primary one, and otherwise takes a tint or
// shade of the primary that does; the branding page says so.
func TestSeriesColor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		primary, accent string
		keep            bool
	}{
		{"#aa0000", "#00aa00", true},  // red and green: different lightness too
		{"#2457d6", "#f59e0b", true},  // the default blue and amber
		{"#2457d6", "#2457d6", false}, // the same colour
		{"#aa0000", "#b00000", false}, // two reds
		{"#ffdd00", "#ffe600", false}, // two light yellows: a shade
		{"#000000", "#111111", false}, // black: a tint
	} {
		got := seriesColor(c.primary, c.accent)
		if (got == c.accent) != c.keep {
			t.Errorf("seriesColor(%s, %s) = %s, keep the accent: %v", c.primary, c.accent, got, c.keep)
		}
		if r := contrastRatio(relativeLuminance(c.primary), relativeLuminance(got)); r < seriesContrast {
			t.Errorf("seriesColor(%s, %s) = %s: contrast %.2f with the primary, want at least %.1f", c.primary, c.accent, got, r, seriesContrast)
		}
		warning := contrastWarnings(c.primary, c.accent)["accent_color"]
		if close := strings.Contains(warning, "too close to the primary colour"); close == c.keep {
			t.Errorf("warning for %s beside %s = %q", c.accent, c.primary, warning)
		}
	}
}
