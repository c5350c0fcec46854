package export

// KillAt sets the test hook that ends r's runs at a point, as an agent
// killed there (see Runner.killAt).
func KillAt(r *Runner, f func(point string) error) { r.killAt = f }

// FailRange sets the test hook that runs as each range of a parallel
// export has been read (see Runner.failRange).
func FailRange(r *Runner, f func(i int) error) { r.failRange = f }

// RangePages sets the size of a parallel export's ranges, in pages.
func RangePages(r *Runner, n int64) { r.rangePages = n }
