package bench

import (
	"fmt"
	"os"
	"path/filepath"
)

// Written lists the files WriteAll produced.
type Written struct {
	JSON, Markdown, Chart string
}

// WriteAll writes <stem>.json, <stem>.md and <stem>.png into cfg.OutDir
// and, for a full run with cfg.Readme set, the ratio tables into the
// README.
func WriteAll(r *Report, cfg Config) (Written, error) {
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return Written{}, err
	}
	base := filepath.Join(cfg.OutDir, stem(r))
	w := Written{JSON: base + ".json", Markdown: base + ".md", Chart: base + ".png"}
	if err := r.WriteJSON(w.JSON); err != nil {
		return w, err
	}
	if err := r.WriteChart(w.Chart); err != nil {
		return w, fmt.Errorf("chart: %w", err)
	}
	if err := os.WriteFile(w.Markdown, []byte(r.Markdown(filepath.Base(w.Chart))), 0o644); err != nil {
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
		table += r.RatioTables("###") + fmt.Sprintf("\n![chart](%s.png)\n", rel)
		if err := updateReadme(cfg.Readme, table); err != nil {
			return w, err
		}
	}
	return w, nil
}
