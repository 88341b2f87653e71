package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ProfileTarget names a sysbench cell to profile Coffer under,
// written "workload:threads" on the command line.
type ProfileTarget struct {
	Workload string `json:"workload"`
	Threads  int    `json:"threads"`
}

// ParseProfileTargets reads "oltp_read_write:4,oltp_point_select:4".
func ParseProfileTargets(s string) ([]ProfileTarget, error) {
	var ts []ProfileTarget
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		w, n, ok := strings.Cut(part, ":")
		threads, err := strconv.Atoi(n)
		if !ok || err != nil || threads < 1 {
			return nil, fmt.Errorf("profile target %q: want workload:threads, e.g. oltp_read_write:4", part)
		}
		ts = append(ts, ProfileTarget{Workload: w, Threads: threads})
	}
	return ts, nil
}

// ProfileFile is a captured Coffer CPU profile and its pprof summaries.
type ProfileFile struct {
	ProfileTarget
	Seconds int     `json:"seconds"`
	Profile string  `json:"profile"` // pprof protobuf, not committed
	Top     string  `json:"top"`     // go tool pprof -top
	TopCum  string  `json:"top_cum"` // go tool pprof -top -cum
	TPS     float64 `json:"tps"`     // sysbench's throughput while profiled
}

// captureProfile fetches a CPU profile of the given length from Coffer's
// admin address into path.
func captureProfile(ctx context.Context, adminAddr string, seconds int, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", adminAddr, seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Duration(seconds+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return fmt.Errorf("pprof: %s: %s", resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pprofTop writes `go tool pprof -top [extra] bin profile` to path.
func pprofTop(bin, profile, path string, extra ...string) error {
	args := append([]string{"tool", "pprof", "-top", "-nodecount=60"}, extra...)
	args = append(args, bin, profile)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %v: %w: %s", args, err, tail(string(out), 500))
	}
	return os.WriteFile(path, out, 0o644)
}

// runProfiles profiles Coffer under each target in an extra, unmeasured
// sysbench run (profiling slows the server a little, so its throughput is
// kept apart from the measured repetitions).
func (r *runner) runProfiles(ctx context.Context) {
	var cf *cofferSystem
	for _, s := range r.systems {
		if c, ok := s.(*cofferSystem); ok && c.Name() == Coffer {
			cf = c
		}
	}
	if cf == nil || len(r.cfg.Profile) == 0 {
		return
	}
	if err := os.MkdirAll(r.cfg.OutDir, 0o755); err != nil {
		r.progress("profile: %v", err)
		return
	}
	for _, t := range r.cfg.Profile {
		pf, err := r.profileOne(ctx, cf, t)
		if err != nil {
			r.progress("profile %s threads=%d: %v", t.Workload, t.Threads, err)
			r.report.Notes = append(r.report.Notes, fmt.Sprintf("profile %s %d failed: %v", t.Workload, t.Threads, err))
			continue
		}
		r.report.Profiles = append(r.report.Profiles, pf)
	}
}

func (r *runner) profileOne(ctx context.Context, cf *cofferSystem, t ProfileTarget) (ProfileFile, error) {
	secs := r.cfg.ProfileSeconds
	base := filepath.Join(r.cfg.OutDir, fmt.Sprintf("%s-profile-%s-%d", stem(r.report), t.Workload, t.Threads))
	pf := ProfileFile{ProfileTarget: t, Seconds: secs, Profile: base + ".pprof", Top: base + "-top.txt", TopCum: base + "-top-cum.txt"}
	r.progress("profiling coffer under %s threads=%d for %ds", t.Workload, t.Threads, secs)
	sc := r.sysbenchConfig(cf, t.Workload, t.Threads)
	warm := sc
	warm.Duration = r.cfg.SysbenchWarmup
	if warm.Duration >= time.Second {
		_, _ = runSysbench(ctx, warm.args("run"))
	}
	// The profile window sits inside the sysbench run, one second from
	// each end, so it sees only steady load.
	sc.Duration = time.Duration(secs+2) * time.Second
	type outcome struct {
		out string
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		out, err := runSysbench(ctx, sc.args("run"))
		done <- outcome{out, err}
	}()
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return pf, ctx.Err()
	}
	perr := captureProfile(ctx, cf.AdminAddr(), secs, pf.Profile)
	o := <-done
	if perr != nil {
		return pf, perr
	}
	if o.err != nil {
		return pf, o.err
	}
	if res, err := ParseSysbench(o.out); err == nil {
		pf.TPS = res.TPS
	}
	if err := pprofTop(r.cfg.CofferBin, pf.Profile, pf.Top); err != nil {
		return pf, err
	}
	if err := pprofTop(r.cfg.CofferBin, pf.Profile, pf.TopCum, "-cum"); err != nil {
		return pf, err
	}
	r.progress("profile written: %s (%s)", pf.TopCum, pf.Top)
	// The report names the files as they sit next to it.
	pf.Profile, pf.Top, pf.TopCum = filepath.Base(pf.Profile), filepath.Base(pf.Top), filepath.Base(pf.TopCum)
	return pf, nil
}
