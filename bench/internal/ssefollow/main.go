// Command ssefollow opens many Server-Sent Events streams on s3bridge
// serve's task event route at once and holds them, counting the events
// each gets: bench/console.sh measures the server's memory while it
// does. It prints when every stream has its first event, then, after the
// hold, the events per stream and the streams that failed.
//
//	BENCH_TOKEN=… ssefollow -url http://127.0.0.1:8080 -tasks app:1,app:2 -n 1000 -hold 20s
//
// The token comes from BENCH_TOKEN, so that it is in no process list.
// Streams are spread over the tasks in turn. A stream the server ends
// (an "end" event: its task finished) is opened again.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "", "the server's base URL")
	tasks := flag.String("tasks", "", "INSTANCE:ID,… to follow")
	n := flag.Int("n", 1000, "streams to open")
	hold := flag.Duration("hold", 20*time.Second, "how long to hold them once all are open")
	flag.Parse()
	token := os.Getenv("BENCH_TOKEN")
	if *base == "" || *tasks == "" || token == "" {
		fmt.Fprintln(os.Stderr, "usage: BENCH_TOKEN=… ssefollow -url URL -tasks INSTANCE:ID,… [-n N] [-hold D]")
		os.Exit(2)
	}
	var urls []string
	for _, t := range strings.Split(*tasks, ",") {
		inst, id, ok := strings.Cut(t, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "ssefollow: task %q: want INSTANCE:ID\n", t)
			os.Exit(2)
		}
		urls = append(urls, fmt.Sprintf("%s/api/instances/%s/tasks/%s/events", *base, inst, id))
	}
	if err := run(urls, token, *n, *hold); err != nil {
		fmt.Fprintln(os.Stderr, "ssefollow:", err)
		os.Exit(1)
	}
}

func run(urls []string, token string, n int, hold time.Duration) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		wg      sync.WaitGroup
		opened  sync.WaitGroup
		failed  atomic.Int64
		reopens atomic.Int64
		counts  = make([]atomic.Int64, n)
	)
	start := time.Now()
	opened.Add(n)
	for i := range n {
		wg.Go(func() {
			first := true
			for ctx.Err() == nil {
				ended, err := follow(ctx, client, urls[i%len(urls)], token, &counts[i], func() {
					if first {
						first = false
						opened.Done()
					}
				})
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					failed.Add(1)
					fmt.Fprintf(os.Stderr, "stream %d: %v\n", i, err)
					if first {
						opened.Done()
					}
					return
				}
				if ended {
					reopens.Add(1)
				}
			}
		})
	}
	opened.Wait()
	fmt.Printf("%d streams open, each with its first event, in %.1fs\n", n, time.Since(start).Seconds())
	time.Sleep(hold)
	cancel()
	wg.Wait()
	got := make([]int64, n)
	for i := range counts {
		got[i] = counts[i].Load()
	}
	slices.Sort(got)
	fmt.Printf("events per stream over the hold: min %d, median %d, max %d; %d stream(s) failed, %d reopened after their task ended\n",
		got[0], got[n/2], got[n-1], failed.Load(), reopens.Load())
	if failed.Load() > 0 {
		return fmt.Errorf("%d stream(s) failed", failed.Load())
	}
	return nil
}

// follow reads one stream until it ends, counting its events, and calls
// onEvent at each. It reports whether the server ended it (an end event).
func follow(ctx context.Context, client *http.Client, url, token string, count *atomic.Int64, onEvent func()) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	res, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "event: ") {
			continue
		}
		count.Add(1)
		onEvent()
		switch strings.TrimPrefix(line, "event: ") {
		case "end":
			return true, nil
		case "error":
			return false, fmt.Errorf("GET %s: an error event", url)
		}
	}
	if ctx.Err() != nil {
		return false, nil
	}
	return false, fmt.Errorf("GET %s: the stream closed: %v", url, sc.Err())
}
