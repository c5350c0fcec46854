package format

import (
	"bytes"
	"io"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDecode measures decode throughput per format on 16 MiB of varied
// records (go test -bench Decode -run ^$ ./format/).
func BenchmarkDecode(b *testing.B) {
	for _, f := range formats {
		b.Run(f, func(b *testing.B) {
			r, _ := synth(f, 16<<20)
			data, err := io.ReadAll(r)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				rd, err := NewReader(bytes.NewReader(data), Options{Format: f})
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := rd.Next(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
			// The machine is shared: MB per CPU second is steadier than
			// MB per wall second.
			cpu := (cpuTime() - cpu0).Seconds()
			b.ReportMetric(float64(len(data))*float64(b.N)/1e6/cpu, "MB/cpu-s")
		})
	}
}

// cpuTime is the process's user+system CPU time, GC included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
