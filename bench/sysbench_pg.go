package bench

import (
	"context"
	"fmt"
	"strconv"
)

// sysbench over the Postgres wire: Coffer (its Postgres listener) against
// PostgreSQL, with sysbench's pgsql driver and the same Lua workloads as
// on the MySQL wire. Cells are named "pg:<workload>" so that they stay
// apart from the MySQL-wire cells of the same workload.

// pgWorkloadPrefix marks a sysbench workload run over the Postgres wire.
const pgWorkloadPrefix = "pg:"

// pgsqlArgs are sysbench's connection options for a Postgres endpoint.
func pgsqlArgs(e Endpoint) []string {
	return []string{
		"--db-driver=pgsql",
		"--pgsql-host=" + e.Host,
		"--pgsql-port=" + strconv.Itoa(e.Port),
		"--pgsql-user=" + e.User,
		"--pgsql-password=" + e.Password,
		"--pgsql-db=" + e.Database,
	}
}

// pgSystems are the running systems that serve the Postgres wire, with
// their endpoints.
func (r *runner) pgSystems() ([]system, []Endpoint) {
	var ss []system
	var eps []Endpoint
	for _, s := range r.systems {
		if s.Name() != Coffer && s.Name() != PostgreSQL {
			continue
		}
		if e, ok := pgEndpoint(s); ok {
			ss = append(ss, s)
			eps = append(eps, e)
		}
	}
	return ss, eps
}

func (r *runner) runSysbenchPG(ctx context.Context) error {
	systems, eps := r.pgSystems()
	if len(r.cfg.SysbenchPG) == 0 || len(systems) < 2 {
		return nil
	}
	for i, s := range systems {
		r.progress("sysbench prepare over the Postgres wire on %s: %d tables × %d rows", s.Name(), r.cfg.Tables, r.cfg.TableSize)
		prep := r.pgSysbenchConfig(eps[i], "oltp_read_write", 1)
		if _, err := runSysbench(ctx, prep.args("prepare")); err != nil {
			return fmt.Errorf("prepare %s (Postgres wire): %w", s.Name(), err)
		}
	}
	r.steps = len(r.cfg.SysbenchPG) * len(r.cfg.PGThreads) * r.cfg.Reps * len(systems)
	r.step = 0
	for _, w := range r.cfg.SysbenchPG {
		for _, th := range r.cfg.PGThreads {
			cells := make([]*Cell, len(systems))
			for i, s := range systems {
				cells[i] = &Cell{Workload: pgWorkloadPrefix + w, Threads: th, System: s.Name()}
			}
			for rep := 1; rep <= r.cfg.Reps; rep++ {
				for i, s := range systems {
					if err := ctx.Err(); err != nil {
						return err
					}
					sc := r.pgSysbenchConfig(eps[i], w, th)
					label := fmt.Sprintf("%s%s threads=%d %s rep %d/%d", pgWorkloadPrefix, w, th, s.Name(), rep, r.cfg.Reps)
					cells[i].Reps = append(cells[i].Reps, r.sysbenchRun(ctx, sc, label))
				}
			}
			for _, c := range cells {
				c.summarize(r.cfg.SysbenchDuration)
				r.report.Sysbench = append(r.report.Sysbench, c)
			}
		}
	}
	return nil
}

func (r *runner) pgSysbenchConfig(e Endpoint, workload string, threads int) SysbenchConfig {
	return SysbenchConfig{
		Workload: workload, Threads: threads, Duration: r.cfg.SysbenchDuration,
		Tables: r.cfg.Tables, TableSize: r.cfg.TableSize, Endpoint: e,
	}
}
