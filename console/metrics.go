package console

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
)

// The metrics are read from the instances at each scrape, so that every
// server and agent serving an instance reports the same figures and none
// is lost by a restart: the counters are sums over the instance's finished
// tasks. The instance is the "database" label: Prometheus gives "instance"
// to the scraped target itself.
var (
	descUp = prometheus.NewDesc("s3bridge_instance_up",
		"1 when the instance answered this scrape, 0 when it failed.", []string{"database"}, nil)
	descTasks = prometheus.NewDesc("s3bridge_tasks",
		"Tasks in the instance by type and lifecycle.", []string{"database", "type", "lifecycle"}, nil)
	descDuration = prometheus.NewDesc("s3bridge_task_duration_seconds",
		"How long finished tasks ran, from start to finish, by type and outcome (the final lifecycle).", []string{"database", "type", "outcome"}, nil)
	descBytes = prometheus.NewDesc("s3bridge_bytes_total",
		"Bytes moved by finished tasks, by direction: upload, download, load, export.", []string{"database", "direction"}, nil)
	descRows = prometheus.NewDesc("s3bridge_rows_total",
		"Rows moved: by finished load and export tasks, and by pipelines since their agent took them.", []string{"database", "kind"}, nil)
	descConnectorRuns = prometheus.NewDesc("s3bridge_connector_runs_total",
		"A connector's runs by status (their task's lifecycle).", []string{"database", "connector", "status"}, nil)
	descConnectorSuccess = prometheus.NewDesc("s3bridge_connector_last_success_timestamp_seconds",
		"When a connector's last successful run finished (Unix time).", []string{"database", "connector"}, nil)
	descPipelineLag = prometheus.NewDesc("s3bridge_pipeline_lag_seconds",
		"At a pipeline's last checkpoint, how long before it the newest change made durable had committed at the source.", []string{"database", "pipeline"}, nil)
	descPipelineWAL = prometheus.NewDesc("s3bridge_pipeline_retained_wal_bytes",
		"WAL the source keeps for a pipeline's replication slot.", []string{"database", "pipeline"}, nil)
	descHeartbeat = prometheus.NewDesc("s3bridge_agent_last_heartbeat_timestamp_seconds",
		"When an agent serving the instance last recorded itself (Unix time).", []string{"database", "agent"}, nil)
)

// durationBuckets span a one-second file transfer to a day-long load.
var durationBuckets = []float64{1, 5, 15, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 12 * 3600, 24 * 3600}

// scrapeTimeout bounds one scrape's reading of each instance, and
// slotScrapeTimeout each pipeline's source.
const (
	scrapeTimeout     = 10 * time.Second
	slotScrapeTimeout = time.Second
)

// collector is the instances' metrics, read at each scrape.
type collector struct{ s *Server }

func (s *Server) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collector{s})
	return reg
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ principal) error {
	promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	return nil
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descTasks, descDuration, descBytes, descRows, descConnectorRuns,
		descConnectorSuccess, descPipelineLag, descPipelineWAL, descHeartbeat} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, sv := range c.s.instances {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		err := collectInstance(ctx, sv, ch)
		cancel()
		up := 1.0
		if err != nil {
			up = 0
			c.s.cfg.Log.Warn("metrics: an instance failed", "instance", sv.id, "error", err)
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, sv.id)
	}
}

// direction is the s3bridge_bytes_total direction of a task type, "" for
// types that move no bytes to or from S3.
func direction(t s3bridge.TaskType) string {
	switch t {
	case s3bridge.TaskUpload:
		return "upload"
	case s3bridge.TaskDownload:
		return "download"
	case s3bridge.TaskLoadFromS3, s3bridge.TaskImportFromS3:
		return "load"
	case s3bridge.TaskExportToS3:
		return "export"
	}
	return ""
}

type typeOutcome struct{ typ, outcome string }

type histogram struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64
}

