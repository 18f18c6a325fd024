package app

import (
	"strconv"
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
