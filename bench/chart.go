package bench

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// systemColor keeps each system's colour the same in every panel.
var systemColor = map[string]color.Color{
	Coffer:              color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff},
	CofferCluster:       color.RGBA{R: 0xe7, G: 0x29, B: 0x8a, A: 0xff},
	CofferNoLedger:      color.RGBA{R: 0xe6, G: 0xab, B: 0x02, A: 0xff},
	CofferReadCommitted: color.RGBA{R: 0xa6, G: 0x76, B: 0x1d, A: 0xff},
	MariaDB:             color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff},
	PostgreSQL:          color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff},
}

// chartMetric is one row of panels.
type chartMetric struct {
	label string
	value func(*Cell) float64
}

// WriteChart draws one column per workload, throughput on top and p99
// latency below, bars per system grouped by concurrency (medians).
func (r *Report) WriteChart(path string) error {
	cells := r.cells()
	var workloads []string
	for _, c := range cells {
		if !slices.Contains(workloads, c.Workload) {
			workloads = append(workloads, c.Workload)
		}
	}
	if len(workloads) == 0 {
		return fmt.Errorf("bench: nothing to chart")
	}
	metrics := []chartMetric{
		{"tx/s (median)", func(c *Cell) float64 { return c.TPS.Median }},
		{"p99 latency, ms (median)", func(c *Cell) float64 { return c.P99Ms.Median }},
	}
	plots := make([][]*plot.Plot, len(metrics))
	for i, m := range metrics {
		plots[i] = make([]*plot.Plot, len(workloads))
		for j, w := range workloads {
			p, err := workloadPanel(cells, w, m, i == 0)
			if err != nil {
				return err
			}
			if i == 0 {
				p.Title.Text = w
			}
			plots[i][j] = p
		}
	}
	const titleSpace = 36
	width := vg.Length(330 * len(workloads))
	height := vg.Length(2*300 + titleSpace)
	img := vgimg.New(width, height)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	heading := text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, 14),
		Handler: plot.DefaultTextHandler,
		XAlign:  draw.XCenter,
		YAlign:  draw.YTop,
	}
	dc.FillText(heading, vg.Point{X: width / 2, Y: height - 8}, fmt.Sprintf(
		"Coffer vs peers, %s on %s (%d cores), %s run, median of %d", r.Started.Format("2006-01-02"), r.Machine.Host, r.Machine.Cores, r.Mode, r.Settings.Reps))
	tiles := draw.Tiles{
		Rows: len(metrics), Cols: len(workloads),
		PadTop: titleSpace, PadBottom: 6, PadLeft: 6, PadRight: 6,
		PadX: 14, PadY: 14,
	}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// workloadPanel draws metric m of workload w: one bar per system at each
// concurrency.
func workloadPanel(cells []*Cell, w string, m chartMetric, legend bool) (*plot.Plot, error) {
	var threads []int
	var systems []string
	for _, c := range cells {
		if c.Workload != w {
			continue
		}
		if !slices.Contains(threads, c.Threads) {
			threads = append(threads, c.Threads)
		}
		if !slices.Contains(systems, c.System) {
			systems = append(systems, c.System)
		}
	}
	slices.Sort(threads)
	p := plot.New()
	p.Y.Label.Text = m.label
	p.X.Label.Text = "threads"
	if w == "durable_insert" {
		p.X.Label.Text = "connections"
	}
	p.Y.Min = 0
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid)
	barWidth := vg.Points(14)
	for k, s := range systems {
		vals := make(plotter.Values, len(threads))
		for i, t := range threads {
			if c := findCell(cells, w, t, s); c != nil && !math.IsNaN(m.value(c)) {
				vals[i] = m.value(c)
			}
		}
		bars, err := plotter.NewBarChart(vals, barWidth)
		if err != nil {
			return nil, err
		}
		bars.LineStyle.Width = 0
		bars.Color = systemColor[s]
		bars.Offset = vg.Length(float64(k)-float64(len(systems)-1)/2) * barWidth
		p.Add(bars)
		if legend {
			p.Legend.Add(systemTitle[s], bars)
		}
	}
	if legend {
		// Headroom so the legend does not cover the tallest bar.
		p.Y.Max *= 1.3
	}
	labels := make([]string, len(threads))
	for i, t := range threads {
		labels[i] = strconv.Itoa(t)
	}
	p.NominalX(labels...)
	// Room for the outer bars of each group.
	p.X.Min, p.X.Max = -0.6, float64(len(threads))-0.4
	p.Legend.Top = true
	p.Legend.Left = true
	return p, nil
}
