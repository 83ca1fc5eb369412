package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// The charts are hand-written SVG: horizontal bars (median, with a min–max
// whisker) and lines over N (median, with min–max whiskers). Every chart
// carries its runs and the machine in its footer.

var palette = []string{"#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb"}

type bar struct {
	label    string
	text     string // the value printed at the bar's end; default: med
	med      float64
	lo, hi   float64
	runs     int
	emphasis bool // shardinit's own rows
}

type barSeries struct {
	name string
	bars []bar
}

func esc(s string) string { return html.EscapeString(s) }

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// barChart draws one or more series as grouped horizontal bars: a group per
// label, a bar per series.
func barChart(title, unit, footer string, series []barSeries) string {
	const width, labelW, right, rowH, barGap = 1000, 420, 110, 18, 6
	labels := []string{}
	seen := map[string]bool{}
	maxV := 0.0
	for _, s := range series {
		for _, b := range s.bars {
			if !seen[b.label] {
				seen[b.label] = true
				labels = append(labels, b.label)
			}
			maxV = math.Max(maxV, math.Max(b.hi, b.med))
		}
	}
	maxV = niceMax(maxV)
	groupH := len(series)*rowH + barGap*2
	top := 44
	if len(series) > 1 {
		top += 18
	}
	plotH := len(labels) * groupH
	height := top + plotH + 56
	plotW := float64(width - labelW - right)
	x := func(v float64) float64 { return float64(labelW) + plotW*math.Max(0, v)/maxV }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", esc(title))
	if len(series) > 1 {
		lx := float64(labelW)
		for i, s := range series {
			fmt.Fprintf(&b, `<rect x="%.0f" y="34" width="12" height="12" fill="%s"/><text x="%.0f" y="45">%s</text>`+"\n",
				lx, palette[i%len(palette)], lx+16, esc(s.name))
			lx += 30 + 7*float64(len(s.name))
		}
	}
	// Grid and axis labels.
	for i := 0; i <= 5; i++ {
		v := maxV * float64(i) / 5
		gx := x(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", gx, top, gx, top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", gx, top+plotH+14, num(v))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", float64(labelW)+plotW/2, top+plotH+30, esc(unit))
	for li, label := range labels {
		gy := top + li*groupH
		weight := "normal"
		for _, s := range series {
			for _, br := range s.bars {
				if br.label == label && br.emphasis {
					weight = "bold"
				}
			}
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-weight="%s">%s</text>`+"\n",
			labelW-8, gy+barGap+len(series)*rowH/2+4, weight, esc(trimLabel(label, (labelW-12)*10/68)))
		for si, s := range series {
			for _, br := range s.bars {
				if br.label != label {
					continue
				}
				y := float64(gy + barGap + si*rowH)
				color := palette[si%len(palette)]
				fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s"/>`+"\n",
					labelW, y+2, x(br.med)-float64(labelW), rowH-4, color)
				if br.runs > 1 && br.hi > br.lo {
					cy := y + float64(rowH)/2
					fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`, x(br.lo), cy, x(br.hi), cy)
					fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`, x(br.lo), cy-4, x(br.lo), cy+4)
					fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x(br.hi), cy-4, x(br.hi), cy+4)
				}
				text := br.text
				if text == "" {
					text = num(br.med)
				}
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#222">%s</text>`+"\n",
					math.Max(x(br.med), x(br.hi))+6, y+float64(rowH)/2+4, esc(text))
			}
		}
	}
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">%s</text>`+"\n", height-10, esc(footer))
	b.WriteString("</svg>\n")
	return b.String()
}

func trimLabel(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

type point struct {
	x          string
	med, lo, h float64
	ok         bool
}

type lineSeries struct {
	name   string
	points []point
}

// lineChart draws series over categorical x values (N = 1, 2, 8, …),
// evenly spaced, each point a median with a min–max whisker.
func lineChart(title, xLabel, unit, footer string, xs []string, series []lineSeries) string {
	const width, height, left, right, top, bottom = 1000, 440, 80, 40, 84, 70
	maxV := 0.0
	minV := 0.0
	for _, s := range series {
		for _, p := range s.points {
			if p.ok {
				maxV = math.Max(maxV, math.Max(p.h, p.med))
				minV = math.Min(minV, math.Min(p.lo, p.med))
			}
		}
	}
	maxV = niceMax(maxV)
	if minV < 0 {
		minV = -niceMax(-minV)
	}
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	xpos := func(i int) float64 {
		if len(xs) == 1 {
			return float64(left) + plotW/2
		}
		return float64(left) + plotW*float64(i)/float64(len(xs)-1)
	}
	y := func(v float64) float64 { return float64(top) + plotH*(1-(v-minV)/(maxV-minV)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", esc(title))
	lx, ly := float64(left), 34.0
	for i, s := range series {
		w := 30 + 6.8*float64(len([]rune(s.name)))
		if lx+w > width && lx > float64(left) {
			lx, ly = float64(left), ly+16
		}
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			lx, ly, palette[i%len(palette)], lx+16, ly+11, esc(s.name))
		lx += w
	}
	for i := 0; i <= 5; i++ {
		v := minV + (maxV-minV)*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), width-right, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", left-6, y(v)+4, num(v))
	}
	for i, xv := range xs {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", xpos(i), height-bottom+18, esc(xv))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", float64(left)+plotW/2, height-bottom+36, esc(xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%.1f" fill="#555" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>`+"\n",
		float64(top)+plotH/2, float64(top)+plotH/2, esc(unit))
	for si, s := range series {
		color := palette[si%len(palette)]
		var pts []string
		for i, p := range s.points {
			if !p.ok {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xpos(i), y(p.med)))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		}
		for i, p := range s.points {
			if !p.ok {
				continue
			}
			if p.h > p.lo {
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", xpos(i), y(p.lo), xpos(i), y(p.h), color)
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", xpos(i), y(p.med), color)
		}
	}
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">%s</text>`+"\n", height-10, esc(footer))
	b.WriteString("</svg>\n")
	return b.String()
}