func collectInstance(ctx context.Context, sv served, ch chan<- prometheus.Metric) error {
	tasks, err := sv.in.Tasks(ctx)
	if err != nil {
		return err
	}
	type typeLC struct{ typ, lc string }
	counts := map[typeLC]int{}
	hists := map[typeOutcome]*histogram{}
	bytes := map[string]float64{"upload": 0, "download": 0, "load": 0, "export": 0}
	rows := map[string]float64{"load": 0, "export": 0, "pipeline": 0}
	for _, t := range tasks {
		counts[typeLC{string(t.Type), string(t.Lifecycle)}]++
		if !t.Lifecycle.Final() {
			continue
		}
		if d := direction(t.Type); d != "" {
			bytes[d] += float64(t.Bytes)
		}
		switch t.Type {
		case s3bridge.TaskLoadFromS3, s3bridge.TaskImportFromS3:
			rows["load"] += float64(t.Rows)
		case s3bridge.TaskExportToS3:
			rows["export"] += float64(t.Rows)
		}
		if t.StartedAt == nil || t.FinishedAt == nil {
			continue
		}
		k := typeOutcome{string(t.Type), string(t.Lifecycle)}
		h := hists[k]
		if h == nil {
			h = &histogram{buckets: map[float64]uint64{}}
			hists[k] = h
		}
		secs := t.FinishedAt.Sub(*t.StartedAt).Seconds()
		h.count++
		h.sum += secs
		for _, b := range durationBuckets {
			if secs <= b {
				h.buckets[b]++
			}
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(n), sv.id, k.typ, k.lc)
	}
	for k, h := range hists {
		ch <- prometheus.MustNewConstHistogram(descDuration, h.count, h.sum, h.buckets, sv.id, k.typ, k.outcome)
	}
	for d, n := range bytes {
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, n, sv.id, d)
	}
	if err := collectConnectors(ctx, sv, ch); err != nil {
		return err
	}
	if rows["pipeline"], err = collectPipelines(ctx, sv, ch); err != nil {
		return err
	}
	for k, n := range rows {
		ch <- prometheus.MustNewConstMetric(descRows, prometheus.CounterValue, n, sv.id, k)
	}
	agents, err := sv.in.Agents(ctx)
	if err != nil {
		return err
	}
	for _, a := range agents {
		ch <- prometheus.MustNewConstMetric(descHeartbeat, prometheus.GaugeValue, float64(a.LastSeen.UnixMilli())/1000, sv.id, a.ID)
	}
	return nil
}

func collectConnectors(ctx context.Context, sv served, ch chan<- prometheus.Metric) error {
	cs, ok := sv.in.(control.Connectors)
	if !ok {
		return nil
	}
	list, err := cs.Connectors(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		runs, err := cs.ConnectorRuns(ctx, c.Name, 0)
		if err != nil {
			return err
		}
		by := map[string]int{}
		var success *time.Time
		for _, r := range runs {
			by[string(r.Task.Lifecycle)]++
			if f := r.Task.FinishedAt; r.Task.Lifecycle == s3bridge.Success && f != nil && (success == nil || f.After(*success)) {
				success = f
			}
		}
		for st, n := range by {
			ch <- prometheus.MustNewConstMetric(descConnectorRuns, prometheus.CounterValue, float64(n), sv.id, c.Name, st)
		}
		if success != nil {
			ch <- prometheus.MustNewConstMetric(descConnectorSuccess, prometheus.GaugeValue, float64(success.UnixMilli())/1000, sv.id, c.Name)
		}
	}
	return nil
}

// collectPipelines sends the pipelines' lag and retained WAL and returns
// the rows their agents made durable.
func collectPipelines(ctx context.Context, sv served, ch chan<- prometheus.Metric) (float64, error) {
	ps, ok := sv.in.(control.Pipelines)
	if !ok {
		return 0, nil
	}
	list, err := ps.Pipelines(ctx)
	if err != nil {
		return 0, err
	}
	var rows float64
	for _, p := range list {
		v := control.ViewPipeline(p)
		if lag, ok := v.Float("lag_seconds"); ok {
			ch <- prometheus.MustNewConstMetric(descPipelineLag, prometheus.GaugeValue, lag, sv.id, p.Name)
		}
		if n, ok := v.Float("rows"); ok {
			rows += n
		}
		// A source that doesn't answer in time leaves the figure out
		// rather than holding the scrape.
		if err := control.ReadSlot(ctx, &v, slotScrapeTimeout); err == nil && v.RetainedWALBytes != nil {
			ch <- prometheus.MustNewConstMetric(descPipelineWAL, prometheus.GaugeValue, float64(*v.RetainedWALBytes), sv.id, p.Name)
		}
	}
	return rows, nil
}
