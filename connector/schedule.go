package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// ErrSchedule means a cron line or a time zone can't be used.
var ErrSchedule = errors.New("bad schedule")

// cronParser takes five fields and the descriptors (@hourly, @daily,
// @weekly, @monthly, @yearly, @every DURATION); no seconds field.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed cron line in its time zone.
type Schedule struct {
	spec cron.Schedule
	loc  *time.Location
}

// ParseSchedule parses a cron line and an IANA time zone ("" is UTC).
// Abbreviations such as PST are refused: they are ambiguous, and
// Treasure Data refuses them too.
func ParseSchedule(line, zone string) (Schedule, error) {
	loc, err := LoadZone(zone)
	if err != nil {
		return Schedule{}, err
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "TZ=") || strings.HasPrefix(line, "CRON_TZ=") {
		return Schedule{}, fmt.Errorf("cron %q: %w: give the time zone with --timezone, not in the cron line", line, ErrSchedule)
	}
	spec, err := cronParser.Parse(line)
	if err != nil {
		return Schedule{}, fmt.Errorf("cron %q: %w: %v (want five fields, @hourly, @daily, @weekly, @monthly, @yearly or @every DURATION)", line, ErrSchedule, err)
	}
	return Schedule{spec: spec, loc: loc}, nil
}

// LoadZone returns the IANA time zone name ("" and UTC are UTC).
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if !strings.Contains(name, "/") {
		return nil, fmt.Errorf("time zone %q: %w: abbreviations and bare names (PST, EST, JST…) are not accepted, "+
			"as they are ambiguous; give an IANA name such as America/Los_Angeles or Asia/Tokyo, or UTC", name, ErrSchedule)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w: not an IANA time zone name (e.g. Asia/Tokyo): %v", name, ErrSchedule, err)
	}
	return loc, nil
}

// Next is the first scheduled time after t, in UTC.
func (s Schedule) Next(t time.Time) time.Time {
	return s.spec.Next(t.In(s.loc)).UTC()
}

// Stored is what connector create and update store: the connector with
// its run's task (for connector_run from SQL) and its next fire after now
// ("" cron: no schedule). The config must hold secrets as references only.
func Stored(c sqlstore.Connector, cfg Config, now time.Time) (sqlstore.Connector, error) {
	if c.Name == "" {
		return c, errors.New("connector: a name is required")
	}
	if err := cfg.RefuseLiterals(); err != nil {
		return c, err
	}
	if c.Delay < 0 {
		return c, fmt.Errorf("connector %s: the delay must not be negative", c.Name)
	}
	c.Timezone = cmpOr(c.Timezone, "UTC")
	c.NextFire = nil
	if strings.TrimSpace(c.Cron) != "" {
		sched, err := ParseSchedule(c.Cron, c.Timezone)
		if err != nil {
			return c, err
		}
		next := sched.Next(now)
		c.NextFire = &next
	} else if _, err := LoadZone(c.Timezone); err != nil {
		return c, err
	}
	task, err := Task(Params{Name: c.Name, Config: cfg, Schema: c.Schema, Table: c.Table})
	if err != nil {
		return c, err
	}
	text, err := cfg.Marshal()
	if err != nil {
		return c, err
	}
	c.Config, c.Metadata, c.Location = string(text), string(task.Metadata), task.S3ObjectARN
	return c, nil
}

// RunTask is the task of a run of stored connector c, for the scheduled
// time when there is one.
func RunTask(c sqlstore.Connector, scheduled *time.Time, late bool) (Params, error) {
	var p Params
	if err := json.Unmarshal([]byte(c.Metadata), &p); err != nil {
		return p, fmt.Errorf("connector %s: decode its run's parameters: %w", c.Name, err)
	}
	p.Scheduled, p.Late = scheduled, late
	return p, nil
}

// Schedules is what firing needs of an instance (sqlstore.Store).
type Schedules interface {
	Connectors(ctx context.Context) ([]sqlstore.Connector, error)
	FireConnector(ctx context.Context, f sqlstore.Fire) (sqlstore.Fired, bool, error)
}

// DefaultLateAfter is how far behind its time a fire is recorded late.
const DefaultLateAfter = time.Minute

// FireDue starts the runs of s's connectors due at now (a fire is due
// Delay after its scheduled time). Each fire is taken in the database,
// so that any number of agents calling FireDue start it once. A
// connector whose fires passed while no agent ran runs once, marked late,
// and its next fire is the first one after now. It returns what it fired.
func FireDue(ctx context.Context, s Schedules, now time.Time, lateAfter time.Duration) ([]sqlstore.Fired, error) {
	list, err := s.Connectors(ctx)
	if err != nil {
		return nil, err
	}
	var out []sqlstore.Fired
	var errs []error
	for _, c := range list {
		if c.NextFire == nil || c.NextFire.Add(c.Delay).After(now) {
			continue
		}
		fired, ok, err := fire(ctx, s, c, now, lateAfter)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, fired)
		}
	}
	return out, errors.Join(errs...)
}

func fire(ctx context.Context, s Schedules, c sqlstore.Connector, now time.Time, lateAfter time.Duration) (sqlstore.Fired, bool, error) {
	sched, err := ParseSchedule(c.Cron, c.Timezone)
	if err != nil {
		return sqlstore.Fired{}, false, fmt.Errorf("connector %s: %w", c.Name, err)
	}
	due := *c.NextFire
	next := sched.Next(due)
	// Fires that passed meanwhile are not run one by one: this run
	// stands for them, and the next fire is the first still to come.
	late := !next.Add(c.Delay).After(now) || now.Sub(due.Add(c.Delay)) > lateAfter
	if !next.Add(c.Delay).After(now) {
		next = sched.Next(now.Add(-c.Delay))
	}
	p, err := RunTask(c, &due, late)
	if err != nil {
		return sqlstore.Fired{}, false, err
	}
	task, err := Task(p)
	if err != nil {
		return sqlstore.Fired{}, false, fmt.Errorf("connector %s: %w", c.Name, err)
	}
	return s.FireConnector(ctx, sqlstore.Fire{Name: c.Name, Due: due, Next: next, Task: task})
}

// Fire implements agent.Scheduler: the agent calls it about every second
// for each instance it serves. Instances without stored connectors'
// tables (no Schedules) have nothing to fire.
func (r *Runner) Fire(ctx context.Context, in instance.Instance, now time.Time) error {
	s, ok := in.(Schedules)
	if !ok {
		return nil
	}
	_, err := FireDue(ctx, s, now, cmpOrDuration(r.LateAfter, DefaultLateAfter))
	return err
}

func cmpOrDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
