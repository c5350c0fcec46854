// Command binlogread measures s3bridge's MariaDB replication client alone
// for bench/pipeline_mariadb.sh: it streams a server's binary log with
// pipeline/binlog from a start position to a stop position, decoding every
// event and every row's values into the pipeline's Go values (what a
// pipeline consumes), and discards them. It prints
//
//	rows N bytes B seconds S rows_per_s R values V setup_seconds T
//
// where bytes are the events' (header to checksum), values the row
// images' values, and seconds run from the connection to the stop (T of
// them before the stream's first read: connecting, authenticating, the
// client's queries, registering as a replica). The bench times the whole
// process, as it times mariadb-binlog --read-from-remote-server --raw
// copying the same files. The password, when the URL has none, is
// MYSQL_PWD's.
//
//	binlogread -url mysql://root@127.0.0.1:3307/?server_id=N -start mariadb-bin.000007:4 -stop mariadb-bin.000009:1234
//
// -start is a position as binlog.Position prints it ("D-S-N file:pos",
// or just "file:pos" or a GTID set); -stop is file:offset, the end of the
// last event to read (a file's size reads it whole). Without -stop the
// stream ends where the server's log ends. -cpuprofile writes a CPU
// profile of the run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge/pipeline/binlog"
)

func main() {
	url := flag.String("url", "", "the server, mysql://user@host:port/?server_id=N (the password, if not here, from MYSQL_PWD)")
	start := flag.String("start", "", `where to start: "file:pos", a GTID set, or both ("D-S-N file:pos")`)
	stop := flag.String("stop", "", "file:offset to stop at (the end of the last event read); default: the end of the log")
	profile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if err := run(*url, *start, *stop, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "binlogread:", err)
		os.Exit(1)
	}
}

func run(url, start, stop, profile string) error {
	cfg, err := binlog.ParseURL(url)
	if err != nil {
		return err
	}
	if cfg.Password == "" {
		cfg.Password = os.Getenv("MYSQL_PWD")
	}
	from, err := binlog.ParsePosition(start)
	if err != nil {
		return fmt.Errorf("-start %q: %w", start, err)
	}
	var stopFile string
	var stopPos uint64
	if stop != "" {
		f, p, ok := strings.Cut(stop, ":")
		if stopPos, err = strconv.ParseUint(p, 10, 32); !ok || err != nil {
			return fmt.Errorf("-stop %q: want file:offset", stop)
		}
		stopFile = f
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bytes int64
	file, reached := from.File, false
	// Raw sees every event before it is decoded: the place to count
	// bytes, follow the file (ROTATE) and find the stop. Ending ctx there
	// ends the stream after that event's changes.
	raw := func(ev []byte) {
		bytes += int64(len(ev))
		if len(ev) < 19 {
			return
		}
		typ, logPos := ev[4], uint32(ev[13])|uint32(ev[14])<<8|uint32(ev[15])<<16|uint32(ev[16])<<24
		if typ == byte(binlog.RotateEvent) && len(ev) >= 19+8+4 && logPos == 0 {
			// The server's own ROTATE at the start of each file names it
			// (a ROTATE in the log ends a file and names the next).
			file = string(ev[19+8 : len(ev)-4])
			return
		}
		if stopFile != "" && logPos != 0 && (file > stopFile || file == stopFile && uint64(logPos) >= stopPos) {
			reached = true
			cancel()
		}
	}
	src := binlog.NewFromConfig(cfg, "binlogread")
	began := time.Now()
	st, err := src.Stream(ctx, binlog.StreamOptions{Start: from, NonBlocking: true, Raw: raw})
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	streaming := time.Now()
	var rows, values int64
	for {
		ev, err := st.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) || reached {
				break
			}
			return fmt.Errorf("after %d rows: %w", rows, err)
		}
		if c := ev.Change; c != nil {
			rows++
			values += int64(len(c.Before) + len(c.After))
		}
	}
	secs := time.Since(began).Seconds()
	setup := streaming.Sub(began).Seconds()
	if stopFile != "" && !reached {
		return fmt.Errorf("the log ended before %s (%d rows read)", stop, rows)
	}
	fmt.Printf("rows %d bytes %d seconds %.3f rows_per_s %.0f values %d setup_seconds %.3f\n", rows, bytes, secs, float64(rows)/secs, values, setup)
	return nil
}
