package bench

import (
	"fmt"
	"os"
	"path/filepath"
)

// Written lists the files WriteAll produced; Chart is empty for a run
// without cells to chart.
type Written struct {
	JSON, Markdown, Chart string
}

// WriteAll writes <stem>.json, <stem>.md and <stem>.png (when there is
// something to chart) into cfg.OutDir and, for a full run with cfg.Readme
// set, the ratio tables and the Coffer-alone tables into the README.
func WriteAll(r *Report, cfg Config) (Written, error) {
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return Written{}, err
	}
	base := filepath.Join(cfg.OutDir, stem(r))
	w := Written{JSON: base + ".json", Markdown: base + ".md"}
	if err := r.WriteJSON(w.JSON); err != nil {
		return w, err
	}
	chartFile := ""
	if len(r.cells()) > 0 { // a run of the Coffer-alone workloads only has no chart
		w.Chart = base + ".png"
		if err := r.WriteChart(w.Chart); err != nil {
			return w, fmt.Errorf("chart: %w", err)
		}
		chartFile = filepath.Base(w.Chart)
	}
	if err := os.WriteFile(w.Markdown, []byte(r.Markdown(chartFile)), 0o644); err != nil {
		return w, err
	}
	if cfg.Mode == ModeFull && cfg.Readme != "" {
		rel, err := filepath.Rel(filepath.Dir(cfg.Readme), base)
		if err != nil {
			rel = base
		}
		table := fmt.Sprintf("From [%s.md](%s.md), %s on %s (%d cores), median of %d.\n\n",
			filepath.Base(base), rel, r.Started.Format("2006-01-02"), r.Machine.Host, r.Machine.Cores, r.Settings.Reps)
		if line := r.InterferenceLine(); line != "" {
			table += line + "\n\n"
		}
		table += r.RatioTables("###")
		if w.Chart != "" {
			table += fmt.Sprintf("\n![chart](%s.png)\n", rel)
		}
		table += r.AloneTables("###")
		if err := updateReadme(cfg.Readme, table); err != nil {
			return w, err
		}
	}
	return w, nil
}
