package console

import (
	"context"
	"net/http"
	"sync"
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

// Collect reads the instances in parallel, each only for what changed
// since the last scrape (figures).
func (c collector) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for _, sv := range c.s.instances {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
			err := c.s.collectInstance(ctx, sv, ch)
			cancel()
			up := 1.0
			if err != nil {
				up = 0
				c.s.cfg.Log.Warn("metrics: an instance failed", "instance", sv.id, "error", err)
			}
			ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, sv.id)
		})
	}
	wg.Wait()
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

func (s *Server) collectInstance(ctx context.Context, sv served, ch chan<- prometheus.Metric) error {
	fig, err := sv.figures.read(ctx, sv.reads)
	if err != nil {
		return err
	}
	bytes := map[string]float64{"upload": 0, "download": 0, "load": 0, "export": 0}
	rows := map[string]float64{"load": 0, "export": 0, "pipeline": 0}
	for k, t := range fig.tasks {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(t.count), sv.id, string(k.typ), string(k.lc))
		if !k.lc.Final() {
			continue
		}
		if d := direction(k.typ); d != "" {
			bytes[d] += t.bytes
		}
		switch k.typ {
		case s3bridge.TaskLoadFromS3, s3bridge.TaskImportFromS3:
			rows["load"] += t.rows
		case s3bridge.TaskExportToS3:
			rows["export"] += t.rows
		}
		if t.timed == 0 {
			continue
		}
		buckets := make(map[float64]uint64, len(durationBuckets))
		for i, b := range durationBuckets {
			buckets[b] = t.within[i]
		}
		ch <- prometheus.MustNewConstHistogram(descDuration, t.timed, t.seconds, buckets, sv.id, string(k.typ), string(k.lc))
	}
	for d, n := range bytes {
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, n, sv.id, d)
	}
	if err := collectConnectors(ctx, sv, fig, ch); err != nil {
		return err
	}
	if rows["pipeline"], err = s.collectPipelines(ctx, sv, ch); err != nil {
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

// collectConnectors sends the stored connectors' runs by status and
// their last success (runs of deleted connectors left out).
func collectConnectors(ctx context.Context, sv served, fig scrape, ch chan<- prometheus.Metric) error {
	cs, ok := sv.in.(control.Connectors)
	if !ok {
		return nil
	}
	list, err := cs.Connectors(ctx)
	if err != nil {
		return err
	}
	stored := map[string]bool{}
	for _, c := range list {
		stored[c.Name] = true
	}
	for k, n := range fig.runs {
		if stored[k.conn] {
			ch <- prometheus.MustNewConstMetric(descConnectorRuns, prometheus.CounterValue, float64(n), sv.id, k.conn, string(k.lc))
		}
	}
	for name, at := range fig.lastSuccess {
		if stored[name] {
			ch <- prometheus.MustNewConstMetric(descConnectorSuccess, prometheus.GaugeValue, float64(at.UnixMilli())/1000, sv.id, name)
		}
	}
	return nil
}

// collectPipelines sends the pipelines' lag and retained WAL and returns
// the rows their agents made durable. Each lag read is a sample of the
// pipeline page's chart too.
func (s *Server) collectPipelines(ctx context.Context, sv served, ch chan<- prometheus.Metric) (float64, error) {
	ps, ok := sv.in.(control.Pipelines)
	if !ok {
		return 0, nil
	}
	list, err := ps.Pipelines(ctx)
	if err != nil {
		return 0, err
	}
	var rows float64
	now := s.cfg.Now()
	for _, p := range list {
		v := control.ViewPipeline(p)
		s.lags.record(sv.id, v, now)
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
