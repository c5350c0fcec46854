package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressBar draws a one-line bar on a terminal; elsewhere it stays quiet,
// so logs and pipes get no carriage-return noise.
type progressBar struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	last  time.Time
	start time.Time
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, tty: tty, start: time.Now()}
}

func (b *progressBar) update(done, total int64) {
	if !b.tty || total <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.last) < 100*time.Millisecond && done < total {
		return
	}
	b.last = time.Now()
	const width = 30
	n := int(min(done, total) * width / total)
	rate := float64(done) / max(time.Since(b.start).Seconds(), 0.001) / (1 << 20)
	fmt.Fprintf(b.w, "\r[%s%s] %3d%% %s / %s  %.1f MiB/s ", strings.Repeat("=", n), strings.Repeat(" ", width-n),
		done*100/total, size(done), size(total), rate)
	b.drawn = true
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
